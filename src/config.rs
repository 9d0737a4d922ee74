//! Layered configuration: built-in `config/base.yaml` → `config/<environment>.yaml` → environment
//! variables `CALLTRAIL__SECTION__KEY` (plus `DATABASE_URL`). Every key has a default in base.yaml;
//! unknown keys and invalid values fail at start with a message naming the key.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::AuthConfig;
use crate::emulator::config::EmulatorSettings;

/// The defaults, built into the binary so it runs from any directory.
const BASE_YAML: &str = include_str!("../config/base.yaml");

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "auth.query_secret.secrets",
    "auth.jwt.issuers",
    "auth.jwt.audiences",
    "auth.webhook_signature.secrets",
    "auth.endpoints.callbacks",
    "auth.endpoints.eventgrid",
    "api.tokens",
    "metrics.tokens",
    "emulator.scenario_files",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub ingest: IngestSettings,
    pub projection: ProjectionSettings,
    pub log: LogSettings,
    pub auth: AuthConfig,
    pub api: ApiSettings,
    pub metrics: MetricsSettings,
    pub ui: UiSettings,
    pub emulator: EmulatorSettings,
    pub retention: RetentionSettings,
}

/// How long the event log keeps events (see `store::retention`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Whole months kept before the current one (UTC); older monthly partitions are dropped. 0:
    /// keep everything.
    pub keep_months: u32,
}

/// The operator dashboard under `/ui`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSettings {
    /// The secret the session cookies are encrypted and authenticated under, the same on every
    /// instance; empty: the dashboard is off and answers `503`.
    pub session_key: SecretString,
}

/// The shortest `ui.session_key` accepted: 32 characters (`openssl rand -hex 32` gives 64).
pub const MIN_SESSION_KEY_CHARS: usize = 32;

/// Who may read `/metrics`. The callback routes face the internet (ACS must reach them), and so
/// does everything else on the same listener: event counts, rates and database health are not for
/// anyone who finds the address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// When true, a scrape needs `Authorization: Bearer` with a token from `metrics.tokens` or
    /// `api.tokens`; when false, `/metrics` is open (a private network, local development).
    pub require_token: bool,
    /// Scraper tokens, each as the hex SHA-256 of the token: they open `/metrics` only, not the
    /// reporting API.
    pub tokens: Vec<String>,
}

