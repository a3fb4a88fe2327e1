//! Tests of the resize decision and executor, split by what they cover.

mod eligibility;
mod executor;
mod fixtures;
mod mock_api;
mod props;
mod selection;
mod settings;
mod targets;
mod tracking;
mod values;
mod window;
