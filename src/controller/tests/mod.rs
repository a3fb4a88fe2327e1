mod events;
mod fixtures;
mod scenarios;
mod server;
mod status;
mod targets;
