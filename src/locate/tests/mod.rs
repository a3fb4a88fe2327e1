//! Fixture-driven tests: each file in `fixtures/locate/` holds a live workload, the cluster
//! objects around it and, when they differ from the defaults, the Argo CD settings.

mod cases;
mod fetch;
mod rows;

use std::path::PathBuf;

use serde_json::Value;

use super::{Known, LocateError, Settings, Source, Step, Workload, locate, next_step};

pub(super) struct Fixture {
    pub workload: Workload,
    pub objects: Vec<Value>,
    pub settings: Settings,
}

pub(super) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/locate")
}

pub(super) fn load(name: &str) -> Fixture {
    let path = fixture_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut settings = Settings::default();
    if let Some(namespaces) = doc
        .pointer("/settings/argocdNamespaces")
        .and_then(Value::as_array)
    {
        settings.argocd_namespaces = namespaces
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
    }
    if let Some(id) = doc
        .pointer("/settings/installationId")
        .and_then(Value::as_str)
    {
        settings.installation_id = Some(id.to_owned());
    }
    Fixture {
        workload: Workload::from_value(&doc["workload"]).unwrap(),
        objects: doc["objects"].as_array().unwrap().clone(),
        settings,
    }
}

/// Runs the walk the way the fetch layer does: asks [`next_step`] and answers each request from
/// the fixture's objects, checking that nothing is asked twice.
pub(super) fn drive(fixture: &Fixture) -> Result<Source, LocateError> {
    let cluster = Known::from_objects(fixture.objects.clone());
    let mut known = Known::new();
    let mut asked = Vec::new();
    loop {
        match next_step(&fixture.workload, &known, &fixture.settings) {
            Step::Done(result) => return *result,
            Step::Need(key) => {
                assert!(!asked.contains(&key), "asked twice for {key}");
                asked.push(key.clone());
                known.record(key.clone(), cluster.get(&key).cloned());
            }
        }
    }
}

/// The pure walk over every object at once; must agree with [`drive`].
pub(super) fn run(fixture: &Fixture) -> Result<Source, LocateError> {
    let closed = locate(
        &fixture.workload,
        &Known::from_objects(fixture.objects.clone()),
        &fixture.settings,
    );
    assert_eq!(closed, drive(fixture), "closed and stepwise walks disagree");
    closed
}
