//! What every delivery goes through before its body is parsed: content type, size limit,
//! authentication; and, after parsing, the hand-off to the store. The callback and Event Grid
//! handlers differ only in how they parse.

use actix_web::http::header::{self, HeaderName};
use actix_web::{web, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::auth::{Authenticator, Credentials, Endpoint, Verified};
use crate::error::ApiError;
use crate::events::{EventFamily, ParseError, ParsedEvent};
use crate::http::body_budget::BodyPermit;
use crate::http::request_span::RequestId;
use crate::ingest::{SubmitError, WriteSummary};
use crate::metrics::EventCounters;
use crate::startup::AppState;
use crate::store::event_log::{Delivery, Stored};

/// JSON, CloudEvents (single and batch), and any other `+json` type. A missing content type is
/// refused too: every sender we serve sets one.
pub fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let raw = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = raw.split(';').next().unwrap_or("").trim();
    let starts = |prefix: &str| {
        essence
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let ends = |suffix: &str| {
        essence
            .len()
            .checked_sub(suffix.len())
            .and_then(|at| essence.get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
    };
    let ok = essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("text/json")
        || (starts("application/") && ends("+json"));
    if ok {
        Ok(())
    } else {
        let shown: String = raw.chars().take(100).collect();
        Err(ApiError::UnsupportedMediaType(if shown.is_empty() {
            "(none)".to_owned()
        } else {
            shown
        }))
    }
}

/// Reads the body, refusing it as soon as it exceeds `limit` (by Content-Length or while streaming)
/// or no longer fits the process-wide body budget (503).
async fn read_body(
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<(web::Bytes, BodyPermit), ApiError> {
    let limit = state.max_body_bytes;
    let too_large = ApiError::PayloadTooLarge { limit };
    let overloaded = || ApiError::Overloaded {
        retry_after_seconds: state.retry_after_seconds,
    };
    let mut permit = state.body_budget.empty_permit();
    let expected = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(length) = expected {
        if length > limit {
            return Err(too_large);
        }
        if !state.body_budget.reserve(&mut permit, length) {
            return Err(overloaded());
        }
    }
    // Copied, not kept as received: a received chunk can share its allocation with the
    // connection's read buffer, which would then stay held, uncounted by the budget, for as long
    // as the request waits for its commit. Sized once from Content-Length, already checked against
    // the limit and the budget.
    let mut body = web::BytesMut::with_capacity(expected.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("could not read body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        if !state
            .body_budget
            .reserve(&mut permit, body.len() + chunk.len())
        {
            return Err(overloaded());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), permit))
}

/// An authenticated delivery, and when it was received.
pub struct Received {
    pub verified: Verified<web::Bytes>,
    /// Stored as each event's `received_at`.
    pub at: DateTime<Utc>,
}

/// Everything before parsing, in order: content type (415), size limit (413), body budget (503), a
/// full ingest queue
/// (503, answered before the costly checks so that refusing under overload costs almost nothing),
/// authentication (401).
pub async fn receive_verified(
    state: &AppState,
    endpoint: Endpoint,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Received, BodyPermit), ApiError> {
    check_content_type(req)?;
    let (body, permit) = read_body(state, req, payload).await?;
    refuse_if_overloaded(state)?;
    let at = Utc::now();
    let verified = verify_request(&state.auth, endpoint, req, body, at).await?;
    Ok((Received { verified, at }, permit))
}

fn refuse_if_overloaded(state: &AppState) -> Result<(), ApiError> {
    if state.ingest.is_full() {
        return Err(ApiError::Overloaded {
            retry_after_seconds: state.retry_after_seconds,
        });
    }
    Ok(())
}

// Named once: looking a header up by a string parses the name each time, and a name that is not a
// standard header is copied to the heap to do so.
static WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
static WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
static WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

/// Authenticates the raw bytes. The reason of a failure is logged (never a secret or token); the
/// client only learns that authentication failed.
pub async fn verify_request(
    auth: &Authenticator,
    endpoint: Endpoint,
    req: &HttpRequest,
    body: web::Bytes,
    now: DateTime<Utc>,
) -> Result<Verified<web::Bytes>, ApiError> {
    // The first `secret`, decoded as a form would be; nothing else of the query is read.
    let secret = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "secret")
        .map(|(_, value)| value);
    let headers = req.headers();
    let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        query_secret: secret.as_deref(),
        authorization: header(&header::AUTHORIZATION),
        webhook_id: header(&WEBHOOK_ID),
        webhook_timestamp: header(&WEBHOOK_TIMESTAMP),
        webhook_signature: header(&WEBHOOK_SIGNATURE),
    };
    auth.verify(endpoint, &credentials, body, now)
        .await
        .map_err(|reason| {
            tracing::warn!(%reason, "delivery refused: authentication failed");
            ApiError::Unauthorized
        })
}

pub fn parse_error(error: ParseError) -> ApiError {
    match error {
        ParseError::InvalidJson(message) => {
            ApiError::InvalidJson(format!("body is not valid JSON: {message}"))
        }
        ParseError::InvalidEvent { message, .. } => ApiError::InvalidEvent(message),
    }
}

/// The record of how a delivery reached us, with its events counted as received: everything done
/// between parsing and the hand-off to the ingest queue.
pub fn hand_off(
    endpoint: Endpoint,
    req: &HttpRequest,
    verified: Verified<web::Bytes>,
    events: &[ParsedEvent],
    received_at: DateTime<Utc>,
) -> Delivery {
    let endpoint_name = match endpoint {
        Endpoint::Callbacks => "callbacks",
        Endpoint::EventGrid => "eventgrid",
    };
    let counters = EventCounters::get();
    for event in events {
        counters.received(event.kind.family(), event.format);
    }
    Delivery {
        endpoint: endpoint_name,
        auth_scheme: verified.scheme(),
        auth_principal: verified.into_principal(),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        received_at,
    }
}

/// Stores the events of one verified delivery; returns only once they are committed.
pub async fn store(
    state: &AppState,
    endpoint: Endpoint,
    req: &HttpRequest,
    received: Received,
    events: Vec<ParsedEvent>,
) -> Result<WriteSummary, ApiError> {
    let delivery = hand_off(endpoint, req, received.verified, &events, received.at);
    let families: Vec<EventFamily> = events.iter().map(|e| e.kind.family()).collect();
    let retry_after_seconds = state.retry_after_seconds;
    let outcome = state
        .ingest
        .submit(delivery, events)
        .await
        .map_err(|e| match e {
            SubmitError::Overloaded => ApiError::Overloaded {
                retry_after_seconds,
            },
            SubmitError::Unavailable(reason) => {
                tracing::warn!(%reason, "events not stored: database unavailable");
                ApiError::StorageUnavailable {
                    retry_after_seconds,
                }
            }
            SubmitError::Failed(reason) => {
                tracing::error!(%reason, "events not stored");
                ApiError::Internal
            }
        })?;
    let counters = EventCounters::get();
    for (family, stored) in families.into_iter().zip(&outcome) {
        counters.stored(family, *stored == Stored::New);
    }
    Ok(WriteSummary::of(&outcome))
}
