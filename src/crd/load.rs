//! Reading AttunePolicies from YAML: hand-written policy files, and exactly what
//! `kubectl get attunepolicies -A -o yaml` prints (a `List` whose `items` are the policies).
//!
//! A good file is read in one typed pass. When that fails, a second pass reads only
//! `apiVersion`/`kind` of every document (and of every List item), so a stray Deployment is
//! reported as "wrong kind" rather than as a confusing type error deep inside its spec. Both run
//! under the same budget, so alias bombs are refused before they expand.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::file::{FilePolicy, FileSpec};
use super::spec::{AttunePolicy, AttunePolicySpec};
use super::status::AttunePolicyStatus;

const API_VERSION: &str = "attune.io/v1alpha1";
const KIND: &str = "AttunePolicy";

/// Why policies could not be read. Documents are numbered from 1 in the order they appear,
/// counting empty ones; lines and columns are 1-based positions in the whole input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The text is not valid YAML, or a field has the wrong type or is missing.
    #[error("{}line {line}, column {column}: {message}", document_prefix(*.document))]
    Yaml {
        /// Document number, when the position could be tied to one.
        document: Option<usize>,
        line: u64,
        column: u64,
        /// What the YAML reader reported, without its position.
        message: String,
    },
    /// A document (or List item) is some other Kubernetes object.
    #[error(
        "{}{}found apiVersion {} kind {}; expected apiVersion `{API_VERSION}` and kind \
         `{KIND}` (or a `List` of them)",
        document_prefix(Some(*.document)),
        item_prefix(*.item),
        found(.api_version),
        found(.kind)
    )]
    WrongKind {
        document: usize,
        /// Position in the List's `items`, from 1, when the offender is a List item.
        item: Option<usize>,
        api_version: Option<String>,
        kind: Option<String>,
    },
    /// An AttunePolicy document has no `spec`.
    #[error(
        "document {document}: missing field `spec` (targetRef, metricsSource, cpu and memory are required)"
    )]
    MissingSpec { document: usize },
    /// The input is larger or expands further (through YAML aliases) than any policy list.
    #[error(
        "{}line {line}, column {column}: refusing to read further: {what} (YAML aliases that \
         expand this far are not a policy file)",
        document_prefix(*.document)
    )]
    TooLarge {
        document: Option<usize>,
        line: u64,
        column: u64,
        /// Which limit was hit.
        what: String,
    },
}

fn document_prefix(document: Option<usize>) -> String {
    document.map_or_else(String::new, |d| format!("document {d}, "))
}

fn item_prefix(item: Option<usize>) -> String {
    item.map_or_else(String::new, |i| format!("item {i}: "))
}

fn found(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "(none)".to_owned(), |v| format!("`{v}`"))
}

/// Reads every AttunePolicy from `text`: one or more YAML documents, each an AttunePolicy or
/// a `List` of them. Empty documents are skipped; unknown fields are ignored. The spec must be
/// complete, as the CRD requires it on the cluster; [`load_policy_files`] reads partial ones.
///
/// ```
/// let policies = attune::crd::load_policies(
///     "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata: {name: api}\nspec:\n  \
///      targetRef: {kind: Deployment, name: api}\n  metricsSource: {}\n  cpu: {}\n  memory: {}\n",
/// )?;
/// assert_eq!(policies[0].metadata.name.as_deref(), Some("api"));
/// # Ok::<(), attune::crd::LoadError>(())
/// ```
pub fn load_policies(text: &str) -> Result<Vec<AttunePolicy>, LoadError> {
    policies(text, Reader::Quick)
}

/// Which reader a good file goes through; a file the quick one is unsure of, or one with an
/// error, always goes through serde-saphyr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reader {
    Quick,
    /// serde-saphyr alone: what the quick reader is checked against.
    #[cfg(test)]
    Reference,
}

pub(super) fn policies(text: &str, reader: Reader) -> Result<Vec<AttunePolicy>, LoadError> {
    let mut policies = Vec::new();
    for (line, item) in items::<AttunePolicySpec>(text, reader)? {
        let spec = item.spec.ok_or_else(|| LoadError::MissingSpec {
            document: document_at(&document_starts(text), line),
        })?;
        policies.push(AttunePolicy {
            metadata: item.metadata.unwrap_or_default(),
            spec,
            status: item.status,
        });
    }
    Ok(policies)
}

