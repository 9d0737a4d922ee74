//! The reporting API's bearer-token check, on the whole `/api/v1` scope (see [`crate::auth::tokens`]).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use crate::auth::tokens::presents_token;
use crate::error::ApiError;
use crate::http::state::AppState;

/// Middleware on the whole `/api/v1` scope: every route, including unknown ones, needs a token.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let accepted = req.app_data::<web::Data<AppState>>().is_some_and(|state| {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        presents_token(authorization, &state.api_tokens, "API")
    });
    if !accepted {
        // An answer rather than an `Err`, so the request span still records and tags it.
        return Ok(req
            .error_response(ApiError::Unauthorized)
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
