//! Loading a checkout on every core without holding the texts nobody needs.
//!
//! The walk only lists the files. Kustomizations are then read and parsed (they name the
//! patch files that need a tree), and every other file is read, classified and either parsed
//! or only syntax-checked by threads that take files one at a time; a file that only needed the
//! check is dropped at once, so the peak holds the parsed files, not the whole repository.
//! Results land in the slot of their file, so files, layout and notices come out exactly as the
//! sequential reader ([`ManifestTree::load_reference`]) gives them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::index::{self, Layout, ParsedFile};
use super::walk::{self, Listed, RawFile};
use super::{ManifestTree, Notice};

/// A file the walk listed, with its place in the walk (read notices keep that order).
struct Job {
    walk: usize,
    rel: String,
    path: PathBuf,
}

/// What became of one file.
enum Loaded {
    /// It could not be read or is not text: a notice in walk order.
    Unread(Notice),
    Read {
        helm_release: bool,
        /// Parsed, only checked (`Ok(None)`), or invalid (a notice in path order).
        parsed: Result<Option<ParsedFile>, Notice>,
    },
}

pub fn load(root: &Path) -> std::io::Result<ManifestTree> {
    let mut walk_notices: Vec<(usize, Notice)> = Vec::new();
    let (mut kustomizations, mut rest) = (Vec::new(), Vec::new());
    for (walk, listed) in walk::list_tree(root)?.into_iter().enumerate() {
        match listed {
            Listed::Notice(n) => walk_notices.push((walk, n)),
            Listed::File { rel, path } if index::is_kustomization_name(&rel) => {
                kustomizations.push(Job { walk, rel, path });
            }
            Listed::File { rel, path } => rest.push(Job { walk, rel, path }),
        }
    }
    kustomizations.sort_by(|a, b| a.rel.cmp(&b.rel));
    rest.sort_by(|a, b| a.rel.cmp(&b.rel));

    let k_loaded = on_every_core(&kustomizations, &|job: &Job| load_one(job, |_| true));
    let referenced = index::patch_files(k_loaded.iter().filter_map(|l| match l {
        Loaded::Read {
            parsed: Ok(Some(f)),
            ..
        } => Some(f),
        _ => None,
    }));
    let r_loaded = on_every_core(&rest, &|job: &Job| {
        load_one(job, |text| index::wanted(&job.rel, text, &referenced))
    });
    Ok(assemble(
        walk_notices,
        kustomizations.into_iter().zip(k_loaded),
        rest.into_iter().zip(r_loaded),
    ))
}

/// Puts the per-file results together in the sequential reader's order.
fn assemble(
    mut unread: Vec<(usize, Notice)>,
    kustomizations: impl Iterator<Item = (Job, Loaded)>,
    rest: impl Iterator<Item = (Job, Loaded)>,
) -> ManifestTree {
    let mut layout = Layout::default();
    let mut files = BTreeMap::new();
    let mut invalid = Vec::new();
    for (is_k, (job, loaded)) in kustomizations
        .map(|x| (true, x))
        .chain(rest.map(|x| (false, x)))
    {
        let (helm_release, parsed) = match loaded {
            Loaded::Unread(n) => {
                unread.push((job.walk, n));
                continue;
            }
            Loaded::Read {
                helm_release,
                parsed,
            } => (helm_release, parsed),
        };
        let dir = walk::parent(&job.rel).to_owned();
        let name = job.rel.rsplit('/').next().unwrap_or(&job.rel);
        if is_k {
            layout.kustomization_dirs.insert(dir);
        } else if name == "Chart.yaml" {
            layout.charts.push(dir);
        } else if helm_release {
            layout.helm_releases.push(job.rel.clone());
        }
        match parsed {
            Ok(Some(f)) => {
                files.insert(f.rel.clone(), f);
            }
            Ok(None) => {}
            Err(n) => invalid.push(n),
        }
    }
    unread.sort_by_key(|(walk, _)| *walk);
    let mut notices: Vec<Notice> = unread.into_iter().map(|(_, n)| n).collect();
    notices.extend(invalid);
    ManifestTree {
        files,
        notices,
        layout,
    }
}

/// Reads one file and parses it when `wanted` says so (else only checks its syntax).
fn load_one(job: &Job, wanted: impl Fn(&str) -> bool) -> Loaded {
    let text = match walk::read_text(&job.path) {
        Ok(text) => text,
        Err(why) => return Loaded::Unread(Notice::new(job.rel.clone(), why)),
    };
    let helm_release = index::is_helm_release(&text);
    let wanted = wanted(&text);
    let raw = RawFile {
        rel: job.rel.clone(),
        text,
    };
    Loaded::Read {
        helm_release,
        parsed: index::parse_one(raw, wanted),
    }
}

/// `work` over every job on every core, each thread taking the next job when it is done with
/// one (files differ in size by orders of magnitude); the results keep the jobs' order.
pub(crate) fn on_every_core<T, R: Send>(jobs: &[T], work: &(dyn Fn(&T) -> R + Sync)) -> Vec<R>
where
    T: Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8)
        .min(jobs.len().div_ceil(16).max(1));
    if threads < 2 {
        return jobs.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        done.push((i, work(job)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            // A panicking parser is a bug; surface it on this thread rather than lose files.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(jobs.len()).collect();
    for (i, r) in parts.drain(..).flatten() {
        slots[i] = Some(r);
    }
    // Every index below `jobs.len()` was taken by exactly one thread.
    slots.into_iter().flatten().collect()
}
