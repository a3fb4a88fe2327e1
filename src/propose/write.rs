//! Writing a change set into the checkout, through a directory handle that cannot leave it.
//!
//! Every file is reached beneath the repository's directory handle (cap-std: a symlink or `..`
//! that leads out fails), the last component is never followed, and a symlink whose target
//! lies inside the repository is written where it points (the link stays a link). Every target
//! is checked before anything is written: it must be a regular file when the run read one, or
//! absent when the run adds it. Then [`super::place`] puts the files in place, on every core,
//! each new text swapped in whole, and refuses an old file that no longer holds the text the
//! run read; one that fails puts back every file already placed. A failed run leaves the
//! checkout as it was.

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt, Permissions};

use super::FileChange;
use super::place::{PlaceFn, commit};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to write {path}: it is not inside the repository")]
    Outside { path: String },
    #[error("refusing to write {path}: it is {what}, not a regular file")]
    NotRegular { path: String, what: &'static str },
    #[error("refusing to write {path}: it is the same file as {other} (through a symlink)")]
    SameFile { path: String, other: String },
    #[error("refusing to write {path}: {how} since the repository was read (run again)")]
    Changed { path: String, how: &'static str },
    #[error("cannot {step} {path}")]
    Io {
        step: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "putting the new {path} in place failed, so every file already placed was put back{}",
        leftover_note(.leftovers)
    )]
    RolledBack {
        path: String,
        leftovers: Vec<String>,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "every file was written, but these side files could not be removed: {}",
        .leftovers.join(", ")
    )]
    Backups { leftovers: Vec<String> },
}

fn leftover_note(leftovers: &[String]) -> String {
    if leftovers.is_empty() {
        String::new()
    } else {
        format!(
            "; these could not be restored or removed and need a look: {}",
            leftovers.join(", ")
        )
    }
}

/// One file checked and ready to be put in place.
pub(crate) struct Staged<'f> {
    /// The path as the change set names it.
    pub(crate) rel: &'f str,
    /// The text the run read; `None` for a file the run adds.
    pub(crate) before: Option<&'f str>,
    pub(crate) after: &'f [u8],
    /// Where it is written, relative to the root, after following symlinks inside it.
    resolved: PathBuf,
    /// The directory's handle, shared by every file staged in it.
    pub(crate) dir: Arc<Dir>,
    pub(crate) name: OsString,
    /// The mode of the file it replaces.
    pub(crate) mode: Option<Permissions>,
}

impl Staged<'_> {
    pub(crate) fn shown(&self, name: &OsString) -> String {
        self.resolved
            .with_file_name(name)
            .to_string_lossy()
            .into_owned()
    }
}

/// Writes every file of the change set, or none.
pub fn write_all(root: &Path, files: &[FileChange]) -> Result<(), WriteError> {
    write_with(root, files, &super::place::place)
}

/// [`write_all`] with the step that puts a file in place as a parameter, so tests can make
/// one fail.
pub(crate) fn write_with(
    root: &Path,
    files: &[FileChange],
    place: &PlaceFn,
) -> Result<(), WriteError> {
    let shown = root.display().to_string();
    let io = |step| {
        let path = shown.clone();
        move |source| WriteError::Io { step, path, source }
    };
    let canonical_root = root.canonicalize().map_err(io("open the repository"))?;
    let dir = Dir::open_ambient_dir(&canonical_root, cap_std::ambient_authority())
        .map_err(io("open the repository"))?;
    let mut root = Root {
        canonical: canonical_root,
        dirs: HashMap::new(),
        handles: HashMap::new(),
        targets: HashMap::new(),
    };
    let staged = files
        .iter()
        .map(|f| locate(&dir, &mut root, f).and_then(check))
        .collect::<Result<Vec<_>, _>>()?;
    commit(&staged, place)
}

/// What a run has learnt of the repository so far. A run writes many files per directory:
/// resolving every path anew costs a `readlink` per component per file, and opening its
/// directory beneath the root anew an `openat2` per file.
struct Root {
    canonical: PathBuf,
    /// The canonical form of each directory met, by its path as given.
    dirs: HashMap<PathBuf, PathBuf>,
    /// The handle of each directory written into, by its path relative to the root.
    handles: HashMap<PathBuf, Arc<Dir>>,
    /// Each file located so far (its path as the change set names it), by where it is written.
    targets: HashMap<PathBuf, String>,
}

fn locate<'f>(root: &Dir, paths: &mut Root, f: &'f FileChange) -> Result<Staged<'f>, WriteError> {
    let resolved = resolve(paths, &f.path)?;
    if let Some(other) = paths.targets.get(&resolved) {
        return Err(WriteError::SameFile {
            path: f.path.clone(),
            other: other.clone(),
        });
    }
    let name = resolved
        .file_name()
        .map(OsString::from)
        .ok_or_else(|| WriteError::Outside {
            path: f.path.clone(),
        })?;
    let parent = resolved.parent().unwrap_or(Path::new(""));
    let dir = match paths.handles.get(parent) {
        Some(dir) => Arc::clone(dir),
        None => {
            let dir = if parent.as_os_str().is_empty() {
                root.try_clone()
            } else {
                root.open_dir(parent)
            }
            .map(Arc::new)
            .map_err(|source| WriteError::Io {
                step: "open the directory of",
                path: f.path.clone(),
                source,
            })?;
            paths.handles.insert(parent.to_owned(), Arc::clone(&dir));
            dir
        }
    };
    paths.targets.insert(resolved.clone(), f.path.clone());
    Ok(Staged {
        rel: &f.path,
        before: f.before.as_deref(),
        after: f.after.as_bytes(),
        resolved,
        dir,
        name,
        mode: None,
    })
}

