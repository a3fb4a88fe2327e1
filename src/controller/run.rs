//! The controller process around the reconciler: waits for the apiserver, takes part in leader
//! election on a `coordination.k8s.io` Lease ([`super::leader`]), runs [`super::watch::run`] only
//! while it leads — and hands the reconciles a [`WriteGate`] that follows the lease, so a write
//! still in flight when the lease is lost is abandoned — serves metrics and health, and shuts down in order on
//! SIGTERM/SIGINT: readiness goes first, then the controller (in-flight reconciles finish), then
//! the lease is released (nobody holds a lease that nobody renews), then the HTTP server. A
//! standby re-reads the lease when the last holder's term would have ended, so it takes over at
//! most one lease duration after the leader's last renewal.
//!
//! It must not know what a reconcile does, nor read or log any part of the configuration
//! beyond names and durations: credentials never pass through here.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use super::Config;
pub use super::leader::Election;
use super::leader::elect;
use super::serve::{self, Health};
use super::watch::WatchError;
use crate::error_chain as chain;
use crate::metrics::Metrics;
use crate::pr::WriteGate;

/// Where the pod's namespace is mounted with its service-account token.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// The lease namespace when neither the pod nor the flags say.
pub const FALLBACK_NAMESPACE: &str = "attune-system";
/// Shortest lease the election accepts: the renewal needs a grace of at least one second
/// below the lease duration, and the lease API counts in whole seconds.
pub const MIN_LEASE_DURATION: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {addr} for metrics and health (check --bind-address)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the SIGTERM/SIGINT handlers")]
    Signal(#[source] std::io::Error),
    #[error(
        "lease duration {0:?} is too short: use at least {MIN_LEASE_DURATION:?} (--lease-duration)"
    )]
    LeaseDuration(Duration),
    #[error("the controller failed")]
    Controller(#[source] WatchError),
    #[error("the controller stopped although nobody asked it to")]
    ControllerEnded,
    #[error("leader election stopped unexpectedly")]
    ElectionEnded,
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
}

/// Everything the process needs besides the client and the metrics.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// `None`: no leader election, this process always leads (one replica only).
    pub election: Option<Election>,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub bind: SocketAddr,
}

/// Runs the whole process until `shutdown` resolves, then stops in order and returns.
pub async fn run(
    client: kube::Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    if let Some(election) = &settings.election {
        election.timing()?;
    }
    let listener = TcpListener::bind(settings.bind)
        .await
        .map_err(|source| RunError::Bind {
            addr: settings.bind,
            source,
        })?;
    let health = Arc::new(Health::new());
    let (server_stop, server_stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(
        listener,
        serve::router(metrics.clone(), health.clone()),
        async move {
            let _ = server_stopped.await;
        },
    ));
    info!(address = %settings.bind, "serving /metrics, /healthz and /readyz");

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_health = health.clone();
    let leading = lead(
        client,
        settings.config,
        settings.election,
        metrics,
        health,
        stop_rx,
    );
    tokio::pin!(leading);
    let result = tokio::select! {
        result = &mut leading => result,
        () = shutdown => {
            info!("shutdown requested: stopping the controller");
            stop_health.set_stopping();
            let _ = stop_tx.send(true);
            leading.await
        }
    };
    // Readiness is gone before the server stops, whichever way the controller ended.
    stop_health.set_stopping();
    let _ = server_stop.send(());
    let served = match server.await {
        Ok(served) => served.map_err(RunError::from),
        // The server task only ends by returning; a panic in it is a bug worth surfacing.
        Err(join) => {
            warn!(error = %join, "the metrics and health server task failed");
            Ok(())
        }
    };
    info!("stopped");
    result.and(served)
}

