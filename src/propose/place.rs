//! Putting checked files in place on every core, and taking them all back when one fails.
//!
//! Each thread keeps one spare file. A replaced file's new text is written into the spare,
//! which is swapped with the file by one `renameat2(RENAME_EXCHANGE)`: readers see the old
//! file or the new one, whole. The old file, now under the spare's name, is read back and must
//! hold exactly the text the run read (else it changed since and is swapped back); it then
//! becomes the spare for the next file. So a run creates and unlinks one file per thread, not
//! one per file written: on ext4 a create and an unlink cost ten times an overwrite. The old
//! bytes live on in the run's memory, and a rollback writes them back.
//!
//! An old file with more than one link, or one this user may not write, is not reused: it is
//! kept under the spare's name as the backup, and the next file gets a fresh spare. Where the
//! file system cannot exchange, the old file is hard-linked to a backup name and the spare
//! renamed over it; a spare on another file system than its target is replaced by one beside
//! it. A new file gets a temporary of its own (with the umask's mode), renamed into place
//! only if nothing has appeared at its name.

use std::ffi::OsString;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{
    Dir, File, FileExt, Metadata, MetadataExt, OpenOptions, OpenOptionsExt, Permissions,
    PermissionsExt,
};
use rustix::fs::RenameFlags;
use rustix::io::Errno;

use super::write::{Staged, WriteError, create_temp, in_parts};

/// The file a thread writes the next text into.
pub(crate) struct Spare {
    dir: Arc<Dir>,
    name: OsString,
    /// Where it is, for messages.
    shown: String,
    file: File,
    len: u64,
    mode: u32,
}

/// What one thread holds while it places its files: its spare, and the side files it could
/// not remove (named in the error).
#[derive(Default)]
pub(crate) struct Hand {
    spare: Option<Spare>,
    left: Vec<String>,
}

impl Hand {
    /// Removes a side file, or notes that it could not.
    fn remove(&mut self, dir: &Dir, name: &OsString, shown: impl FnOnce() -> String) {
        if dir.remove_file(name).is_err() {
            self.left.push(shown());
        }
    }

    fn drop_spare(&mut self) {
        if let Some(sp) = self.spare.take() {
            self.remove(&sp.dir, &sp.name, || sp.shown.clone());
        }
    }
}

/// Where the file a checked one replaced is kept until the run is over.
pub(crate) enum Placed {
    /// There was none.
    New,
    /// Under this name (the backup of an exchange or of a hard link).
    Kept {
        dir: Arc<Dir>,
        name: OsString,
        shown: String,
    },
    /// Its inode became the spare; its bytes are the text the run read.
    Reused,
}

/// Puts one checked file in place; on an error nothing of it moved, and whatever spare the
/// thread holds is still a spare to be removed.
pub(crate) fn place(s: &Staged, hand: &mut Hand) -> std::io::Result<Placed> {
    let Some(before) = s.before else {
        return place_new(s, hand);
    };
    filled(hand, s)?;
    match exchanged(&hand.spare, s) {
        Ok(()) => {}
        Err(e) if e == Errno::XDEV => {
            // The spare lies on another file system (a mount inside the checkout).
            hand.drop_spare();
            filled(hand, s)?;
            exchanged(&hand.spare, s)?;
        }
        Err(e) if [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP].contains(&e) => {
            return linked(s, hand);
        }
        Err(e) => return Err(e.into()),
    }
    take_old(s, before, hand)
}

/// The way without an exchange: a hard-linked backup, then the spare renamed over the old name.
pub(crate) fn linked(s: &Staged, hand: &mut Hand) -> std::io::Result<Placed> {
    let Some(before) = s.before else {
        return place_new(s, hand);
    };
    let backup = link_backup(&s.dir, &s.name)?;
    let checked = open_old(&s.dir, &backup).and_then(|(mut file, meta, _)| {
        same_bytes(&mut file, meta.len(), before)?
            .then_some(())
            .ok_or_else(changed)
    });
    let renamed = checked.and_then(|()| {
        filled(hand, s)?;
        let sp = hand.spare.as_ref().ok_or_else(no_spare)?;
        sp.dir.rename(&sp.name, &s.dir, &s.name)
    });
    match renamed {
        Ok(()) => {
            // The spare is the new file now.
            hand.spare = None;
            Ok(Placed::Kept {
                dir: Arc::clone(&s.dir),
                shown: s.shown(&backup),
                name: backup,
            })
        }
        Err(e) => {
            hand.remove(&s.dir, &backup, || s.shown(&backup));
            Err(e)
        }
    }
}

fn changed() -> std::io::Error {
    std::io::Error::other("it changed since the repository was read (run again)")
}

fn no_spare() -> std::io::Error {
    std::io::Error::other("no spare file")
}

