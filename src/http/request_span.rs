//! One span per request carrying a request id (an incoming `x-request-id` is reused and echoed), a
//! completion log line, the latency histogram, and the count of rejected requests.
//!
//! The span records the route pattern, never the query string: callback URLs carry `?secret=…`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics as m;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id, available to handlers through the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Reuses a caller's request id only when it is short and printable, so it cannot inject log lines.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
    ok.then(|| value.to_owned())
}

pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.record("status", status);
    metrics::histogram!(m::HTTP_REQUEST_SECONDS, "method" => method, "route" => route.clone(), "status" => status.to_string())
        .record(elapsed.as_secs_f64());
    if let Some(error) = response.response().error() {
        let code = error
            .as_error::<ApiError>()
            .map(ApiError::code)
            .unwrap_or("other");
        metrics::counter!(m::REQUESTS_REJECTED, "route" => route, "code" => code).increment(1);
        span.in_scope(|| {
            if code == "overloaded" {
                // Logged once per interval by the ingest queue, with a count: not once per request.
                tracing::debug!(
                    status,
                    code,
                    latency_ms = elapsed.as_millis() as u64,
                    "request refused"
                );
            } else if status >= 500 {
                tracing::warn!(
                    status,
                    code,
                    latency_ms = elapsed.as_millis() as u64,
                    "request failed"
                );
            } else {
                tracing::info!(
                    status,
                    code,
                    latency_ms = elapsed.as_millis() as u64,
                    "request rejected"
                );
            }
        });
    } else {
        span.in_scope(|| {
            tracing::debug!(
                status,
                latency_ms = elapsed.as_millis() as u64,
                "request finished"
            )
        });
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}
