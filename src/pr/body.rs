//! Title, body and commit message of a bot pull request, rendered from minijinja templates in
//! `templates/` (compiled in), each overridable by a file of the same name in a directory the
//! operator gives. The context is built from the change set alone, so the same value feeds the
//! diff, the commit, the body and the status.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::PrError;
use crate::quantity;
use crate::repo::{Change, Field, Problem, Site};

pub const TITLE: &str = "pr-title.txt.j2";
pub const BODY: &str = "pr-body.md.j2";
pub const COMMIT: &str = "commit-message.txt.j2";

const DEFAULTS: [(&str, &str); 3] = [
    (TITLE, include_str!("../../templates/pr-title.txt.j2")),
    (BODY, include_str!("../../templates/pr-body.md.j2")),
    (
        COMMIT,
        include_str!("../../templates/commit-message.txt.j2"),
    ),
];

/// Prices for the savings estimate, in dollars.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prices {
    pub cpu: f64,
    pub memory: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            cpu: 0.031,
            memory: 0.004,
        }
    }
}

/// What the status says about one container's recommendation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub confidence: Option<f64>,
    pub data_points: Option<i64>,
    /// Values the policy moved away from the recommendation, each with why
    /// (`explanation.clamped`).
    pub clamped: Vec<String>,
    /// Values left out of the pull request, each with why (`explanation.heldBack`: the
    /// controller reverted them on a pod for an OOM kill or restarts).
    pub held_back: Vec<String>,
    /// The hourly usage our recommender measured, one chart per resource.
    pub charts: Vec<super::evidence::Chart>,
}

/// Everything a template may use besides the changes.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub policies: Vec<String>,
    pub branch: String,
    pub hash: String,
    pub min_change_percent: f64,
    pub prices: Prices,
    /// By `namespace/Kind/workload/container`.
    pub evidence: BTreeMap<String, Evidence>,
    /// By `namespace/Kind/workload`, when known.
    pub replicas: BTreeMap<String, u32>,
    pub problems: &'a [Problem],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub title: String,
    pub body: String,
    pub commit_message: String,
}

#[derive(Serialize)]
struct FieldRow {
    field: String,
    file: String,
    from: Option<String>,
    to: String,
    percent: String,
}

#[derive(Serialize)]
struct ContainerRow {
    name: String,
    confidence: String,
    data_points: String,
    fields: Vec<FieldRow>,
    clamped: Vec<String>,
}

#[derive(Serialize)]
struct FileRow {
    file: String,
    why: String,
}

#[derive(Serialize)]
struct WorkloadRow {
    namespace: String,
    kind: String,
    name: String,
    replicas: Option<u32>,
    containers: Vec<ContainerRow>,
    files: Vec<FileRow>,
    /// Mermaid charts of the usage (Markdown), or "".
    charts: String,
}

fn why(site: Site) -> &'static str {
    match site {
        Site::Marker => "a `$attune` marker names this value",
        Site::Patch => "the overlay patch that already sets this value",
        Site::Manifest => "the manifest that defines the workload; nothing else renders it",
        Site::OverlayPatch => {
            "a patch in the overlay, because the base is shared with other environments"
        }
        Site::HelmValues => {
            "the Helm values key that feeds this value (traced by rendering the chart)"
        }
    }
}

fn percent(from: Option<&str>, to: &str) -> String {
    let (Some(from), Ok(to)) = (from, quantity::parse(to)) else {
        return "new".into();
    };
    match quantity::parse(from)
        .ok()
        .and_then(|f| to.percent_change_from(&f))
    {
        Some(p) => format!("{p:+.0} %"),
        None => "—".into(),
    }
}

/// Cores (cpu) or GiB (memory) of a quantity, for the estimate only.
fn amount(field: Field, q: &str) -> Option<f64> {
    let q = quantity::parse(q).ok()?;
    Some(match field {
        Field::CpuRequest => q.millis_ceil()? as f64 / 1000.0,
        Field::MemoryRequest => q.units_ceil()? as f64 / (1024.0 * 1024.0 * 1024.0),
        Field::CpuLimit | Field::MemoryLimit => return None,
    })
}

