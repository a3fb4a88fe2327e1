//! Reading usage for the recommender: the bearer-token Secret from the policy's namespace, one
//! Prometheus client per endpoint (sharing the process's query budget), and a cache of profiles
//! per workload, so that recomputing within the interval — a spec change that only switches
//! the mode, say — makes no query. Only profiles are kept (about 1 KiB per container and
//! resource), never samples.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::owned::{ContainerProfiles, Fetched};
use crate::crd::PrometheusSource;
use crate::recommend::Profile;
use crate::usage::{
    BearerToken, Endpoint, Prometheus, QueryBudget, QueryLimits, QuerySettings, Resource,
    UsageError, UsageRequest, Workload, fetch_usage,
};

/// Clients kept at once; the least recently made goes first.
const MAX_CLIENTS: usize = 64;

/// Why a bearer token could not be had. Never carries the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "spec.metricsSource.prometheus.bearerTokenSecret: secret {namespace}/{name} does not exist (it is read from the policy's namespace)"
    )]
    Missing { namespace: String, name: String },
    #[error(
        "spec.metricsSource.prometheus.bearerTokenSecret: secret {namespace}/{name} has no key {key:?}"
    )]
    NoKey {
        namespace: String,
        name: String,
        key: String,
    },
    #[error(
        "spec.metricsSource.prometheus.bearerTokenSecret: cannot read secret {namespace}/{name}: {reason}"
    )]
    Read {
        namespace: String,
        name: String,
        reason: String,
    },
    #[error(transparent)]
    Value(#[from] UsageError),
}

/// Reads `prometheus.bearerTokenSecret` from `namespace`; `None` when the spec names none.
pub async fn bearer_token(
    client: &kube::Client,
    namespace: &str,
    source: Option<&PrometheusSource>,
) -> Result<Option<BearerToken>, TokenError> {
    let Some(reference) = source.and_then(|p| p.bearer_token_secret.as_ref()) else {
        return Ok(None);
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let (namespace, name) = (namespace.to_owned(), reference.name.clone());
    let secret = match api.get_opt(&reference.name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(TokenError::Missing { namespace, name }),
        Err(e) => {
            return Err(TokenError::Read {
                namespace,
                name,
                reason: crate::error_chain(&e),
            });
        }
    };
    let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(&reference.key)) else {
        return Err(TokenError::NoKey {
            namespace,
            name,
            key: reference.key.clone(),
        });
    };
    Ok(Some(BearerToken::from_secret_value(&bytes.0)?))
}

/// Prometheus clients by endpoint, all on one budget.
pub struct Clients {
    budget: Arc<QueryBudget>,
    made: Mutex<Vec<(Endpoint, Arc<Prometheus>)>>,
}

impl Clients {
    pub fn new(budget: Arc<QueryBudget>) -> Clients {
        Clients {
            budget,
            made: Mutex::default(),
        }
    }

    /// The clients of one process on a budget of `limits`. The flags are checked at start-up;
    /// limits that still cannot be used (a library caller's) get the defaults, with an error
    /// logged.
    pub fn shared(limits: QueryLimits) -> Arc<Clients> {
        let budget = QueryBudget::new(limits).unwrap_or_else(|e| {
            tracing::error!(error = %e, "unusable Prometheus query limits; using the defaults");
            QueryBudget::default()
        });
        Arc::new(Clients::new(Arc::new(budget)))
    }

    pub fn budget(&self) -> &QueryBudget {
        &self.budget
    }

    /// The client for `endpoint` (same address, headers, parameters, TLS and token).
    pub fn get(&self, endpoint: &Endpoint) -> Result<Arc<Prometheus>, UsageError> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, client)) = made.iter().find(|(e, _)| e == endpoint) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(Prometheus::new(endpoint.clone(), Arc::clone(&self.budget))?);
        if made.len() >= MAX_CLIENTS {
            made.remove(0);
        }
        made.push((endpoint.clone(), Arc::clone(&client)));
        Ok(client)
    }
}

/// What identifies a workload's cached profiles: the policy, the workload, and everything the
/// query depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub policy: String,
    pub kind: String,
    pub workload: String,
}

struct Entry {
    query: QuerySettings,
    address: String,
    /// When it was read, on the process's monotonic clock: the cache bounds queries in real
    /// time, whatever "now" the queries ask about (a fixed one in tests).
    fetched: Instant,
    containers: Vec<ContainerProfiles>,
    newest_ms: Option<i64>,
}

/// Profiles per workload, reused while younger than the interval (real time) and asked with
/// the same settings.
#[derive(Default)]
pub struct ProfileCache {
    entries: Mutex<HashMap<CacheKey, Entry>>,
}

impl ProfileCache {
    /// The cached profiles when they were read less than `max_age` ago for `query`.
    pub fn get(
        &self,
        key: &CacheKey,
        query: &QuerySettings,
        address: &str,
        max_age: Duration,
    ) -> Option<Fetched> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        let young = entry.fetched.elapsed() < max_age;
        (young && &entry.query == query && entry.address == address).then(|| Fetched::Profiles {
            containers: entry.containers.clone(),
            newest_ms: entry.newest_ms,
        })
    }

    fn put(&self, key: CacheKey, entry: Entry) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, entry);
    }

    /// Drops the entries of policies not in `alive` (deleted policies).
    pub fn keep_policies(&self, alive: &std::collections::HashSet<String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| alive.contains(&k.policy));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One workload's query, as [`profiles`] needs it.
pub struct Query<'a> {
    pub key: CacheKey,
    pub prometheus: &'a Prometheus,
    pub settings: &'a QuerySettings,
    pub workload: Workload<'a>,
    pub now_ms: i64,
    pub max_age: Duration,
}

/// The workload's profiles: from the cache when fresh, else two queries (CPU, memory), and how
/// many queries were sent. A failed query is `Fetched::Failed` with its message (address and
/// answer, no secret).
pub async fn profiles(cache: &ProfileCache, query: Query<'_>) -> (Fetched, u64) {
    let address = query.prometheus.endpoint().address().to_owned();
    if let Some(hit) = cache.get(&query.key, query.settings, &address, query.max_age) {
        return (hit, 0);
    }
    let request = |resource| UsageRequest {
        settings: query.settings,
        workload: query.workload,
        resource,
        now_ms: query.now_ms,
    };
    let cpu = match fetch_usage(query.prometheus, &request(Resource::Cpu)).await {
        Ok(usage) => usage,
        Err(e) => return (Fetched::Failed(e.to_string()), 1),
    };
    let memory = match fetch_usage(query.prometheus, &request(Resource::Memory)).await {
        Ok(usage) => usage,
        Err(e) => return (Fetched::Failed(e.to_string()), 2),
    };
    let newest_ms = cpu.newest_ms().max(memory.newest_ms());
    let mut names: Vec<&str> = cpu
        .containers
        .iter()
        .chain(&memory.containers)
        .map(|(n, _)| n.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let of = |usage: &crate::usage::Usage, name: &str| {
        usage
            .containers
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(
                || Profile::from_samples(&[]),
                |(_, s)| Profile::from_samples(s),
            )
    };
    let containers: Vec<ContainerProfiles> = names
        .into_iter()
        .map(|name| ContainerProfiles {
            name: name.to_owned(),
            cpu: of(&cpu, name),
            memory: of(&memory, name),
        })
        .collect();
    cache.put(
        query.key,
        Entry {
            query: query.settings.clone(),
            address,
            fetched: Instant::now(),
            containers: containers.clone(),
            newest_ms,
        },
    );
    let fetched = Fetched::Profiles {
        containers,
        newest_ms,
    };
    (fetched, 2)
}
