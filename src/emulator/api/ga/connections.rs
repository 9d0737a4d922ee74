//! Call connections: create, answer, reject, redirect, get, hang up and terminate.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use crate::emulator::api::ga::body::{self, Body};
use crate::emulator::api::ga::error::GaError;
use crate::emulator::api::ga::registry::{CallProps, Stored};
use crate::emulator::api::ga::Request;
use crate::emulator::api::seed::choices;
use crate::emulator::config::CallbackFormat;
use crate::emulator::delivery::format::identifier_camel;
use crate::emulator::runtime::CallChoices;
use crate::emulator::sim::call::CallView;
use crate::emulator::sim::model::{CallState, Identifier};
use crate::emulator::sim::{Answered, NewCall, ToneReports};

/// Who the application is in its calls when the request does not say (`source`).
const APP_IDENTITY: &str = "8:acs:emulator_callautomation-app";

/// `POST /calling/callConnections`: the targets ring; 201 with the call `connecting`. A retry with
/// the same `Repeatability-Request-ID` gets the first answer again and places no second call.
pub fn create(r: &Request<'_>) -> Result<HttpResponse, GaError> {
    let repeat_id = repeatability_id(r);
    if let Some(stored) = repeat_id.and_then(|id| r.state.ga.repeated(id)) {
        return Ok(replay(stored));
    }
    let map = body::object(r.body, false)?;
    let targets = body::identifiers(&map, "targets", false)?;
    let callback_uri = body::http_uri(&map, "callbackUri")?;
    let source = match crate::emulator::api::input::field(&map, "source") {
        Some(_) => Some(body::identifier(&map, "source")?),
        None => None,
    };
    let source_caller_id = caller_id(&map, "sourceCallerIdNumber")?;
    let source_display_name = body::opt_string(&map, "sourceDisplayName")?;
    let context = body::opt_string(&map, "operationContext")?;
    let choices = ga_choices(r)?;
    let new = NewCall {
        source: source
            .clone()
            .unwrap_or_else(|| Identifier::from_raw_id(APP_IDENTITY)),
        targets: targets.clone(),
        subject: None,
        scenario: None,
        context,
        tones: ToneReports::WhenRecognizing,
    };
    let call_id = r
        .state
        .emulator
        .place_call(new, callback_uri.clone(), choices)?;
    r.state.ga.add_call(
        &call_id,
        CallProps {
            targets,
            callback_uri,
            source,
            source_caller_id,
            source_display_name,
            answered_by: None,
        },
    );
    let answer = properties(r, &call_id, Some("connecting"))?;
    let stored = Stored {
        status: 201,
        body: answer,
    };
    if let Some(id) = repeat_id {
        r.state.ga.remember_answer(id, stored.clone());
    }
    Ok(replay(stored))
}

/// `POST /calling/callConnections:answer`: the incoming call is connected at once.
pub fn answer(r: &Request<'_>) -> Result<HttpResponse, GaError> {
    let repeat_id = repeatability_id(r);
    if let Some(stored) = repeat_id.and_then(|id| r.state.ga.repeated(id)) {
        return Ok(replay(stored));
    }
    let map = body::object(r.body, false)?;
    let context_token = body::string(&map, "incomingCallContext")?;
    let callback_uri = body::http_uri(&map, "callbackUri")?;
    let context = body::opt_string(&map, "operationContext")?;
    let answered_by = match crate::emulator::api::input::field(&map, "answeredBy") {
        Some(_) => Some(body::identifier(&map, "answeredBy")?),
        None => None,
    };
    let choices = ga_choices(r)?;
    let incoming = take_incoming(r, &context_token)?;
    let answered = Answered {
        caller: incoming.from.clone(),
        callee: incoming.to.clone(),
        context,
        server_call_id: incoming.server_call_id.clone(),
        correlation_id: incoming.correlation_id.clone(),
    };
    let call_id = r
        .state
        .emulator
        .answer_incoming(answered, callback_uri.clone(), choices)?;
    r.state.ga.add_call(
        &call_id,
        CallProps {
            targets: vec![incoming.from],
            callback_uri,
            source: Some(incoming.to),
            source_caller_id: None,
            source_display_name: None,
            answered_by,
        },
    );
    let stored = Stored {
        status: 200,
        body: properties(r, &call_id, Some("connecting"))?,
    };
    if let Some(id) = repeat_id {
        r.state.ga.remember_answer(id, stored.clone());
    }
    Ok(replay(stored))
}

