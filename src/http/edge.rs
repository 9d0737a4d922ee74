//! What every delivery goes through before its body is parsed: content type, size limit,
//! authentication; and, after parsing, the hand-off to the store. The callback and Event Grid
//! handlers differ only in how they parse.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{web, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::auth::{Admission, Authenticator, Credentials, Endpoint, Verified};
use crate::error::ApiError;
use crate::events::{EventFamily, ParsedEvent};
use crate::http::body_budget::BodyPermit;
pub use crate::http::refusal::Refusal;
use crate::http::request_span::RequestId;
use crate::http::state::AppState;
use crate::ingest::WriteSummary;
use crate::metrics::EventCounters;
use crate::store::event_log::{Delivery, Stored};

/// JSON, CloudEvents (single and batch), and any other `+json` type. A missing content type is
/// refused too: every sender we serve sets one.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let raw = headers
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

/// A body sent compressed (or in any coding but `identity`) is refused: its bytes are not the JSON
/// the signature covers, and inflating it is work a sender should not be able to ask for.
fn check_content_encoding(headers: &HeaderMap) -> Result<(), ApiError> {
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = value.to_str().unwrap_or("(not text)");
        let identity = text
            .split(',')
            .all(|coding| coding.trim().eq_ignore_ascii_case("identity"));
        if !identity {
            return Err(ApiError::UnsupportedEncoding(
                text.chars().take(100).collect(),
            ));
        }
    }
    Ok(())
}

/// What can be refused before a byte of the body is read, cheapest first: encoding and content type
/// (415), a database known to be down or a full queue (503), a declared length over the limit
/// (413), and credentials (401) wherever they can be checked without the body. It reads only the
/// request's head, so that a sender asking `Expect: 100-continue` is refused before its body is
/// invited (see [`crate::http::expect`]) by the same rules.
pub async fn admit(
    state: &AppState,
    endpoint: Endpoint,
    headers: &HeaderMap,
    credentials: &Credentials<'_>,
    now: DateTime<Utc>,
) -> Result<(Admission, Option<usize>), ApiError> {
    check_content_encoding(headers)?;
    check_content_type(headers)?;
    if state.ingest.database_down() {
        return Err(ApiError::StorageUnavailable {
            retry_after_seconds: state.retry_after_seconds,
        });
    }
    refuse_if_overloaded(state)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > state.max_body_bytes) {
        return Err(ApiError::PayloadTooLarge {
            limit: state.max_body_bytes,
        });
    }
    let admission = state
        .auth
        .before_body(endpoint, credentials, now)
        .await
        .map_err(ApiError::from)?;
    Ok((admission, declared))
}

