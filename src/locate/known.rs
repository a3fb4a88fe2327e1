//! The GitOps objects the walk reads, how they are named, and the table of those already fetched
//! (or known to be absent) that the walk runs over.

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

use super::LocateError;

/// A kind of object on the way from a workload to its Git source, with the API coordinates the
/// fetch layer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ObjectKind {
    Application,
    Kustomization,
    GitRepository,
    #[serde(rename = "OCIRepository")]
    OciRepository,
    Bucket,
    HelmRelease,
}

impl ObjectKind {
    const ALL: [ObjectKind; 6] = [
        ObjectKind::Application,
        ObjectKind::Kustomization,
        ObjectKind::GitRepository,
        ObjectKind::OciRepository,
        ObjectKind::Bucket,
        ObjectKind::HelmRelease,
    ];

    pub fn group(self) -> &'static str {
        match self {
            ObjectKind::Application => "argoproj.io",
            ObjectKind::Kustomization => "kustomize.toolkit.fluxcd.io",
            ObjectKind::GitRepository | ObjectKind::OciRepository | ObjectKind::Bucket => {
                "source.toolkit.fluxcd.io"
            }
            ObjectKind::HelmRelease => "helm.toolkit.fluxcd.io",
        }
    }

    /// The version the fetch layer asks for. Objects handed to [`Known`] may be of any version
    /// of the group: the fields read here did not change between them.
    pub fn version(self) -> &'static str {
        match self {
            ObjectKind::Application => "v1alpha1",
            ObjectKind::HelmRelease => "v2",
            _ => "v1",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            ObjectKind::Application => "Application",
            ObjectKind::Kustomization => "Kustomization",
            ObjectKind::GitRepository => "GitRepository",
            ObjectKind::OciRepository => "OCIRepository",
            ObjectKind::Bucket => "Bucket",
            ObjectKind::HelmRelease => "HelmRelease",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::Application => "applications",
            ObjectKind::Kustomization => "kustomizations",
            ObjectKind::GitRepository => "gitrepositories",
            ObjectKind::OciRepository => "ocirepositories",
            ObjectKind::Bucket => "buckets",
            ObjectKind::HelmRelease => "helmreleases",
        }
    }

    /// What the user installs to get this kind, for "not installed" messages.
    pub fn product(self) -> &'static str {
        match self {
            ObjectKind::Application => "argo cd",
            ObjectKind::Kustomization => "flux kustomize-controller",
            ObjectKind::HelmRelease => "flux helm-controller",
            _ => "flux source-controller",
        }
    }

    /// Lowercase "argo cd application" style, for messages.
    pub fn describe(self) -> String {
        let tool = if self == ObjectKind::Application {
            "argo cd"
        } else {
            "flux"
        };
        format!("{tool} {}", self.kind().to_lowercase())
    }

    /// Recognises an object by its apiVersion group and kind (any version).
    pub fn from_type(api_version: &str, kind: &str) -> Option<ObjectKind> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        ObjectKind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.kind() == kind)
    }
}

/// One namespaced object: what the walk asks for and what owns a workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    pub(crate) fn not_found(&self) -> LocateError {
        LocateError::OwnerNotFound {
            kind: self.kind,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.kind.describe(),
            self.namespace,
            self.name
        )
    }
}

/// Objects already fetched, and the ones known not to exist. A reference missing from the table
/// is "not asked yet": [`super::next_step`] asks for it, [`super::locate`] takes it as absent.
#[derive(Debug, Clone, Default)]
pub struct Known {
    objects: BTreeMap<ObjectRef, Option<Value>>,
}

impl Known {
    pub fn new() -> Known {
        Known::default()
    }

    /// A table from objects as `kubectl get -o json` prints them. Objects of other kinds are
    /// skipped, so a whole dump can be passed.
    pub fn from_objects(objects: impl IntoIterator<Item = Value>) -> Known {
        let mut known = Known::new();
        for object in objects {
            known.insert(object);
        }
        known
    }

    /// Adds an object, returning the reference it is filed under; `None` when it is not one of
    /// the kinds the walk reads or has no name.
    pub fn insert(&mut self, object: Value) -> Option<ObjectRef> {
        let kind = ObjectKind::from_type(
            text(&object, "/apiVersion").unwrap_or_default(),
            text(&object, "/kind").unwrap_or_default(),
        )?;
        let name = text(&object, "/metadata/name")?;
        let namespace = text(&object, "/metadata/namespace").unwrap_or_default();
        let key = ObjectRef::new(kind, namespace, name);
        self.objects.insert(key.clone(), Some(object));
        Some(key)
    }

    /// Adds an object as kube's dynamic API returns it.
    pub fn insert_dynamic(&mut self, object: &DynamicObject) -> Option<ObjectRef> {
        self.insert(serde_json::to_value(object).ok()?)
    }

    /// Records the answer for `key`: the object, or `None` when the apiserver has no such object.
    pub fn record(&mut self, key: ObjectRef, object: Option<Value>) {
        self.objects.insert(key, object);
    }

    /// The object filed under `key`, if it is known to exist.
    pub fn get(&self, key: &ObjectRef) -> Option<&Value> {
        self.objects.get(key).and_then(Option::as_ref)
    }

    /// How many references have an answer (found or absent).
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Why the walk stopped before a result: it needs an object not yet in the table, or it failed.
#[derive(Debug)]
pub(crate) enum Stop {
    Need(ObjectRef),
    Fail(LocateError),
}

impl From<LocateError> for Stop {
    fn from(err: LocateError) -> Stop {
        Stop::Fail(err)
    }
}

/// The table as the walk sees it: in the open mode an unasked reference stops the walk with
/// [`Stop::Need`]; in the closed mode it reads as absent.
pub(crate) struct Lookup<'a> {
    pub known: &'a Known,
    pub open: bool,
}

impl<'a> Lookup<'a> {
    pub fn get(&self, key: &ObjectRef) -> Result<Option<&'a Value>, Stop> {
        match self.known.objects.get(key) {
            Some(answer) => Ok(answer.as_ref()),
            None if self.open => Err(Stop::Need(key.clone())),
            None => Ok(None),
        }
    }

    pub fn require(&self, key: &ObjectRef) -> Result<&'a Value, Stop> {
        self.get(key)?.ok_or_else(|| Stop::Fail(key.not_found()))
    }
}

/// A non-empty string at a JSON pointer.
pub(crate) fn text<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A non-empty array at a JSON pointer.
pub(crate) fn items<'v>(value: &'v Value, pointer: &str) -> &'v [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
