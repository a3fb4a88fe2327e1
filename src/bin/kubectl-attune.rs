//! `kubectl-attune`, the kubectl plugin (`kubectl attune …` once on PATH): a thin layer over
//! `attune::plugin`. Exit codes: 0 success, 1 the cluster could not be read (or `propose` could not locate some
//! workloads), 2 bad usage.

use std::process::ExitCode;

use attune::plugin::{Cli, run};
use clap::Parser;

fn main() -> ExitCode {
    // clap exits with 2 on bad flags and 0 on --help/--version.
    let cli = Cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
