//! Error answers in the seed's shape: `{"code", "message"}` with 400, 401 or 404.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::emulator::api::ga::error::GaError;
use crate::emulator::sim::SimError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "Unauthorized",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            message: message.into(),
        }
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> ApiError {
        match e {
            SimError::NotFound(m) => ApiError::not_found(m),
            SimError::Invalid(m) | SimError::Conflict(m) => ApiError::bad_request(m),
        }
    }
}

impl std::fmt::Display for ApiError {
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

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({"code": self.code, "message": self.message}))
    }
}

/// Gives every error answer the seed's shape, including those the HTTP framework makes itself (a
/// body over the size limit, a path it cannot decode): they keep their status, and get a code named
/// after it and the framework's message.
pub async fn in_seed_shape(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The GA routes answer in the GA shape, whatever made the error.
    let ga = req.path().starts_with(crate::emulator::api::ga::PREFIX);
    let res = next.call(req).await?;
    let Some(error) = res.response().error() else {
        return Ok(res);
    };
    if error.as_error::<ApiError>().is_some() || error.as_error::<GaError>().is_some() {
        return Ok(res);
    }
    let status = res.status();
    if ga {
        let answer = GaError::from_framework(status, error.to_string());
        return Ok(res.into_response(answer.error_response()));
    }
    let answer = ApiError {
        status,
        code: match status {
            StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
            StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
            StatusCode::NOT_FOUND => "NotFound",
            s if s.is_client_error() => "BadRequest",
            _ => "InternalError",
        },
        message: error.to_string(),
    };
    Ok(res.into_response(answer.error_response()))
}
