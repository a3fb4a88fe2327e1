//! The github backend (being written).
