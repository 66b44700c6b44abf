//! `lectern`: see `lectern --help`, and docs/api.md for the verbs.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lectern::cli::Cli::parse();
    match lectern::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lectern: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
