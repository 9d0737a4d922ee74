//! Building and running the service: configuration in, a bound HTTP server out.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, Protocol};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::api::rate_limit::RateLimits;
use crate::auth::tokens::ApiTokens;
use crate::auth::Authenticator;
use crate::config::Settings;
use crate::http::body_budget::BodyBudget;
use crate::http::layer_errors::WithLayerErrorBodies;
use crate::http::state::AppState;
use crate::ingest::{IngestQueue, IngestWriters};
use crate::projection::{ProjectionFeed, Projector};
use crate::store::health::DatabaseHealth;
use crate::store::pool_runtime::PoolRuntime;
use crate::store::ReadPools;
use crate::{http, store};

pub struct Application {
    port: u16,
    server: Server,
    pool: PgPool,
    reads: ReadPools,
    writers: IngestWriters,
    projector: Option<Projector>,
    partition_keeper: JoinHandle<()>,
    database_probe: JoinHandle<()>,
}

/// How long the pool may take to close at exit, once nothing is left to do: it waits for each
/// connection still in use (an export whose client has gone only notices at its next row).
const POOL_CLOSE_WAIT: Duration = Duration::from_secs(5);

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
        let api_limits = RateLimits::new(
            api_tokens.len(),
            settings.api.rate_limit_per_second,
            settings.api.rate_limit_burst,
        );
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
        let partition_keeper = store::maintenance::spawn_partition_keeper(
            pool.clone(),
            settings.retention.keep_months,
        );
        // Install the recorder before the writers, the projector or a request records anything.
        crate::metrics::handle();
        // Events are handed over only when this instance projects them.
        let feed = if settings.projection.enabled {
            ProjectionFeed::new(settings.projection.handoff_events)
        } else {
            ProjectionFeed::default()
        };
        let acquire_timeout = Duration::from_millis(settings.database.acquire_timeout_ms);
        let database = DatabaseHealth::default();
        let database_probe = database.spawn_probe(pool.clone(), acquire_timeout);
        let (ingest, writers) = IngestQueue::start(
            pool.clone(),
            &settings.ingest,
            feed.clone(),
            database.clone(),
            acquire_timeout,
        );
        let projector = settings
            .projection
            .enabled
            .then(|| Projector::start(pool.clone(), &settings.projection, feed));
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        // Reporting reads go to the read replica when one is configured (`store::reads`).
        let reads = ReadPools::new(
            &settings.database,
            &pool,
            settings.api.statement_timeout_ms,
            workers,
        )?;
        if reads.has_replica() {
            tracing::info!("reporting queries, exports and the dashboard read from the replica (database.read_url)");
        }
        let pool_runtime = PoolRuntime::current();
        let auth = Arc::new(auth);
        let body_budget = BodyBudget::new(
            settings.server.max_inflight_body_bytes,
            settings.server.max_unverified_body_bytes,
        );
        let body_timeout = Duration::from_millis(settings.server.body_timeout_ms);
        let max_body_bytes = settings.server.max_body_bytes;
        let retry_after_seconds = settings.ingest.retry_after_seconds;
        let ui = web::Data::new(crate::ui::UiState::new(
            &settings.ui.session_key,
            &settings.api.tokens,
        ));
        let shared_pool = pool.clone();
        let worker_reads = reads.clone();
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let timeouts = ConnectionTimeouts {
            head: Duration::from_millis(settings.server.head_timeout_ms),
            shutdown_seconds: settings.server.shutdown_timeout_seconds,
            max_connections_per_worker: settings.server.max_connections_per_worker,
        };
        // Called once on each worker's thread, within its runtime.
        let make_state = move || AppState {
            pool: shared_pool.clone(),
            pool_runtime: pool_runtime.clone(),
            query_pool: worker_reads.query.open(),
            reads: worker_reads.clone(),
            auth: auth.clone(),
            ingest: ingest.clone(),
            max_body_bytes,
            body_timeout,
            body_budget: body_budget.clone(),
            database: database.clone(),
            retry_after_seconds,
            api_tokens: api_tokens.clone(),
            api_limits: api_limits.clone(),
            metrics_tokens: metrics_tokens.clone(),
        };
        let server = serve(listener, workers, &timeouts, make_state, ui)?;
        tracing::info!(
            host = %settings.server.host,
            port,
            "calltrail listening"
        );
        Ok(Application {
            port,
            server,
            pool,
            reads,
            writers,
            projector,
            partition_keeper,
            database_probe,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then shuts down in this order: stop accepting; let in-flight
    /// requests finish (each waits for its commit); let the writers write whatever is still queued
    /// (requests whose client went away) and stop; let the projector finish its batch; close the
    /// pool. Whatever is still queued for projection is projected by the next instance to run.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.writers.stop().await;
        if let Some(projector) = self.projector {
            projector.stop().await;
        }
        self.partition_keeper.abort();
        self.database_probe.abort();
        if tokio::time::timeout(POOL_CLOSE_WAIT, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at exit");
        }
        if self.reads.has_replica()
            && tokio::time::timeout(POOL_CLOSE_WAIT, self.reads.shared().close())
                .await
                .is_err()
        {
            tracing::warn!("read replica connections still in use at exit");
        }
        served
    }
}

