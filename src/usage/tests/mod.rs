//! The usage layer against a stub Prometheus (`http`), the settings as a policy writes them
//! (`settings`), and `tls.insecureSkipVerify` against a self-signed TLS server (`tls`).

mod http;
mod settings;
mod tls;
