//! Participants of a call connection: list, get, add, remove, mute, cancel an add. Add, remove
//! and cancel-add may name an `operationCallbackUri`: the operation's own events go there (the
//! participant snapshots stay the call's).

use std::time::Duration;

use actix_web::HttpResponse;
use serde_json::{json, Value};

use crate::emulator::api::ga::body;
use crate::emulator::api::ga::error::GaError;
use crate::emulator::api::ga::Request;
use crate::emulator::delivery::format::identifier_camel;
use crate::emulator::sim::call::ParticipantRow;
use crate::emulator::sim::model::Identifier;

/// The longest an invitation may ring, in seconds (the service's documented maximum).
const MAX_INVITATION_SECONDS: u64 = 180;

/// `GET …/{id}/participants`: everyone in the call now, on one page.
pub fn list(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let rows = participants(r, call_id)?;
    let value: Vec<Value> = rows.iter().map(participant).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// `GET …/{id}/participants/{rawId}` (the raw id percent-encoded).
pub fn get(r: &Request<'_>, call_id: &str, raw_id: &str) -> Result<HttpResponse, GaError> {
    let rows = participants(r, call_id)?;
    let row = rows.iter().find(|p| p.raw_id == raw_id).ok_or_else(|| {
        GaError::not_found(format!("participant {raw_id} is not in call {call_id}"))
    })?;
    Ok(HttpResponse::Ok().json(participant(row)))
}

/// `POST …/{id}/participants:add`: the invitee rings; 202 with the invitation's id.
pub fn add(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let target = body::identifier(&map, "participantToAdd")?;
    let timeout = body::opt_int(
        &map,
        "invitationTimeoutInSeconds",
        1,
        MAX_INVITATION_SECONDS,
    )?;
    let context = body::opt_string(&map, "operationContext")?;
    let callback = body::operation_callback(&map)?;
    body::opt_string(&map, "sourceDisplayName")?;
    body::opt_object(&map, "sourceCallerIdNumber")?;
    let invitations = r.state.emulator.run(|sim, now| {
        sim.invite(
            call_id,
            vec![target.clone()],
            context.clone(),
            callback,
            timeout.map(Duration::from_secs),
            now,
        )
    })?;
    Ok(HttpResponse::Accepted().json(json!({
        "participant": {"identifier": identifier_camel(&target), "isMuted": false, "isOnHold": false},
        "operationContext": context,
        "invitationId": invitations.first(),
    })))
}

/// `POST …/{id}/participants:remove`.
pub fn remove(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let target = body::identifier(&map, "participantToRemove")?;
    let context = body::opt_string(&map, "operationContext")?;
    let callback = body::operation_callback(&map)?;
    r.state
        .emulator
        .run(|sim, now| sim.remove(call_id, &target.raw_id, context.clone(), callback, now))?;
    Ok(HttpResponse::Accepted().json(json!({"operationContext": context})))
}

/// `POST …/{id}/participants:mute`: one participant, as the service allows; no event of its own,
/// a snapshot shows it muted.
pub fn mute(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let targets = body::identifiers(&map, "targetParticipants", false)?;
    let [target]: [Identifier; 1] = targets.try_into().map_err(|_| {
        GaError::invalid("targetParticipants: exactly one participant can be muted at a time")
    })?;
    let context = body::opt_string(&map, "operationContext")?;
    r.state
        .emulator
        .run(|sim, now| sim.set_muted(call_id, &target.raw_id, true, now))?;
    Ok(HttpResponse::Ok().json(json!({"operationContext": context})))
}

/// `POST …/{id}/participants:cancelAddParticipant`: a pending invitation stops ringing.
pub fn cancel_add(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let invitation_id = body::string(&map, "invitationId")?;
    let context = body::opt_string(&map, "operationContext")?;
    let callback = body::operation_callback(&map)?;
    r.state.emulator.run(|sim, now| {
        sim.cancel_invitation(call_id, &invitation_id, context.clone(), callback, now)
    })?;
    Ok(HttpResponse::Accepted().json(json!({
        "invitationId": invitation_id, "operationContext": context,
    })))
}

fn participants(r: &Request<'_>, call_id: &str) -> Result<Vec<ParticipantRow>, GaError> {
    r.state
        .emulator
        .run(|sim, _| sim.view(call_id))
        .map(|view| view.participants)
        .ok_or_else(|| GaError::not_found(format!("call connection {call_id} does not exist")))
}

/// `CallParticipant`.
fn participant(row: &ParticipantRow) -> Value {
    json!({
        "identifier": identifier_camel(&Identifier::from_raw_id(&row.raw_id)),
        "isMuted": row.is_muted,
        "isOnHold": false,
    })
}
