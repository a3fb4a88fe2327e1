//! Tests of the recommender, split by what they cover. Golden values are the Go operator's
//! outputs for the same inputs (issue 10's compatibility table).

mod canonical;
mod chain_stages;
mod container;
mod fixtures;
mod golden_samples;
mod golden_units;
mod profile;
mod progress_budget;
mod settings;
