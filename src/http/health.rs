//! Liveness, readiness and metrics.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::tokens::presented_token;
use crate::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::metrics as m;

/// The process is alive and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and the schema is current: safe to route deliveries here.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.database.is_down() {
        // Known without asking: the writers found it unreachable and the probe has not found it
        // since.
        return HttpResponse::ServiceUnavailable().json(ErrorBody {
            code: "not_ready",
            message: "database unavailable".to_owned(),
        });
    }
    let pool = state.pool.clone();
    let ready = state
        .pool_runtime
        .run(async move { crate::store::readiness(&pool).await })
        .await
        .unwrap_or_else(|| Err("shutting down".to_owned()));
    match ready {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(reason) => HttpResponse::ServiceUnavailable().json(ErrorBody {
            code: "not_ready",
            message: reason,
        }),
    }
}

/// Prometheus text format, for a scraper with a token unless `metrics.require_token` is off. Pool
/// gauges are sampled at scrape time.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(tokens) = &state.metrics_tokens {
        if presented_token(
            req.headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            tokens,
            "metrics",
        )
        .is_none()
        {
            return Err(ApiError::Unauthorized);
        }
    }
    let size = state.pool.size() as f64;
    let idle = state.pool.num_idle() as f64;
    metrics::gauge!(m::DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(m::DB_POOL_CONNECTIONS, "state" => "in_use").set(size - idle);
    metrics::gauge!(m::DB_POOL_MAX).set(state.pool.options().get_max_connections() as f64);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m::handle().render()))
}
