//! `switchboard serve`.

use std::process::ExitCode;

/// Options of `switchboard serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn run(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    eprintln!("switchboard serve is not implemented yet: the HTTP API lands with the next issue.");
    Ok(ExitCode::from(2))
}
