//! Runs the recommender: [`Recommender::recommend`] does one policy (read targets from the
//! watch caches, usage from Prometheus or the profile cache, build the owned status, apply it
//! when it changed); [`spawn`] runs every policy on a schedule — each `interval` plus up to a
//! tenth spread by the policy's name, and at once when its generation changes — a few at a
//! time, all within the process's query budget, and logs each cycle's query volume.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::fetch::{self, CacheKey, Clients, ProfileCache, Query};
use super::owned::{self, Blocked, Fetched, Inputs, WorkloadState, WriteRules};
use super::{FIELD_MANAGER, Mode, Settings, current, oom};
use crate::controller::cache::Caches;
use crate::controller::{Context, targets};
use crate::crd::{AttunePolicy, TargetKind, UpdateMode};
use crate::metrics::Metrics;
use crate::pr::WriteGate;
use crate::resize::sidecars::Exclusions;
use crate::usage::{QueryBudget, UsageError, UsageSettings, Workload};

/// Policies worked on at once (their queries still share the budget).
const CONCURRENT_POLICIES: usize = 4;
/// How often the schedule is looked at (and so how soon a spec change is seen).
const TICK: Duration = Duration::from_secs(5);
/// Retry after an apiserver error.
const RETRY: Duration = Duration::from_secs(60);
/// Default of `maxStatusRecommendations`.
const MAX_STATUS_RECOMMENDATIONS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum RecommenderError {
    #[error("policy {0} has no namespace")]
    NoNamespace(String),
    #[error("cannot write the status of policy {policy}")]
    Status {
        policy: String,
        #[source]
        source: kube::Error,
    },
}

/// What one policy's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The status was applied (it changed).
    pub written: bool,
    /// Range queries sent (0 when every workload came from the cache).
    pub queries: u64,
    /// The Ready reason written or kept.
    pub reason: String,
}

/// The recommender's shared state: clients, profile cache, budget.
pub struct Recommender {
    client: kube::Client,
    caches: Caches,
    settings: Settings,
    clients: Arc<Clients>,
    profiles: ProfileCache,
    metrics: Arc<Metrics>,
    write_gate: WriteGate,
}

impl Recommender {
    /// Fails only when the query limits are unusable (flags).
    pub fn new(
        client: kube::Client,
        caches: Caches,
        settings: Settings,
        metrics: Arc<Metrics>,
        write_gate: WriteGate,
    ) -> Result<Recommender, UsageError> {
        let budget = Arc::new(QueryBudget::new(settings.limits)?);
        Ok(Recommender {
            client,
            caches,
            settings,
            clients: Arc::new(Clients::new(budget)),
            profiles: ProfileCache::default(),
            metrics,
            write_gate,
        })
    }

    /// Uses `clients` (and their budget) instead of its own: the controller's, which the
    /// auto-revert checks share.
    pub fn sharing(mut self, clients: Arc<Clients>) -> Recommender {
        self.clients = clients;
        self
    }

    /// Workloads whose profiles are cached.
    pub fn cached_workloads(&self) -> usize {
        self.profiles.len()
    }

