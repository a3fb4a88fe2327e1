//! Tests of the resize decision and executor, split by what they cover.

mod eligibility;
mod fixtures;
mod selection;
mod settings;
mod targets;
mod tracking;
