mod events;
mod fixtures;
mod pods;
mod scenarios;
mod server;
mod status;
mod targets;
