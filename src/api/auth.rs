//! The reporting API's bearer-token check and per-token rate limit, on the whole `/api/v1` scope
//! (see [`crate::auth::tokens`] and [`crate::api::rate_limit`]).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use crate::auth::tokens::presented_token;
use crate::error::ApiError;
use crate::http::state::AppState;

/// Middleware on the whole `/api/v1` scope: every route, including unknown ones, needs a token.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(req.error_response(ApiError::Internal).map_into_right_body());
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let refusal = match presented_token(authorization, &state.api_tokens, "API") {
        None => Some(ApiError::Unauthorized),
        Some(token) => state
            .api_limits
            .take(token)
            .err()
            .map(|retry_after_seconds| ApiError::RateLimited {
                retry_after_seconds,
            }),
    };
    if let Some(error) = refusal {
        // An answer rather than an `Err`, so the request span still records and tags it.
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