/// `POST /calling/callConnections:reject`: the caller hears busy (or nothing); no callback.
pub fn reject(r: &Request<'_>) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let context_token = body::string(&map, "incomingCallContext")?;
    if let Some(reason) = body::opt_string(&map, "callRejectReason")? {
        if !["none", "busy", "forbidden"].contains(&reason.to_ascii_lowercase().as_str()) {
            return Err(GaError::invalid(
                "callRejectReason: must be none, busy or forbidden",
            ));
        }
    }
    take_incoming(r, &context_token)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /calling/callConnections:redirect`: the call goes elsewhere; no callback.
pub fn redirect(r: &Request<'_>) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let context_token = body::string(&map, "incomingCallContext")?;
    body::identifier(&map, "target")?;
    take_incoming(r, &context_token)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /calling/callConnections/{id}`.
pub fn get(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    Ok(HttpResponse::Ok().json(properties(r, call_id, None)?))
}

/// `DELETE /calling/callConnections/{id}` and `POST …/{id}:terminate`: the call ends for everyone
/// (the emulator's calls have one application leg, so hanging it up ends the call too).
pub fn hang_up(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    body::object(r.body, true)?;
    r.state.emulator.run(|sim, now| sim.hang_up(call_id, now))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `CallConnectionProperties`; `state` overrides the simulation's (a create answers `connecting`
/// even when a target answered within the same instant).
fn properties(r: &Request<'_>, call_id: &str, state: Option<&str>) -> Result<Value, GaError> {
    let view: CallView = r
        .state
        .emulator
        .run(|sim, _| sim.view(call_id))
        .ok_or_else(|| GaError::not_found(format!("call connection {call_id} does not exist")))?;
    let props = r.state.ga.call(call_id);
    let mut out = Map::new();
    out.insert("callConnectionId".into(), json!(call_id));
    out.insert("serverCallId".into(), json!(view.server_call_id));
    out.insert("correlationId".into(), json!(view.correlation_id));
    out.insert(
        "callConnectionState".into(),
        json!(state.unwrap_or(connection_state(view.state))),
    );
    let targets: Vec<Value> = props
        .as_ref()
        .map(|p| p.targets.iter().map(identifier_camel).collect())
        .unwrap_or_default();
    out.insert("targets".into(), json!(targets));
    if let Some(props) = props {
        out.insert("callbackUri".into(), json!(props.callback_uri));
        if let Some(source) = &props.source {
            out.insert("source".into(), identifier_camel(source));
        }
        if let Some(number) = &props.source_caller_id {
            out.insert("sourceCallerIdNumber".into(), json!({"value": number}));
        }
        if let Some(name) = &props.source_display_name {
            out.insert("sourceDisplayName".into(), json!(name));
        }
        if let Some(by) = &props.answered_by {
            out.insert("answeredBy".into(), identifier_camel(by));
        }
    }
    Ok(Value::Object(out))
}

pub fn connection_state(state: CallState) -> &'static str {
    match state {
        CallState::Establishing => "connecting",
        CallState::Established => "connected",
        CallState::Terminating => "disconnecting",
        CallState::Terminated => "disconnected",
    }
}

fn replay(stored: Stored) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(stored.status)
        .expect("only statuses this module chose are stored");
    HttpResponse::build(status).json(stored.body)
}

fn repeatability_id<'a>(r: &Request<'a>) -> Option<&'a str> {
    r.req
        .headers()
        .get("repeatability-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The emulator's per-call headers, with format B unless they or a scenario choose another.
fn ga_choices(r: &Request<'_>) -> Result<CallChoices, GaError> {
    let mut choices = choices(r.req.headers())?;
    choices.default_format = Some(CallbackFormat::B);
    Ok(choices)
}

/// `{"value": "+1…"}`, an E.164 number.
fn caller_id(map: &Body, name: &str) -> Result<Option<String>, GaError> {
    let Some(object) = body::opt_object(map, name)? else {
        return Ok(None);
    };
    let wrapped = json!({"phoneNumber": object});
    let id = body::parse_identifier(&wrapped, name)
        .map_err(|_| GaError::invalid(format!("{name}.value: must be an E.164 number")))?;
    Ok(id.raw_id.strip_prefix("4:").map(str::to_owned))
}

fn take_incoming(
    r: &Request<'_>,
    context: &str,
) -> Result<crate::emulator::api::ga::registry::Incoming, GaError> {
    r.state.ga.take_incoming(context).ok_or_else(|| {
        GaError::not_found(
            "incomingCallContext: no incoming call has this context (unknown, or already answered, rejected or redirected)",
        )
    })
}
