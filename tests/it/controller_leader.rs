//! Leader election on the real apiserver: of two `attune controller` processes (in-process
//! runners here) sharing one Lease, exactly one leads at any time; when the leader shuts down,
//! the standby takes over within one lease duration, and the lease then names it. A Lease
//! namespace that does not exist is named in `/readyz` until someone creates it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::cluster::{self, TestNamespace};
use attune::controller::Config;
use attune::controller::run::{self, Election, Settings};
use attune::controller::serve::{self, Health};
use attune::metrics::Metrics;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;

const LEASE: Duration = Duration::from_secs(4);

struct Runner {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), run::RunError>>,
    metrics: Arc<Metrics>,
}

impl Runner {
    fn start(client: &Client, ns: &str, identity: &str, cache: &std::path::Path) -> Runner {
        let (stop, stopped) = oneshot::channel::<()>();
        let metrics = Arc::new(Metrics::new());
        let settings = Settings {
            config: Config {
                cache_dir: cache.to_owned(),
                // As the other shared-cluster controllers (see support::controller_lock): the
                // leader reconciles every test's policies, whose pods are Pending.
                eligibility: attune::resize::Eligibility {
                    require_running: false,
                },
                ..Config::default()
            },
            election: Some(Election {
                lease_name: "attune-controller".into(),
                namespace: ns.to_owned(),
                identity: identity.to_owned(),
                lease_duration: LEASE,
            }),
            bind: "127.0.0.1:0".parse().unwrap(),
        };
        let task = tokio::spawn(run::run(
            client.clone(),
            settings,
            Arc::clone(&metrics),
            async move {
                let _ = stopped.await;
            },
        ));
        Runner {
            stop,
            task,
            metrics,
        }
    }

    fn leads(&self) -> bool {
        self.metrics
            .encode()
            .lines()
            .any(|l| l == "attune_leader 1")
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("stops within 30 s")
            .expect("no panic")
            .expect("ends without error");
    }
}

async fn holder(client: &Client, ns: &str) -> Option<String> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(client.clone(), ns);
    leases
        .get_opt("attune-controller")
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_and_a_clean_handover() {
    let _controllers = crate::support::controller_lock::shared().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "leader").await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Runner::start(&client, &ns.name, "replica-a", &tmp.path().join("a"));
    let b = Runner::start(&client, &ns.name, "replica-b", &tmp.path().join("b"));

    cluster::eventually("one replica to lead", Duration::from_secs(30), || async {
        match (a.leads(), b.leads()) {
            (true, false) | (false, true) => Ok(()),
            other => Err(format!("(a, b) leading: {other:?}")),
        }
    })
    .await;
    // Never both, over a few renewals.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert!(!(a.leads() && b.leads()), "two leaders at once");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (leader, standby, standby_id) = if a.leads() {
        (a, b, "replica-b")
    } else {
        (b, a, "replica-a")
    };
    let first = holder(&client, &ns.name)
        .await
        .expect("the lease names a holder");
    assert_ne!(first, standby_id, "the lease names the leader");

    let stopped = Instant::now();
    leader.stop().await;
    cluster::eventually(
        "the standby to take over",
        Duration::from_secs(20),
        || async {
            if standby.leads() {
                Ok(())
            } else {
                Err("standby not leading yet".to_owned())
            }
        },
    )
    .await;
    // One lease term, plus the lease manager's random back-off and a poll of ours.
    assert!(
        stopped.elapsed() < LEASE + Duration::from_secs(3),
        "took over {:?} after the leader stopped; the lease lasts {LEASE:?}",
        stopped.elapsed()
    );
    assert_eq!(holder(&client, &ns.name).await.as_deref(), Some(standby_id));
    standby.stop().await;
}

async fn readyz(app: &axum::Router) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Outside a pod the Lease goes to a namespace nobody may have created. The controller creates
/// none: `/readyz` (and the log) name the namespace and the fix, and once the namespace exists
/// the election recovers without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_lease_namespace_is_named_in_readyz_until_it_exists() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let namespace = format!("lease-missing-{}", cluster::suffix());
    let tmp = tempfile::tempdir().unwrap();
    let health = Arc::new(Health::new());
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run::lead(
        client.clone(),
        Config {
            cache_dir: tmp.path().to_owned(),
            ..Config::default()
        },
        Some(Election {
            lease_name: "attune-controller".into(),
            namespace: namespace.clone(),
            identity: "replica-a".into(),
            lease_duration: LEASE,
        }),
        Arc::clone(&metrics),
        Arc::clone(&health),
        stopped,
    ));
    let app = serve::router(Arc::clone(&metrics), Arc::clone(&health));

    let said = cluster::eventually(
        "/readyz to name the missing namespace",
        Duration::from_secs(30),
        || async {
            match readyz(&app).await {
                (StatusCode::SERVICE_UNAVAILABLE, body) if body.contains("does not exist") => {
                    Ok(body)
                }
                (status, body) => Err(format!("{status}: {body}")),
            }
        },
    )
    .await;
    assert_eq!(
        said,
        format!(
            "leader election cannot reach the lease: namespace {namespace} does not exist, so \
             Lease {namespace}/attune-controller cannot be created ({namespace} was given as the \
             lease namespace); the controller creates no namespace: create it or pass \
             --lease-namespace\n"
        )
    );
    let namespaces: kube::Api<Namespace> = kube::Api::all(client.clone());
    assert!(
        namespaces.get_opt(&namespace).await.unwrap().is_none(),
        "the controller created no namespace"
    );
    assert!(metrics.encode().lines().any(|l| l == "attune_leader 0"));

    cluster::ensure_namespace(&client, &namespace).await;
    cluster::eventually(
        "the election to recover once the namespace exists",
        Duration::from_secs(60),
        || async {
            let leads = metrics.encode().lines().any(|l| l == "attune_leader 1");
            match readyz(&app).await {
                (StatusCode::OK, _) if leads => Ok(()),
                (status, body) => Err(format!("leading {leads}, {status}: {body}")),
            }
        },
    )
    .await;
    assert_eq!(
        holder(&client, &namespace).await.as_deref(),
        Some("replica-a")
    );

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops within 30 s")
        .expect("no panic")
        .expect("ends without error");
    let _ = namespaces.delete(&namespace, &Default::default()).await;
}