fn workloads(changes: &[Change], ctx: &Context<'_>) -> Vec<WorkloadRow> {
    let mut out: Vec<WorkloadRow> = Vec::new();
    for c in changes {
        let at = out
            .iter()
            .position(|w| w.namespace == c.namespace && w.kind == c.kind && w.name == c.workload);
        let w = match at {
            Some(i) => &mut out[i],
            None => {
                let id = format!("{}/{}/{}", c.namespace, c.kind, c.workload);
                out.push(WorkloadRow {
                    namespace: c.namespace.clone(),
                    kind: c.kind.clone(),
                    name: c.workload.clone(),
                    replicas: ctx.replicas.get(&id).copied(),
                    containers: Vec::new(),
                    files: Vec::new(),
                    charts: String::new(),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match w.files.iter_mut().find(|f| f.file == c.file) {
            Some(row) => {
                if let Some(key) = &c.key {
                    row.why.push_str(&format!(", `{key}`"));
                }
            }
            None => w.files.push(FileRow {
                file: c.file.clone(),
                why: match &c.key {
                    Some(key) => format!("{}: `{key}`", why(c.site)),
                    None => why(c.site).to_owned(),
                },
            }),
        }
        let at = w.containers.iter().position(|x| x.name == c.container);
        let row = match at {
            Some(i) => &mut w.containers[i],
            None => {
                let id = format!("{}/{}/{}/{}", c.namespace, c.kind, c.workload, c.container);
                let evidence = ctx.evidence.get(&id).cloned().unwrap_or_default();
                w.containers.push(ContainerRow {
                    name: c.container.clone(),
                    confidence: evidence
                        .confidence
                        .map_or_else(|| "—".into(), |v| format!("{:.0} %", v * 100.0)),
                    data_points: evidence
                        .data_points
                        .map_or_else(|| "—".into(), |v| v.to_string()),
                    fields: Vec::new(),
                    clamped: evidence.clamped,
                });
                let last = w.containers.len() - 1;
                &mut w.containers[last]
            }
        };
        row.fields.push(FieldRow {
            field: c.field.to_string(),
            file: c.file.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
            percent: percent(c.from.as_deref(), &c.to),
        });
    }
    out
}

/// Room for the lifecycle marker `sync` appends: its JSON holds one entry per change.
fn marker_room(changes: &[Change]) -> usize {
    256 + 128 * changes.len()
}

/// The usage charts of each workload's containers, in at most `budget` bytes.
fn add_charts(rows: &mut [WorkloadRow], ctx: &Context<'_>, budget: usize) {
    let charts: Vec<(String, Vec<super::evidence::Chart>)> = rows
        .iter()
        .map(|w| {
            let title = format!("{} {}/{}", w.kind, w.namespace, w.name);
            let charts = w
                .containers
                .iter()
                .filter_map(|c| {
                    let id = format!("{}/{}/{}/{}", w.namespace, w.kind, w.name, c.name);
                    ctx.evidence.get(&id)
                })
                .flat_map(|e| e.charts.iter().cloned())
                .collect();
            (title, charts)
        })
        .collect();
    for (row, section) in rows
        .iter_mut()
        .zip(super::evidence::sections(&charts, budget))
    {
        row.charts = section;
    }
}

/// Monthly savings of the request changes: (cores, GiB, dollars, whether replicas were unknown).
fn savings(changes: &[Change], ctx: &Context<'_>) -> (f64, f64, f64, bool) {
    const HOURS_PER_MONTH: f64 = 730.0;
    let (mut cores, mut gib, mut unknown) = (0.0, 0.0, false);
    for c in changes {
        let (Some(from), Some(to)) = (
            c.from.as_deref().and_then(|f| amount(c.field, f)),
            amount(c.field, &c.to),
        ) else {
            continue;
        };
        let id = format!("{}/{}/{}", c.namespace, c.kind, c.workload);
        let replicas = ctx.replicas.get(&id).copied().map(f64::from);
        unknown |= replicas.is_none();
        let delta = (from - to) * replicas.unwrap_or(1.0);
        match c.field {
            Field::CpuRequest => cores += delta,
            _ => gib += delta,
        }
    }
    let dollars = (cores * ctx.prices.cpu + gib * ctx.prices.memory) * HOURS_PER_MONTH;
    (cores, gib, dollars, unknown)
}

/// One line per workload that could not be located: `ns/Kind/name (container): reason`.
fn problem_lines(problems: &[Problem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            let container = p
                .container
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            format!(
                "{}/{}/{}{container}: {}",
                p.namespace, p.kind, p.workload, p.reason
            )
        })
        .collect()
}

/// Renders title, body and commit message. `templates` overrides the built-in templates file by
/// file; a template that does not render is an error naming it.
pub fn render(
    changes: &[Change],
    ctx: &Context<'_>,
    templates: Option<&Path>,
) -> Result<Rendered, PrError> {
    let mut env = Environment::new();
    for (name, default) in DEFAULTS {
        let source = match templates.map(|d| d.join(name)).filter(|p| p.is_file()) {
            Some(path) => std::fs::read_to_string(&path).map_err(|source| PrError::Template {
                name: path.display().to_string(),
                message: source.to_string(),
            })?,
            None => default.to_owned(),
        };
        env.add_template_owned(name, source)
            .map_err(|e| PrError::Template {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
    }
    let mut rows = workloads(changes, ctx);
    let mut namespaces: Vec<String> = rows.iter().map(|w| w.namespace.clone()).collect();
    namespaces.dedup();
    let (cores, gib, dollars, per_replica) = savings(changes, ctx);
    let problems = problem_lines(ctx.problems);
    // By `namespace/Kind/workload/container`, in that order; listed whether or not the
    // container has another change.
    let held_back: Vec<String> = ctx
        .evidence
        .iter()
        .flat_map(|(id, e)| e.held_back.iter().map(move |why| format!("`{id}`: {why}")))
        .collect();
    let render = |name: &str, rows: &[WorkloadRow], extra: Value| {
        env.get_template(name)
            .and_then(|t| {
                t.render(context! {
                    workloads => Value::from(minijinja::value::Serde(rows)),
                    namespaces => Value::from(minijinja::value::Serde(&namespaces)),
                    policies => Value::from(minijinja::value::Serde(&ctx.policies)),
                    branch => &ctx.branch,
                    hash => &ctx.hash,
                    min_change_percent => ctx.min_change_percent,
                    prices => Value::from(minijinja::value::Serde(ctx.prices)),
                    savings => context! {
                        monthly => format!("${dollars:.2}"),
                        cpu => format!("{cores:.3}"),
                        memory => format!("{gib:.3}"),
                        per_replica => per_replica,
                    },
                    problems => Value::from(minijinja::value::Serde(&problems)),
                    held_back => Value::from(minijinja::value::Serde(&held_back)),
                    ..extra
                })
            })
            .map_err(|e| PrError::Template {
                name: name.to_owned(),
                message: e.to_string(),
            })
    };
    let title = render(TITLE, &rows, context! {})?.trim().to_owned();
    let commit_message = render(COMMIT, &rows, context! { title => &title })?;
    // The charts get what the rest of the body leaves of the forge's limit, so that the
    // tables and the marker are never cut.
    let plain = render(BODY, &rows, context! {})?;
    let room = crate::forge::github::MAX_BODY_BYTES
        .saturating_sub(plain.len() + marker_room(changes))
        .min(super::evidence::CHART_BUDGET_BYTES);
    add_charts(&mut rows, ctx, room);
    let body = render(BODY, &rows, context! {})?;
    Ok(Rendered {
        title,
        body,
        commit_message,
    })
}

#[cfg(test)]
mod clamp_tests {
    use super::*;
    use crate::repo::Site;

    #[test]
    fn the_body_lists_each_clamped_value_with_its_reason_and_nothing_without() {
        let change = Change {
            policy: "p".into(),
            namespace: "shop".into(),
            kind: "Deployment".into(),
            workload: "web".into(),
            container: "app".into(),
            field: Field::MemoryRequest,
            file: "web.yaml".into(),
            from: Some("128Mi".into()),
            to: "64Mi".into(),
            site: Site::Manifest,
            key: None,
        };
        let sentence = "app memory request 48Mi -> 64Mi: spec.memory.minAllowed is 64Mi";
        let mut ctx = Context::default();
        ctx.evidence.insert(
            "shop/Deployment/web/app".into(),
            Evidence {
                clamped: vec![sentence.into()],
                ..Evidence::default()
            },
        );
        let with = render(std::slice::from_ref(&change), &ctx, None).unwrap();
        assert!(
            with.body.contains(&format!("- Clamped: `{sentence}`\n")),
            "{}",
            with.body
        );
        let without = render(&[change], &Context::default(), None).unwrap();
        assert!(!without.body.contains("Clamped"), "{}", without.body);
        // The clamp lines are all the difference.
        assert_eq!(
            with.body.replace(&format!("- Clamped: `{sentence}`\n"), ""),
            without.body
        );
    }
    #[test]
    fn the_body_names_each_container_left_out_and_why() {
        let change = Change {
            policy: "p".into(),
            namespace: "shop".into(),
            kind: "Deployment".into(),
            workload: "web".into(),
            container: "app".into(),
            field: Field::CpuRequest,
            file: "web.yaml".into(),
            from: Some("500m".into()),
            to: "250m".into(),
            site: Site::Manifest,
            key: None,
        };
        let why = "memory left out: the resize to 48Mi was reverted after an OOM kill; it is \
                   not proposed again until the revert backoff ends";
        let mut ctx = Context::default();
        // A container with no change of its own is named too.
        ctx.evidence.insert(
            "shop/Deployment/web/sidecar".into(),
            Evidence {
                held_back: vec![why.into()],
                ..Evidence::default()
            },
        );
        let with = render(std::slice::from_ref(&change), &ctx, None).unwrap();
        let line = format!("- `shop/Deployment/web/sidecar`: {why}\n");
        assert!(with.body.contains("**Left out**"), "{}", with.body);
        assert!(with.body.contains(&line), "{}", with.body);
        let without = render(&[change], &Context::default(), None).unwrap();
        assert!(!without.body.contains("Left out"), "{}", without.body);
        let section = format!(
            "\n\n**Left out** (reverted on a running pod; not proposed until the revert backoff \
             ends):\n{line}"
        );
        assert_eq!(with.body.replace(&section, ""), without.body);
    }

    #[test]
    fn a_helm_values_file_lists_the_keys_it_sets() {
        let change = |field, key: &str| Change {
            policy: "p".into(),
            namespace: "shop".into(),
            kind: "Deployment".into(),
            workload: "web".into(),
            container: "app".into(),
            field,
            file: "envs/prod/values.yaml".into(),
            from: Some("100m".into()),
            to: "200m".into(),
            site: Site::HelmValues,
            key: Some(key.into()),
        };
        let changes = [
            change(Field::CpuRequest, "web.resources.requests.cpu"),
            change(Field::MemoryRequest, "web.resources.requests.memory"),
        ];
        let body = render(&changes, &Context::default(), None).unwrap().body;
        assert!(
            body.contains(
                "- `envs/prod/values.yaml`: the Helm values key that feeds this value (traced by \
                 rendering the chart): `web.resources.requests.cpu`, `web.resources.requests.memory`\n"
            ),
            "{body}"
        );
    }
}
