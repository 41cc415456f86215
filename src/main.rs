//! The `deskbell` command line: parses the arguments and hands them to
//! [`deskbell::cli::run`]; every error ends the process non-zero with one
//! line on stderr.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = deskbell::cli::Cli::parse();
    // A simulation is one long chain of database round trips: on a single
    // thread and a single CPU each hand-off to sqlx's SQLite worker wakes no
    // other thread or core (benches/simulate measures it).
    let mut runtime = if cli.is_simulation() {
        deskbell::simulate::keep_to_one_cpu();
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(deskbell::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
