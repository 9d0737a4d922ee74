//! The emulator's own endpoints: what a person on a phone would do (press keys, hang up, mute,
//! answer or decline), what happened (calls, deliveries), scenarios, and the keys that verify its
//! callbacks. Unauthenticated: the emulator is a local development tool.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::emulator::api::error::ApiError;
use crate::emulator::api::{input, ApiState};
use crate::emulator::delivery::records::DeliveryState;
use crate::emulator::sim::scenario::{tone_of, Scenario};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/emulator/calls", web::get().to(list_calls))
        .route("/emulator/calls/{call_id}", web::get().to(show_call))
        .route("/emulator/calls/{call_id}/dtmf", web::post().to(dtmf))
        .route("/emulator/calls/{call_id}/hangup", web::post().to(hang_up))
        .route("/emulator/calls/{call_id}/mute", web::post().to(mute))
        .route("/emulator/calls/{call_id}/unmute", web::post().to(unmute))
        .route("/emulator/calls/{call_id}/answer", web::post().to(answer))
        .route("/emulator/calls/{call_id}/decline", web::post().to(decline))
        .route("/emulator/deliveries", web::get().to(deliveries))
        .route("/emulator/scenarios", web::get().to(list_scenarios))
        .route("/emulator/scenarios", web::post().to(add_scenario))
        .route("/calling/keys", web::get().to(keys))
        .route(
            "/calling/.well-known/acsopenidconfiguration",
            web::get().to(openid_configuration),
        );
}

async fn list_calls(state: web::Data<ApiState>) -> HttpResponse {
    let calls = state.emulator.run(|sim, _| sim.views());
    HttpResponse::Ok().json(json!({"items": calls}))
}

async fn show_call(
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let call_id = path.into_inner();
    let view = state
        .emulator
        .run(|sim, _| sim.view(&call_id))
        .ok_or_else(|| ApiError::not_found(format!("call {call_id} does not exist")))?;
    let callbacks = state.emulator.delivery().records(Some(&call_id));
    // A struct, not a JSON map, so that the call's own fields come first and the (long) list of
    // callbacks last.
    Ok(HttpResponse::Ok().json(CallWithCallbacks { view, callbacks }))
}

#[derive(serde::Serialize)]
struct CallWithCallbacks {
    #[serde(flatten)]
    view: crate::emulator::sim::call::CallView,
    callbacks: Vec<crate::emulator::delivery::records::DeliveryRecord>,
}

/// The participant a control request names (raw id or participant id).
fn participant(body: &[u8], required: bool) -> Result<Option<String>, ApiError> {
    let map = input::object(body, !required)?;
    match input::opt_string(&map, "participant")? {
        Some(p) if !p.trim().is_empty() => Ok(Some(p)),
        _ if required => Err(ApiError::bad_request("participant: is required")),
        _ => Ok(None),
    }
}

async fn dtmf(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = path.into_inner();
    let map = input::object(&body, false)?;
    let who = input::string(&map, "participant")?;
    let tones = tones(input::field(&map, "tones"))?;
    state
        .emulator
        .run(|sim, now| sim.press(&call_id, &who, &tones, now))?;
    Ok(HttpResponse::Accepted().finish())
}

/// `"12#"`, or a list of tone names in any era's spelling (`["1", "Tone2", "pound"]`).
fn tones(value: Option<&Value>) -> Result<Vec<char>, ApiError> {
    const WHAT: &str = "tones: a string of keys (0-9, *, #, A-D) or a list of tone names";
    let keys: Option<Vec<char>> = match value {
        Some(Value::String(s)) if !s.is_empty() => s.chars().map(tone_of).collect(),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                let name = crate::events::normalize_tone(v.as_str()?)?;
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => tone_of(c),
                    _ => None,
                }
            })
            .collect(),
        _ => None,
    };
    keys.ok_or_else(|| ApiError::bad_request(WHAT))
}

async fn hang_up(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call_id = path.into_inner();
    let who = participant(&body, false)?;
    state
        .emulator
        .run(|sim, now| sim.remote_hang_up(&call_id, who.as_deref(), now))?;
    Ok(HttpResponse::Accepted().finish())
}

async fn set_muted(
    state: web::Data<ApiState>,
    call_id: String,
    body: &[u8],
    muted: bool,
) -> Result<HttpResponse, ApiError> {
    let who = participant(body, true)?.expect("required");
    state
        .emulator
        .run(|sim, now| sim.set_muted(&call_id, &who, muted, now))?;
    Ok(HttpResponse::Accepted().finish())
}

async fn mute(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    set_muted(state, path.into_inner(), &body, true).await
}

async fn unmute(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    set_muted(state, path.into_inner(), &body, false).await
}

async fn pick_up(
    state: web::Data<ApiState>,
    call_id: String,
    body: &[u8],
    answer: bool,
) -> Result<HttpResponse, ApiError> {
    let who = participant(body, true)?.expect("required");
    state
        .emulator
        .run(|sim, now| sim.pick_up(&call_id, &who, answer, now))?;
    Ok(HttpResponse::Accepted().finish())
}

async fn answer(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    pick_up(state, path.into_inner(), &body, true).await
}

async fn decline(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    pick_up(state, path.into_inner(), &body, false).await
}

#[derive(Deserialize)]
struct DeliveryFilter {
    call_id: Option<String>,
    state: Option<DeliveryState>,
}

/// Deliveries, oldest first, with counts by state (over the filtered ones) and the number of
/// events not yet made into deliveries (all calls).
async fn deliveries(
    state: web::Data<ApiState>,
    filter: web::Query<DeliveryFilter>,
) -> HttpResponse {
    let mut records = state.emulator.delivery().records(filter.call_id.as_deref());
    let count = |s: DeliveryState| records.iter().filter(|r| r.state == s).count();
    let counts = json!({
        "queued": state.emulator.delivery().queued(),
        "pending": count(DeliveryState::Pending),
        "delivered": count(DeliveryState::Delivered),
        "dropped": count(DeliveryState::Dropped),
    });
    if let Some(wanted) = filter.state {
        records.retain(|r| r.state == wanted);
    }
    let mut body = counts;
    body["items"] = serde_json::to_value(records).expect("records serialise");
    HttpResponse::Ok().json(body)
}

async fn list_scenarios(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"items": state.emulator.scenarios()}))
}

/// A scenario file's YAML as the body; one of the same name is replaced.
async fn add_scenario(
    state: web::Data<ApiState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the scenario is not UTF-8 text"))?;
    let scenario =
        Scenario::from_yaml(text).map_err(|e| ApiError::bad_request(format!("scenario: {e}")))?;
    let name = scenario.name.clone();
    state.emulator.add_scenario(scenario);
    Ok(HttpResponse::Created().json(json!({"name": name})))
}

async fn keys(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(state.emulator.delivery().jwt().key_set())
}

async fn openid_configuration(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "issuer": state.emulator.delivery().jwt().issuer,
        "jwks_uri": format!("{}/calling/keys", state.base_url),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}
