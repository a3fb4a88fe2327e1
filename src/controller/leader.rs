//! Leader election on one `coordination.k8s.io` Lease (kube-lease-manager): the lease loop that
//! publishes whether this replica leads, and the words for what keeps it from the lease. The
//! Lease lives in `--lease-namespace`, else the pod's namespace, else [`FALLBACK_NAMESPACE`] —
//! the case of a controller run outside a pod. The controller creates no namespace: when the
//! Lease's namespace does not exist, `/readyz` and the log say so and how to fix it, and the
//! loop keeps trying, so creating the namespace is enough to recover.

use std::sync::Arc;
use std::time::Duration;

use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tracing::{info, warn};

use super::run::{Backoff, FALLBACK_NAMESPACE, MIN_LEASE_DURATION, RunError, stopped};
use super::serve::Health;
use crate::error_chain as chain;

/// Longest wait for releasing the lease on shutdown, so a dead apiserver cannot hold it up.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Leader election on one Lease.
#[derive(Debug, Clone)]
pub struct Election {
    pub lease_name: String,
    pub namespace: String,
    /// Unique among the replicas: the pod name in a cluster.
    pub identity: String,
    /// How long a lease stays valid after its last renewal; a standby takes over this long
    /// after a leader vanished without releasing it.
    pub lease_duration: Duration,
}

impl Election {
    /// Lease duration and renewal grace in whole seconds: the holder renews a third of the
    /// duration before it expires, so one lost renewal does not cost the lease.
    pub(super) fn timing(&self) -> Result<(u64, u64), RunError> {
        let seconds = self.lease_duration.as_secs();
        if self.lease_duration < MIN_LEASE_DURATION {
            return Err(RunError::LeaseDuration(self.lease_duration));
        }
        Ok((seconds, (seconds / 3).max(1)))
    }
}

/// Keeps trying for the lease and publishes whether this process holds it. A lease manager
/// that fails is dropped and built again: until then this process does not lead, because a
/// holder that cannot renew may already have lost the lease. On `release`, gives the lease up.
pub(super) async fn elect(
    client: kube::Client,
    election: Election,
    (duration, grace): (u64, u64),
    leading: watch::Sender<bool>,
    health: Arc<Health>,
    mut release: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new();
    info!(
        lease = %election.lease_name,
        namespace = %election.namespace,
        identity = %election.identity,
        "leader election on Lease {}/{}",
        election.namespace,
        election.lease_name
    );
    loop {
        let params = LeaseParams::new(election.identity.clone(), duration, grace);
        let built = tokio::select! {
            biased;
            () = stopped(&mut release) => return,
            built = LeaseManager::new(
                client.clone(),
                election.lease_name.clone(),
                election.namespace.clone(),
                params,
                LeaseCreateMode::AutoCreate,
            ) => built,
        };
        match built {
            Ok(manager) => {
                health.set_election(true);
                info!(
                    lease = %election.lease_name,
                    namespace = %election.namespace,
                    identity = %election.identity,
                    "standing by for the leader lease"
                );
                loop {
                    let changed = tokio::select! {
                        biased;
                        () = stopped(&mut release) => {
                            leading.send_replace(false);
                            give_up(&manager, &election).await;
                            return;
                        }
                        changed = manager.changed() => changed,
                    };
                    match changed {
                        Ok(holds) => {
                            backoff.reset();
                            leading.send_replace(holds);
                        }
                        Err(err) => {
                            leading.send_replace(false);
                            report(&err, &election, &health);
                            break;
                        }
                    }
                }
            }
            Err(err) => report(&err, &election, &health),
        }
        tokio::select! {
            biased;
            () = stopped(&mut release) => return,
            () = backoff.sleep() => {}
        }
    }
}

/// A lease failure: logged, and shown on /readyz until the lease works again.
fn report(err: &LeaseManagerError, election: &Election, health: &Health) {
    let problem = problem(err, election);
    warn!(
        error = %chain(err),
        lease = %election.lease_name,
        namespace = %election.namespace,
        "{problem}: not leading until it can"
    );
    health.set_election_problem(problem);
}

