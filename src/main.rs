//! The `deskbell` command line: parses the arguments and hands them to
//! [`deskbell::cli::run`]; every error ends the process non-zero with one
//! line on stderr.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    match deskbell::cli::run(deskbell::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
