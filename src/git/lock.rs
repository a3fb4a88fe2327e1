//! One user of a cache clone at a time. libgit2 refuses, rather than waits, when another writer
//! holds one of git's own lock files (`config.lock` while the clone is created, a ref's `.lock`
//! during a fetch), so two syncs of one repository at once — two policies in the controller, or
//! two CLI runs sharing `--cache-dir` — failed. A [`CacheLock`] serialises them: a lock per
//! clone directory inside this process (threads), and an advisory file lock (`flock`) beside the
//! clone for other processes. The holder keeps it for the workspace's lifetime; waiting is
//! bounded, and a waiter that gives up says which lock it waited for.

use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::GitError;

/// How long a run waits for another run on the same clone before giving up. A run holds the
/// lock for one sync (fetch, forge calls with their own bounded retries, push), minutes at worst.
pub const WAIT: Duration = Duration::from_secs(10 * 60);

/// Clone directories held by this process.
static HELD: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
static RELEASED: Condvar = Condvar::new();

/// Exclusive use of one cache clone; released on drop.
#[derive(Debug)]
pub struct CacheLock {
    dir: PathBuf,
    // Closing the file releases the flock.
    _file: File,
}

fn held() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    // The set stays consistent whatever a panicking holder did: inserts and removes are single
    // calls.
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CacheLock {
    /// Waits (at most `wait`) until no other thread or process uses the clone at `dir`.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<CacheLock, GitError> {
        let deadline = Instant::now() + wait;
        let busy = || GitError::Busy {
            path: dir.display().to_string(),
            waited: wait,
        };
        let mut set = held();
        while set.as_ref().is_some_and(|s| s.contains(dir)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(busy());
            }
            set = RELEASED
                .wait_timeout(set, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        set.get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf());
        drop(set);
        // From here on the directory is ours in this process; give it back on every failure.
        let release = || {
            if let Some(s) = held().as_mut() {
                s.remove(dir);
            }
            RELEASED.notify_all();
        };
        match lock_file(dir, deadline) {
            Ok(Some(file)) => Ok(CacheLock {
                dir: dir.to_path_buf(),
                _file: file,
            }),
            Ok(None) => {
                release();
                Err(busy())
            }
            Err(source) => {
                release();
                Err(GitError::Cache {
                    path: lock_path(dir).display().to_string(),
                    source,
                })
            }
        }
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        if let Some(s) = held().as_mut() {
            s.remove(&self.dir);
        }
        RELEASED.notify_all();
    }
}

/// `<clone>.lock` beside the clone: inside it, git could take the name for its own.
fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    dir.with_file_name(name)
}

/// The locked file, or `None` when another process still held it at `deadline`.
fn lock_file(dir: &Path, deadline: Instant) -> std::io::Result<Option<File>> {
    let path = lock_path(dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_gives_up_naming_the_clone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("abc.git");
        let first = CacheLock::acquire(&dir, Duration::from_secs(1)).unwrap();
        let err = CacheLock::acquire(&dir, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, GitError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("abc.git"), "{err}");
        drop(first);
        CacheLock::acquire(&dir, Duration::from_millis(100)).unwrap();
    }

    #[test]
    fn threads_take_turns() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("turns.git");
        let inside = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (dir, inside) = (dir.clone(), inside.clone());
                std::thread::spawn(move || {
                    let _lock = CacheLock::acquire(&dir, Duration::from_secs(10)).unwrap();
                    let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(now, 0, "two holders at once");
                    std::thread::sleep(Duration::from_millis(10));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
