//! The `switchboard` binary: glue between the command line and the library crates.
//!
//! Only this crate reads files, environment variables and config files, and installs
//! logging; every library takes typed values. Exit status: 0 success / valid, 1 invalid
//! (or a failed remote call), 2 usage error or unreadable input.

mod cmd;
mod config;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: large flow documents parse and validate in near-linear time with it (the
/// system allocator made 10x more nodes cost 16x more; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An open contact-center orchestration server, and the tools to author flows offline.
///
/// Start a server with `switchboard serve`; check flow documents with
/// `switchboard flow validate FILE` or `switchboard flow lint FILE`; browse the activity
/// catalog with `switchboard catalog list`.
#[derive(Parser)]
#[command(name = "switchboard", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (flows API) on a local address.
    Serve(cmd::serve::ServeArgs),
    /// Work with flow documents: validate, lint, run (offline).
    #[command(subcommand)]
    Flow(cmd::flow::FlowCommand),
    /// Browse the activity catalog and event specifications.
    #[command(subcommand)]
    Catalog(cmd::catalog::CatalogCommand),
    /// Client commands against a running server (this one or any compatible API):
    /// validate, import (files or directories), list, get, export, patch, publish.
    Remote(cmd::remote::RemoteArgs),
    /// Issue bearer tokens straight into the server's database.
    #[command(subcommand)]
    Token(cmd::admin::TokenCommand),
    /// Register OAuth clients (for POST /v1/access_token).
    #[command(subcommand)]
    Client(cmd::admin::ClientCommand),
}

fn main() -> ExitCode {
    if let Some(missing) = missing_cpu_features() {
        eprintln!(
            "error: this build of switchboard needs an x86-64-v3 CPU, and this one lacks {missing}.\n\
             Rebuild it for this CPU: RUSTFLAGS=\"-C target-cpu=native\" cargo build --release"
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Flow(c) => cmd::flow::run(c),
        Command::Catalog(c) => cmd::catalog::run(c),
        Command::Remote(c) => cmd::remote::run(c),
        Command::Token(c) => cmd::admin::token(c),
        Command::Client(c) => cmd::admin::client(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The instruction-set extensions this build was compiled to use (.cargo/config.toml) that the
/// CPU does not have, so that an old CPU gets a message rather than an illegal instruction
/// somewhere later.
fn missing_cpu_features() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut missing = Vec::new();
        macro_rules! need {
            ($($f:tt),*) => {$(
                if cfg!(target_feature = $f) && !std::arch::is_x86_feature_detected!($f) {
                    missing.push($f);
                }
            )*};
        }
        need!("avx2", "bmi1", "bmi2", "fma", "lzcnt", "movbe");
        if !missing.is_empty() {
            return Some(missing.join(", "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    /// clap checks its definitions lazily; this checks every subcommand up front.
    #[test]
    fn this_cpu_runs_this_build() {
        assert_eq!(super::missing_cpu_features(), None);
    }

    #[test]
    fn command_line_definitions_are_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
