//! `kubectl attune recommendations`: current against recommended requests per container.

use super::table::{Table, cell};
use super::view::PolicyView;

const HEADER: [&str; 9] = [
    "NAMESPACE",
    "POLICY",
    "WORKLOAD",
    "CONTAINER",
    "CPU REQ",
    "CPU REC",
    "MEM REQ",
    "MEM REC",
    "CONFIDENCE / STATUS",
];

/// The table (stdout) and, when some policies have no recommendations yet, a note (stderr).
/// A policy without recommendations gets one row of `-` cells and its Ready message.
pub fn render(policies: &[PolicyView]) -> (String, Option<String>) {
    if policies.is_empty() {
        return ("No AttunePolicies found.\n".to_owned(), None);
    }
    let mut rows = policies.to_vec();
    rows.sort_by_key(|p| (p.namespace.clone(), p.name.clone()));
    let mut table = Table::with_header(&HEADER);
    let mut collecting = 0;
    for p in &rows {
        if p.status.recommendations.is_empty() {
            collecting += 1;
            let mut row = vec![p.namespace.clone(), p.name.clone()];
            row.extend(std::iter::repeat_n("-".to_owned(), 6));
            row.push(p.ready_cell());
            table.push(row);
            continue;
        }
        for workload in &p.status.recommendations {
            for c in &workload.containers {
                let current = c.current.clone().unwrap_or_default();
                table.push(vec![
                    p.namespace.clone(),
                    p.name.clone(),
                    cell(Some(&workload.workload)),
                    cell(Some(&c.name)),
                    cell(current.cpu_request.as_deref()),
                    cell(c.recommended.cpu_request.as_deref()),
                    cell(current.memory_request.as_deref()),
                    cell(c.recommended.memory_request.as_deref()),
                    c.confidence
                        .map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0)),
                ]);
            }
        }
    }
    let note = (collecting > 0).then(|| {
        let noun = if collecting == 1 {
            "policy"
        } else {
            "policies"
        };
        format!("{collecting} {noun} collecting data. Run 'kubectl attune status' for details.")
    });
    (table.render(), note)
}