/// A new file: its own temporary, renamed in unless something appeared at its name.
fn place_new(s: &Staged, hand: &mut Hand) -> std::io::Result<Placed> {
    let appeared = || {
        std::io::Error::other(
            "a file appeared at its name since the repository was read (run again)",
        )
    };
    let tmp = create_temp(&s.dir, &s.name, s.after, None)?;
    let renamed =
        rustix::fs::renameat_with(&*s.dir, &tmp, &*s.dir, &s.name, RenameFlags::NOREPLACE).or_else(
            |e| match e {
                Errno::EXIST => Err(appeared()),
                // No NOREPLACE here: look, then rename (a file appearing in between is lost).
                Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP => {
                    match s.dir.symlink_metadata(&s.name) {
                        Ok(_) => Err(appeared()),
                        Err(_) => s.dir.rename(&tmp, &s.dir, &s.name),
                    }
                }
                e => Err(e.into()),
            },
        );
    match renamed {
        Ok(()) => Ok(Placed::New),
        Err(e) => {
            hand.remove(&s.dir, &tmp, || s.shown(&tmp));
            Err(e)
        }
    }
}

/// Makes the thread's spare hold `s`'s new text with the old file's mode, creating one beside
/// `s` when the thread has none.
fn filled(hand: &mut Hand, s: &Staged) -> std::io::Result<()> {
    let mode = mode_bits(s);
    if hand.spare.is_none() {
        let name = create_temp(&s.dir, &s.name, b"", Some(Permissions::from_mode(0o600)))?;
        let file = match open_rw(&s.dir, &name) {
            Ok(file) => file,
            Err(e) => {
                hand.remove(&s.dir, &name, || s.shown(&name));
                return Err(e);
            }
        };
        hand.spare = Some(Spare {
            dir: Arc::clone(&s.dir),
            shown: s.shown(&name),
            name,
            file,
            len: 0,
            mode: 0o600,
        });
    }
    let sp = hand.spare.as_mut().ok_or_else(no_spare)?;
    sp.file.write_all_at(s.after, 0)?;
    let len = s.after.len() as u64;
    if sp.len > len {
        sp.file.set_len(len)?;
    }
    sp.len = len;
    if sp.mode != mode {
        sp.file.set_permissions(Permissions::from_mode(mode))?;
        sp.mode = mode;
    }
    Ok(())
}

/// The permission bits the new text gets: the replaced file's.
fn mode_bits(s: &Staged) -> u32 {
    s.mode.as_ref().map_or(0o600, |m| m.mode() & 0o7777)
}

fn exchanged(spare: &Option<Spare>, s: &Staged) -> Result<(), Errno> {
    let sp = spare.as_ref().ok_or(Errno::NOENT)?;
    rustix::fs::renameat_with(&*sp.dir, &sp.name, &*s.dir, &s.name, RenameFlags::EXCHANGE)
}

/// After the exchange: the old file is under the spare's name. It must be a regular file that
/// holds what the run read, or it is swapped back; then it becomes the spare, or the backup
/// when it cannot be reused.
fn take_old(s: &Staged, before: &str, hand: &mut Hand) -> std::io::Result<Placed> {
    let sp = hand.spare.as_ref().ok_or_else(no_spare)?;
    let checked = open_old(&sp.dir, &sp.name).and_then(|(mut file, meta, writable)| {
        if !same_bytes(&mut file, meta.len(), before)? {
            return Err(changed());
        }
        Ok((file, writable, meta))
    });
    let (file, writable, meta) = match checked {
        Ok(old) => old,
        Err(e) => {
            // Puts back whatever is there; the spare (the new text) returns to its name.
            if exchanged(&hand.spare, s).is_err() {
                // The old file stays under the spare's name: never removed, named instead.
                let sp = hand.spare.take().ok_or_else(no_spare)?;
                hand.left.extend([s.shown(&s.name), sp.shown]);
            }
            return Err(e);
        }
    };
    let sp = hand.spare.take().ok_or_else(no_spare)?;
    if !writable || meta.nlink() > 1 {
        // Writing into it would change what its other names or its owner hold.
        return Ok(Placed::Kept {
            dir: sp.dir,
            name: sp.name,
            shown: sp.shown,
        });
    }
    hand.spare = Some(Spare {
        file,
        len: before.len() as u64,
        mode: mode_bits(s),
        ..sp
    });
    Ok(Placed::Reused)
}

/// The file at `name` with its metadata, for reading and (when this user may) writing; an
/// error unless it is a regular file. Never follows a symlink, never waits on a FIFO.
fn open_old(dir: &Dir, name: &OsString) -> std::io::Result<(File, Metadata, bool)> {
    let (file, writable) = match open_rw(dir, name) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            (open_nofollow(dir, name, false)?, false)
        }
        Err(e) => return Err(not_regular(e)),
    };
    let meta = file.metadata()?;
    if meta.is_file() {
        Ok((file, meta, writable))
    } else {
        Err(not_regular(std::io::Error::other("not a regular file")))
    }
}

