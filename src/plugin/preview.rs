//! `kubectl attune preview POLICY`: what a resize would change, per container and resource.

use super::table::{Table, cell};
use super::view::PolicyView;
use crate::quantity;

const HEADER: [&str; 6] = [
    "WORKLOAD",
    "CONTAINER",
    "RESOURCE",
    "CURRENT",
    "RECOMMENDED",
    "CHANGE",
];

/// `%+.0f%%` of the change in millis; `-` when either side is missing or unreadable.
fn change(current: Option<&str>, recommended: Option<&str>) -> String {
    let millis = |t: Option<&str>| quantity::parse(t?).ok()?.millis_ceil();
    match (millis(current), millis(recommended)) {
        (Some(from), Some(to)) if from != 0 => {
            format!("{:+.0}%", (to - from) as f64 * 100.0 / from as f64)
        }
        _ => "-".to_owned(),
    }
}

/// The preview of one policy: a header line, then the table or why there is none.
pub fn render(p: &PolicyView) -> String {
    let mut out = format!(
        "Preview: {}/{} (current mode: {})\n\n",
        p.namespace, p.name, p.mode
    );
    if p.status.recommendations.is_empty() {
        out.push_str(&format!("No recommendations yet ({}).\n", p.ready_cell()));
        return out;
    }
    let mut table = Table::with_header(&HEADER);
    for workload in &p.status.recommendations {
        for c in &workload.containers {
            let current = c.current.clone().unwrap_or_default();
            let rows = [
                (
                    "CPU",
                    current.cpu_request,
                    c.recommended.cpu_request.clone(),
                ),
                (
                    "Memory",
                    current.memory_request,
                    c.recommended.memory_request.clone(),
                ),
            ];
            for (resource, now, rec) in rows {
                table.push(vec![
                    cell(Some(&workload.workload)),
                    cell(Some(&c.name)),
                    resource.to_owned(),
                    cell(now.as_deref()),
                    cell(rec.as_deref()),
                    change(now.as_deref(), rec.as_deref()),
                ]);
            }
        }
    }
    out.push_str(&table.render());
    out
}
