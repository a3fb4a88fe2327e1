//! `locate::fetch` against a real apiserver: installs our test CRDs (tests/cluster/crds), then
//! for each fixture in `fixtures/locate/` creates its objects, checks that the live walk gives
//! exactly what the pure walk gives over the same objects, and deletes them again (fixtures
//! reuse names; their namespaces are the fixtures' own and stay). Needs the test control plane
//! that tests/run starts: `tests/run -- locate_cluster::`.

use std::path::Path;
use std::time::Duration;

use crate::support::cluster;
use attune::locate::fetch::{FetchError, api_resource, locate_live};
use attune::locate::{Known, Settings, Workload, locate};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Creates `object`; one that already exists is fine (fixture namespaces are shared).
async fn create<K>(api: &Api<K>, object: &K) -> Result<(), kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(()),
        other => other.map(|_| ()),
    }
}

/// A fixture of `fixtures/locate`: a workload, the objects around it and the settings.
struct Fixture {
    name: String,
    workload: Workload,
    objects: Vec<Value>,
    settings: Settings,
}

fn load(path: &Path) -> Fixture {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut settings = Settings::default();
    if let Some(list) = doc
        .pointer("/settings/argocdNamespaces")
        .and_then(Value::as_array)
    {
        settings.argocd_namespaces = list
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
    }
    settings.installation_id = doc
        .pointer("/settings/installationId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let workload = Workload::from_value(&doc["workload"]).unwrap();
    let objects = doc["objects"].as_array().unwrap().clone();
    Fixture {
        name,
        workload,
        objects,
        settings,
    }
}

fn dynamic_api(client: &Client, known: &mut Known, object: &Value) -> (Api<DynamicObject>, String) {
    let key = known.insert(object.clone()).unwrap();
    let api = Api::namespaced_with(client.clone(), &key.namespace, &api_resource(key.kind));
    (api, key.name)
}

#[tokio::test]
async fn live_walk_matches_the_pure_walk_for_every_fixture() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut names: Vec<_> = std::fs::read_dir(root().join("fixtures/locate"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let Fixture {
            name,
            workload,
            objects,
            settings,
        } = load(&path);

        let mut known = Known::new();
        for object in &objects {
            let ns = object["metadata"]["namespace"].as_str().unwrap();
            let namespace: Namespace =
                serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
            create(&namespaces, &namespace).await.unwrap();
            let (api, _) = dynamic_api(&client, &mut known, object);
            let dynamic: DynamicObject = serde_json::from_value(object.clone()).unwrap();
            api.create(&PostParams::default(), &dynamic)
                .await
                .unwrap_or_else(|e| panic!("{name}: create: {e}"));
        }

        let pure = locate(&workload, &Known::from_objects(objects.clone()), &settings);
        let live = locate_live(&client, &workload, &settings).await;
        match (live, pure) {
            (Ok(live), Ok(pure)) => assert_eq!(live, pure, "{name}"),
            (Err(FetchError::Locate(live)), Err(pure)) => assert_eq!(live, pure, "{name}"),
            (live, pure) => panic!("{name}: live {live:?}, pure {pure:?}"),
        }

        for object in &objects {
            let (api, object_name) = dynamic_api(&client, &mut known, object);
            api.delete(&object_name, &DeleteParams::default())
                .await
                .unwrap();
        }
    }

    // Last, as it removes a CRD (the next run installs it again): without the HelmRelease CRD
    // the apiserver answers 404 for the object and for its group version alike.
    let _removed = crate::support::controller_lock::helm_releases_removed().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete(
        "helmreleases.helm.toolkit.fluxcd.io",
        &DeleteParams::default(),
    )
    .await
    .unwrap();
    let mut tries = 0;
    while client
        .list_api_group_resources("helm.toolkit.fluxcd.io/v2")
        .await
        .is_ok()
    {
        tries += 1;
        assert!(tries < 100, "the helmrelease crd is still served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Fixture {
        workload, settings, ..
    } = load(&root().join("fixtures/locate/flux-helm.json"));
    let err = locate_live(&client, &workload, &settings)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "flux helm-controller is not installed: the cluster does not serve helmreleases.helm.toolkit.fluxcd.io/v2"
    );
}
