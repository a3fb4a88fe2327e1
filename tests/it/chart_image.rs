//! The offline image (tests/tools/image.sh) built from the test build's `attune` binary: a
//! `docker save` archive whose one layer holds everything the binary needs, so the binary runs
//! from that layer alone (chroot), as the non-root user the chart's securityContext asks for;
//! so does the `helm` it ships.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_image_layer_runs_the_controller_binary_alone_as_non_root() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("attune.tar");
    run(Command::new(repo.join("tests/tools/image.sh"))
        .arg(&archive)
        .arg("example.com/attune:test")
        .env("ATTUNE_BIN", env!("CARGO_BIN_EXE_attune")));

    let unpacked = dir.path().join("archive");
    std::fs::create_dir(&unpacked).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    let image = &manifest[0];
    assert_eq!(image["RepoTags"][0], "example.com/attune:test");
    let layers = image["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    let config: Value = serde_json::from_slice(
        &std::fs::read(unpacked.join(image["Config"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"][0], "/usr/local/bin/attune");
    assert_eq!(config["config"]["Cmd"][0], "controller");
    // The config names the layer by the digest of its bytes.
    let layer = unpacked.join(layers[0].as_str().unwrap());
    let digest = run(Command::new("sha256sum").arg(&layer));
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        format!("sha256:{}", digest.split_whitespace().next().unwrap())
    );

    let root = dir.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&layer)
        .arg("-C")
        .arg(&root));
    assert!(root.join("etc/ssl/certs/ca-certificates.crt").is_file());
    let version = run(Command::new("chroot")
        .arg("--userspec=65532:65532")
        .arg(&root)
        .args(["/usr/local/bin/attune", "--version"]));
    assert_eq!(
        version.trim(),
        format!("attune {}", env!("CARGO_PKG_VERSION"))
    );
    // The helm the controller traces charts with runs from the layer alone too (it is static).
    let helm = run(Command::new("chroot")
        .arg("--userspec=65532:65532")
        .arg(&root)
        .args(["/usr/local/bin/helm", "version", "--short"])
        .env("HOME", "/tmp"));
    assert_eq!(helm.trim(), "v3.21.4");
}
