//! Media of a call connection: play, recognize DTMF, continuous DTMF, send DTMF, cancel all.
//! Each operation but cancel-all may name an `operationCallbackUri`: its own events go there
//! instead of the call's callbackUri.

use std::time::Duration;

use actix_web::HttpResponse;
use serde_json::{json, Value};

use crate::emulator::api::ga::body::{self, Body};
use crate::emulator::api::ga::error::GaError;
use crate::emulator::api::ga::Request;
use crate::emulator::api::input;
use crate::emulator::sim::{PlayRequest, PlaySource, RecognizeRequest};

/// Defaults and bounds of a DTMF recognition (the service's documented ones).
const INITIAL_SILENCE_SECONDS: u64 = 5;
const INTER_TONE_SECONDS: u64 = 2;
const MAX_TONES: u64 = 60;
/// The most tones one `sendDtmfTones` may carry.
const MAX_SENT_TONES: usize = 18;

/// `POST …/{id}:play`: 202; `PlayStarted`, then `PlayCompleted`, `PlayFailed` or `PlayCanceled`.
pub fn play(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    // 1.0-era SDKs sent one `playSourceInfo`; later ones an array of `playSources`.
    let sources = match input::field(&map, "playSources") {
        Some(_) => play_sources(&map, "playSources")?,
        None => match input::field(&map, "playSourceInfo") {
            Some(v) => vec![body::play_source(v, "playSourceInfo")?],
            None => return Err(GaError::invalid("playSources: is required")),
        },
    };
    let play_to = body::identifiers(&map, "playTo", true)?;
    let looped = match body::opt_object(&map, "playOptions")? {
        Some(options) => body::opt_bool(options, "loop")?.unwrap_or(false),
        None => false,
    };
    let interrupt = body::opt_bool(&map, "interruptCallMediaOperation")?.unwrap_or(false);
    let context = body::opt_string(&map, "operationContext")?;
    let request = PlayRequest {
        sources,
        looped,
        context,
        callback: body::operation_callback(&map)?,
        interrupt,
    };
    r.state.emulator.run(|sim, now| {
        // Playing to someone not in the call is refused before anything plays.
        for who in &play_to {
            sim.check_participant(call_id, &who.raw_id)?;
        }
        sim.play(call_id, request, now)
    })?;
    Ok(HttpResponse::Accepted().finish())
}

/// `POST …/{id}:recognize`: DTMF only (`dtmf`, or `speechOrDtmf` heard as DTMF); 202, then
/// `RecognizeCompleted`, `RecognizeFailed` or `RecognizeCanceled`. One at a time per call.
pub fn recognize(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let input_type = body::string(&map, "recognizeInputType")?;
    match input_type.to_ascii_lowercase().as_str() {
        "dtmf" | "speechordtmf" => {}
        "speech" | "choices" => {
            return Err(GaError::invalid(format!(
                "recognizeInputType: {input_type} is not emulated (dtmf and speechOrDtmf are)"
            )))
        }
        _ => {
            return Err(GaError::invalid(
                "recognizeInputType: must be dtmf, speech, speechOrDtmf or choices",
            ))
        }
    }
    let mut prompt = Vec::new();
    if let Some(v) = input::field(&map, "playPrompt") {
        prompt.push(body::play_source(v, "playPrompt")?);
    }
    if input::field(&map, "playPrompts").is_some() {
        prompt.extend(play_sources(&map, "playPrompts")?);
    }
    let options = body::opt_object(&map, "recognizeOptions")?
        .ok_or_else(|| GaError::invalid("recognizeOptions: is required"))?;
    let target = body::identifier(options, "targetParticipant")
        .map_err(|e| GaError::invalid(format!("recognizeOptions.{}", e.message)))?;
    let within = |map: &Body, name: &str, min, max| {
        body::opt_int(map, name, min, max)
            .map_err(|e| GaError::invalid(format!("recognizeOptions.{}", e.message)))
    };
    let initial_silence = within(options, "initialSilenceTimeoutInSeconds", 1, 300)?
        .unwrap_or(INITIAL_SILENCE_SECONDS);
    body::opt_bool(options, "interruptPrompt")?;
    let (inter_tone, max_tones, stop_tones) = match body::opt_object(options, "dtmfOptions")? {
        Some(dtmf) => (
            within(dtmf, "interToneTimeoutInSeconds", 1, 60)?.unwrap_or(INTER_TONE_SECONDS),
            within(dtmf, "maxTonesToCollect", 1, MAX_TONES)?.unwrap_or(1),
            body::tones(dtmf, "stopTones")
                .map_err(|e| {
                    GaError::invalid(format!("recognizeOptions.dtmfOptions.{}", e.message))
                })?
                .unwrap_or_default(),
        ),
        None => (INTER_TONE_SECONDS, 1, Vec::new()),
    };
    let request = RecognizeRequest {
        target: target.raw_id,
        prompt,
        max_tones: usize::try_from(max_tones).expect("bounded above"),
        stop_tones,
        initial_silence: Duration::from_secs(initial_silence),
        inter_tone: Duration::from_secs(inter_tone),
        context: body::opt_string(&map, "operationContext")?,
        callback: body::operation_callback(&map)?,
        interrupt: body::opt_bool(&map, "interruptCallMediaOperation")?.unwrap_or(false),
    };
    r.state
        .emulator
        .run(|sim, now| sim.recognize(call_id, request, now))?;
    Ok(HttpResponse::Accepted().finish())
}