async fn give_up(manager: &LeaseManager, election: &Election) {
    match tokio::time::timeout(RELEASE_TIMEOUT, manager.release()).await {
        Ok(Ok(())) => info!(lease = %election.lease_name, "released the leader lease"),
        Ok(Err(err)) => warn!(
            error = %chain(&err),
            lease = %election.lease_name,
            "cannot release the leader lease: a standby takes over once it expires"
        ),
        Err(_) => warn!(
            lease = %election.lease_name,
            "releasing the leader lease timed out: a standby takes over once it expires"
        ),
    }
}

/// What keeps this replica from the lease, in words an operator can act on; `/readyz` shows it
/// and the log says it.
pub(super) fn problem(err: &LeaseManagerError, election: &Election) -> String {
    let lease = format!("Lease {}/{}", election.namespace, election.lease_name);
    let status = match err {
        LeaseManagerError::KubeError(kube::Error::Api(status)) => Some(status),
        _ => None,
    };
    match status {
        Some(s) if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces") => {
            let why = if election.namespace == FALLBACK_NAMESPACE {
                format!(
                    "{FALLBACK_NAMESPACE} is the lease namespace when neither --lease-namespace, \
                     POD_NAMESPACE nor a pod's service account names one, as when the controller \
                     runs outside a pod"
                )
            } else {
                format!("{} was given as the lease namespace", election.namespace)
            };
            format!(
                "namespace {} does not exist, so {lease} cannot be created ({why}); the \
                 controller creates no namespace: create it or pass --lease-namespace",
                election.namespace
            )
        }
        Some(s) if s.code == 403 => format!(
            "the apiserver refuses this controller access to {lease}: it needs get, create, \
             update and patch on leases in namespace {} (the chart's leader-election Role)",
            election.namespace
        ),
        _ => format!("cannot read, create or renew {lease}: {}", chain(err)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kube::core::Status;

    #[test]
    fn lease_timing_renews_a_third_before_expiry() {
        let election = |secs| Election {
            lease_name: "l".into(),
            namespace: "n".into(),
            identity: "i".into(),
            lease_duration: Duration::from_secs(secs),
        };
        assert_eq!(election(15).timing().unwrap(), (15, 5));
        assert_eq!(election(2).timing().unwrap(), (2, 1));
        assert!(matches!(
            election(1).timing(),
            Err(RunError::LeaseDuration(_))
        ));
    }

    /// An error as the apiserver words it (`namespaces "ops" not found` for a create in a
    /// namespace that does not exist).
    fn api_error(code: u16, kind: &str) -> LeaseManagerError {
        let status: Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": "NotFound", "message": format!("{kind} \"ops\" not found"),
            "details": {"name": "ops", "kind": kind},
        }))
        .unwrap();
        LeaseManagerError::KubeError(kube::Error::Api(status.boxed()))
    }

    fn election(namespace: &str) -> Election {
        Election {
            lease_name: "attune-controller".into(),
            namespace: namespace.into(),
            identity: "i".into(),
            lease_duration: Duration::from_secs(15),
        }
    }

    #[test]
    fn a_missing_lease_namespace_is_named_with_where_it_came_from() {
        let fallback = problem(&api_error(404, "namespaces"), &election(FALLBACK_NAMESPACE));
        assert_eq!(
            fallback,
            "namespace attune-system does not exist, so Lease attune-system/attune-controller \
             cannot be created (attune-system is the lease namespace when neither \
             --lease-namespace, POD_NAMESPACE nor a pod's service account names one, as when the \
             controller runs outside a pod); the controller creates no namespace: create it or \
             pass --lease-namespace"
        );
        let given = problem(&api_error(404, "namespaces"), &election("ops"));
        assert!(
            given.contains("(ops was given as the lease namespace)"),
            "{given}"
        );
        let forbidden = problem(&api_error(403, "leases"), &election("ops"));
        assert!(
            forbidden.contains("get, create, update and patch on leases in namespace ops"),
            "{forbidden}"
        );
        let other = problem(&api_error(500, "leases"), &election("ops"));
        assert!(
            other.starts_with("cannot read, create or renew Lease ops/attune-controller: "),
            "{other}"
        );
    }
}
