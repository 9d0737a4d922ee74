//! A delivery refused, and how its answer ends the connection when the body was not read.
//!
//! A refusal made before the body was read to its end (a declared length over the limit, a stranger,
//! a database known to be down, a body too slow) must not cost anything more: the connection is
//! closed once the answer is written, and the rest of the body is never read. The HTTP layer reads
//! and discards the rest of a request body (a chunked one whatever the answer says) unless the body
//! is still held by someone when the answer has been written. So the unread body rides in the
//! answer's own body, and is let go only after the answer's last byte.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::http::ConnectionType;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;

use crate::error::{ApiError, ErrorBody};

pub struct Refusal {
    error: ApiError,
    /// The request body, when it was not read to its end.
    unread: Option<web::Payload>,
}

impl Refusal {
    /// A refusal before the body was read to its end: the connection is closed after the answer.
    pub fn before_reading(error: ApiError, payload: web::Payload) -> Refusal {
        Refusal {
            error,
            unread: Some(payload),
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let Some(payload) = self.unread else {
            // Built from the error, so that the request span logs and counts it by its code.
            return HttpResponse::from_error(self.error);
        };
        // The same JSON `error_response` writes, in a body that holds the unread request body.
        let json = serde_json::to_vec(&ErrorBody {
            code: self.error.code(),
            message: self.error.to_string(),
        })
        .expect("an error body serialises");
        // Built from the error, so that the request span logs and counts it by its code.
        let mut response =
            HttpResponse::from_error(self.error).set_body(BoxBody::new(HoldingBody {
                json: Some(Bytes::from(json)),
                _unread: payload,
            }));
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        response
    }
}

impl From<ApiError> for Refusal {
    /// A refusal after the whole body was read: the connection stays open.
    fn from(error: ApiError) -> Refusal {
        Refusal {
            error,
            unread: None,
        }
    }
}

/// The answer's JSON, holding the unread request body until the answer is written.
struct HoldingBody {
    json: Option<Bytes>,
    _unread: web::Payload,
}

impl MessageBody for HoldingBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.json.as_ref().map_or(0, |j| j.len() as u64))
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.json.take().map(Ok))
    }
}
