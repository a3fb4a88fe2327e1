//! Figures read from the controller's `/metrics` text.

/// Percentiles from a Prometheus histogram's cumulative buckets (upper bound of the bucket
/// the rank falls in, so a figure is never lower than the truth).
pub fn percentiles(metrics: &str, name: &str, qs: &[f64]) -> Option<(u64, Vec<f64>)> {
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    let prefix = format!("{name}_bucket{{le=\"");
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix(&prefix) {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            buckets.push((le, count.trim().parse().ok()?));
        }
    }
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let out = qs
        .iter()
        .map(|q| {
            let rank = (q * total as f64).ceil() as u64;
            buckets
                .iter()
                .find(|(_, c)| *c >= rank)
                .map_or(f64::INFINITY, |(le, _)| *le)
        })
        .collect();
    Some((total, out))
}

pub fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
