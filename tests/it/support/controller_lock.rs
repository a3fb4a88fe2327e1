//! Rules for tests that share the test cluster. First, for those that run a controller: a
//! controller watches every namespace, so one started by a test also reconciles the policies of
//! every other test running at that moment. Controllers that decide alike (those with
//! `require_running: false`, which resize Pending pods) may meet and take the lock shared. A
//! controller that resizes running pods only (the default, as in production: the node tests) would
//! write its own view of the other tests' Pending pods into their status — e.g. `Ready` without the
//! resize history they wait for — so it takes the lock exclusively.

use std::sync::LazyLock;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static CONTROLLERS: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

/// Held while a controller that may meet other controllers runs.
pub async fn shared() -> RwLockReadGuard<'static, ()> {
    CONTROLLERS.read().await
}

/// Held while a controller that must be the only one runs.
pub async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    CONTROLLERS.write().await
}

/// tests/it/locate_cluster.rs removes the HelmRelease CRD to see the walk's answer when Flux's
/// helm-controller is not installed; the apiserver then deletes every HelmRelease with it.
/// Tests that create HelmReleases hold this shared; the removal holds it exclusively.
static HELM_RELEASE_CRD: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

/// Held while a test's HelmReleases must stay served.
pub async fn helm_releases_served() -> RwLockReadGuard<'static, ()> {
    HELM_RELEASE_CRD.read().await
}

/// Held while the HelmRelease CRD is removed.
pub async fn helm_releases_removed() -> RwLockWriteGuard<'static, ()> {
    HELM_RELEASE_CRD.write().await
}
