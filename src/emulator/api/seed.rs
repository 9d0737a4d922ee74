//! The seed's six In-Call operations (the Call Automation overview of April 2021), exactly as the
//! seed gives them. Every request
//! is authenticated first (401), then the call is looked up (404), then the body is read (400).

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::emulator::api::error::ApiError;
use crate::emulator::api::{input, signature, ApiState};
use crate::emulator::config::{CallbackAuth, CallbackFormat};
use crate::emulator::runtime::CallChoices;
use crate::emulator::sim::{NewCall, PlayRequest, PlaySource, ToneReports};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/calls", web::post().to(create_call))
        .route("/calls/{call_id}/Hangup", web::post().to(hang_up))
        .route("/calls/{call_id}/PlayAudio", web::post().to(play_audio))
        .route(
            "/calls/{call_id}/CancelMediaProcessing",
            web::post().to(cancel_media),
        )
        .route("/calls/{call_id}/participants", web::post().to(invite))
        .route(
            "/calls/{call_id}/participants/{participant_id}",
            web::delete().to(remove),
        );
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authenticate(state: &ApiState, req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    signature::check(state, req, body).map_err(ApiError::unauthorized)
}

/// 404 unless the call exists (ended calls exist: their operations answer 400).
/// What every operation on a call checks first, in this order: the signature (401), then that the
/// call exists (404). Gives the call id back.
fn signed_for_call(
    state: &ApiState,
    req: &HttpRequest,
    body: &[u8],
    call_id: String,
) -> Result<String, ApiError> {
    authenticate(state, req, body)?;
    known_call(state, &call_id)?;
    Ok(call_id)
}

fn known_call(state: &ApiState, call_id: &str) -> Result<(), ApiError> {
    match state.emulator.run(|sim, _| sim.view(call_id).is_some()) {
        true => Ok(()),
        false => Err(ApiError::not_found(format!(
            "call {call_id} does not exist"
        ))),
    }
}

async fn create_call(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    authenticate(&state, &req, &body)?;
    let map = input::object(&body, false)?;
    let source = match input::field(&map, "source") {
        Some(v) => input::identifier(v, "source")?,
        None => return Err(ApiError::bad_request("source: is required")),
    };
    let targets = input::identifiers(&map, "targets")?;
    let callback_uri = input::http_uri(&map, "callbackUri")?;
    let subject = input::opt_string(&map, "subject")?;
    for list in ["requestedModalities", "requestedCallEvents"] {
        if let Some(v) = input::field(&map, list) {
            if !v
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x.is_string()))
            {
                return Err(ApiError::bad_request(format!(
                    "{list}: must be an array of strings"
                )));
            }
        }
    }
    if let Some(v) = input::field(&map, "alternateCallerId") {
        // A string, or the preview swagger's shape `{"value": "+1…"}`.
        if !(v.is_string() || v.get("value").is_some_and(|x| x.is_string())) {
            return Err(ApiError::bad_request(
                "alternateCallerId: must be a phone number string or {\"value\": \"+1…\"}",
            ));
        }
    }
    let choices = choices(req.headers())?;
    let new = NewCall {
        source,
        targets,
        subject,
        scenario: None,
        context: None,
        tones: ToneReports::Always,
    };
    let call_id = state.emulator.place_call(new, callback_uri, choices)?;
    Ok(HttpResponse::Ok().json(json!({"callLegId": call_id})))
}

/// Per-call choices from the emulator's own request headers.
pub(crate) fn choices(headers: &HeaderMap) -> Result<CallChoices, ApiError> {
    // As JSON strings, so that serde reads them as it reads the configuration.
    let parse = |name: &str| header(headers, name).map(|v| format!("\"{}\"", v.trim()));
    let format = match parse("x-emulator-callback-format") {
        Some(v) => Some(serde_json::from_str::<CallbackFormat>(&v).map_err(|_| {
            ApiError::bad_request("x-emulator-callback-format: must be a1, a2 or b")
        })?),
        None => None,
    };
    let auth = match parse("x-emulator-callback-auth") {
        Some(v) => Some(serde_json::from_str::<CallbackAuth>(&v).map_err(|_| {
            ApiError::bad_request(
                "x-emulator-callback-auth: must be auto, query_secret, jwt or webhook_signature",
            )
        })?),
        None => None,
    };
    Ok(CallChoices {
        scenario: header(headers, "x-emulator-scenario").map(str::to_owned),
        format,
        auth,
        default_format: None,
    })
}

async fn hang_up(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = signed_for_call(&state, &req, &body, path.into_inner())?;
    state.emulator.run(|sim, now| sim.hang_up(&call_id, now))?;
    Ok(HttpResponse::Accepted().finish())
}

async fn play_audio(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = signed_for_call(&state, &req, &body, path.into_inner())?;
    let map = input::object(&body, false)?;
    let audio_file_uri = input::string(&map, "audioFileUri")?;
    let looped = input::opt_bool(&map, "loop")?.unwrap_or(false);
    let context = input::opt_string(&map, "operationContext")?;
    input::opt_string(&map, "resourceId")?;
    let request = PlayRequest {
        sources: vec![PlaySource::File(audio_file_uri)],
        looped,
        context: context.clone(),
        // The seed's API has no operation callback URIs: the call's callbackUri.
        callback: None,
        interrupt: false,
    };
    let id = state
        .emulator
        .run(|sim, now| sim.play(&call_id, request, now))?;
    Ok(HttpResponse::Accepted().json(json!({
        "id": id, "status": "notStarted", "operationContext": context,
        "resultInfo": {"code": 202, "subcode": 0, "message": "Action is accepted."},
    })))
}

async fn cancel_media(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = signed_for_call(&state, &req, &body, path.into_inner())?;
    let map = input::object(&body, true)?;
    let context = input::opt_string(&map, "operationContext")?;
    state
        .emulator
        .run(|sim, now| sim.cancel_media(&call_id, now))?;
    Ok(HttpResponse::Accepted().json(json!({
        "id": uuid::Uuid::new_v4().to_string(), "status": "completed",
        "operationContext": context,
        "resultInfo": {"code": 200, "subcode": 0, "message": "Action completed successfully."},
    })))
}

async fn invite(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = signed_for_call(&state, &req, &body, path.into_inner())?;
    let map = input::object(&body, false)?;
    let participants = input::identifiers(&map, "participants")?;
    let context = input::opt_string(&map, "operationContext")?;
    state
        .emulator
        .run(|sim, now| sim.invite(&call_id, participants, context, None, None, now))?;
    Ok(HttpResponse::Accepted().finish())
}

async fn remove(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (call_id, _) = path.into_inner();
    let call_id = signed_for_call(&state, &req, &body, call_id)?;
    // The router leaves some escapes (`%2B`) in place; decode the raw segment once, ourselves, so
    // that a percent-encoded raw id (`4%3A%2B14255550123`) reads as the SDKs meant it.
    let raw_segment = req.uri().path().rsplit('/').next().unwrap_or_default();
    let participant = percent_encoding::percent_decode_str(raw_segment)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("participantId: is not UTF-8 once decoded"))?
        .into_owned();
    state
        .emulator
        .run(|sim, now| sim.remove(&call_id, &participant, None, None, now))?;
    Ok(HttpResponse::Accepted().finish())
}
