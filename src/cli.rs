//! The `calltrail` command line.

use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

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
        #[command(subcommand)]
        action: Option<EmulatorCommand>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Place N simulated outbound calls at R per second (the wildfire alert) and deliver their
    /// callbacks to one receiver as fast as it takes them; print rates, latency and failures.
    Campaign(CampaignArgs),
    /// A receiver that answers 202 to every POST and stores nothing: measures a campaign alone.
    Sink {
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 8099)]
        port: u16,
        /// HTTP worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        workers: usize,
    },
}

#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// How many calls to place.
    #[arg(long)]
    calls: u64,
    /// Calls placed per second.
    #[arg(long)]
    rate: f64,
    /// Where every call's callbacks go (http://host:port/path?query).
    #[arg(long)]
    callback: String,
    /// The callees' behaviour and the calls' timing (YAML; see the README).
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
    /// Callback format: a1, a2 or b (GA, the default).
    #[arg(long)]
    format: Option<String>,
    /// Callback authentication: query_secret (alias secret), jwt or webhook_signature (alias
    /// webhook); default `emulator.callback_auth`, whose `auto` is a JWT for b and nothing else.
    #[arg(long)]
    auth: Option<String>,
    /// Keep-alive connections to the receiver: at most this many callbacks in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How fast the simulated clock runs (10: a ten-second call takes one second).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// No progress line on stderr.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::HashToken => return hash_token(),
        Command::Emulator {
            action: Some(EmulatorCommand::Campaign(args)),
            ..
        } => return campaign(args).await,
        Command::Emulator {
            action:
                Some(EmulatorCommand::Sink {
                    host,
                    port,
                    workers,
                }),
            ..
        } => {
            println!(
                "calltrail emulator sink on http://{host}:{port}/ (answers 202 to every POST)"
            );
            crate::emulator::campaign::sink::serve(&host, port, workers).await?;
            return Ok(());
        }
        Command::Emulator {
            speed,
            action: None,
        } => return emulator(speed).await,
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

/// Runs a campaign with the `emulator:` section's signing keys and delivery settings.
async fn campaign(args: CampaignArgs) -> anyhow::Result<()> {
    use crate::emulator::campaign::plan::{CampaignScenario, Plan};
    use crate::emulator::config::{CallbackAuth, CallbackFormat};
    use crate::emulator::delivery::sign::JwtSigner;
    let settings = Settings::load_for_emulator()?;
    telemetry::init(&settings.log);
    let e = &settings.emulator;
    let format = match args.format.as_deref() {
        None | Some("b") => CallbackFormat::B,
        Some("a1") => CallbackFormat::A1,
        Some("a2") => CallbackFormat::A2,
        Some(other) => anyhow::bail!("--format: {other} is not a1, a2 or b"),
    };
    let auth = match args.auth.as_deref() {
        None => e.callback_auth,
        Some("query_secret" | "secret") => CallbackAuth::QuerySecret,
        Some("jwt") => CallbackAuth::Jwt,
        Some("webhook_signature" | "webhook") => CallbackAuth::WebhookSignature,
        Some(other) => {
            anyhow::bail!("--auth: {other} is not query_secret, jwt or webhook_signature")
        }
    }
    .resolve(format);
    let scenario = match &args.scenario {
        None => CampaignScenario::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("--scenario: {}: {err}", path.display()))?;
            CampaignScenario::from_yaml(&text)
                .map_err(|err| anyhow::anyhow!("--scenario: {}: {err}", path.display()))?
        }
    };
    let pem = match &e.jwt_signing_key_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("emulator.jwt_signing_key_file: {path}: {err}"))?,
        ),
        None => None,
    };
    let jwt = JwtSigner::new(pem.as_deref(), &e.jwt_issuer, &e.jwt_audience)
        .map_err(|err| anyhow::anyhow!("emulator.jwt_signing_key_file: {err}"))?;
    let plan = Plan {
        calls: args.calls,
        rate: args.rate,
        callback: args.callback,
        format,
        auth,
        connections: args.connections,
        speed: args.speed,
        max_attempts: e.delivery.max_attempts,
        retry_initial: std::time::Duration::from_millis(e.delivery.retry_initial_ms),
        retry_max: std::time::Duration::from_millis(e.delivery.retry_max_ms),
        timeout: std::time::Duration::from_millis(e.delivery.timeout_ms),
        scenario,
        progress: !args.quiet,
    };
    let summary = crate::emulator::campaign::run(plan, Arc::new(jwt), &e.webhook_secret).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", summary.text());
    }
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
