//! `mavis token`: a bearer token from the local runner's own issuer, for a user in the seed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use shared::web::auth::LocalIssuer;

#[derive(Args)]
pub struct TokenArgs {
    /// Email of a user in the seed (e.g. nurse@example.com).
    #[arg(long)]
    user: String,
    /// The data folder of `mavis serve` (its signing key lives there).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Reference data; the bundled demo seed by default.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Lifetime of the token in hours (1 to 24, the longest a session lasts being 12).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24))]
    hours: u64,
}

pub fn run(args: TokenArgs) -> ExitCode {
    let reference = match shared::reference::load_or_demo(args.seed.as_deref()) {
        Ok(reference) => reference,
        Err(e) => {
            eprintln!("mavis token: {e}");
            return ExitCode::from(2);
        }
    };
    if reference.user(&args.user).is_none() {
        let known: Vec<&str> = reference.users.iter().map(|u| u.email.as_str()).collect();
        eprintln!("mavis token: {} is not a user in the seed; known users: {}", args.user, known.join(", "));
        return ExitCode::from(2);
    }
    match LocalIssuer::load_or_create(&args.data) {
        Ok(issuer) => {
            println!("{}", issuer.issue(&args.user.to_lowercase(), std::time::Duration::from_secs(args.hours * 3600)));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mavis token: {e}");
            ExitCode::from(2)
        }
    }
}
