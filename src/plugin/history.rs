//! `kubectl attune history`: the resizes each policy recorded, oldest first as stored.

use super::table::{Table, cell};
use super::view::PolicyView;

const HEADER: [&str; 11] = [
    "NAMESPACE",
    "POLICY",
    "TIMESTAMP",
    "WORKLOAD",
    "CONTAINER",
    "RESOURCE",
    "FROM",
    "TO",
    "METHOD",
    "RESULT",
    "REASON",
];

/// `Jan 02 15:04` in UTC; the stored text when it is not RFC 3339; `-` when absent.
fn timestamp(text: Option<&str>) -> String {
    match text {
        None | Some("") => "-".to_owned(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).map_or_else(
            |_| t.to_owned(),
            |d| {
                d.with_timezone(&chrono::Utc)
                    .format("%b %d %H:%M")
                    .to_string()
            },
        ),
    }
}

/// The history table, or the line that says there is none.
pub fn render(policies: &[PolicyView]) -> String {
    let mut rows = policies.to_vec();
    rows.sort_by_key(|p| (p.namespace.clone(), p.name.clone()));
    let mut table = Table::with_header(&HEADER);
    let mut any = false;
    for p in &rows {
        for e in &p.status.resize_history {
            any = true;
            // Entries written before `method` existed: evictions said so in their result.
            let method = match (e.method.as_deref(), e.result.as_deref()) {
                (Some(m), _) if !m.is_empty() => m,
                (_, Some("Evicted")) => "Eviction",
                _ => "InPlace",
            };
            table.push(vec![
                p.namespace.clone(),
                p.name.clone(),
                timestamp(e.timestamp.as_deref()),
                cell(e.workload.as_deref()),
                cell(e.container.as_deref()),
                cell(e.resource.as_deref()),
                cell(e.from.as_deref()),
                cell(e.to.as_deref()),
                method.to_owned(),
                cell(e.result.as_deref()),
                cell(e.reason.as_deref()),
            ]);
        }
    }
    if any {
        table.render()
    } else {
        "No resize history.\n".to_owned()
    }
}
