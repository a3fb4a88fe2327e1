//! Byte-exact YAML editing: set scalars at paths, insert missing keys, never re-serialise.
//!
//! The editor parses a file into a span-carrying tree ([`tree`]), turns each requested
//! [`Set`] into a replacement of one scalar's bytes or an insertion rendered in the file's own
//! style ([`style`]), splices the edits into the original text and re-parses the result to check
//! that exactly the intended values changed ([`verify`]). Everything outside the edited spans is
//! kept byte for byte: comments, blank lines, quoting, indentation, document separators, CRLF.
//! This module is pure (no I/O) and knows nothing about Kubernetes, Kustomize, git or policies:
//! callers say *which* path gets *which* value; it only knows how to write it.

mod apply;
mod embedded;
mod insert;
mod landing;
mod plain;
mod render;
mod scalar;
pub mod style;
pub mod tree;
pub mod verify;

pub use apply::{Seg, Set, set_values, set_values_parsed, set_values_styled};
pub use embedded::EmbeddedSet;
pub use tree::{Document, Kind, Node, Stream, check_syntax, parse};

/// Largest file the editor accepts; larger files are refused, not truncated.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum YamlError {
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    #[error(
        "aliases would expand to {expanded} nodes from {written} written (an alias bomb?); refusing the file"
    )]
    AliasBomb { expanded: usize, written: usize },
    #[error("file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")]
    TooLarge { size: usize },
    #[error("document {doc} does not exist in the file")]
    NoDocument { doc: usize },
    #[error("cannot write through {at}: {why}")]
    Unsupported { at: String, why: &'static str },
    #[error(
        "{at}: the value is shared through an anchor or alias, so changing it would change other values too"
    )]
    Shared { at: String },
    #[error("document {doc}: {at} is set twice in one batch")]
    Duplicate { doc: usize, at: String },
    #[error("two edits overlap at byte {at}")]
    Overlap { at: usize },
    #[error("the edited text did not re-parse: {0}")]
    Reparse(Box<YamlError>),
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("internal: {0}")]
    Internal(&'static str),
}
