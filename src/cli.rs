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
    /// Serve the seed's Call Automation API locally with simulated calls (no database needed).
    Emulator {
        /// How fast the simulated clock runs (overrides `emulator.speed`): 60 makes a minute pass
        /// in a second.
        #[arg(long)]
        speed: Option<f64>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::HashToken => return hash_token(),
        Command::Emulator { speed } => return emulator(speed).await,
        _ => {}
    }
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => {
            let app = Application::build(&settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("calltrail stopped");
        }
        Command::HashToken | Command::Emulator { .. } => {
            unreachable!("handled before loading the configuration")
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

/// Loads only what the emulator needs: no database is configured, reached or touched.
async fn emulator(speed: Option<f64>) -> anyhow::Result<()> {
    let mut settings = Settings::load_for_emulator()?;
    if let Some(speed) = speed {
        settings.emulator.speed = speed;
        settings.validate_emulator()?;
    }
    telemetry::init(&settings.log);
    let server = crate::emulator::api::EmulatorServer::build(settings.emulator.clone())?;
    println!("{}", emulator_banner(&settings.emulator, server.port()));
    server.run_until_stopped().await?;
    Ok(())
}

/// What a user needs to point a client and a receiver at the emulator.
fn emulator_banner(e: &crate::emulator::config::EmulatorSettings, port: u16) -> String {
    let auth = match e.callback_auth {
        crate::emulator::config::CallbackAuth::Auto => {
            "auto (nothing added for a1/a2: the secret rides in the callbackUri; RS256 JWT for b)"
                .to_owned()
        }
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    format!(
        "calltrail emulator on http://{host}:{port}/ (simulated clock at {speed}x)\n\
         connection string: endpoint=http://{host}:{port}/;accesskey={key}\n\
         callbacks: format {format}, auth {auth}\n\
         JWT: issuer {iss}, audience {aud}, keys http://{host}:{port}/calling/keys\n\
         Standard Webhooks secret: {whsec}",
        host = e.host,
        speed = e.speed,
        key = e.access_key,
        format = format!("{:?}", e.callback_format).to_lowercase(),
        iss = e.jwt_issuer,
        aud = e.jwt_audience,
        whsec = e.webhook_secret,
    )
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
