//! The gitea backend (being written).
