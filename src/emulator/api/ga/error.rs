//! Error answers in the GA shape, `{"error": {"code", "message"}}`, which the SDKs parse as
//! `CommunicationErrorResponse`. Codes are the service's own where it is known (`Denied` for a
//! failed signature; the Call Automation sub-codes 8501, 8519, 8522 and 8523 as its troubleshooting
//! tables name them) and the Azure REST conventions for the api-version.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::emulator::api::error::ApiError;
use crate::emulator::sim::SimError;

#[derive(Debug)]
pub struct GaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GaError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> GaError {
        GaError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A missing, malformed or out-of-range field (the message names it).
    pub fn invalid(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::BAD_REQUEST, "8523", message)
    }

    /// No such call, participant, invitation or incoming call.
    pub fn not_found(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::NOT_FOUND, "8522", message)
    }

    /// The call is not (or no longer) in a state that allows the action.
    pub fn not_established(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::BAD_REQUEST, "8501", message)
    }

    /// A second operation of a kind that runs one at a time (a recognition).
    pub fn conflict(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::CONFLICT, "8519", message)
    }

    pub fn denied(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::UNAUTHORIZED, "Denied", message)
    }

    /// What the service answers for a path (or an api-version) it has no route for.
    pub fn no_route(uri: &str) -> GaError {
        GaError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No HTTP resource was found that matches the request URI '{uri}'."),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> GaError {
        GaError::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", message)
    }

    pub fn missing_api_version() -> GaError {
        GaError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    pub fn unsupported_api_version(version: &str, supported: &[&str]) -> GaError {
        GaError::new(
            StatusCode::NOT_FOUND,
            "UnsupportedApiVersion",
            format!(
                "The HTTP resource does not support the api-version '{version}'. Supported versions: {}.",
                supported.join(", ")
            ),
        )
    }

    /// An error the framework made itself (a body over the limit, an undecodable path), in this
    /// shape, with its status kept.
    pub fn from_framework(status: StatusCode, message: String) -> GaError {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
            StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
            StatusCode::NOT_FOUND => "NotFound",
            s if s.is_client_error() => "8523",
            _ => "InternalError",
        };
        GaError::new(status, code, message)
    }
}

impl From<SimError> for GaError {
    fn from(e: SimError) -> GaError {
        match e {
            SimError::NotFound(m) => GaError::not_found(m),
            SimError::Invalid(m) => GaError::not_established(m),
            SimError::Conflict(m) => GaError::conflict(m),
        }
    }
}

/// The body readers shared with the seed routes report in its shape; here they become GA errors
/// with the same status.
impl From<ApiError> for GaError {
    fn from(e: ApiError) -> GaError {
        match e.status {
            StatusCode::NOT_FOUND => GaError::not_found(e.message),
            StatusCode::UNAUTHORIZED => GaError::denied(e.message),
            _ => GaError::invalid(e.message),
        }
    }
}

impl std::fmt::Display for GaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for GaError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"error": {"code": self.code, "message": self.message}}))
    }
}
