//! `kubectl attune savings`: request reductions and their estimated cost, with a TOTAL row.

use super::status::{SortBy, sort};
use super::table::{Table, cell};
use super::view::{PolicyView, memory, millicores};
use crate::quantity;

const HEADER: [&str; 6] = [
    "NAMESPACE",
    "NAME",
    "CPU SAVED",
    "MEMORY SAVED",
    "% SAVED",
    "EST. MONTHLY",
];

/// `estimatedMonthlySavings` ("$142.50") in cents, if it reads as dollars.
pub fn monthly_cents(p: &PolicyView) -> Option<i64> {
    let text = p
        .status
        .savings
        .as_ref()?
        .estimated_monthly_savings
        .as_deref()?;
    let dollars: f64 = text
        .trim()
        .trim_start_matches('$')
        .replace(',', "")
        .parse()
        .ok()?;
    dollars
        .is_finite()
        .then(|| (dollars * 100.0).round() as i64)
}

/// What one policy adds to the totals.
#[derive(Default)]
struct Sums {
    cpu_saved_millis: i128,
    cpu_requested_millis: i128,
    memory_saved_bytes: i128,
    cents: i64,
    any: bool,
}

fn millis(text: Option<&str>) -> Option<i128> {
    quantity::parse(text?).ok()?.millis_ceil()
}

fn bytes(text: Option<&str>) -> Option<i128> {
    quantity::parse(text?).ok()?.units_ceil()
}

/// CPU requested now by the policy's recommended containers: the base of `% SAVED`.
fn cpu_requested(p: &PolicyView) -> i128 {
    p.status
        .recommendations
        .iter()
        .flat_map(|r| &r.containers)
        .filter_map(|c| millis(c.current.as_ref()?.cpu_request.as_deref()))
        .sum()
}

fn percent(saved: i128, of: i128) -> String {
    if of > 0 {
        format!("{:.0}%", saved as f64 * 100.0 / of as f64)
    } else {
        "-".to_owned()
    }
}

/// The savings table: a row per policy, then a blank row and TOTAL when any policy reports a
/// CPU reduction. `% SAVED` is the CPU reduction over the CPU the recommended containers
/// request now.
pub fn render(policies: &[PolicyView], sort_by: Option<SortBy>) -> String {
    if policies.is_empty() {
        return "No AttunePolicies found.\n".to_owned();
    }
    let mut rows = policies.to_vec();
    sort(&mut rows, sort_by);
    let mut table = Table::with_header(&HEADER);
    let mut sums = Sums::default();
    for p in &rows {
        let savings = p.status.savings.clone().unwrap_or_default();
        let cpu = millis(savings.cpu_request_reduction.as_deref());
        let mem = bytes(savings.memory_request_reduction.as_deref());
        let requested = cpu_requested(p);
        if let Some(c) = cpu {
            sums.any = true;
            sums.cpu_saved_millis += c;
            sums.cpu_requested_millis += requested;
        }
        sums.memory_saved_bytes += mem.unwrap_or(0);
        sums.cents += monthly_cents(p).unwrap_or(0);
        table.push(vec![
            p.namespace.clone(),
            p.name.clone(),
            cell(savings.cpu_request_reduction.as_deref()),
            mem.map_or_else(|| "-".to_owned(), memory),
            cpu.map_or_else(|| "-".to_owned(), |c| percent(c, requested)),
            cell(savings.estimated_monthly_savings.as_deref()),
        ]);
    }
    if sums.any {
        table.push(vec![String::new(); HEADER.len()]);
        table.push(vec![
            String::new(),
            "TOTAL".to_owned(),
            millicores(sums.cpu_saved_millis),
            memory(sums.memory_saved_bytes),
            percent(sums.cpu_saved_millis, sums.cpu_requested_millis),
            if sums.cents > 0 {
                format!("${:.2}", sums.cents as f64 / 100.0)
            } else {
                "-".to_owned()
            },
        ]);
    }
    table.render()
}
