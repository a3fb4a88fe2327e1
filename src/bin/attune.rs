//! The `attune` command line: a thin clap layer over the library.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use std::path::PathBuf;

use attune::propose::{self, Format};
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
    /// Rewrite resource requests in a GitOps checkout from AttunePolicy recommendations.
    ///
    /// Exit codes: 0 every recommended workload was located; 1 some workload or container could
    /// not be located or was ambiguous (everything else still applied); 2 bad input, nothing
    /// touched.
    Propose {
        /// YAML with AttunePolicy objects (multi-document or a `kind: List`, as kubectl prints).
        #[arg(long)]
        policies: PathBuf,
        /// The checkout of the GitOps repository.
        #[arg(long)]
        repo: PathBuf,
        /// Limit the search to this subfolder of --repo (like an Argo CD Application's path).
        #[arg(long)]
        path: Option<String>,
        /// Edit the files in place instead of printing a diff.
        #[arg(long)]
        write: bool,
        /// What to print on stdout: a git-apply-compatible diff, or a JSON report.
        #[arg(long, value_enum, default_value = "diff")]
        output: Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Propose {
        policies,
        repo,
        path,
        write,
        output,
    } = cli.command
    {
        let opts = propose::Options {
            policies,
            repo,
            path,
            write,
            output,
        };
        return match propose::run(
            &opts,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(err) => {
                eprintln!("error: {}", error_chain(&err));
                ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    match cli.command {
        Command::Propose { .. } => {}
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
