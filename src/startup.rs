//! Building and running the service: configuration in, a bound HTTP server out.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use sqlx::PgPool;

use crate::api::auth::ApiTokens;
use crate::auth::Authenticator;
use crate::config::Settings;
use crate::http::body_budget::BodyBudget;
use crate::ingest::IngestQueue;
use crate::projection::{Projector, Wakeup};
use crate::{http, store};

/// What every handler shares.
pub struct AppState {
    pub pool: PgPool,
    /// The reporting API's pool: its statements are cut off at `api.statement_timeout_ms`.
    pub query_pool: PgPool,
    pub auth: Authenticator,
    pub ingest: IngestQueue,
    pub max_body_bytes: usize,
    pub body_budget: BodyBudget,
    pub retry_after_seconds: u32,
    pub api_tokens: ApiTokens,
    /// Who may scrape `/metrics`: `None` when `metrics.require_token` is off.
    pub metrics_tokens: Option<ApiTokens>,
}

pub struct Application {
    port: u16,
    server: Server,
    projector: Option<Projector>,
}

impl Application {
    /// Connects, migrates (when configured), starts the writers and the projector, and binds the
    /// listener. Port 0 binds a free port (tests); [`Application::port`] says which.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let auth = Authenticator::from_config(&settings.auth).await?;
        if settings.auth.allow_unauthenticated {
            tracing::warn!(
                "auth.allow_unauthenticated is set: deliveries without credentials are accepted. Never use this in production."
            );
        }
        let api_tokens = ApiTokens::from_config(&settings.api.tokens);
        if api_tokens.is_empty() {
            tracing::info!("api.tokens is empty: every /api/v1 request will be refused");
        }
        let metrics_tokens = settings.metrics.require_token.then(|| {
            let both: Vec<String> = settings
                .metrics
                .tokens
                .iter()
                .chain(&settings.api.tokens)
                .cloned()
                .collect();
            ApiTokens::from_config(&both)
        });
        if metrics_tokens.as_ref().is_some_and(ApiTokens::is_empty) {
            tracing::info!(
                "metrics.tokens and api.tokens are empty: every /metrics scrape will be refused"
            );
        }
        let pool = store::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            store::migrate(&pool).await?;
            tracing::info!("database migrations applied");
        }
        match store::maintenance::ensure_partitions(&pool).await {
            Ok(()) => {}
            Err(error) => tracing::warn!(%error, "could not check event partitions at start"),
        }
        store::maintenance::spawn_partition_keeper(pool.clone());
        // Install the recorder before the writers, the projector or a request records anything.
        crate::metrics::handle();
        let wakeup = Wakeup::default();
        let ingest = IngestQueue::start(pool.clone(), &settings.ingest, wakeup.clone());
        let projector = settings
            .projection
            .enabled
            .then(|| Projector::start(pool.clone(), &settings.projection, wakeup));
        let state = web::Data::new(AppState {
            query_pool: store::query_pool(&settings.database, settings.api.statement_timeout_ms)?,
            pool,
            auth,
            ingest,
            max_body_bytes: settings.server.max_body_bytes,
            body_budget: BodyBudget::new(settings.server.max_inflight_body_bytes),
            retry_after_seconds: settings.ingest.retry_after_seconds,
            api_tokens,
            metrics_tokens,
        });
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(http::request_span::request_span))
                .app_data(state.clone())
                .configure(http::routes)
                .default_service(web::to(http::not_found))
        })
        .max_connections(settings.server.max_connections_per_worker)
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        .client_request_timeout(Duration::from_secs(10));
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.listen(listener)?.run();
        tracing::info!(
            host = %settings.server.host,
            port,
            "calltrail listening"
        );
        Ok(Application {
            port,
            server,
            projector,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT: then stops accepting, lets in-flight requests finish (each waits
    /// for its commit), lets the projector finish its batch, and returns. Whatever is still queued
    /// is projected by the next instance to run.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(projector) = self.projector {
            projector.stop().await;
        }
        served
    }
}
