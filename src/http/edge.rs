//! What every delivery goes through before its body is parsed: content type, size limit,
//! authentication; and, after parsing, the hand-off to the store. The callback and Event Grid
//! handlers differ only in how they parse.

use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::auth::{Authenticator, Credentials, Endpoint, Verified};
use crate::error::ApiError;
use crate::events::{ParseError, ParsedEvent};
use crate::http::body_budget::BodyPermit;
use crate::http::request_span::RequestId;
use crate::ingest::{SubmitError, WriteSummary};
use crate::metrics as m;
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
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = essence == "application/json"
        || essence == "text/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
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
    if let Some(length) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if length > limit {
            return Err(too_large);
        }
        if !state.body_budget.reserve(&mut permit, length) {
            return Err(overloaded());
        }
    }
    let mut body = web::BytesMut::new();
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

/// Everything before parsing, in order: content type (415), size limit (413), body budget (503), a
/// full ingest queue
/// (503, answered before the costly checks so that refusing under overload costs almost nothing),
/// authentication (401).
pub async fn receive_verified(
    state: &AppState,
    endpoint: Endpoint,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Verified<web::Bytes>, BodyPermit), ApiError> {
    check_content_type(req)?;
    let (body, permit) = read_body(state, req, payload).await?;
    refuse_if_overloaded(state)?;
    let verified = verify_request(&state.auth, endpoint, req, body, Utc::now()).await?;
    Ok((verified, permit))
}

fn refuse_if_overloaded(state: &AppState) -> Result<(), ApiError> {
    if state.ingest.is_full() {
        return Err(ApiError::Overloaded {
            retry_after_seconds: state.retry_after_seconds,
        });
    }
    Ok(())
}

/// Authenticates the raw bytes. The reason of a failure is logged (never a secret or token); the
/// client only learns that authentication failed.
pub async fn verify_request(
    auth: &Authenticator,
    endpoint: Endpoint,
    req: &HttpRequest,
    body: web::Bytes,
    now: DateTime<Utc>,
) -> Result<Verified<web::Bytes>, ApiError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let secret = query
        .iter()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.as_str());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        query_secret: secret,
        authorization: header("authorization"),
        webhook_id: header("webhook-id"),
        webhook_timestamp: header("webhook-timestamp"),
        webhook_signature: header("webhook-signature"),
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

/// The record of how a delivery reached us, and the events counted as received: everything done
/// between parsing and the hand-off to the ingest queue.
pub fn hand_off(
    endpoint: Endpoint,
    req: &HttpRequest,
    verified: &Verified<web::Bytes>,
    events: &[ParsedEvent],
    received_at: DateTime<Utc>,
) -> (Delivery, Vec<(&'static str, &'static str)>) {
    let endpoint_name = match endpoint {
        Endpoint::Callbacks => "callbacks",
        Endpoint::EventGrid => "eventgrid",
    };
    let delivery = Delivery {
        endpoint: endpoint_name,
        auth_scheme: verified.scheme(),
        auth_principal: verified.principal().map(str::to_owned),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        received_at,
    };
    let labels: Vec<(&'static str, &'static str)> = events
        .iter()
        .map(|e| (e.kind.family(), e.format.as_str()))
        .collect();
    for (family, format) in &labels {
        metrics::counter!(m::EVENTS_RECEIVED, "family" => *family, "format" => *format)
            .increment(1);
    }
    (delivery, labels)
}

/// Stores the events of one verified delivery; returns only once they are committed.
pub async fn store(
    state: &AppState,
    endpoint: Endpoint,
    req: &HttpRequest,
    verified: &Verified<web::Bytes>,
    events: Vec<ParsedEvent>,
) -> Result<WriteSummary, ApiError> {
    let (delivery, labels) = hand_off(endpoint, req, verified, &events, Utc::now());
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
    for ((family, _), stored) in labels.iter().zip(&outcome) {
        let name = match stored {
            Stored::New => m::EVENTS_STORED,
            Stored::Duplicate => m::EVENTS_DUPLICATE,
        };
        metrics::counter!(name, "family" => *family).increment(1);
    }
    Ok(WriteSummary::of(&outcome))
}
