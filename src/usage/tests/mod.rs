//! The usage layer against a stub Prometheus (`http`) and the settings as a policy writes them
//! (`settings`).

mod http;
mod settings;
