//! The plugin's I/O: reading the kubeconfig and listing or getting AttunePolicies.

use std::path::Path;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Resource};
use serde_json::Value;

use super::PluginError;
use crate::crd::AttunePolicy;
use crate::error_chain;

/// The API server and the namespace the kubeconfig context names.
pub struct Connection {
    pub client: Client,
    pub default_namespace: String,
}

/// Connects as kubectl would: `--kubeconfig`, else `$KUBECONFIG` or `~/.kube/config`, else the
/// in-cluster service account; `--context` picks the context.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Connection, PluginError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        cluster: None,
        user: None,
    };
    let bad = |source_name: String, e: &dyn std::error::Error| PluginError::Kubeconfig {
        source_name,
        reason: error_chain(e),
    };
    let mut config = match kubeconfig {
        Some(path) => {
            let name = path.display().to_string();
            let file = Kubeconfig::read_from(path).map_err(|e| bad(name.clone(), &e))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| bad(name, &e))?
        }
        None if std::env::var_os("KUBECONFIG").is_none() && !home_config_exists() => {
            Config::incluster().map_err(|_| PluginError::NoKubeconfig)?
        }
        None => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| bad("from $KUBECONFIG or ~/.kube/config".to_owned(), &e))?,
    };
    // A command line tool should fail in seconds, not wait minutes on a dead server.
    config.connect_timeout = Some(std::time::Duration::from_secs(10));
    config.read_timeout = Some(std::time::Duration::from_secs(30));
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| PluginError::Unreachable {
        reason: error_chain(&e),
    })?;
    Ok(Connection {
        client,
        default_namespace,
    })
}

fn home_config_exists() -> bool {
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".kube/config").exists())
        .unwrap_or(false)
}

fn resource() -> ApiResource {
    ApiResource::erase::<AttunePolicy>(&())
}

/// Every policy in `namespace`, or in all namespaces when it is None, as JSON objects.
pub async fn list_policies(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Vec<Value>, PluginError> {
    let ar = resource();
    let (api, action): (Api<DynamicObject>, String) = match namespace {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &ar),
            format!("list {} in namespace {ns}", plural()),
        ),
        None => (
            Api::all_with(client.clone(), &ar),
            format!("list {} in all namespaces", plural()),
        ),
    };
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error(e, &action))?;
    Ok(list.items.iter().map(to_json).collect())
}

/// One policy; a missing policy and a missing CRD are told apart.
pub async fn get_policy(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Value, PluginError> {
    let ar = resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let action = format!("get {} {name} in namespace {namespace}", plural());
    match api.get(name).await {
        Ok(object) => Ok(to_json(&object)),
        Err(e) => match api_error(e, &action) {
            // A 404 on a get is either; the list says whether the resource is served.
            PluginError::NoCrd => {
                list_policies(client, Some(namespace)).await?;
                Err(PluginError::NotFound {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })
            }
            other => Err(other),
        },
    }
}

fn plural() -> String {
    format!("{}.{}", AttunePolicy::plural(&()), AttunePolicy::group(&()))
}

fn to_json(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

fn api_error(e: kube::Error, action: &str) -> PluginError {
    match e {
        kube::Error::Api(status) => match status.code {
            404 => PluginError::NoCrd,
            403 => PluginError::Forbidden {
                action: action.to_owned(),
                message: status.message.clone(),
            },
            401 => PluginError::Unauthorized {
                message: status.message.clone(),
            },
            code => PluginError::Api {
                action: action.to_owned(),
                code,
                message: status.message.clone(),
            },
        },
        other => PluginError::Unreachable {
            reason: error_chain(&other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn answer(code: u16, message: &str) -> PluginError {
        let status = Status::failure(message, "Reason").with_code(code).boxed();
        api_error(
            kube::Error::Api(status),
            "list attunepolicies.attune.io in namespace ns",
        )
    }

    #[test]
    fn api_answers_become_errors_that_say_what_to_do() {
        assert_eq!(
            answer(404, "the server could not find the requested resource").to_string(),
            "no AttunePolicy CRD in this cluster (attunepolicies.attune.io not served): install the chart (helm install attune charts/attune)"
        );
        assert!(matches!(answer(403, "no"), PluginError::Forbidden { .. }));
        assert!(matches!(
            answer(401, "no"),
            PluginError::Unauthorized { .. }
        ));
        assert_eq!(
            answer(500, "etcd down").to_string(),
            "the API server answered 500 to list attunepolicies.attune.io in namespace ns: etcd down"
        );
        assert_eq!(answer(404, "x").exit_code(), 1);
        assert_eq!(PluginError::Usage("u".into()).exit_code(), 2);
    }
}
