//! Putting staged files in place on every core, and taking them all back when one fails.
//!
//! A replaced file is swapped with its staged temporary by one `renameat2(RENAME_EXCHANGE)`:
//! readers see the old file or the new one, whole; the old file lives on under the temporary's
//! name as the backup a rollback renames back, so no hard link is made per file. (A plain
//! rename over an existing name also makes ext4 start writing the new file out at once, its
//! guard for programs that never fsync; an exchange does not, and a run writes thousands.)
//! Where the file system cannot exchange, the old file is hard-linked to a backup name and
//! the temporary renamed over it. A new file is renamed into place.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};

use cap_std::fs::Dir;

use super::write::{Staged, WriteError, in_parts, side_name};

/// Where the file a staged one replaced is kept until the run is over.
pub(crate) enum Placed {
    /// There was none.
    New,
    /// Under the temporary's name (the two were exchanged).
    Exchanged,
    /// Under this backup name (a hard link made just before the rename).
    Linked(OsString),
}

impl Placed {
    fn backup<'a>(&'a self, s: &'a Staged) -> Option<&'a OsString> {
        match self {
            Placed::New => None,
            Placed::Exchanged => Some(&s.tmp),
            Placed::Linked(b) => Some(b),
        }
    }
}

/// Puts one staged file in place; on an error nothing of it moved but its temporary, which
/// is still there to be removed.
pub(crate) fn place(s: &Staged) -> std::io::Result<Placed> {
    use rustix::io::Errno;
    if !s.replaces {
        s.dir.rename(&s.tmp, &s.dir, &s.name)?;
        return Ok(Placed::New);
    }
    let exchange = |dir: &Dir| {
        rustix::fs::renameat_with(dir, &s.tmp, dir, &s.name, rustix::fs::RenameFlags::EXCHANGE)
    };
    match exchange(&s.dir) {
        Ok(()) => {}
        Err(e) if [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP].contains(&e) => {
            return linked(s);
        }
        Err(e) => return Err(e.into()),
    }
    // Staging saw a regular file there; if something else took its place since, swap back.
    match s.dir.symlink_metadata(&s.tmp) {
        Ok(meta) if meta.is_file() => Ok(Placed::Exchanged),
        _ => {
            exchange(&s.dir)?;
            Err(std::io::Error::other(
                "it stopped being a regular file during the write",
            ))
        }
    }
}

/// The way without an exchange: a hard-linked backup, then a rename over the old name.
pub(crate) fn linked(s: &Staged) -> std::io::Result<Placed> {
    let backup = link_backup(&s.dir, &s.name)?;
    match s.dir.rename(&s.tmp, &s.dir, &s.name) {
        Ok(()) => Ok(Placed::Linked(backup)),
        Err(e) => {
            let _ = s.dir.remove_file(&backup);
            Err(e)
        }
    }
}

fn link_backup(dir: &Dir, name: &OsString) -> std::io::Result<OsString> {
    for _ in 0..8 {
        let backup = side_name(name, "attune-bak");
        match dir.hard_link(name, dir, &backup) {
            Ok(()) => return Ok(backup),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free backup name",
    ))
}

/// One part of the change set as a thread left it: the files it placed (a prefix of the part)
/// and the error that stopped it.
type Part<'s> = (&'s [Staged], Vec<Placed>, Option<std::io::Error>);

/// Places every staged file, the parts of the change set on their own threads, each part in
/// order. When one fails, the others stop at their next file and every file placed is put
/// back, newest first; the error names the first failing file in change-set order.
pub(crate) fn commit(
    staged: &[Staged],
    place: &(dyn Fn(&Staged) -> std::io::Result<Placed> + Sync),
) -> Result<(), WriteError> {
    let failed = AtomicBool::new(false);
    let parts: Vec<Part> = in_parts(staged, |part| {
        let mut placed = Vec::with_capacity(part.len());
        for s in part {
            if failed.load(Ordering::Relaxed) {
                break;
            }
            match place(s) {
                Ok(p) => placed.push(p),
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return (part, placed, Some(e));
                }
            }
        }
        (part, placed, None)
    });
    if failed.into_inner() {
        return Err(roll_back(parts));
    }
    let done: Vec<(&Staged, Placed)> = parts
        .into_iter()
        .flat_map(|(part, placed, _)| part.iter().zip(placed))
        .collect();
    let leftovers: Vec<String> = in_parts(&done, |part| {
        part.iter()
            .filter_map(|(s, p)| {
                let b = p.backup(s)?;
                s.dir.remove_file(b).err().map(|_| s.shown(b))
            })
            .collect::<Vec<_>>()
    })
    .concat();
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(WriteError::Backups { leftovers })
    }
}

/// Undoes every placed file, newest first (a replaced file comes back from its backup, a new
/// one goes), removes the temporaries of the rest, and says what failed.
fn roll_back(parts: Vec<Part>) -> WriteError {
    let mut leftovers = Vec::new();
    for (part, placed, _) in parts.iter().rev() {
        for (s, p) in part.iter().zip(placed).rev() {
            let undone = match p.backup(s) {
                Some(b) => s.dir.rename(b, &s.dir, &s.name),
                None => s.dir.remove_file(&s.name),
            };
            if undone.is_err() {
                leftovers.push(s.shown(&s.name));
            }
        }
    }
    let mut first = None;
    for (part, placed, error) in parts {
        leftovers.extend(discard(&part[placed.len()..]));
        if let (None, Some(e)) = (&first, error) {
            first = part.get(placed.len()).map(|s| (s.rel.clone(), e));
        }
    }
    let (path, source) = first.unwrap_or_else(|| (String::new(), std::io::Error::other("stopped")));
    WriteError::RolledBack {
        path,
        leftovers,
        source,
    }
}

/// Removes the temporaries of files that were not placed.
pub(crate) fn discard(pending: &[Staged]) -> Vec<String> {
    pending
        .iter()
        .filter_map(|s| s.dir.remove_file(&s.tmp).err().map(|_| s.shown(&s.tmp)))
        .collect()
}