/// Waits for the apiserver, then runs the controller while this process leads, until `stop`
/// turns true (or its sender is gone). Returns after the controller finished and the lease
/// was released.
pub async fn lead(
    client: kube::Client,
    mut config: Config,
    election: Option<Election>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RunError> {
    let timing = election.as_ref().map(Election::timing).transpose()?;
    if !wait_for_apiserver(&client, &health, &mut stop).await {
        return Ok(());
    }
    let (Some(election), Some(timing)) = (election, timing) else {
        return run_unelected(client, config, metrics, &health, stop).await;
    };

    let (leading_tx, mut leading) = watch::channel(false);
    // Every write of a reconcile asks this right before it is made, so one still running after
    // the lease is lost abandons its writes instead of racing the new leader.
    config.write_gate = WriteGate::following(leading.clone());
    let (release_tx, release_rx) = watch::channel(false);
    let elector = tokio::spawn(elect(
        client.clone(),
        election,
        timing,
        leading_tx,
        health,
        release_rx,
    ));
    let result = loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break Ok(()),
            became = leading.wait_for(|l| *l) => if became.is_err() {
                break Err(RunError::ElectionEnded);
            },
        }
        info!("became the leader: starting the controller");
        metrics.set_leader(true);
        let (halt, halted) = oneshot::channel::<()>();
        let controller = super::watch::run(
            client.clone(),
            config.clone(),
            metrics.clone(),
            async move {
                let _ = halted.await;
            },
        );
        tokio::pin!(controller);
        let cause = tokio::select! {
            biased;
            () = stopped(&mut stop) => Halt::Stop,
            lost = leading.wait_for(|l| !*l) => if lost.is_ok() { Halt::Lost } else { Halt::Gone },
            ended = &mut controller => {
                metrics.set_leader(false);
                break match ended {
                    Ok(()) => Err(RunError::ControllerEnded),
                    Err(err) => Err(RunError::Controller(err)),
                };
            }
        };
        if cause == Halt::Lost {
            warn!("lost the leader lease: stopping the controller and standing by");
        }
        let _ = halt.send(());
        let ended = controller.await;
        metrics.set_leader(false);
        info!("the controller stopped");
        if let Some(end) = after_term(cause, ended) {
            break end;
        }
    };
    // Only now, with no reconcile left running, may another replica take over.
    let _ = release_tx.send(true);
    if let Err(join) = elector.await {
        warn!(error = %join, "the leader election task failed");
    }
    result
}

/// Without leader election: the controller runs until told to stop.
async fn run_unelected(
    client: kube::Client,
    config: Config,
    metrics: Arc<Metrics>,
    health: &Health,
    stop: watch::Receiver<bool>,
) -> Result<(), RunError> {
    health.set_election(true);
    info!("leader election is off: starting the controller");
    metrics.set_leader(true);
    let result = super::watch::run(client, config, metrics.clone(), stopped_owned(stop)).await;
    metrics.set_leader(false);
    result.map_err(RunError::Controller)
}

/// How the process goes on after a term as leader ended: `None` stands by for the next term.
fn after_term(
    cause: Halt,
    ended: Result<(), super::watch::WatchError>,
) -> Option<Result<(), RunError>> {
    match (cause, ended) {
        (_, Err(err)) => Some(Err(RunError::Controller(err))),
        (Halt::Stop, Ok(())) => Some(Ok(())),
        (Halt::Gone, Ok(())) => Some(Err(RunError::ElectionEnded)),
        (Halt::Lost, Ok(())) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Halt {
    /// Shutdown.
    Stop,
    /// Another replica holds the lease now.
    Lost,
    /// The election task is gone.
    Gone,
}

/// Asks the apiserver for its version until it answers; false if stopped first.
async fn wait_for_apiserver(
    client: &kube::Client,
    health: &Health,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut backoff = Backoff::new();
    loop {
        let answer = tokio::select! {
            biased;
            () = stopped(stop) => return false,
            answer = client.apiserver_version() => answer,
        };
        match answer {
            Ok(info) => {
                info!(version = %info.git_version, "the apiserver answered");
                health.set_apiserver(true);
                return true;
            }
            Err(err) => warn!(error = %chain(&err), "the apiserver does not answer yet"),
        }
        tokio::select! {
            biased;
            () = stopped(stop) => return false,
            () = backoff.sleep() => {}
        }
    }
}

/// Resolves once `rx` turns true or its sender is gone (whoever could stop us has left).
pub(super) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn stopped_owned(mut rx: watch::Receiver<bool>) {
    stopped(&mut rx).await;
}

/// Doubling pause between retries, 1 s to 30 s.
pub(super) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(30);

    pub(super) fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    pub(super) fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    pub(super) async fn sleep(&mut self) {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        tokio::time::sleep(pause).await;
    }
}

/// Installs the SIGTERM and SIGINT handlers now and returns a future that resolves on the
/// first of them. A second signal ends the process at once (exit status 130) for when an
/// orderly shutdown hangs.
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, RunError> {
    let mut term = signal(SignalKind::terminate()).map_err(RunError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signal)?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        info!(signal = name, "signal received; a second one exits at once");
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            warn!(
                signal = name,
                "second signal: exiting without an orderly shutdown"
            );
            std::process::exit(130);
        });
    })
}

