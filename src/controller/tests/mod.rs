mod events;
mod fields;
pub(super) mod fixtures;
mod pods;
mod scenarios;
mod server;
mod status;
mod targets;
