//! Which files of a repository a run needs, so the controller reads those and not a whole
//! monorepo.
//!
//! A run under some directories (an owner's `path`) needs every file below them and whatever
//! their kustomizations reference — `resources`, `bases`, `components`, patch files —
//! followed transitively, wherever it lies. Deciding whether a base is shared also needs the
//! other Kustomize roots that reach any of those files; of them it reads the kustomizations
//! (and those they build on) and their patch files, not their own manifests, which no edit
//! under the directories can concern. Pure: the caller reads the files ([`read_needed`] asks
//! for them one by one).

use std::collections::{BTreeMap, BTreeSet};

use super::walk::join;
use crate::yamledit::{Node, parse};

const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a path names a kustomization file.
pub fn is_kustomization_name(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    KUSTOMIZATION_NAMES.contains(&name)
}

/// What one kustomization refers to, as repository paths (files or directories); references
/// that leave the repository or name remote bases are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refs {
    /// `resources`, `bases` and `components`.
    pub resources: Vec<String>,
    /// Patch files (`patches[].path`, `patchesJson6902[].path`, `patchesStrategicMerge`).
    pub patches: Vec<String>,
}

/// The references of the kustomization at `rel` with text `text` (nothing when it does not
/// parse: the run reports that file itself).
pub fn references(rel: &str, text: &str) -> Refs {
    let mut refs = Refs::default();
    let Ok(stream) = parse(text) else {
        return refs;
    };
    let Some(root) = stream.docs.first().map(|d| &d.root) else {
        return refs;
    };
    let dir = super::walk::parent(rel);
    let local = |r: &str| {
        let remote = r.contains("://") || r.starts_with("github.com/") || r.contains("?ref=");
        if remote { None } else { join(dir, r) }
    };
    for key in ["resources", "bases", "components"] {
        for item in root.get(key).map(Node::items).unwrap_or_default() {
            refs.resources.extend(item.as_str().and_then(local));
        }
    }
    for item in root
        .get("patchesStrategicMerge")
        .map(Node::items)
        .unwrap_or_default()
    {
        // An inline patch is text, not a path.
        let path = item.as_str().filter(|s| !s.contains('\n'));
        refs.patches.extend(path.and_then(local));
    }
    for key in ["patches", "patchesJson6902"] {
        for item in root.get(key).map(Node::items).unwrap_or_default() {
            let path = item.get("path").and_then(Node::as_str);
            refs.patches.extend(path.and_then(local));
        }
    }
    refs
}

fn in_scope(scope: &str, path: &str) -> bool {
    scope.is_empty() || path == scope || path.starts_with(&format!("{scope}/"))
}

/// Per kustomization: the nodes its resources name (files, or the kustomizations of the
/// directories they name) and its patch files, each as it exists in the tree.
type Edges<'r> = BTreeMap<&'r str, (Vec<String>, Vec<String>)>;

/// The files a run under `scopes` needs, out of `paths` (every YAML file of the tree), given
/// the references of every kustomization in it (`refs`, by the kustomization's path).
pub fn needed(
    paths: &BTreeSet<String>,
    scopes: &[String],
    refs: &BTreeMap<String, Refs>,
) -> BTreeSet<String> {
    let edges = edges(paths, refs);
    // Everything below the scopes, and all it references.
    let mut keep: BTreeSet<String> = paths
        .iter()
        .filter(|p| scopes.iter().any(|s| in_scope(s, p)))
        .cloned()
        .collect();
    let mut stack: Vec<String> = keep.iter().cloned().collect();
    while let Some(p) = stack.pop() {
        let targets = edges.get(p.as_str()).into_iter();
        for t in targets.flat_map(|(r, p)| r.iter().chain(p)) {
            if keep.insert(t.clone()) {
                stack.push(t.clone());
            }
        }
    }
    // Of the kustomizations elsewhere that reach any of it: what they build on and their
    // patch files, not their manifests.
    let mut stack: Vec<String> = reaching(&edges, &keep)
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    while let Some(k) = stack.pop() {
        keep.insert(k.clone());
        let Some((resources, patches)) = edges.get(k.as_str()) else {
            continue;
        };
        keep.extend(patches.iter().cloned());
        for r in resources {
            if edges.contains_key(r.as_str()) && !keep.contains(r) {
                stack.push(r.clone());
            }
        }
    }
    keep
}

fn edges<'r>(paths: &BTreeSet<String>, refs: &'r BTreeMap<String, Refs>) -> Edges<'r> {
    // A reference names a file, or a directory whose kustomization is the node.
    let node = |r: &String| -> Option<String> {
        if paths.contains(r) {
            return Some(r.clone());
        }
        KUSTOMIZATION_NAMES
            .iter()
            .map(|n| {
                if r.is_empty() {
                    (*n).to_owned()
                } else {
                    format!("{r}/{n}")
                }
            })
            .find(|p| paths.contains(p))
    };
    refs.iter()
        .map(|(k, r)| {
            let resources = r.resources.iter().filter_map(node).collect();
            let patches = r.patches.iter().filter(|p| paths.contains(*p)).cloned();
            (k.as_str(), (resources, patches.collect()))
        })
        .collect()
}

