//! What the handlers share: built by the service's start-up, read by the HTTP edge and the
//! reporting API. It lives below both, so that neither imports the module that builds the app.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::api::rate_limit::RateLimits;
use crate::auth::tokens::ApiTokens;
use crate::auth::Authenticator;
use crate::error::ApiError;
use crate::http::body_budget::BodyBudget;
use crate::ingest::IngestQueue;
use crate::store::health::DatabaseHealth;
use crate::store::pool_runtime::PoolRuntime;
use crate::store::ReadPools;

/// What the handlers of one HTTP worker share; all but `query_pool` is shared by every worker.
pub struct AppState {
    /// Used only on `pool_runtime`: a handler hands its use of it over.
    pub pool: PgPool,
    pub pool_runtime: PoolRuntime,
    /// The reporting API's pool, this worker's own: its statements are cut off at
    /// `api.statement_timeout_ms`. It reads from the replica when there is one.
    pub query_pool: PgPool,
    /// Where reporting reads go (the replica or the primary); its shared pool, for exports, is
    /// used only on `pool_runtime`.
    pub reads: ReadPools,
    pub auth: Arc<Authenticator>,
    pub ingest: IngestQueue,
    pub max_body_bytes: usize,
    /// The longest a request body may take to arrive.
    pub body_timeout: Duration,
    pub body_budget: BodyBudget,
    /// Whether the database is known to be down (readiness reads it).
    pub database: DatabaseHealth,
    pub retry_after_seconds: u32,
    pub api_tokens: ApiTokens,
    /// A request budget per API token, by its position in `api_tokens`.
    pub api_limits: RateLimits,
    /// Who may scrape `/metrics`: `None` when `metrics.require_token` is off.
    pub metrics_tokens: Option<ApiTokens>,
}

impl AppState {
    /// Maps a failed reporting query to its answer (see [`ApiError::from_query`]).
    pub fn query_error(&self) -> impl Fn(sqlx::Error) -> ApiError + '_ {
        move |error| ApiError::from_query(error, self.retry_after_seconds)
    }
}
