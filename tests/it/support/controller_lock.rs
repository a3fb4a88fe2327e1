//! One rule for tests that run a controller on the shared test cluster. A controller watches
//! every namespace, so one started by a test also reconciles the policies of every other test
//! running at that moment. Controllers that decide alike (all of them resize Pending pods) may
//! meet; a controller that must see only its own test's policies (the node tests: it resizes
//! running pods only, and its view of other tests' Pending pods would fight theirs in the
//! status) takes the lock exclusively, every other controller-running test takes it shared.

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