/// Whether the target is what the run read: a regular file when the run read one (its mode
/// kept for the new text), nothing when the run adds it.
fn check(mut s: Staged) -> Result<Staged, WriteError> {
    let changed = |how| WriteError::Changed {
        path: s.rel.to_owned(),
        how,
    };
    match (s.dir.symlink_metadata(&s.name), s.before) {
        (Ok(meta), _) if !meta.is_file() => Err(WriteError::NotRegular {
            path: s.rel.to_owned(),
            what: kind_of(&meta.file_type()),
        }),
        (Ok(meta), Some(_)) => {
            s.mode = Some(meta.permissions());
            Ok(s)
        }
        (Ok(_), None) => Err(changed("a file appeared at its name")),
        (Err(e), Some(_)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(changed("it was removed"))
        }
        (Err(e), None) if e.kind() == std::io::ErrorKind::NotFound => Ok(s),
        (Err(source), _) => Err(WriteError::Io {
            step: "inspect",
            path: s.rel.to_owned(),
            source,
        }),
    }
}

/// Threads that place files and clean up at the same time.
const WRITERS: usize = 4;

/// `work` over consecutive parts of `items`, one thread per part; the results in order.
pub(crate) fn in_parts<'a, T: Sync, R: Send>(
    items: &'a [T],
    work: impl Fn(&'a [T]) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, WRITERS)
        .min(items.len().div_ceil(32).max(1));
    if threads < 2 {
        return vec![work(items)];
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(|| work(part)))
            .collect();
        handles
            .into_iter()
            // A panic here is a bug; surface it on this thread.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The path relative to the root where `rel` is written: symlinks are followed as far as they
/// stay inside (a dangling one is the link itself, which is then refused as not regular).
/// Only finds the place; every access afterwards goes through the root's handle.
fn resolve(root: &mut Root, rel: &str) -> Result<PathBuf, WriteError> {
    let outside = || WriteError::Outside {
        path: rel.to_owned(),
    };
    if rel.is_empty()
        || Path::new(rel)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(outside());
    }
    let path = root.canonical.join(rel);
    let parent = path.parent().ok_or_else(outside)?;
    let name = path.file_name().ok_or_else(outside)?;
    let dir = match root.dirs.get(parent) {
        Some(dir) => dir.clone(),
        None => {
            let dir = parent.canonicalize().map_err(|source| WriteError::Io {
                step: "find the directory of",
                path: rel.to_owned(),
                source,
            })?;
            root.dirs.insert(parent.to_owned(), dir.clone());
            dir
        }
    };
    let at = dir.join(name);
    // A symlink is written where it points when that resolves; a dangling one stays the
    // link itself (and is refused as not regular).
    let resolved = match std::fs::symlink_metadata(&at) {
        Ok(meta) if meta.file_type().is_symlink() => at.canonicalize().unwrap_or(at),
        _ => at,
    };
    match resolved.strip_prefix(&root.canonical) {
        Ok(r) if !r.as_os_str().is_empty() => Ok(r.to_path_buf()),
        _ => Err(outside()),
    }
}

fn kind_of(t: &cap_std::fs::FileType) -> &'static str {
    use cap_std::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// `.<name>.<random>.<suffix>`, short enough for any file system's name limit.
pub(crate) fn side_name(name: &OsString, suffix: &str) -> OsString {
    let name = name.to_string_lossy();
    let mut end = name.len().min(160);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    OsString::from(format!(".{}.{:016x}.{suffix}", &name[..end], h.finish()))
}

pub(crate) fn create_temp(
    dir: &Dir,
    name: &OsString,
    bytes: &[u8],
    mode: Option<Permissions>,
) -> std::io::Result<OsString> {
    let mut opts = OpenOptions::new();
    // O_CREAT|O_EXCL never opens what is there, O_NOFOLLOW says so twice; a replaced file's
    // mode is set below through the handle, a new file gets the umask's.
    opts.write(true).create_new(true).follow(FollowSymlinks::No);
    if mode.is_some() {
        opts.mode(0o600);
    }
    for _ in 0..8 {
        let tmp = side_name(name, "attune-tmp");
        let file = match dir.open_with(&tmp, &opts) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = (|| {
            if let Some(mode) = &mode {
                file.set_permissions(mode.clone())?;
            }
            // No fsync: a run edits up to thousands of files (a checkout is not a database),
            // and the rename over the old file keeps each one whole to every reader.
            file.into_std().write_all(bytes)
        })();
        return match written {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = dir.remove_file(&tmp);
                Err(e)
            }
        };
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