    /// Recomputes one policy's recommendations and applies its owned status if it changed.
    pub async fn recommend(&self, policy: &AttunePolicy) -> Result<Report, RecommenderError> {
        let name = policy.name_any();
        let ns = policy
            .namespace()
            .ok_or_else(|| RecommenderError::NoNamespace(name.clone()))?;
        let key = format!("{ns}/{name}");
        let now = self.settings.clock.now();
        let spec = &policy.spec;
        let chain = crate::recommend::Settings::from_spec(spec);
        let mut usage = None;
        let mut blocked = check(policy);
        if blocked.is_none() {
            match &chain {
                Err(e) => blocked = Some(Blocked::Invalid(e.to_string())),
                Ok(_) => match self.usage_settings(policy, &ns).await {
                    Ok(settings) => usage = Some(settings),
                    Err(why) => blocked = Some(Blocked::Invalid(why)),
                },
            }
        }
        let mut states = Vec::new();
        if blocked.is_none() {
            match self.discover(policy, &ns) {
                Ok(found) => states = found,
                Err(why) => blocked = Some(why),
            }
        }
        let mut queries = 0;
        let mut workloads = Vec::with_capacity(states.len());
        if let Some(usage) = &usage
            && blocked.is_none()
        {
            let exclusions = Exclusions::from_spec(spec);
            for w in &states {
                let (state, sent) = self.workload(&key, &ns, usage, w, &exclusions, now).await;
                queries += sent;
                workloads.push(state);
            }
        }
        self.record(queries, &workloads, now);
        let write = write_rules(spec);
        let step = usage
            .as_ref()
            .map_or(Duration::from_secs(300), |u| u.query.step);
        let owned = owned::build(&Inputs {
            previous: policy.status.as_ref(),
            blocked,
            workloads: &workloads,
            settings: chain.as_ref().ok(),
            step,
            write,
            generation: policy.metadata.generation,
            now,
        });
        for problem in &owned.problems {
            tracing::warn!(policy = %key, problem = %problem, "a current value cannot be read");
        }
        let reason = owned.ready.reason.clone().unwrap_or_default();
        let written = owned.differs(policy.status.as_ref()) && self.write_gate.is_open();
        if written {
            let api: Api<AttunePolicy> = Api::namespaced(self.client.clone(), &ns);
            api.patch_status(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(owned.apply_body()),
            )
            .await
            .map_err(|source| RecommenderError::Status {
                policy: key.clone(),
                source,
            })?;
        }
        tracing::debug!(policy = %key, reason = %reason, queries, written, "recommended");
        Ok(Report {
            written,
            queries,
            reason,
        })
    }

    /// Queries sent, fetches failed, and when usage last came in (for the stale alert).
    fn record(
        &self,
        queries: u64,
        workloads: &[WorkloadState],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        self.metrics.prometheus_queries(queries);
        let failed = workloads
            .iter()
            .filter(|w| matches!(w.fetched, Fetched::Failed(_)))
            .count();
        self.metrics.prometheus_query_errors(failed as u64);
        if failed < workloads.len() {
            self.metrics.recommendations_computed(now.timestamp());
        }
    }

    /// The policy's target workloads from the watch caches, or why there are none to watch.
    fn discover(
        &self,
        policy: &AttunePolicy,
        ns: &str,
    ) -> Result<Vec<crate::controller::LiveWorkload>, Blocked> {
        match targets::resolve(
            policy,
            &self.caches.candidates(ns),
            &self.caches.pods_in(ns),
        ) {
            Err(e) => Err(Blocked::DiscoveryFailed(format!("targetRef.selector: {e}"))),
            Ok(found) if found.is_empty() => Err(Blocked::NoWorkloads),
            Ok(found) => Ok(found),
        }
    }