/// The read-only reporting API under `/api/v1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Accepted bearer tokens, each as the hex SHA-256 of the token: the configuration never holds
    /// a usable credential.
    pub tokens: Vec<String>,
    /// Longest a reporting query may run (milliseconds; 0: no limit). Exports are exempt.
    pub statement_timeout_ms: u64,
    /// Requests per second each token may make, on average (0: no limit)...
    pub rate_limit_per_second: u32,
    /// ...and at once after a pause.
    pub rate_limit_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub max_inflight_body_bytes: usize,
    /// The part of `max_inflight_body_bytes` that bodies of senders not yet authenticated may hold.
    pub max_unverified_body_bytes: usize,
    /// The longest a request body may take to arrive, from its headers to its last byte.
    pub body_timeout_ms: u64,
    /// The longest a request's head may take to arrive, from the connection's opening.
    pub head_timeout_ms: u64,
    pub max_connections_per_worker: usize,
    pub shutdown_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May hold a password: never printed.
    pub url: SecretString,
    /// A streaming replica that reporting reads go to (see `store::reads`); empty: none, reads
    /// go to `url`. May hold a password: never printed.
    pub read_url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    pub batch_max_events: usize,
    pub batch_max_wait_us: u64,
    pub writers: usize,
    pub queue_capacity: usize,
    pub retry_after_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectionSettings {
    pub enabled: bool,
    pub batch_calls: usize,
    pub poll_interval_ms: u64,
    pub settle_ms: u64,
    pub handoff_events: usize,
    pub foreign_after_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

/// One error type for the whole configuration; the `auth` section's checks build it too.
pub use crate::auth::ConfigError;

/// Which environment file to layer over the defaults.
pub fn environment() -> String {
    std::env::var("CALLTRAIL_ENVIRONMENT").unwrap_or_else(|_| "local".to_owned())
}

fn config_dir() -> PathBuf {
    std::env::var_os("CALLTRAIL_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("config"))
}

impl Settings {
    /// The built-in defaults with `yaml` layered over them, ignoring the environment: for tests and
    /// tools that build their settings explicitly. Not validated: adjust fields, then `validate`.
    pub fn from_yaml(yaml: &str) -> Result<Settings, ConfigError> {
        config::Config::builder()
            .add_source(config::File::from_str(BASE_YAML, config::FileFormat::Yaml))
            .add_source(config::File::from_str(yaml, config::FileFormat::Yaml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::new("", e.to_string()))
    }

    /// Loads from the process environment and the config directory.
    pub fn load() -> Result<Settings, ConfigError> {
        let settings = Self::load_unvalidated()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads the settings `calltrail emulator` needs: it has no database, so only its own section
    /// and logging are checked, and a missing `database.url` is no error.
    pub fn load_for_emulator() -> Result<Settings, ConfigError> {
        let settings = Self::load_unvalidated()?;
        settings.validate_emulator()?;
        Ok(settings)
    }

    /// Checks the emulator's section and the log filter.
    pub fn validate_emulator(&self) -> Result<(), ConfigError> {
        // The emulator's messages name their key already (`emulator.speed: …`).
        self.emulator
            .validate()
            .map_err(|message| ConfigError::new("", message))?;
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::new(
                "log.level",
                "is not a valid filter directive",
            ));
        }
        Ok(())
    }

    fn load_unvalidated() -> Result<Settings, ConfigError> {
        let env = environment();
        if !matches!(env.as_str(), "local" | "production") {
            return Err(ConfigError::new(
                "CALLTRAIL_ENVIRONMENT",
                format!("`{env}` is not one of local, production"),
            ));
        }
        let env_file = config_dir().join(&env);
        let mut environment = config::Environment::with_prefix("CALLTRAIL")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",");
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        let raw = config::Config::builder()
            .add_source(config::File::from_str(BASE_YAML, config::FileFormat::Yaml))
            .add_source(config::File::from(env_file).required(false))
            .add_source(environment)
            .build()
            .map_err(|e| ConfigError::new("", e.to_string()))?;
        let mut settings: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError::new("", e.to_string()))?;
        // DATABASE_URL beats the files; CALLTRAIL__DATABASE__URL beats DATABASE_URL.
        if std::env::var_os("CALLTRAIL__DATABASE__URL").is_none() {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                if !url.is_empty() {
                    settings.database.url = SecretString::from(url);
                }
            }
        }
        Ok(settings)
    }

    /// Checks the values serde cannot: each message names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError::new(key, why));
        if self.database.url.expose_secret().is_empty() {
            return fail(
                "database.url",
                "not set (set DATABASE_URL or CALLTRAIL__DATABASE__URL)",
            );
        }
        if !self.database.url.expose_secret().starts_with("postgres://")
            && !self
                .database
                .url
                .expose_secret()
                .starts_with("postgresql://")
        {
            return fail("database.url", "must be a postgres:// URL");
        }
        let read_url = self.database.read_url.expose_secret();
        if !read_url.is_empty()
            && !read_url.starts_with("postgres://")
            && !read_url.starts_with("postgresql://")
        {
            return fail("database.read_url", "must be a postgres:// URL, or empty");
        }
        let session_key = self.ui.session_key.expose_secret();
        if !session_key.is_empty() && session_key.chars().count() < MIN_SESSION_KEY_CHARS {
            return fail(
                "ui.session_key",
                "must be at least 32 characters (e.g. `openssl rand -hex 32`), or empty to turn the dashboard off",
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1");
        }
        if self.database.min_connections > self.database.max_connections {
            return fail(
                "database.min_connections",
                "must not exceed database.max_connections",
            );
        }
        if self.server.max_body_bytes == 0 {
            return fail("server.max_body_bytes", "must be at least 1");
        }
        if self.server.max_inflight_body_bytes < self.server.max_body_bytes {
            return fail(
                "server.max_inflight_body_bytes",
                "must be at least server.max_body_bytes",
            );
        }
        if self.server.max_unverified_body_bytes < self.server.max_body_bytes {
            return fail(
                "server.max_unverified_body_bytes",
                "must be at least server.max_body_bytes",
            );
        }
        if self.server.body_timeout_ms == 0 {
            return fail("server.body_timeout_ms", "must be at least 1");
        }
        if self.server.head_timeout_ms == 0 {
            return fail("server.head_timeout_ms", "must be at least 1");
        }
        if self.ingest.batch_max_events == 0 {
            return fail("ingest.batch_max_events", "must be at least 1");
        }
        if self.ingest.writers == 0 {
            return fail("ingest.writers", "must be at least 1");
        }
        // Each writer holds a connection while it commits, and so does the projector; readiness
        // checks and exports need one more.
        let reserved = self.ingest.writers as u32 + u32::from(self.projection.enabled) + 1;
        if reserved > self.database.max_connections {
            return fail(
                "database.max_connections",
                &format!(
                    "must be at least {reserved}: one per ingest writer, one for the projector, one for readiness checks and exports"
                ),
            );
        }
        if self.ingest.queue_capacity == 0 {
            return fail("ingest.queue_capacity", "must be at least 1");
        }
        if self.projection.batch_calls == 0 {
            return fail("projection.batch_calls", "must be at least 1");
        }
        if self.projection.poll_interval_ms == 0 {
            return fail("projection.poll_interval_ms", "must be at least 1");
        }
        let token_lists = [
            ("api.tokens", &self.api.tokens),
            ("metrics.tokens", &self.metrics.tokens),
        ];
        for (key, tokens) in token_lists {
            for (i, token) in tokens.iter().enumerate() {
                if crate::auth::tokens::parse_token_hash(token).is_none() {
                    return fail(
                        &format!("{key}[{i}]"),
                        "must be the hex SHA-256 of a token (64 hex digits; see `calltrail hash-token`)",
                    );
                }
            }
        }
        self.validate_emulator()
    }
}