/// Like [`load_policies`], for policy files that `attune propose` reads: `spec` and any of its
/// fields may be missing (a pipeline that exports recommendations writes only `metadata` and
/// `status`); what is present must still have its type.
pub fn load_policy_files(text: &str) -> Result<Vec<FilePolicy>, LoadError> {
    policy_files(text, Reader::Quick)
}

pub(super) fn policy_files(text: &str, reader: Reader) -> Result<Vec<FilePolicy>, LoadError> {
    Ok(items::<FileSpec>(text, reader)?
        .into_iter()
        .map(|(_, item)| FilePolicy {
            metadata: item.metadata.unwrap_or_default(),
            spec: item.spec.unwrap_or_default(),
            status: item.status,
        })
        .collect())
}

/// Every policy of `text` (documents and List items), with the line of its document, after
/// checking that each is an AttunePolicy.
fn items<S: DeserializeOwned>(
    text: &str,
    reader: Reader,
) -> Result<Vec<(u64, Item<S>)>, LoadError> {
    // One typed pass is all a good file costs; the header pass and the document numbering run
    // only to explain a failure.
    let quick = match reader {
        Reader::Quick => super::quick::read::<Body<S>>(text),
        #[cfg(test)]
        Reader::Reference => None,
    };
    let bodies = match quick {
        Some(bodies) => bodies,
        None => match serde_saphyr::from_multiple_with_options::<Spanned<Body<S>>>(text, options())
        {
            Ok(bodies) => bodies
                .into_iter()
                .map(|body| (body.referenced.line(), body.value))
                .collect(),
            Err(err) => return Err(explain(text, &err)),
        },
    };
    let mut out = Vec::new();
    for (line, body) in bodies {
        let (head, items) = body.split();
        let listed: Vec<(Option<usize>, Item<S>)> = if head.kind.as_deref() == Some("List") {
            let items = items.unwrap_or_default().into_iter().enumerate();
            items.map(|(index, item)| (Some(index + 1), item)).collect()
        } else {
            vec![(None, head)]
        };
        for (index, item) in listed {
            if !is_policy(item.api_version.as_deref(), item.kind.as_deref()) {
                return Err(LoadError::WrongKind {
                    document: document_at(&document_starts(text), line),
                    item: index,
                    api_version: item.api_version,
                    kind: item.kind,
                });
            }
            out.push((line, item));
        }
    }
    Ok(out)
}

/// Turns a failed typed read into the most useful error: a document of the wrong kind fails
/// the typed read somewhere deep in its spec, so the kinds are checked first.
fn explain(text: &str, err: &serde_saphyr::Error) -> LoadError {
    let starts = document_starts(text);
    let headers: Vec<Spanned<Header>> =
        match serde_saphyr::from_multiple_with_options(text, options()) {
            Ok(headers) => headers,
            Err(header_err) => return yaml_error(&header_err, &starts),
        };
    for header in &headers {
        let document = document_at(&starts, header.referenced.line());
        if let Err(wrong) = check_kind(&header.value, document) {
            return wrong;
        }
    }
    yaml_error(err, &starts)
}

/// Limits for reading. kubectl never writes anchors or aliases, and a hand-written policy uses
/// a few, so alias replay is capped far below what a real file needs; the node cap still
/// leaves room for a List of many policies with full status.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 4_000_000,
            max_events: 8_000_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
    }
}

