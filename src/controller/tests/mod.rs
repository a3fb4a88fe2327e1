mod events;
mod fixtures;
mod pods;
mod recommender;
mod scenarios;
mod server;
mod status;
mod targets;
