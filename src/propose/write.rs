//! Writing a change set into the checkout: every new text goes to a temporary file beside its
//! target first, and only when all of them are written are they renamed into place, so a failed
//! run leaves the checkout as it was.

use std::path::{Component, Path, PathBuf};

use super::FileChange;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to write {path}: it is not inside the repository")]
    Outside { path: String },
    #[error("cannot write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn target(canonical_root: &Path, rel: &str) -> Result<PathBuf, WriteError> {
    let outside = || WriteError::Outside {
        path: rel.to_owned(),
    };
    if Path::new(rel)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(outside());
    }
    let path = canonical_root.join(rel);
    // An existing file may be a symlink; it is written where it points, which must be inside.
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = path.parent().ok_or_else(outside)?;
            let parent = parent.canonicalize().map_err(|source| WriteError::Io {
                path: rel.to_owned(),
                source,
            })?;
            parent.join(path.file_name().ok_or_else(outside)?)
        }
    };
    if !resolved.starts_with(canonical_root) {
        return Err(outside());
    }
    Ok(resolved)
}

pub fn write_all(root: &Path, files: &[FileChange]) -> Result<(), WriteError> {
    let canonical_root = root.canonicalize().map_err(|source| WriteError::Io {
        path: root.display().to_string(),
        source,
    })?;
    let mut staged = Vec::new();
    let result = (|| {
        for f in files {
            let dest = target(&canonical_root, &f.path)?;
            let tmp = dest.with_file_name(format!(
                ".{}.attune-tmp",
                dest.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            // Staged before the write can fail, so a half-written temporary is removed too.
            staged.push((tmp.clone(), dest.clone(), f.path.clone()));
            std::fs::write(&tmp, f.after.as_bytes()).map_err(|source| WriteError::Io {
                path: f.path.clone(),
                source,
            })?;
            // The rename replaces the file; keep its mode (an executable bit, a group write).
            if let Ok(meta) = std::fs::metadata(&dest) {
                let _ = std::fs::set_permissions(&tmp, meta.permissions());
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (tmp, dest, path) in &staged {
        std::fs::rename(tmp, dest).map_err(|source| WriteError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