/// `POST …/{id}:startContinuousDtmfRecognition` and `…:stopContinuousDtmfRecognition`: 200;
/// each key the participant presses is then a `ContinuousDtmfRecognitionToneReceived`; stopping
/// sends `ContinuousDtmfRecognitionStopped`. The tones (and the stop when the call ends) go to the
/// start's `operationCallbackUri`; a stop request's event goes to the stop's own, else to the
/// call's callbackUri.
pub fn continuous_dtmf(
    r: &Request<'_>,
    call_id: &str,
    start: bool,
) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let target = body::identifier(&map, "targetParticipant")?;
    let context = body::opt_string(&map, "operationContext")?;
    let callback = body::operation_callback(&map)?;
    r.state.emulator.run(|sim, now| {
        if start {
            sim.start_continuous_dtmf(call_id, &target.raw_id, context, callback)
        } else {
            sim.stop_continuous_dtmf(call_id, &target.raw_id, context, callback, now)
        }
    })?;
    Ok(HttpResponse::Ok().finish())
}

/// `POST …/{id}:sendDtmfTones`: 202 `{"operationContext"}`, then `SendDtmfTonesCompleted`.
pub fn send_dtmf(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    let map = body::object(r.body, false)?;
    let tones = body::tones(&map, "tones")?.unwrap_or_default();
    if tones.is_empty() || tones.len() > MAX_SENT_TONES {
        return Err(GaError::invalid(format!(
            "tones: from 1 to {MAX_SENT_TONES} tones are needed"
        )));
    }
    let target = body::identifier(&map, "targetParticipant")?;
    let context = body::opt_string(&map, "operationContext")?;
    let callback = body::operation_callback(&map)?;
    r.state
        .emulator
        .run(|sim, now| sim.send_dtmf(call_id, &target.raw_id, context.clone(), callback, now))?;
    Ok(HttpResponse::Accepted().json(json!({"operationContext": context})))
}

/// `POST …/{id}:cancelAllMediaOperations`: 202; each running or queued play and a running
/// recognition reports itself cancelled.
pub fn cancel_all(r: &Request<'_>, call_id: &str) -> Result<HttpResponse, GaError> {
    body::object(r.body, true)?;
    r.state
        .emulator
        .run(|sim, now| sim.cancel_media(call_id, now))?;
    Ok(HttpResponse::Accepted().finish())
}

fn play_sources(map: &Body, name: &str) -> Result<Vec<PlaySource>, GaError> {
    let Some(Value::Array(items)) = input::field(map, name) else {
        return Err(GaError::invalid(format!(
            "{name}: must be an array of play sources"
        )));
    };
    if items.is_empty() {
        return Err(GaError::invalid(format!("{name}: must not be empty")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| body::play_source(v, &format!("{name}[{i}]")))
        .collect()
}
