//! `mavis`: the local runner and offline tools.
//!
//! - `mavis serve` (what plain `cargo run` does): the whole system on embedded adapters at http://127.0.0.1:3000
//! - `mavis validate --kind child-records FILE`: check a file offline
//! - `mavis token --user EMAIL`: a bearer token for a seeded user

mod seed;
mod serve;
mod token;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mavis", version, about = "School-age immunisation record imports: local runner and tools")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system locally on embedded adapters with the demo seed.
    Serve(serve::ServeArgs),
    /// Check a CSV file offline. Exit status: 0 valid, 1 invalid, 2 usage error or unreadable file.
    Validate(validate::ValidateArgs),
    /// Print a bearer token for a seeded user of the local runner.
    Token(token::TokenArgs),
    /// Write a seed's reference data (teams, schools, users) into a deployed table.
    Seed(seed::SeedArgs),
}

/// Where `mavis serve` keeps its data unless told otherwise.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command.unwrap_or(Command::Serve(serve::ServeArgs::default())) {
        Command::Serve(args) => serve::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Token(args) => token::run(args),
        Command::Seed(args) => seed::run(args),
    }
}
