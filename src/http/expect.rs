//! `Expect: 100-continue`: a sender that asks before sending its body gets `100 Continue` only when
//! the body would be read.
//!
//! The HTTP layer answers `100 Continue` before the application sees the request, unless a service
//! of its own (this one) refuses the request first. So the checks a delivery passes before its body
//! is read ([`edge::admit`]: encoding, content type, a database known to be down, a full queue, the
//! declared length, credentials that need no body) run here too, on the request's head; a refusal
//! is the same `{"code","message"}` answer the handler would give, and the connection is closed
//! after it, as for any refusal made before the body (the sender may have started sending anyway).
//! The handler checks again once the body is invited: these checks are cheap and nothing is shared
//! between the two.

use actix_web::body::BoxBody;
use actix_web::dev::Response;
use actix_web::http::{ConnectionType, Method};
use actix_web::web;
use actix_web::ResponseError;
use chrono::Utc;

use crate::auth::Endpoint;
use crate::error::ApiError;
use crate::http::edge;
use crate::http::state::AppState;

/// The delivery endpoint a request is for, if any: the only routes that take bodies worth refusing
/// unread.
fn delivery_endpoint(method: &Method, path: &str) -> Option<Endpoint> {
    if method != Method::POST {
        return None;
    }
    match path {
        "/api/callbacks" => Some(Endpoint::Callbacks),
        "/api/eventgrid" => Some(Endpoint::EventGrid),
        _ => None,
    }
}

/// Passes the request on (the HTTP layer then answers `100 Continue`), or refuses it with the
/// answer its handler would give without reading the body.
pub async fn check(
    state: web::Data<AppState>,
    req: actix_http::Request,
) -> Result<actix_http::Request, Response<BoxBody>> {
    let head = req.head();
    let Some(endpoint) = delivery_endpoint(&head.method, head.uri.path()) else {
        return Ok(req);
    };
    let query = head.uri.query().unwrap_or("");
    let secret = edge::query_secret(query);
    let credentials = edge::credentials(&head.headers, secret.as_deref());
    match edge::admit(&state, endpoint, &head.headers, &credentials, Utc::now()).await {
        Ok(_) => Ok(req),
        Err(error) => Err(refusal(endpoint, &error)),
    }
}

fn refusal(endpoint: Endpoint, error: &ApiError) -> Response<BoxBody> {
    // The request span never sees this request (it is answered below the application), so its
    // refusal is logged here, by code only: the head may carry credentials.
    tracing::info!(
        endpoint = endpoint.as_str(),
        status = error.status_code().as_u16(),
        code = error.code(),
        "delivery refused before its body was invited (Expect: 100-continue)"
    );
    let mut response: Response<BoxBody> = error.error_response().into();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deliveries_are_checked() {
        assert_eq!(
            delivery_endpoint(&Method::POST, "/api/callbacks"),
            Some(Endpoint::Callbacks)
        );
        assert_eq!(
            delivery_endpoint(&Method::POST, "/api/eventgrid"),
            Some(Endpoint::EventGrid)
        );
        assert_eq!(delivery_endpoint(&Method::GET, "/api/callbacks"), None);
        assert_eq!(delivery_endpoint(&Method::POST, "/api/v1/calls"), None);
    }
}
