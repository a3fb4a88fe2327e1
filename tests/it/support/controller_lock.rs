//! One rule for tests that run a controller on the shared test cluster. A controller watches
//! every namespace, so one started by a test also reconciles the policies of every other test
//! running at that moment. Controllers that decide alike (those with `require_running: false`,
//! which resize Pending pods) may meet and take the lock shared. A controller that resizes
//! running pods only (the default, as in production: the node tests) would write its own view
//! of the other tests' Pending pods into their status — e.g. `Ready` without the resize history
//! they wait for — so it takes the lock exclusively.

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
