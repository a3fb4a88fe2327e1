//! The `attune` command line: a thin clap layer over the library.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Right-sizes Kubernetes pods and writes the result back to the GitOps repository.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the AttunePolicy CustomResourceDefinition as YAML.
    Crd,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    match cli.command {
        Command::Crd => {
            let yaml = attune::crd::crd_yaml()?;
            // write_all instead of print! so a closed pipe is an error, not a panic.
            std::io::stdout().lock().write_all(yaml.as_bytes())?;
        }
    }
    Ok(())
}

/// Joins an error and its sources with ": ", since messages do not repeat their source.
fn error_chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
