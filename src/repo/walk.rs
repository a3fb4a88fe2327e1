//! Reading the YAML files of a checkout, with the limits that make untrusted repositories safe
//! to read: no symlink may lead outside the root, no file over the size limit is loaded.

use std::path::{Path, PathBuf};

use super::Notice;
use crate::yamledit::MAX_FILE_BYTES;

/// A YAML file's text with its path relative to the repository root (`/`-separated).
pub struct RawFile {
    pub rel: String,
    pub text: String,
}

pub fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

/// What the walk met, in walk order: a YAML file to read, or a notice about one passed over.
pub enum Listed {
    File {
        rel: String,
        /// Where to read it (a symlink's target, already checked to lie inside the root).
        path: PathBuf,
    },
    Notice(Notice),
}

/// Every YAML file below `root`, in a stable order, and a notice for each one passed over.
/// The straightforward reader: one file after another, every text held.
pub fn read_tree(root: &Path) -> std::io::Result<(Vec<RawFile>, Vec<Notice>)> {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for listed in list_tree(root)? {
        match listed {
            Listed::File { rel, path } => match read_text(&path) {
                Ok(text) => files.push(RawFile { rel, text }),
                Err(why) => notices.push(Notice::new(rel, why)),
            },
            Listed::Notice(n) => notices.push(n),
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, notices))
}

/// The YAML files below `root` without reading them, in walk order (reading them in this order
/// gives the notices in the order [`read_tree`] reports them). The root is canonicalised once;
/// only symlinks are resolved, each to check it stays inside.
pub fn list_tree(root: &Path) -> std::io::Result<Vec<Listed>> {
    let canonical_root = root.canonicalize()?;
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![canonical_root.clone()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(Result::ok).collect(),
            Err(e) => {
                out.push(Listed::Notice(Notice::new(
                    rel(&canonical_root, &dir),
                    format!("cannot list directory: {e}"),
                )));
                continue;
            }
        };
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries.into_iter().rev() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                if name != ".git" {
                    stack.push(path);
                }
                continue;
            }
            if !is_yaml_name(&name) {
                continue;
            }
            let rel_path = rel(&canonical_root, &path);
            let target = if file_type.is_symlink() {
                match path.canonicalize() {
                    Ok(t) if t.starts_with(&canonical_root) => t,
                    Ok(_) | Err(_) => {
                        out.push(Listed::Notice(Notice::new(
                            rel_path,
                            "symlink leads outside the repository (or nowhere); not followed"
                                .to_owned(),
                        )));
                        continue;
                    }
                }
            } else {
                path
            };
            out.push(Listed::File {
                rel: rel_path,
                path: target,
            });
        }
    }
    Ok(out)
}

/// A listed file's text, or why it was passed over (the notice's message).
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_regular(path)?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text; skipped".to_owned())
}

/// The bytes of a regular file. The type and size are taken from the opened handle, and the
/// open never waits (`O_NONBLOCK`), so a FIFO, socket or device under a YAML name is reported
/// instead of hanging the run.
fn read_regular(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "a special file"
        };
        return Err(format!("{what}, not a regular file; skipped"));
    }
    let size = meta.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(format!(
            "file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit; skipped"
        ));
    }
    // Room for the whole file and one byte more: two `read`s (the text, then end of file)
    // instead of a `read` per doubling of the buffer.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    // A file that grows while being read stops at the limit too.
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file is over the {MAX_FILE_BYTES}-byte limit; skipped"
        ));
    }
    Ok(bytes)
}

fn rel(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Joins a relative reference from a kustomization in `dir` and normalises `..`; `None` when
/// the result would leave the repository.
pub fn join(dir: &str, reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The directory part of a relative path (`""` at the root).
pub fn parent(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_stays_inside() {
        assert_eq!(join("overlays/prod", "../../base").as_deref(), Some("base"));
        assert_eq!(join("", "./a/b.yaml").as_deref(), Some("a/b.yaml"));
        assert_eq!(join("a", "../../x"), None);
    }
}