    /// `spec.metricsSource` with the bearer token from the policy's namespace.
    async fn usage_settings(
        &self,
        policy: &AttunePolicy,
        ns: &str,
    ) -> Result<UsageSettings, String> {
        let source = &policy.spec.metrics_source;
        let token = fetch::bearer_token(&self.client, ns, source.prometheus.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        UsageSettings::from_spec(source, token).map_err(|e| e.to_string())
    }

    async fn workload(
        &self,
        policy: &str,
        ns: &str,
        usage: &UsageSettings,
        w: &crate::controller::LiveWorkload,
        exclusions: &Exclusions,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (WorkloadState, u64) {
        let kind = w.identity.kind.clone();
        let window =
            chrono::Duration::from_std(usage.query.history_window).unwrap_or(chrono::Duration::MAX);
        let since = now.checked_sub_signed(window).unwrap_or(now);
        let mut state = WorkloadState {
            kind: kind.clone(),
            name: w.identity.name.clone(),
            current: current::current_values(&w.pods, exclusions),
            live: current::live_values(&w.pods, exclusions),
            oom: oom::oom_kills(&w.pods, exclusions, since),
            fetched: Fetched::Profiles {
                containers: Vec::new(),
                newest_ms: None,
            },
        };
        // No pod: nothing to compare with, so nothing to ask.
        if state.current.is_empty() {
            return (state, 0);
        }
        let prometheus = match self.clients.get(&usage.endpoint) {
            Ok(p) => p,
            Err(e) => {
                state.fetched = Fetched::Failed(e.to_string());
                return (state, 0);
            }
        };
        let target_kind = match kind.as_str() {
            "StatefulSet" => TargetKind::StatefulSet,
            "DaemonSet" => TargetKind::DaemonSet,
            _ => TargetKind::Deployment,
        };
        let query = Query {
            key: CacheKey {
                policy: policy.to_owned(),
                kind,
                workload: w.identity.name.clone(),
            },
            prometheus: &prometheus,
            settings: &usage.query,
            workload: Workload {
                namespace: ns,
                name: &w.identity.name,
                kind: target_kind,
                indexed: false,
            },
            now_ms: now.timestamp_millis(),
            max_age: self.settings.interval,
        };
        let (fetched, sent) = fetch::profiles(&self.profiles, query).await;
        state.fetched = fetched;
        (state, sent)
    }

    fn budget(&self) -> &QueryBudget {
        self.clients.budget()
    }
}

/// What the status may carry: recommendations unless the mode only observes, explanations
/// unless turned off, and at most `maxStatusRecommendations` entries.
fn write_rules(spec: &crate::crd::AttunePolicySpec) -> WriteRules {
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    WriteRules {
        recommendations: strategy.mode() != UpdateMode::Observe,
        explanations: strategy.include_explanations_in_status.unwrap_or(true),
        max: strategy
            .max_status_recommendations
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(MAX_STATUS_RECOMMENDATIONS),
    }
}

/// Paused, invalid, or a kind the watch caches do not hold.
fn check(policy: &AttunePolicy) -> Option<Blocked> {
    if policy.spec.paused == Some(true) {
        return Some(Blocked::Paused);
    }
    if let Err(invalid) = crate::crd::validate(&policy.spec) {
        return Some(Blocked::Invalid(invalid.to_string()));
    }
    let kind = policy.spec.target_ref.kind;
    if !matches!(
        kind,
        TargetKind::Deployment | TargetKind::StatefulSet | TargetKind::DaemonSet
    ) {
        return Some(Blocked::Invalid(format!(
            "targetRef.kind {} is not handled by this controller; use Deployment, \
             StatefulSet or DaemonSet",
            targets::kind_name(kind)
        )));
    }
    None
}

/// Starts the recommender loop when the controller runs with `--recommender=builtin`.
pub fn spawn(ctx: &Arc<Context>, policies: Store<AttunePolicy>) -> Option<JoinHandle<()>> {
    let settings = ctx.config.recommender.clone();
    if settings.mode != Mode::Builtin {
        return None;
    }
    let recommender = match Recommender::new(
        ctx.client.clone(),
        ctx.caches.clone(),
        settings,
        Arc::clone(&ctx.metrics),
        ctx.config.write_gate.clone(),
    ) {
        Ok(r) => Arc::new(r.sharing(Arc::clone(&ctx.prometheus))),
        Err(e) => {
            tracing::error!(error = %e, "the recommender cannot start");
            return None;
        }
    };
    Some(tokio::spawn(run(recommender, policies)))
}

/// Up to a tenth of the interval, the same for a policy every time, different between policies.
fn jitter(key: &str, interval: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let tenth = interval.as_millis() / 10;
    let spread = u64::try_from(tenth).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hasher.finish() % spread)
}

struct Due {
    generation: Option<i64>,
    at: Instant,
}

async fn run(recommender: Arc<Recommender>, policies: Store<AttunePolicy>) {
    while !recommender.caches.ready(Duration::from_secs(30)).await {}
    let interval = recommender.settings.interval;
    let mut schedule: HashMap<String, Due> = HashMap::new();
    loop {
        let now = Instant::now();
        let alive = policies.state();
        let due: Vec<Arc<AttunePolicy>> = alive
            .iter()
            .filter(|p| {
                schedule
                    .get(&policy_key(p))
                    .is_none_or(|d| d.generation != p.metadata.generation || d.at <= now)
            })
            .cloned()
            .collect();
        if !due.is_empty() {
            cycle(&recommender, due, &mut schedule, interval).await;
        }
        let keys: HashSet<String> = alive.iter().map(|p| policy_key(p)).collect();
        schedule.retain(|k, _| keys.contains(k));
        recommender.profiles.keep_policies(&keys);
        tokio::time::sleep(TICK.min(interval)).await;
    }
}

fn policy_key(policy: &AttunePolicy) -> String {
    format!(
        "{}/{}",
        policy.namespace().unwrap_or_default(),
        policy.name_any()
    )
}

/// Runs the due policies and logs the cycle's query volume.
async fn cycle(
    recommender: &Arc<Recommender>,
    due: Vec<Arc<AttunePolicy>>,
    schedule: &mut HashMap<String, Due>,
    interval: Duration,
) {
    let started = Instant::now();
    let issued = recommender.budget().issued();
    let count = due.len();
    let results: Vec<(String, Option<i64>, Result<Report, RecommenderError>)> =
        futures::stream::iter(due)
            .map(|policy| {
                let recommender = Arc::clone(recommender);
                async move {
                    let result = recommender.recommend(&policy).await;
                    (policy_key(&policy), policy.metadata.generation, result)
                }
            })
            .buffer_unordered(CONCURRENT_POLICIES)
            .collect()
            .await;
    let (mut written, mut failed) = (0, 0);
    for (key, generation, result) in results {
        let next = match &result {
            Ok(report) => {
                written += usize::from(report.written);
                interval + jitter(&key, interval)
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(policy = %key, error = %crate::error_chain(e), "recommender failed");
                RETRY.min(interval)
            }
        };
        schedule.insert(
            key,
            Due {
                generation,
                at: Instant::now() + next,
            },
        );
    }
    tracing::info!(
        policies = count,
        written,
        failed,
        queries = recommender.budget().issued().saturating_sub(issued),
        cached_workloads = recommender.cached_workloads(),
        seconds = started.elapsed().as_secs_f64(),
        "recommender cycle"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_stable_per_policy_and_within_a_tenth_of_the_interval() {
        let interval = Duration::from_secs(300);
        let spread: HashSet<Duration> = (0..50)
            .map(|i| jitter(&format!("ns/policy-{i}"), interval))
            .collect();
        assert!(spread.iter().all(|j| *j < Duration::from_secs(30)));
        assert!(spread.len() > 40, "policies are spread: {}", spread.len());
        assert_eq!(jitter("a/b", interval), jitter("a/b", interval));
        assert_eq!(jitter("a/b", Duration::from_millis(5)), Duration::ZERO);
    }

    #[test]
    fn a_policy_that_cannot_be_queried_says_why() {
        let policy = |spec: serde_json::Value| -> AttunePolicy {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
                "metadata": {"name": "p", "namespace": "ns"}, "spec": spec,
            }))
            .unwrap()
        };
        let base = serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": "http://prometheus:9090"}},
            "cpu": {}, "memory": {},
        });
        assert_eq!(check(&policy(base.clone())), None);
        let mut paused = base.clone();
        paused["paused"] = serde_json::json!(true);
        assert_eq!(check(&policy(paused)), Some(Blocked::Paused));
        let mut job = base;
        job["targetRef"]["kind"] = serde_json::json!("CronJob");
        let Some(Blocked::Invalid(why)) = check(&policy(job)) else {
            panic!("a CronJob target is refused")
        };
        assert!(why.starts_with("targetRef.kind CronJob"), "{why}");
    }
}
