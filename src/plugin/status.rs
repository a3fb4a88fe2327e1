//! `kubectl attune status`: one row per policy with its mode, workload counts and conditions.

use clap::ValueEnum;

use super::savings::monthly_cents;
use super::table::{Table, cell};
use super::view::{PolicyView, age};

/// `--filter`: which policies to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Filter {
    /// The Degraded condition is True.
    Degraded,
    /// At least one workload's recommendation differs from its current size.
    Pending,
    /// Ready reason InsufficientData: still gathering usage history.
    Collecting,
    /// The Ready condition is True.
    Ready,
    /// Ready reason NoWorkloadsFound, or no workload discovered.
    Noworkloads,
}

/// `--sort-by`: row order (default: namespace, then name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Name,
    Namespace,
    /// Highest estimated monthly savings first.
    Savings,
    /// Oldest first.
    Age,
}

const HEADER: [&str; 13] = [
    "NAMESPACE",
    "NAME",
    "TYPE",
    "WORKLOADS",
    "PENDING",
    "RESIZED",
    "READY",
    "RESIZING",
    "DEGRADED",
    "SCHEDULE",
    "CANARY",
    "EXPORT",
    "AGE",
];

impl Filter {
    /// True when the policy passes the filter.
    pub fn keeps(self, policy: &PolicyView) -> bool {
        let is_true = |t: &str| policy.condition(t).is_some_and(|c| c.status == "True");
        let counts = policy.status.workloads.clone().unwrap_or_default();
        match self {
            Filter::Degraded => is_true("Degraded"),
            Filter::Pending => counts.pending.unwrap_or(0) > 0,
            Filter::Collecting => policy.ready_reason() == Some("InsufficientData"),
            Filter::Ready => is_true("Ready"),
            Filter::Noworkloads => {
                policy.ready_reason() == Some("NoWorkloadsFound") || counts.discovered == Some(0)
            }
        }
    }
}

/// Orders policies in place: by namespace and name unless `sort_by` says otherwise.
pub fn sort(policies: &mut [PolicyView], sort_by: Option<SortBy>) {
    let key = |p: &PolicyView| (p.namespace.clone(), p.name.clone());
    match sort_by {
        None | Some(SortBy::Namespace) => policies.sort_by_key(key),
        Some(SortBy::Name) => policies.sort_by_key(|p| (p.name.clone(), p.namespace.clone())),
        Some(SortBy::Savings) => {
            policies.sort_by_key(|p| (std::cmp::Reverse(monthly_cents(p).unwrap_or(0)), key(p)));
        }
        Some(SortBy::Age) => policies.sort_by_key(|p| (p.created.unwrap_or(i64::MAX), key(p))),
    }
}

/// The status table, or the line that says why there is none. `now` is Unix seconds.
pub fn render(
    policies: &[PolicyView],
    filter: Option<Filter>,
    sort_by: Option<SortBy>,
    now: i64,
) -> String {
    if policies.is_empty() {
        return "No AttunePolicies found.\n".to_owned();
    }
    let mut shown: Vec<PolicyView> = policies
        .iter()
        .filter(|p| filter.is_none_or(|f| f.keeps(p)))
        .cloned()
        .collect();
    if shown.is_empty() {
        return "No AttunePolicies match the filter.\n".to_owned();
    }
    sort(&mut shown, sort_by);
    let mut table = Table::with_header(&HEADER);
    for p in &shown {
        table.push(row(p, now));
    }
    table.render()
}

fn row(p: &PolicyView, now: i64) -> Vec<String> {
    let counts = p.status.workloads.clone().unwrap_or_default();
    let count = |n: Option<i32>| n.unwrap_or(0).to_string();
    vec![
        p.namespace.clone(),
        p.name.clone(),
        p.mode.clone(),
        count(counts.discovered),
        count(counts.pending),
        count(counts.resized),
        p.ready_cell(),
        p.condition_cell("Resizing"),
        p.condition_cell("Degraded"),
        p.condition_cell("ScheduleBlocked"),
        cell(p.canary.as_deref()),
        if p.export_config_map { "CM" } else { "-" }.to_owned(),
        age(p.created, now),
    ]
}

/// Lines for stderr about policies whose status could not be read.
pub fn warnings(policies: &[PolicyView]) -> Vec<String> {
    policies
        .iter()
        .filter_map(|p| {
            let e = p.status_error.as_ref()?;
            Some(format!(
                "warning: status of {}/{} is unreadable ({e}); shown as -",
                p.namespace, p.name
            ))
        })
        .collect()
}
