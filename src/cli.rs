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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => {
            let app = Application::build(&settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("calltrail stopped");
        }
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
