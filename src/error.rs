//! The HTTP error envelope: every non-2xx answer is `{"code": "…", "message": "…"}` (the shape of the
//! In-Call API itself) with a stable, machine-readable `code`. Internal causes go to the log, never to
//! the client.
//!
//! Every mapping of a lower layer's error to an answer is here, beside [`ApiError`]: parsing,
//! authentication, storing and querying. Each failure is logged once, where it is mapped (or, for a
//! database found down, once by the ingest writers when it goes down), with its cause.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::auth::AuthError;
use crate::events::ParseError;
use crate::ingest::SubmitError;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong, machine-readable and stable (`bad_request`, `not_found`, …).
    #[schema(value_type = String)]
    pub code: &'static str,
    /// What went wrong, for a person; it names the parameter or field at fault.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidEvent(String),
    #[error("content type `{0}` is not supported; send application/json")]
    UnsupportedMediaType(String),
    #[error("content encoding `{0}` is not supported; send the body uncompressed")]
    UnsupportedEncoding(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body did not arrive within {limit_ms} ms")]
    BodyTimeout { limit_ms: u64 },
    /// Deliberately says nothing of which check failed: the log does.
    #[error("authentication failed")]
    Unauthorized,
    #[error("event storage is unavailable; retry later")]
    StorageUnavailable { retry_after_seconds: u32 },
    #[error("the query took longer than api.statement_timeout_ms; narrow it with a time range or more filters")]
    QueryTimeout { retry_after_seconds: u32 },
    #[error("this token has made too many requests; retry later")]
    RateLimited { retry_after_seconds: u32 },
    #[error("calltrail is at capacity; retry later")]
    Overloaded { retry_after_seconds: u32 },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed; this route allows {allow}")]
    MethodNotAllowed { allow: String },
    #[error("the request target is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("internal error")]
    Internal,
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> ApiError {
        match error {
            ParseError::InvalidJson(_) => ApiError::InvalidJson(error.to_string()),
            ParseError::InvalidEvent { message, .. } => ApiError::InvalidEvent(message),
        }
    }
}

impl From<AuthError> for ApiError {
    /// The reason is logged (never a secret or token); the client only learns that authentication
    /// failed.
    fn from(reason: AuthError) -> ApiError {
        tracing::warn!(%reason, "delivery refused: authentication failed");
        ApiError::Unauthorized
    }
}

impl ApiError {
    /// Events the ingest queue did not store.
    pub fn from_submit(error: SubmitError, retry_after_seconds: u32) -> ApiError {
        match error {
            SubmitError::Overloaded => ApiError::Overloaded {
                retry_after_seconds,
            },
            // Logged where it is found: once when the database is marked down, not per request.
            SubmitError::Unavailable(reason) => {
                tracing::debug!(%reason, "events not stored: database unavailable");
                ApiError::StorageUnavailable {
                    retry_after_seconds,
                }
            }
            // Logged with its cause by the writer that failed.
            SubmitError::Failed(_) => ApiError::Internal,
        }
    }

    /// A failed reporting query: `503 query_timeout` when PostgreSQL cancelled it for running too
    /// long, `503 storage_unavailable` when the database is unreachable (the client may retry),
    /// else `500` with the cause logged.
    pub fn from_query(error: sqlx::Error, retry_after_seconds: u32) -> ApiError {
        let cancelled =
            matches!(&error, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"));
        if cancelled {
            ApiError::QueryTimeout {
                retry_after_seconds,
            }
        } else if crate::store::is_unavailable(&error) {
            ApiError::StorageUnavailable {
                retry_after_seconds,
            }
        } else {
            tracing::error!(%error, "reporting query failed");
            ApiError::Internal
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidEvent(_) => "invalid_event",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::UnsupportedEncoding(_) => "unsupported_encoding",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BodyTimeout { .. } => "request_timeout",
            ApiError::Unauthorized => "unauthorized",
            ApiError::StorageUnavailable { .. } => "storage_unavailable",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::QueryTimeout { .. } => "query_timeout",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::Internal => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidEvent(_) | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::StorageUnavailable { .. }
            | ApiError::Overloaded { .. }
            | ApiError::QueryTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::StorageUnavailable {
                retry_after_seconds,
            }
            | ApiError::Overloaded {
                retry_after_seconds,
            }
            | ApiError::QueryTimeout {
                retry_after_seconds,
            }
            | ApiError::RateLimited {
                retry_after_seconds,
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            // RFC 7694: name the codings that are accepted.
            ApiError::UnsupportedEncoding(_) => {
                response.insert_header((header::ACCEPT_ENCODING, "identity"));
            }
            _ => {}
        }
        response.json(ErrorBody {
            code: self.code(),
            message: self.to_string(),
        })
    }
}
