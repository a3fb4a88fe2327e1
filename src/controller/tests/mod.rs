mod events;
mod fixtures;
mod pods;
mod revert;
mod scenarios;
mod server;
mod status;
mod targets;