/// Just enough of a document to tell what it is.
#[derive(Deserialize)]
#[serde(expecting = "a Kubernetes object (a mapping with apiVersion and kind)")]
struct Header {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    items: Option<Vec<ItemHeader>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a Kubernetes object (a mapping with apiVersion and kind)")]
struct ItemHeader {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

impl Header {
    fn is_list(&self) -> bool {
        self.kind.as_deref() == Some("List")
    }
}

/// A document read as a policy or as a List of policies; its own `apiVersion`/`kind` say which.
#[derive(Deserialize)]
struct Body<S> {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<ObjectMeta>,
    #[serde(default = "none")]
    spec: Option<S>,
    #[serde(default)]
    status: Option<AttunePolicyStatus>,
    #[serde(default = "none")]
    items: Option<Vec<Item<S>>>,
}

/// `Option::default` without requiring `S: Default` of the derive.
fn none<T>() -> Option<T> {
    None
}

impl<S> Body<S> {
    /// The document as an object of its own, and the items it carries if it is a List.
    fn split(self) -> (Item<S>, Option<Vec<Item<S>>>) {
        let head = Item {
            api_version: self.api_version,
            kind: self.kind,
            metadata: self.metadata,
            spec: self.spec,
            status: self.status,
        };
        (head, self.items)
    }
}

/// One item of a `List`, which carries its own `apiVersion`/`kind`.
#[derive(Deserialize)]
struct Item<S> {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<ObjectMeta>,
    #[serde(default = "none")]
    spec: Option<S>,
    #[serde(default)]
    status: Option<AttunePolicyStatus>,
}

fn is_policy(api_version: Option<&str>, kind: Option<&str>) -> bool {
    api_version == Some(API_VERSION) && kind == Some(KIND)
}

fn check_kind(header: &Header, document: usize) -> Result<(), LoadError> {
    if header.is_list() {
        // `kubectl get -o yaml` writes `apiVersion: v1` on the List; the items carry their own.
        let items = header.items.as_deref().unwrap_or_default();
        for (index, item) in items.iter().enumerate() {
            if !is_policy(item.api_version.as_deref(), item.kind.as_deref()) {
                return Err(LoadError::WrongKind {
                    document,
                    item: Some(index + 1),
                    api_version: item.api_version.clone(),
                    kind: item.kind.clone(),
                });
            }
        }
        return Ok(());
    }
    if is_policy(header.api_version.as_deref(), header.kind.as_deref()) {
        return Ok(());
    }
    Err(LoadError::WrongKind {
        document,
        item: None,
        api_version: header.api_version.clone(),
        kind: header.kind.clone(),
    })
}

/// First line of every document, in order, including empty ones, so errors can name the
/// document the way a reader counts them. Stops quietly at a syntax error: serde-saphyr reports
/// that one with its position.
fn document_starts(text: &str) -> Vec<u64> {
    let mut starts = Vec::new();
    for event in granit_parser::Parser::new_from_str(text) {
        match event {
            Ok((granit_parser::Event::DocumentStart(..), span)) => {
                starts.push(u64::try_from(span.start.line()).unwrap_or(u64::MAX));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    starts
}

/// The 1-based number of the document that contains `line`.
fn document_at(starts: &[u64], line: u64) -> usize {
    starts
        .iter()
        .take_while(|&&start| start <= line)
        .count()
        .max(1)
}

fn yaml_error(err: &serde_saphyr::Error, starts: &[u64]) -> LoadError {
    let (line, column) = err
        .location()
        .map_or((0, 0), |loc| (loc.line(), loc.column()));
    let document = (line > 0).then(|| document_at(starts, line));
    let original = innermost(err);
    if let Some(what) = budget_breach(original) {
        return LoadError::TooLarge {
            document,
            line,
            column,
            what,
        };
    }
    LoadError::Yaml {
        document,
        line,
        column,
        message: UserMessageFormatter.format_message(original).into_owned(),
    }
}

/// The error itself, without the snippet and alias wrappers that only add positions.
fn innermost(err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut err = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = err
    {
        err = error;
    }
    err
}

fn budget_breach(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    let what = match err {
        E::Budget { breach, .. } => match breach {
            BudgetBreach::Nodes { nodes } => format!("more than {} nodes", nodes.saturating_sub(1)),
            BudgetBreach::Events { events } => {
                format!("more than {} events", events.saturating_sub(1))
            }
            BudgetBreach::Aliases { aliases } => format!("{aliases} aliases"),
            BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
                format!("{aliases} aliases for {anchors} anchors")
            }
            BudgetBreach::Depth { depth } => format!("nesting {depth} levels deep"),
            other => format!("{other:?}"),
        },
        E::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => format!("aliases expand to more than {max_total_replayed_events} events"),
        E::AliasExpansionLimitExceeded { expansions, .. } => {
            format!("one anchor expanded {expansions} times")
        }
        E::AliasReplayStackDepthExceeded { max_depth, .. } => {
            format!("aliases nested more than {max_depth} deep")
        }
        _ => return None,
    };
    Some(what)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