fn not_regular(source: std::io::Error) -> std::io::Error {
    std::io::Error::other(format!(
        "it stopped being a regular file during the write ({source})"
    ))
}

fn open_rw(dir: &Dir, name: &OsString) -> std::io::Result<File> {
    open_nofollow(dir, name, true)
}

fn open_nofollow(dir: &Dir, name: &OsString, write: bool) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true)
        .write(write)
        .follow(FollowSymlinks::No)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    dir.open_with(name, &opts)
}

/// Whether the file, `len` bytes long, holds exactly `text`.
fn same_bytes(file: &mut File, len: u64, text: &str) -> std::io::Result<bool> {
    let want = text.len() as u64;
    if len != want {
        return Ok(false);
    }
    let mut got = Vec::with_capacity(text.len() + 1);
    file.take(want + 1).read_to_end(&mut got)?;
    Ok(got == text.as_bytes())
}

fn link_backup(dir: &Dir, name: &OsString) -> std::io::Result<OsString> {
    for _ in 0..8 {
        let backup = super::write::side_name(name, "attune-bak");
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

/// Places one file, given the thread's hand: [`place`], or a test's stand-in for it.
pub(crate) type PlaceFn<'a> = dyn Fn(&Staged, &mut Hand) -> std::io::Result<Placed> + Sync + 'a;

/// One part of the change set as a thread left it: the files it placed (a prefix of the
/// part), its hand and the error that stopped it.
struct Part<'p, 'f> {
    files: &'p [Staged<'f>],
    placed: Vec<Placed>,
    hand: Hand,
    error: Option<std::io::Error>,
}

/// Places every checked file, the parts of the change set on their own threads, each part in
/// order. When one fails, the others stop at their next file and every file placed is put
/// back, newest first; the error names the first failing file in change-set order.
pub(crate) fn commit(staged: &[Staged], place: &PlaceFn) -> Result<(), WriteError> {
    let failed = AtomicBool::new(false);
    let parts: Vec<Part> = in_parts(staged, |files| {
        let mut part = Part {
            files,
            placed: Vec::with_capacity(files.len()),
            hand: Hand::default(),
            error: None,
        };
        for s in files {
            if failed.load(Ordering::Relaxed) {
                break;
            }
            match place(s, &mut part.hand) {
                Ok(p) => part.placed.push(p),
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    part.error = Some(e);
                    break;
                }
            }
        }
        part
    });
    if failed.into_inner() {
        return Err(roll_back(parts));
    }
    let leftovers: Vec<String> = in_parts(&parts, |parts| {
        parts.iter().flat_map(clean_up).collect::<Vec<_>>()
    })
    .concat();
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(WriteError::Backups { leftovers })
    }
}

/// After a good run: removes the part's backups and spare; what could not be removed.
fn clean_up(part: &Part) -> Vec<String> {
    let mut hand = Hand {
        spare: None,
        left: part.hand.left.clone(),
    };
    for placed in &part.placed {
        if let Placed::Kept { dir, name, shown } = placed {
            hand.remove(dir, name, || shown.clone());
        }
    }
    if let Some(sp) = &part.hand.spare {
        hand.remove(&sp.dir, &sp.name, || sp.shown.clone());
    }
    hand.left
}

/// Undoes every placed file, newest first (a kept file comes back, a reused one gets its old
/// text and mode back in a file of its own, a new one goes), removes the spares, and says
/// what failed.
fn roll_back(mut parts: Vec<Part>) -> WriteError {
    let mut leftovers = Vec::new();
    for part in parts.iter_mut().rev() {
        for (s, p) in part.files.iter().zip(&part.placed).rev() {
            if undo(s, p, &mut part.hand).is_err() {
                leftovers.push(s.shown(&s.name));
            }
        }
    }
    let mut first = None;
    for mut part in parts {
        part.hand.drop_spare();
        leftovers.append(&mut part.hand.left);
        if let (None, Some(e)) = (&first, part.error) {
            first = part
                .files
                .get(part.placed.len())
                .map(|s| (s.rel.to_owned(), e));
        }
    }
    let (path, source) = first.unwrap_or_else(|| (String::new(), std::io::Error::other("stopped")));
    WriteError::RolledBack {
        path,
        leftovers,
        source,
    }
}

fn undo(s: &Staged, p: &Placed, hand: &mut Hand) -> std::io::Result<()> {
    match p {
        Placed::New => s.dir.remove_file(&s.name),
        Placed::Kept { dir, name, .. } => dir.rename(name, &s.dir, &s.name),
        Placed::Reused => {
            let old = s.before.unwrap_or_default().as_bytes();
            let tmp = create_temp(&s.dir, &s.name, old, s.mode.clone())?;
            s.dir.rename(&tmp, &s.dir, &s.name).inspect_err(|_| {
                hand.remove(&s.dir, &tmp, || s.shown(&tmp));
            })
        }
    }
}
