//! The GA Call Automation REST API (`/calling/callConnections…`), as the official SDKs call it:
//! `:verb` suffixes on resource paths, every api-version the SDKs know, HMAC-signed requests,
//! camelCase bodies, and errors as `{"error": {"code", "message"}}`.
//!
//! A request is checked in this order: the route and its method (404, 405), the api-version (400,
//! 404), the signature (401), the call (404), then the body (400) and what the call's state allows
//! (400, 404, 409).

mod body;
mod connections;
pub mod error;
mod incoming;
mod media;
mod participants;
pub mod registry;

use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::percent_decode_str;

use crate::emulator::api::ga::error::GaError;
use crate::emulator::api::{signature, ApiState};

/// The api-versions of the Python and JavaScript SDKs up to 1.6.0 (`_api_versions.py`).
pub const API_VERSIONS: [&str; 7] = [
    "2023-03-06",
    "2023-10-15",
    "2024-04-15",
    "2024-09-15",
    "2025-05-15",
    "2025-06-15",
    "2026-03-12",
];

/// Every GA path starts with this.
pub const PREFIX: &str = "/calling/callConnections";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(format!("{PREFIX}{{rest:.*}}")).to(dispatch));
    incoming::routes(cfg);
}

/// One request to a GA route, authenticated, with its raw body.
pub struct Request<'a> {
    pub state: &'a ApiState,
    pub req: &'a HttpRequest,
    pub body: &'a [u8],
}

/// The GA routes, by method and path (ids still percent-encoded in the path; decoded here).
enum Route {
    Create,
    Answer,
    Reject,
    Redirect,
    Get(String),
    HangUp(String),
    /// `POST …/{id}:verb`
    CallAction(String, String),
    ListParticipants(String),
    /// `POST …/{id}/participants:verb`
    ParticipantAction(String, String),
    GetParticipant(String, String),
}

impl Route {
    fn call_id(&self) -> Option<&str> {
        match self {
            Route::Create | Route::Answer | Route::Reject | Route::Redirect => None,
            Route::Get(id)
            | Route::HangUp(id)
            | Route::CallAction(id, _)
            | Route::ListParticipants(id)
            | Route::ParticipantAction(id, _)
            | Route::GetParticipant(id, _) => Some(id),
        }
    }
}

async fn dispatch(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, GaError> {
    let route = route(&req)?;
    check_api_version(&req)?;
    signature::check(&state, &req, &body).map_err(GaError::denied)?;
    if let Some(call_id) = route.call_id() {
        let known = state.emulator.run(|sim, _| sim.view(call_id).is_some());
        if !known {
            return Err(GaError::not_found(format!(
                "call connection {call_id} does not exist"
            )));
        }
    }
    let request = Request {
        state: &state,
        req: &req,
        body: &body,
    };
    match route {
        Route::Create => connections::create(&request),
        Route::Answer => connections::answer(&request),
        Route::Reject => connections::reject(&request),
        Route::Redirect => connections::redirect(&request),
        Route::Get(id) => connections::get(&request, &id),
        Route::HangUp(id) => connections::hang_up(&request, &id),
        Route::CallAction(id, verb) => match verb.as_str() {
            "terminate" => connections::hang_up(&request, &id),
            "play" => media::play(&request, &id),
            "recognize" => media::recognize(&request, &id),
            "startContinuousDtmfRecognition" => media::continuous_dtmf(&request, &id, true),
            "stopContinuousDtmfRecognition" => media::continuous_dtmf(&request, &id, false),
            "sendDtmfTones" => media::send_dtmf(&request, &id),
            "cancelAllMediaOperations" => media::cancel_all(&request, &id),
            _ => unreachable!("route() accepts only the verbs above"),
        },
        Route::ListParticipants(id) => participants::list(&request, &id),
        Route::ParticipantAction(id, verb) => match verb.as_str() {
            "add" => participants::add(&request, &id),
            "remove" => participants::remove(&request, &id),
            "mute" => participants::mute(&request, &id),
            "cancelAddParticipant" => participants::cancel_add(&request, &id),
            _ => unreachable!("route() accepts only the verbs above"),
        },
        Route::GetParticipant(id, raw) => participants::get(&request, &id, &raw),
    }
}

const CALL_VERBS: [&str; 7] = [
    "terminate",
    "play",
    "recognize",
    "startContinuousDtmfRecognition",
    "stopContinuousDtmfRecognition",
    "sendDtmfTones",
    "cancelAllMediaOperations",
];
const PARTICIPANT_VERBS: [&str; 4] = ["add", "remove", "mute", "cancelAddParticipant"];

fn route(req: &HttpRequest) -> Result<Route, GaError> {
    let uri = req.uri().to_string();
    let no_route = || GaError::no_route(&uri);
    let rest = req.uri().path().strip_prefix(PREFIX).ok_or_else(no_route)?;
    let method = req.method().as_str();
    let segments: Vec<&str> = rest.split('/').collect();
    // `rest` is "" or ":verb" (on the collection), or "/{id}…".
    let route = match segments.as_slice() {
        [""] => expect(method, "POST", Route::Create)?,
        [":answer"] => expect(method, "POST", Route::Answer)?,
        [":reject"] => expect(method, "POST", Route::Reject)?,
        [":redirect"] => expect(method, "POST", Route::Redirect)?,
        ["", segment] if !segment.is_empty() => match segment.split_once(':') {
            None => {
                let id = decode(segment)?;
                match method {
                    "GET" => Route::Get(id),
                    "DELETE" => Route::HangUp(id),
                    _ => {
                        return Err(GaError::method_not_allowed(format!(
                            "{method} is not allowed on a call connection (GET, DELETE)"
                        )))
                    }
                }
            }
            Some((id, verb)) if CALL_VERBS.contains(&verb) => expect(
                method,
                "POST",
                Route::CallAction(decode(id)?, verb.to_owned()),
            )?,
            Some(_) => return Err(no_route()),
        },
        ["", id, "participants"] => expect(method, "GET", Route::ListParticipants(decode(id)?))?,
        ["", id, segment] => match segment.strip_prefix("participants:") {
            Some(verb) if PARTICIPANT_VERBS.contains(&verb) => expect(
                method,
                "POST",
                Route::ParticipantAction(decode(id)?, verb.to_owned()),
            )?,
            _ => return Err(no_route()),
        },
        ["", id, "participants", raw] if !raw.is_empty() => expect(
            method,
            "GET",
            Route::GetParticipant(decode(id)?, decode(raw)?),
        )?,
        _ => return Err(no_route()),
    };
    Ok(route)
}

fn expect(method: &str, allowed: &str, route: Route) -> Result<Route, GaError> {
    if method == allowed {
        Ok(route)
    } else {
        Err(GaError::method_not_allowed(format!(
            "{method} is not allowed here ({allowed})"
        )))
    }
}

/// A path segment as the SDKs meant it: they percent-encode raw ids (`4%3A%2B1425…`).
fn decode(segment: &str) -> Result<String, GaError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| GaError::invalid("a path segment is not UTF-8 once decoded"))
}

fn check_api_version(req: &HttpRequest) -> Result<(), GaError> {
    let version = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned());
    match version {
        None => Err(GaError::missing_api_version()),
        Some(v) if API_VERSIONS.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(GaError::unsupported_api_version(&v, &API_VERSIONS)),
    }
}
