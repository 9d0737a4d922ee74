//! Liveness, readiness and metrics.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::tokens::presented_token;
use crate::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::metrics as m;
use crate::store::ReplicaStatus;

/// The process is alive and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and the schema is current: safe to route deliveries here. With a read
/// replica, the body also says whether it answers and how far behind it is (`replica`); a replica
/// that is down does not make this probe fail, since deliveries never touch it: `/readyz/reads`
/// is the probe for the reporting API and the dashboard.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (primary, replica) = check(&state).await;
    match primary {
        Ok(()) => {
            let mut body = serde_json::json!({ "status": "ready" });
            if let Some(replica) = replica {
                body["replica"] = replica_json(&replica);
            }
            HttpResponse::Ok().json(body)
        }
        Err(reason) => not_ready(reason, replica.as_ref()),
    }
}

/// Reports can be served here: the database they are read from answers, the replica when there
/// is one (however far behind: its lag is in the body), else the primary. `503` otherwise.
pub async fn readyz_reads(state: web::Data<AppState>) -> HttpResponse {
    let (primary, replica) = check(&state).await;
    match (&primary, &replica) {
        (_, Some(Err(reason))) => not_ready(reason.clone(), replica.as_ref()),
        (Err(reason), None) => not_ready(reason.clone(), None),
        (_, Some(Ok(_))) | (Ok(()), None) => {
            let mut body = serde_json::json!({ "status": "ready" });
            if let Some(replica) = replica {
                body["replica"] = replica_json(&replica);
            }
            HttpResponse::Ok().json(body)
        }
    }
}

type ReplicaCheck = Option<Result<ReplicaStatus, String>>;

/// The primary's readiness and, with a replica, the replica's state, asked on the pool runtime.
async fn check(state: &AppState) -> (Result<(), String>, ReplicaCheck) {
    let pool = state.pool.clone();
    let reads = state.reads.clone();
    // Known without asking: the writers found the primary unreachable and the probe has not found
    // it since.
    let primary_down = state.database.is_down();
    state
        .pool_runtime
        .run(async move {
            let primary = if primary_down {
                Err("database unavailable".to_owned())
            } else {
                crate::store::readiness(&pool).await
            };
            let up = (!primary_down).then_some(&pool);
            (primary, reads.replica_status(up).await)
        })
        .await
        .unwrap_or_else(|| (Err("shutting down".to_owned()), None))
}

fn replica_json(replica: &Result<ReplicaStatus, String>) -> serde_json::Value {
    match replica {
        Ok(status) => {
            let mut body = serde_json::to_value(status).unwrap_or_default();
            body["status"] = "ready".into();
            body
        }
        Err(message) => serde_json::json!({ "status": "unavailable", "message": message }),
    }
}

/// `503` in the error shape, with the replica's state beside it when there is one.
fn not_ready(message: String, replica: Option<&Result<ReplicaStatus, String>>) -> HttpResponse {
    let mut body = serde_json::to_value(ErrorBody {
        code: "not_ready",
        message,
    })
    .unwrap_or_default();
    if let Some(replica) = replica {
        body["replica"] = replica_json(replica);
    }
    HttpResponse::ServiceUnavailable().json(body)
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
    if state.reads.has_replica() {
        // The replica's gauges, sampled now (see `store::reads`).
        let pool = state.pool.clone();
        let reads = state.reads.clone();
        state
            .pool_runtime
            .run(async move { reads.replica_status(Some(&pool)).await })
            .await;
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
