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

/// Every YAML file below `root`, in a stable order, and a notice for each one passed over.
pub fn read_tree(root: &Path) -> std::io::Result<(Vec<RawFile>, Vec<Notice>)> {
    let canonical_root = root.canonicalize()?;
    let mut files = Vec::new();
    let mut notices = Vec::new();
    let mut stack: Vec<PathBuf> = vec![canonical_root.clone()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(Result::ok).collect(),
            Err(e) => {
                notices.push(Notice::new(
                    rel(&canonical_root, &dir),
                    format!("cannot list directory: {e}"),
                ));
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
            let target = if file_type.is_symlink() {
                match path.canonicalize() {
                    Ok(t) if t.starts_with(&canonical_root) => t,
                    Ok(_) | Err(_) => {
                        notices.push(Notice::new(
                            rel(&canonical_root, &path),
                            "symlink leads outside the repository (or nowhere); not followed"
                                .to_owned(),
                        ));
                        continue;
                    }
                }
            } else {
                path.clone()
            };
            if let Some(file) = read_one(&canonical_root, &path, &target, &mut notices) {
                files.push(file);
            }
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, notices))
}

fn read_one(root: &Path, path: &Path, target: &Path, notices: &mut Vec<Notice>) -> Option<RawFile> {
    let rel_path = rel(root, path);
    match read_regular(target) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(RawFile {
                rel: rel_path,
                text,
            }),
            Err(_) => {
                notices.push(Notice::new(rel_path, "not UTF-8 text; skipped".to_owned()));
                None
            }
        },
        Err(why) => {
            notices.push(Notice::new(rel_path, why));
            None
        }
    }
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
    let mut bytes = Vec::new();
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
