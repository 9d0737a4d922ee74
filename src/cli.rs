//! The `calltrail` command line.

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::Application;
use crate::{projection, store, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "calltrail",
    version,
    about = "Callback receiver and call-history store for ACS Call Automation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Recompute the call model of every call from the event log. Safe while the service runs.
    Rebuild,
    /// Read an API token from standard input and print the SHA-256 hex to put in `api.tokens`.
    HashToken,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::HashToken = cli.command {
        return hash_token();
    }
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => {
            let app = Application::build(&settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("calltrail stopped");
        }
        Command::HashToken => unreachable!("handled before loading the configuration"),
        Command::Migrate => {
            let pool = store::pool(&settings.database)?;
            store::migrate(&pool).await?;
            store::maintenance::ensure_partitions(&pool).await?;
            tracing::info!("migrations applied");
        }
        Command::Rebuild => {
            let pool = store::pool(&settings.database)?;
            let summary = projection::rebuild(&pool, settings.projection.batch_calls).await?;
            println!(
                "rebuilt {} calls (removed {} without events)",
                summary.rebuilt, summary.removed
            );
        }
    }
    Ok(())
}

/// Needs no configuration or database. The token comes from stdin, not an argument, so it stays out
/// of the shell history and the process list; one trailing newline (as `echo` adds) is ignored.
fn hash_token() -> anyhow::Result<()> {
    use std::io::Read;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let token = input
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&input);
    if token.trim().is_empty() {
        anyhow::bail!("no token on standard input");
    }
    println!("{}", crate::auth::tokens::hash_token(token));
    Ok(())
}