/// The kustomizations outside `keep` that reach any of it, directly or through each other:
/// they decide whether a file is shared.
fn reaching<'r>(edges: &Edges<'r>, keep: &BTreeSet<String>) -> BTreeSet<&'r str> {
    let mut reaching: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = reaching.len();
        for (k, (resources, patches)) in edges {
            if keep.contains(*k) || reaching.contains(k) {
                continue;
            }
            let reaches = |t: &String| keep.contains(t) || reaching.contains(t.as_str());
            if resources.iter().chain(patches).any(reaches) {
                reaching.insert(k);
            }
        }
        if reaching.len() == before {
            return reaching;
        }
    }
}

/// Reads what a run under `scopes` needs of a tree whose YAML files are `paths`: every
/// kustomization first, for its references, then the rest of [`needed`]. `load` reads one file
/// (and may fail, e.g. over a budget); `text_of` is a loaded file's text, when it has one.
/// The needed files come back in path order.
pub fn read_needed<T, E>(
    paths: &BTreeSet<String>,
    scopes: &[String],
    mut load: impl FnMut(&str) -> Result<T, E>,
    text_of: impl Fn(&T) -> Option<&str>,
) -> Result<Vec<T>, E> {
    let mut files: BTreeMap<&str, T> = BTreeMap::new();
    let mut refs: BTreeMap<String, Refs> = BTreeMap::new();
    for path in paths.iter().filter(|p| is_kustomization_name(p)) {
        let file = load(path)?;
        if let Some(text) = text_of(&file) {
            refs.insert(path.clone(), references(path, text));
        }
        files.insert(path, file);
    }
    let keep = needed(paths, scopes, &refs);
    // The kustomizations of other applications were only needed to find what is shared.
    files.retain(|path, _| keep.contains(*path));
    for path in &keep {
        if !files.contains_key(path.as_str()) && paths.contains(path) {
            let file = load(path)?;
            files.insert(path, file);
        }
    }
    Ok(files.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeSet<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    fn refs(entries: &[(&str, &str)]) -> BTreeMap<String, Refs> {
        entries
            .iter()
            .map(|(path, text)| ((*path).to_owned(), references(path, text)))
            .collect()
    }

    #[test]
    fn references_are_joined_and_remote_or_escaping_ones_dropped() {
        let r = references(
            "apps/prod/kustomization.yaml",
            "resources: [../base, svc.yaml, github.com/x/y?ref=v1, ../../../out]\n\
             components: [../../components/ha]\n\
             patches:\n- path: cpu.yaml\n- patch: |\n    kind: Deployment\n\
             patchesStrategicMerge: [mem.yaml]\n",
        );
        assert_eq!(
            r.resources,
            ["apps/base", "apps/prod/svc.yaml", "components/ha"]
        );
        assert_eq!(r.patches, ["apps/prod/mem.yaml", "apps/prod/cpu.yaml"]);
    }

    #[test]
    fn a_scope_needs_its_files_what_they_reference_and_the_roots_sharing_it() {
        let paths = set(&[
            "apps/base/kustomization.yaml",
            "apps/base/deploy.yaml",
            "apps/prod/kustomization.yaml",
            "apps/prod/cpu.yaml",
            "apps/staging/kustomization.yaml",
            "apps/staging/extra.yaml",
            "apps/staging/patch.yaml",
            "components/ha/kustomization.yaml",
            "components/ha/pdb.yaml",
            "other/kustomization.yaml",
            "other/big.yaml",
        ]);
        let refs = refs(&[
            ("apps/base/kustomization.yaml", "resources: [deploy.yaml]\n"),
            (
                "apps/prod/kustomization.yaml",
                "resources: [../base]\ncomponents: [../../components/ha]\npatches: [{path: cpu.yaml}]\n",
            ),
            (
                "apps/staging/kustomization.yaml",
                "resources: [../base, extra.yaml]\npatches: [{path: patch.yaml}]\n",
            ),
            (
                "components/ha/kustomization.yaml",
                "resources: [pdb.yaml]\n",
            ),
            ("other/kustomization.yaml", "resources: [big.yaml]\n"),
        ]);
        let got = needed(&paths, &["apps/prod".to_owned()], &refs);
        assert_eq!(
            got,
            set(&[
                "apps/base/deploy.yaml",
                "apps/base/kustomization.yaml",
                "apps/prod/cpu.yaml",
                "apps/prod/kustomization.yaml",
                "apps/staging/kustomization.yaml",
                "apps/staging/patch.yaml",
                "components/ha/kustomization.yaml",
                "components/ha/pdb.yaml",
            ])
        );
        assert_eq!(needed(&paths, &[String::new()], &refs), paths);
    }
}