/// What the HTTP layer is told about connections.
struct ConnectionTimeouts {
    /// For a request's head to arrive (`408` after it).
    head: Duration,
    shutdown_seconds: u64,
    max_connections_per_worker: usize,
}

/// The HTTP server: what `actix_web::HttpServer` builds, plus what it cannot be told: a check of
/// `Expect: 100-continue` requests before the body is invited ([`http::expect`]), and the HTTP
/// layer's own refusals given the error body ([`http::layer_errors`]). The settings are
/// HttpServer's defaults but for the timeouts below.
fn serve<F>(
    listener: TcpListener,
    workers: usize,
    timeouts: &ConnectionTimeouts,
    make_state: F,
    ui: web::Data<crate::ui::UiState>,
) -> std::io::Result<Server>
where
    F: Fn() -> AppState + Send + Clone + 'static,
{
    let builder = Server::build()
        .workers(workers)
        .max_concurrent_connections(timeouts.max_connections_per_worker)
        .shutdown_timeout(timeouts.shutdown_seconds);
    let shutdown = builder.graceful_shutdown_signal();
    let head_timeout = timeouts.head;
    let builder = builder.listen("calltrail", listener, move || {
        let state = web::Data::new(make_state());
        let shutdown = shutdown.clone();
        let expect_state = state.clone();
        let app = App::new()
            .wrap(from_fn(http::refuse_long_uri))
            .wrap(from_fn(http::request_span::request_span))
            .app_data(state)
            .configure(routes)
            .configure(|cfg| crate::ui::scope(cfg, ui.clone()))
            .default_service(web::to(http::not_found));
        let http = HttpService::build()
            // Lets idle keep-alive connections close when the server stops, as HttpServer does.
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            .client_request_timeout(head_timeout)
            // A request refused before its body was read is answered and its connection closed
            // at once: no lingering to read (and discard) what the sender still pushes.
            .client_disconnect_timeout(Duration::ZERO)
            .expect(fn_service(move |req| {
                http::expect::check(expect_state.clone(), req)
            }))
            .finish(map_config(
                app.into_factory()
                    .map_err(|error: actix_web::Error| error.error_response()),
                // The host and address an app sees as its own: only URL generation and the
                // connection info of a request without a Host header read them, and calltrail uses
                // neither.
                |()| AppConfig::default(),
            ));
        fn_service(|io: TcpStream| async move {
            let peer = io.peer_addr().ok();
            Ok((WithLayerErrorBodies::new(io), Protocol::Http1, peer))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}

/// Every route of the service.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/callbacks")
            .route(web::post().to(http::callbacks::receive))
            .default_service(http::method_not_allowed("POST")),
    )
    .service(
        web::resource("/api/eventgrid")
            .route(web::post().to(http::eventgrid::receive))
            .route(web::method(actix_web::http::Method::OPTIONS).to(http::eventgrid::handshake))
            .default_service(http::method_not_allowed("POST, OPTIONS")),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(http::health::healthz))
            .default_service(http::method_not_allowed("GET")),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(http::health::readyz))
            .default_service(http::method_not_allowed("GET")),
    )
    .service(
        web::resource("/readyz/reads")
            .route(web::get().to(http::health::readyz_reads))
            .default_service(http::method_not_allowed("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(http::health::metrics))
            .default_service(http::method_not_allowed("GET")),
    )
    .configure(crate::api::scope);
}
