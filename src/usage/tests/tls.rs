//! `tls.insecureSkipVerify` against a real TLS server with a self-signed certificate
//! (`openssl s_server -www`, which answers any GET with an HTML status page).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::crd::{MetricsSource, TargetKind};
use crate::usage::{
    Prometheus, QueryBudget, QueryLimits, Resource, UsageError, UsageRequest, UsageSettings,
    Workload, fetch_usage,
};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A self-signed `https://127.0.0.1:PORT`.
fn tls_server(dir: &std::path::Path) -> (Server, String) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, format!("https://127.0.0.1:{port}"))
}

async fn query(address: &str, insecure: bool) -> UsageError {
    let source: MetricsSource = serde_json::from_value(json!({"prometheus": {
        "address": address, "tls": {"insecureSkipVerify": insecure}}}))
    .unwrap();
    let settings = UsageSettings::from_spec(&source, None).unwrap();
    let budget = Arc::new(QueryBudget::new(QueryLimits::default()).unwrap());
    let prometheus = Prometheus::new(settings.endpoint, budget).unwrap();
    let request = UsageRequest {
        settings: &settings.query,
        workload: Workload {
            namespace: "shop",
            name: "web",
            kind: TargetKind::Deployment,
            indexed: false,
        },
        resource: Resource::Cpu,
        now_ms: 1_767_571_200_000,
    };
    fetch_usage(&prometheus, &request).await.unwrap_err()
}

#[tokio::test]
async fn insecure_skip_verify_accepts_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = tls_server(dir.path());

    match query(&address, false).await {
        UsageError::Unreachable { reason, .. } => {
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("verified TLS should refuse the certificate: {other:?}"),
    }
    // Skipping verification, the TLS handshake succeeds and the HTML page is the answer.
    let err = query(&address, true).await;
    assert!(
        matches!(&err, UsageError::Malformed { detail, .. } if detail.starts_with("not a prometheus answer")),
        "{err:?}"
    );
}
