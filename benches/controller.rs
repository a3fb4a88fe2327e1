//! The controller bench: peak RSS and reconcile latency of `attune controller` with
//! 1,000 AttunePolicies over 10,000 pods on a real apiserver (not a test; run it by hand).
//!
//! It starts its own control plane (tests/cluster/up.sh: kube-apiserver 1.35 + etcd + KCM on
//! 127.0.0.1, no kubelet), installs the AttunePolicy CRD and measures, in the same run so the
//! figures read as ratios on a noisy machine:
//! - baselines: the controller's RSS on an empty cluster, and one apiserver round trip (GET of
//!   a policy, median of 50);
//! - then `--deployments` Deployments (default 1,000) with `--replicas` pods each (default
//!   10), which the KCM turns into Pending pods, and one Auto-mode policy per Deployment whose
//!   status this program writes as the recommender would;
//! - the release binary `attune controller` started on that cluster: time until every pod
//!   carries the recommended request (resized through `pods/resize`), peak RSS (VmHWM of the
//!   child), reconcile-duration percentiles from its `/metrics` histogram, and the reconciles
//!   it makes in a quiet minute afterwards (steady state).
//!
//! With `--recommender builtin` the controller computes the recommendations itself from a real
//! Prometheus (tests/servers/prometheus.sh) serving a backfilled week of usage for every
//! Deployment ([`history`]); the figures then include its queries, profiles and status writes.
//!
//! Run: `cargo bench --bench controller` (options after `--`)
//! Options: `--deployments N --replicas N --namespaces N --keep` (leave the cluster running),
//! `--recommender external|builtin` (default external), `--controller-bin PATH` (the `attune`
//! binary to measure; default the one `cargo bench` builds, with the release settings).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

#[path = "controller/child.rs"]
mod child;
#[path = "controller/history.rs"]
mod history;
#[path = "controller/scrape.rs"]
mod scrape;

use child::Controller;
use scrape::{counter, percentiles};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CPU_NOW: &str = "200m";
const CPU_REC: &str = "120m";
const MEM_NOW: &str = "256Mi";
const MEM_REC: &str = "192Mi";

struct Opts {
    deployments: usize,
    replicas: usize,
    namespaces: usize,
    keep: bool,
    /// `--recommender=builtin`: the controller recommends from the bench's Prometheus.
    builtin: bool,
    /// `--controller-bin PATH`: the `attune` binary to measure instead of Cargo's.
    bin: Option<PathBuf>,
}

fn opts() -> Res<Opts> {
    let mut o = Opts {
        deployments: 1000,
        replicas: 10,
        namespaces: 10,
        keep: false,
        builtin: false,
        bin: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Res<usize> {
            let v = args.next().ok_or(format!("{name} needs a number"))?;
            Ok(v.parse()
                .map_err(|_| format!("{name}: {v:?} is not a number"))?)
        };
        match a.as_str() {
            "--deployments" => o.deployments = num("--deployments")?,
            "--replicas" => o.replicas = num("--replicas")?,
            "--namespaces" => o.namespaces = num("--namespaces")?.max(1),
            "--keep" => o.keep = true,
            "--recommender" => match args.next().as_deref() {
                Some("builtin") => o.builtin = true,
                Some("external") => o.builtin = false,
                other => return Err(format!("--recommender {other:?}: builtin or external").into()),
            },
            "--controller-bin" => {
                o.bin = Some(args.next().ok_or("--controller-bin needs a path")?.into())
            }
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test control plane, stopped on drop unless `--keep`.
struct Cluster {
    state: PathBuf,
    keep: bool,
}

impl Cluster {
    fn up(keep: bool) -> Res<(Cluster, PathBuf)> {
        let state =
            std::env::temp_dir().join(format!("attune-bench-cluster-{}", std::process::id()));
        let status = Command::new(root().join("tests/cluster/up.sh"))
            .arg(&state)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!(
                "tests/cluster/up.sh failed ({status}); see {}",
                state.display()
            )
            .into());
        }
        let kubeconfig = state.join("kubeconfig");
        Ok((Cluster { state, keep }, kubeconfig))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("cluster kept: . {}/cluster.env", self.state.display());
            return;
        }
        let _ = Command::new(root().join("tests/cluster/down.sh"))
            .arg(&self.state)
            .env("ATTUNE_DOWN_PURGE", "1")
            .stdout(Stdio::null())
            .status();
    }
}

