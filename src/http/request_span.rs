//! One span per request carrying a request id (an incoming `x-request-id` is reused and echoed), a
//! completion log line, the latency histogram, and the count of rejected requests.
//!
//! The span records the route pattern, never the query string: callback URLs carry `?secret=…`.

use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use metrics::Histogram;
use tracing::Instrument;
use uuid::Uuid;

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

/// A random (version 4) uuid, lower-case. Its bits come from a generator seeded per thread (uuid's
/// `fast-rng`), not from a system call per request: a request id only has to be unique.
fn new_request_id() -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// The latency histograms by method, route and status, each registered once: a `histogram!` with
/// labels builds and hashes its key and looks it up in the registry on every request.
struct LatencyHistograms {
    known: RwLock<Vec<(Method, String, u16, Histogram)>>,
}

impl LatencyHistograms {
    /// Past this many series (a client can send any method), the registry is asked each time.
    const MAX: usize = 64;

    fn get() -> &'static LatencyHistograms {
        static HISTOGRAMS: OnceLock<LatencyHistograms> = OnceLock::new();
        HISTOGRAMS.get_or_init(|| {
            m::handle();
            LatencyHistograms {
                known: RwLock::new(Vec::new()),
            }
        })
    }

    fn record(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let found = |known: &[(Method, String, u16, Histogram)]| {
            known
                .iter()
                .find(|(m, r, s, _)| *s == status && m == method && r == route)
                .map(|(.., h)| h.clone())
        };
        let cached = self.known.read().ok().and_then(|known| found(&known));
        let histogram = cached.unwrap_or_else(|| {
            let histogram = metrics::histogram!(m::HTTP_REQUEST_SECONDS, "method" => method.to_string(), "route" => route.to_owned(), "status" => status.to_string());
            if let Ok(mut known) = self.known.write() {
                if known.len() < Self::MAX && found(&known).is_none() {
                    known.push((method.clone(), route.to_owned(), status, histogram.clone()));
                }
            }
            histogram
        });
        histogram.record(seconds);
    }
}

pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(new_request_id);
    let header_value = HeaderValue::from_str(&request_id).ok();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(request_id));
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.record("status", status);
    LatencyHistograms::get().record(&method, &route, status, elapsed.as_secs_f64());
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
    if let Some(value) = header_value {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_distinct_version_4_uuids() {
        let ids: Vec<String> = (0..1000).map(|_| new_request_id()).collect();
        for id in &ids {
            let uuid = Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id.len(), 36);
            assert_eq!(id, &id.to_lowercase());
        }
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len());
    }
}
