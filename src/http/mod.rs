//! The HTTP edge: routes, the per-request span, and the checks made before any body is parsed.

pub mod body_budget;
pub mod callbacks;
pub mod edge;
pub mod eventgrid;
pub mod expect;
pub mod health;
pub mod layer_errors;
pub mod refusal;
pub mod request_span;
pub mod state;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, Route};

use crate::error::ApiError;

/// The longest request target (path and query) answered: every route's real URLs are far shorter.
/// A longer one is `414` here; one past the HTTP layer's own head limit (128 KiB with the headers)
/// never reaches the application.
pub const MAX_URI_BYTES: usize = 8192;

pub async fn refuse_long_uri(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let length = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length > MAX_URI_BYTES {
        let error = ApiError::UriTooLong {
            limit: MAX_URI_BYTES,
        };
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".to_owned()))
}

/// The answer to a method a route does not serve: `405` with the `Allow` header naming the methods
/// it does (RFC 9110).
pub fn method_not_allowed(allow: &str) -> Route {
    let allow = allow.to_owned();
    web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
    })
}