/// A scratch directory (git cache, controller log), removed at the end.
struct Work(PathBuf);

impl Work {
    fn new() -> Res<Work> {
        let dir = std::env::temp_dir().join(format!("attune-bench-ctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Work(dir))
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn client(kubeconfig: &Path) -> Res<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    // Creating 11,000 objects: the default client is fine, but keep connections warm.
    config.read_timeout = Some(Duration::from_secs(120));
    Ok(Client::try_from(config)?)
}

async fn install_crd(client: &Client) -> Res<()> {
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&attune::crd::crd_yaml()?)?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        "attunepolicies.attune.io",
        &PatchParams::apply("attune-bench").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    for _ in 0..100 {
        let got = api.get("attunepolicies.attune.io").await?;
        let established = got
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the AttunePolicy CRD never became Established".into())
}

fn deployment(name: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "app", "image": "registry.invalid/app:1",
                    "resources": {
                        "requests": {"cpu": CPU_NOW, "memory": MEM_NOW},
                        "limits": {"cpu": "400m", "memory": "512Mi"}
                    }
                }]}
            }
        }
    })
}

/// An Auto policy; auto-revert off with the bench's Prometheus: resizes then run past the
/// 5-minute observation (a cycle is 2,000 queries) and a pod with no kubelet is never Ready.
fn policy(name: &str, prometheus: Option<&str>) -> Value {
    let address = prometheus.unwrap_or("http://prometheus.invalid:9090");
    json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": name},
            "metricsSource": {"prometheus": {"address": address}},
            "cpu": {}, "memory": {},
            "updateStrategy": {
                "type": "Auto", "maxConcurrentResizes": 50, "cooldown": "1h",
                "autoRevert": prometheus.is_none(),
            }
        }
    })
}

fn recommendation(name: &str) -> Value {
    json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name},
        "status": {"recommendations": [{
            "workload": name, "kind": "Deployment",
            "containers": [{
                "name": "app",
                "recommended": {"cpuRequest": CPU_REC, "memoryRequest": MEM_REC},
                "confidence": 0.9, "dataPoints": 500
            }]
        }]}
    })
}

/// Runs `count` jobs with at most `width` in flight.
async fn bounded<F, Fut>(count: usize, width: usize, make: F) -> Res<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res<()>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        if set.len() >= width
            && let Some(done) = set.join_next().await
        {
            done??;
        }
        set.spawn(make(i));
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    Ok(())
}

fn ns_of(o: &Opts, i: usize) -> String {
    format!("bench-{}", i % o.namespaces)
}