/// The namespace of the lease when no flag names one: `POD_NAMESPACE`, else the namespace of
/// the pod's service account, else [`FALLBACK_NAMESPACE`].
pub fn default_namespace() -> String {
    namespace_from(
        std::env::var("POD_NAMESPACE").ok(),
        Path::new(SERVICE_ACCOUNT_NAMESPACE),
    )
}

fn namespace_from(env: Option<String>, service_account_file: &Path) -> String {
    env.map(|ns| ns.trim().to_owned())
        .filter(|ns| !ns.is_empty())
        .or_else(|| {
            std::fs::read_to_string(service_account_file)
                .ok()
                .map(|ns| ns.trim().to_owned())
                .filter(|ns| !ns.is_empty())
        })
        .unwrap_or_else(|| FALLBACK_NAMESPACE.to_owned())
}

/// This replica's lease identity: `POD_NAME` (unique in a cluster), else the host name with the
/// process id, so two processes on one machine never share an identity.
pub fn default_identity() -> String {
    identity_from(
        std::env::var("POD_NAME").ok(),
        hostname(),
        std::process::id(),
    )
}

fn identity_from(pod_name: Option<String>, hostname: Option<String>, pid: u32) -> String {
    match pod_name.filter(|name| !name.trim().is_empty()) {
        Some(name) => name.trim().to_owned(),
        None => format!(
            "{}-{pid}",
            hostname.unwrap_or_else(|| "attune-controller".into())
        ),
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// Parses an interval flag (`30s`, `10m`, `1h30m`); zero is refused, it would spin.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = crate::crd::duration::parse_go_duration(text.trim())
        .map_err(|why| format!("{why}; write a duration like 30s, 10m or 1h"))?;
    if duration.is_zero() {
        return Err("must be longer than zero; write a duration like 30s, 10m or 1h".into());
    }
    Ok(duration)
}

/// Parses `--lease-duration`: an interval of at least [`MIN_LEASE_DURATION`].
pub fn parse_lease_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_interval(text)?;
    if duration < MIN_LEASE_DURATION {
        return Err(format!(
            "too short: the lease needs at least {MIN_LEASE_DURATION:?}"
        ));
    }
    Ok(duration)
}

/// Parses a listen address, `IP:PORT` (`0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:0`).
pub fn parse_bind_address(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        "expected IP:PORT, e.g. 0.0.0.0:8080 (all interfaces) or 127.0.0.1:8080; host names are not resolved"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn intervals_read_go_durations_and_refuse_zero_and_junk() {
        assert_eq!(parse_interval("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_interval("1h30m").unwrap(), Duration::from_secs(5400));
        let zero = parse_interval("0s").unwrap_err();
        assert!(zero.contains("longer than zero"), "{zero}");
        let junk = parse_interval("10 minutes").unwrap_err();
        assert!(junk.contains("30s, 10m or 1h"), "{junk}");
        assert!(parse_interval("-5m").is_err());
        let short = parse_lease_duration("1s").unwrap_err();
        assert!(short.contains("too short"), "{short}");
        assert_eq!(
            parse_lease_duration("15s").unwrap(),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn bind_addresses_need_an_ip_and_a_port() {
        assert_eq!(
            parse_bind_address("0.0.0.0:8080").unwrap(),
            "0.0.0.0:8080".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_bind_address("[::]:9090").is_ok());
        assert!(parse_bind_address(":8080").is_err());
        assert!(parse_bind_address("localhost:8080").is_err());
        assert!(parse_bind_address("0.0.0.0").is_err());
    }

    #[test]
    fn namespace_prefers_the_env_then_the_service_account_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("namespace");
        assert_eq!(namespace_from(None, &file), FALLBACK_NAMESPACE);
        std::fs::write(&file, "team-a\n").unwrap();
        assert_eq!(namespace_from(None, &file), "team-a");
        assert_eq!(namespace_from(Some(" ".into()), &file), "team-a");
        assert_eq!(namespace_from(Some("ops".into()), &file), "ops");
    }

    #[test]
    fn identity_is_the_pod_name_else_host_and_pid() {
        assert_eq!(
            identity_from(Some("attune-7d9-x2".into()), Some("h".into()), 7),
            "attune-7d9-x2"
        );
        assert_eq!(identity_from(None, Some("box".into()), 42), "box-42");
        assert_eq!(
            identity_from(Some(String::new()), None, 1),
            "attune-controller-1"
        );
    }
}
