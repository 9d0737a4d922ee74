//! The HMAC check of a request, as every signed route (seed and GA) makes it.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

use crate::emulator::api::hmac::{verify, SignedRequest};
use crate::emulator::api::ApiState;

/// `Err` says what is wrong, for the 401's message.
pub fn check(state: &ApiState, req: &HttpRequest, body: &[u8]) -> Result<(), String> {
    let headers = req.headers();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |pq| pq.as_str());
    let request = SignedRequest {
        method: req.method().as_str(),
        path_and_query,
        authorization: header(headers, "authorization"),
        // .NET and Java also send `Date` with the same value; Python and JS only `x-ms-date`.
        date: header(headers, "x-ms-date").or_else(|| header(headers, "date")),
        host: header(headers, "host"),
        content_sha256: header(headers, "x-ms-content-sha256"),
        body,
    };
    verify(&state.access_key, &request, chrono::Utc::now())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