/// Reads the body within `server.body_timeout_ms`, refusing it as soon as it exceeds the limit or
/// no longer fits the budget. Memory is taken as the body arrives (never more than twice what has
/// arrived, nor more than was declared), so a sender that announces a large body and sends it
/// slowly holds little.
async fn read_body(
    state: &AppState,
    payload: &mut web::Payload,
    permit: &mut BodyPermit,
    declared: Option<usize>,
) -> Result<web::Bytes, ApiError> {
    let limit = state.max_body_bytes;
    let deadline = tokio::time::Instant::now() + state.body_timeout;
    // Copied, not kept as received: a received chunk can share its allocation with the
    // connection's read buffer, which would then stay held, uncounted by the budget, for as long
    // as the request waits for its commit.
    let mut body = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => {
                return Err(ApiError::BodyTimeout {
                    limit_ms: state.body_timeout.as_millis() as u64,
                })
            }
            Ok(None) => break,
            Ok(Some(chunk)) => {
                chunk.map_err(|e| ApiError::BadRequest(format!("could not read body: {e}")))?
            }
        };
        let needed = body.len() + chunk.len();
        if needed > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if needed > body.capacity() {
            let grown = needed.max(body.capacity() * 2).min(limit);
            let target = declared.map_or(grown, |d| grown.min(d)).max(needed);
            if !permit.reserve(target) {
                return Err(ApiError::Overloaded {
                    retry_after_seconds: state.retry_after_seconds,
                });
            }
            body.reserve(target - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// An authenticated delivery, and when it was received.
pub struct Received {
    pub verified: Verified<web::Bytes>,
    /// Stored as each event's `received_at`.
    pub at: DateTime<Utc>,
}

/// Everything before parsing: [`admit`], then the body within its time and the budget, then the
/// body's signature where the scheme signs it (401).
pub async fn receive_verified(
    state: &AppState,
    endpoint: Endpoint,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<(Received, BodyPermit), Refusal> {
    let secret = query_secret(req.query_string());
    let credentials = credentials(req.headers(), secret.as_deref());
    let (admission, declared) =
        match admit(state, endpoint, req.headers(), &credentials, Utc::now()).await {
            Ok(admitted) => admitted,
            Err(error) => return Err(Refusal::before_reading(error, payload)),
        };
    let mut permit = state.body_budget.permit(admission.authenticated());
    let body = match read_body(state, &mut payload, &mut permit, declared).await {
        Ok(body) => body,
        Err(error) => return Err(Refusal::before_reading(error, payload)),
    };
    let at = Utc::now();
    let verified = state
        .auth
        .verify_body(admission, &credentials, body, at)
        .map_err(ApiError::from)?;
    permit.verified();
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

/// The first `secret` of the query, decoded as a form would be; nothing else of the query is read.
pub fn query_secret(query: &str) -> Option<Cow<'_, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "secret")
        .map(|(_, value)| value)
}

/// The credentials of a request: its query secret (see [`query_secret`]) and authentication
/// headers.
pub fn credentials<'a>(headers: &'a HeaderMap, secret: Option<&'a str>) -> Credentials<'a> {
    let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    Credentials {
        query_secret: secret,
        authorization: header(&header::AUTHORIZATION),
        webhook_id: header(&WEBHOOK_ID),
        webhook_timestamp: header(&WEBHOOK_TIMESTAMP),
        webhook_signature: header(&WEBHOOK_SIGNATURE),
    }
}

/// Authenticates a whole request at once (what [`receive_verified`] does around reading the body).
pub async fn verify_request(
    auth: &Authenticator,
    endpoint: Endpoint,
    req: &HttpRequest,
    body: web::Bytes,
    now: DateTime<Utc>,
) -> Result<Verified<web::Bytes>, ApiError> {
    let secret = query_secret(req.query_string());
    auth.verify(
        endpoint,
        &credentials(req.headers(), secret.as_deref()),
        body,
        now,
    )
    .await
    .map_err(ApiError::from)
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
    let counters = EventCounters::get();
    for event in events {
        counters.received(event.kind.family(), event.format);
    }
    Delivery {
        endpoint,
        auth_scheme: verified.scheme(),
        auth_principal: verified.into_principal(),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        received_at,
    }
}

/// Counts the parsed events (their vector's capacity included, hence `&Vec`) against the body budget: for the smallest events parsing allocates
/// several times an element's size, and the budget bounds what is held, not only what was read.
/// The body itself is freed when the events are handed to the queue, so what waits for the commit
/// is the events alone; the two are held together only briefly, between parsing and the hand-off.
pub fn charge_parsed(
    state: &AppState,
    permit: &mut BodyPermit,
    body_len: usize,
    events: &Vec<ParsedEvent>,
) -> Result<(), ApiError> {
    let parsed = events.capacity() * std::mem::size_of::<ParsedEvent>()
        + events.iter().map(ParsedEvent::heap_estimate).sum::<usize>();
    if permit.reserve(body_len.max(parsed)) {
        Ok(())
    } else {
        Err(ApiError::Overloaded {
            retry_after_seconds: state.retry_after_seconds,
        })
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
    let outcome = state
        .ingest
        .submit(delivery, events)
        .await
        .map_err(|e| ApiError::from_submit(e, state.retry_after_seconds))?;
    let counters = EventCounters::get();
    for (family, stored) in families.into_iter().zip(&outcome) {
        counters.stored(family, *stored == Stored::New);
    }
    Ok(WriteSummary::of(&outcome))
}