async fn create_world(client: &Client, o: &Opts) -> Res<Duration> {
    let start = Instant::now();
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in 0..o.namespaces {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("bench-{n}")}}))?;
        nss.create(&PostParams::default(), &ns).await?;
    }
    bounded(o.deployments, 32, |i| {
        let client = client.clone();
        let ns = ns_of(o, i);
        let replicas = o.replicas;
        async move {
            let api: Api<Deployment> = Api::namespaced(client, &ns);
            let d: Deployment = serde_json::from_value(deployment(&format!("w{i}"), replicas))?;
            api.create(&PostParams::default(), &d).await?;
            Ok(())
        }
    })
    .await?;
    let want = o.deployments * o.replicas;
    let pods: Api<Pod> = Api::all(client.clone());
    loop {
        let have = pods
            .list_metadata(&ListParams::default())
            .await?
            .items
            .len();
        eprint!("\rpods created: {have}/{want}   ");
        if have >= want {
            eprintln!();
            break;
        }
        if start.elapsed() > Duration::from_secs(1800) {
            return Err(format!("only {have} of {want} pods after 30 min").into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(start.elapsed())
}

/// One policy per Deployment; with `prometheus` (builtin mode) the controller recommends,
/// without it the bench writes the recommendation.
async fn create_policies(client: &Client, o: &Opts, prometheus: Option<&str>) -> Res<()> {
    let address = prometheus.map(str::to_owned);
    let write_recommendation = prometheus.is_none();
    bounded(o.deployments, 32, |i| {
        let client = client.clone();
        let ns = ns_of(o, i);
        let address = address.clone();
        async move {
            let api: Api<attune::crd::AttunePolicy> = Api::namespaced(client, &ns);
            let name = format!("w{i}");
            let p: attune::crd::AttunePolicy =
                serde_json::from_value(policy(&name, address.as_deref()))?;
            api.create(&PostParams::default(), &p).await?;
            if !write_recommendation {
                return Ok(());
            }
            api.patch_status(
                &name,
                &PatchParams::apply("attune-bench-recommender").force(),
                &Patch::Apply(recommendation(&name)),
            )
            .await?;
            Ok(())
        }
    })
    .await
}

/// Pods whose app container no longer asks for the CPU it was created with (external mode:
/// the bench's recommendation; builtin: the controller's).
async fn resized(client: &Client) -> Res<usize> {
    let pods: Api<Pod> = Api::all(client.clone());
    let list = pods.list(&ListParams::default()).await?;
    Ok(list
        .items
        .iter()
        .filter(|p| {
            p.spec.as_ref().is_some_and(|s| {
                s.containers.iter().any(|c| {
                    c.resources
                        .as_ref()
                        .and_then(|r| r.requests.as_ref())
                        .and_then(|r| r.get("cpu"))
                        .is_some_and(|q| q.0 != CPU_NOW)
                })
            })
        })
        .count())
}

async fn apiserver_round_trip(client: &Client, o: &Opts) -> Res<Duration> {
    let api: Api<attune::crd::AttunePolicy> = Api::namespaced(client.clone(), &ns_of(o, 0));
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        api.get("w0").await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

#[tokio::main]
async fn main() -> Res<()> {
    let o = opts()?;
    let work = Work::new()?;
    let prometheus = if o.builtin {
        eprintln!(
            "backfilling the usage history of {} deployments",
            o.deployments
        );
        let p = history::Prometheus::start(&work.0, o.deployments, o.namespaces)?;
        eprintln!(
            "{} samples backfilled in {:.0} s; prometheus at {}",
            p.samples,
            p.backfill.as_secs_f64(),
            p.url
        );
        Some(p)
    } else {
        None
    };
    let prometheus_url = prometheus.as_ref().map(|p| p.url.clone());
    eprintln!("starting the control plane");
    let (_cluster, kubeconfig) = Cluster::up(o.keep)?;
    let client = client(&kubeconfig).await?;
    install_crd(&client).await?;

    let bin = child::binary(o.bin.as_deref());
    eprintln!("baseline: the controller on an empty cluster");
    let mut idle = Controller::start(&bin, &kubeconfig, work.0.as_path(), o.builtin)?;
    idle.wait_ready().await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (idle_hwm, _) = idle.memory()?;
    drop(idle);

    eprintln!(
        "creating {} deployments x {} replicas in {} namespaces",
        o.deployments, o.replicas, o.namespaces
    );
    let pods_took = create_world(&client, &o).await?;
    create_policies(&client, &o, prometheus_url.as_deref()).await?;
    let rtt = apiserver_round_trip(&client, &o).await?;

    eprintln!("running the controller");
    let started = Instant::now();
    let mut ctl = Controller::start(&bin, &kubeconfig, work.0.as_path(), o.builtin)?;
    ctl.wait_ready().await?;
    let want = o.deployments * o.replicas;
    let mut converged = None;
    while started.elapsed() < Duration::from_secs(1800) {
        let done = resized(&client).await?;
        eprint!("\rpods resized: {done}/{want}   ");
        if done >= want {
            converged = Some(started.elapsed());
            eprintln!();
            break;
        }
        if let Some(status) = ctl.exited()? {
            return Err(format!(
                "controller exited: {status}; see {}",
                work.0.as_path().join("controller.log").display()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (_, after_converge) = ctl.get("/metrics").await?;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (_, after_quiet) = ctl.get("/metrics").await?;
    let (peak, rss) = ctl.memory()?;
    drop(ctl);

    let qs = [0.5, 0.9, 0.99, 1.0];
    let name = "attune_reconcile_duration_seconds";
    let (count, ps) =
        percentiles(&after_converge, name, &qs).ok_or("no reconcile histogram in /metrics")?;
    let reconciles = |m: &str| counter(m, "attune_reconciles_total");
    let quiet = reconciles(&after_quiet).saturating_sub(reconciles(&after_converge));
    let writes: BTreeMap<&str, u64> = [
        (
            "resizes applied",
            counter(&after_quiet, "attune_resizes_total{result=\"applied\"}"),
        ),
        (
            "resizes failed",
            counter(&after_quiet, "attune_resizes_total{result=\"failed\"}"),
        ),
        (
            "reconcile errors",
            counter(&after_quiet, "attune_reconciles_total{result=\"error\"}"),
        ),
    ]
    .into_iter()
    .collect();

    let mib = |kib: u64| kib as f64 / 1024.0;
    let ms = |s: f64| s * 1000.0;
    let rtt_ms = rtt.as_secs_f64() * 1000.0;
    println!("| metric | value |");
    println!("|---|---|");
    println!("| policies / pods | {} / {} |", o.deployments, want);
    println!(
        "| recommender | {} |",
        if o.builtin {
            "builtin (bench Prometheus)"
        } else {
            "external (bench writes)"
        }
    );
    println!("| controller binary | {} |", bin.display());
    let queries = counter(&after_converge, "attune_prometheus_queries_total");
    println!(
        "| Prometheus range queries until converged | {queries} ({:.2} per workload; bound: 2 per \
         workload per 300 s interval, at most 10/s, so at most 3,000 per interval) |",
        queries as f64 / o.deployments.max(1) as f64
    );
    println!(
        "| Prometheus range queries in the quiet minute after | {} |",
        counter(&after_quiet, "attune_prometheus_queries_total").saturating_sub(queries)
    );
    println!(
        "| creating the pods (KCM, no kubelet) | {:.0} s |",
        pods_took.as_secs_f64()
    );
    println!(
        "| baseline: controller peak RSS on an empty cluster | {:.1} MiB |",
        mib(idle_hwm)
    );
    println!(
        "| controller peak RSS (VmHWM) | {:.1} MiB ({:.2}x baseline) |",
        mib(peak),
        peak as f64 / idle_hwm.max(1) as f64
    );
    println!(
        "| controller RSS after a quiet minute | {:.1} MiB |",
        mib(rss)
    );
    match converged {
        Some(t) => println!("| start to every pod resized | {:.1} s |", t.as_secs_f64()),
        None => println!("| start to every pod resized | not reached in 30 min |"),
    }
    println!("| baseline: apiserver round trip (GET policy, median of 50) | {rtt_ms:.2} ms |");
    for (q, p) in qs.iter().zip(&ps) {
        println!(
            "| reconcile duration p{} (bucket bound) | ≤ {:.1} ms ({:.1}x round trip) |",
            (q * 100.0) as u32,
            ms(*p),
            ms(*p) / rtt_ms
        );
    }
    println!("| reconciles until converged | {count} |");
    println!("| reconciles in the quiet minute after | {quiet} |");
    for (k, v) in writes {
        println!("| {k} | {v} |");
    }
    Ok(())
}
