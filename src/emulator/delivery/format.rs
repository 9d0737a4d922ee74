//! Renders a simulated event in one of the three callback formats: A1 (the seed's private
//! preview), A2 (the CallingServer public preview) and B (GA), with each era's event names, field
//! casing and payload shapes as the real service sent them. Some events have no counterpart in
//! some eras (A1 and A2 have no removal or create-failure events, B no Establishing or
//! Terminating): those render as `None` and are not sent.

use std::sync::Arc;

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use crate::emulator::config::CallbackFormat;
use crate::emulator::sim::model::{
    CallState, EventKind, Identifier, IdentifierKind, PlayStage, RecognizeStage, ResultInfo,
    SimEvent, SUCCESS,
};

const PREFIX: &str = "Microsoft.Communication.";

/// One rendered event: its type name and the JSON object (for B, one element of the array).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub event_type: String,
    pub body: Value,
    /// A second copy made by a fault (a repeated snapshot), not an event of the simulation.
    pub repeat: bool,
    /// Where it goes instead of the call's callbackUri (the event's operation's
    /// `operationCallbackUri`), as the simulation said.
    pub callback_uri: Option<Arc<str>>,
}

pub fn render(event: &SimEvent, format: CallbackFormat) -> Option<Rendered> {
    let mut rendered = match format {
        CallbackFormat::A1 => a1(event),
        CallbackFormat::A2 => a2(event),
        CallbackFormat::B => b(event),
    }?;
    rendered.callback_uri.clone_from(&event.callback_uri);
    Some(rendered)
}

fn time(event: &SimEvent) -> String {
    event.at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

// ---- A1: the seed's private preview (Event Grid-like, PascalCase data, null ids) ----

fn a1(e: &SimEvent) -> Option<Rendered> {
    let leg = &e.call_id;
    let (name, subject, data) = match &e.kind {
        EventKind::CallState { state, .. } => (
            "CallLegStateChanged",
            "callState",
            json!({"ConversationId": e.server_call_id, "CallLegId": leg, "CallState": format!("{state:?}")}),
        ),
        EventKind::Participants { participants, .. } => (
            "ParticipantsUpdated",
            "participantsUpdated",
            json!({"CallLegId": leg, "Participants": participants.iter().map(|p| json!({
                "Identifier": identifier_pascal(&p.identifier),
                "ParticipantId": p.participant_id,
                "IsMuted": p.is_muted,
            })).collect::<Vec<_>>()}),
        ),
        EventKind::Tone { sequence, tone, .. } => (
            "DtmfReceived",
            "dtmf",
            json!({"ToneInfo": {"SequenceId": sequence, "Tone": tone_2021(*tone, true)}, "CallLegId": leg}),
        ),
        EventKind::Play {
            context,
            stage,
            result,
            ..
        } => (
            "PlayAudioResult",
            "playAudio",
            json!({"ResultInfo": result_pascal(result), "OperationContext": context,
                   "Status": preview_status(*stage), "CallLegId": leg}),
        ),
        EventKind::Invite {
            context,
            participant,
            result,
        } => (
            "InviteParticipantResult",
            "inviteParticipantResult",
            json!({"ResultInfo": result_pascal(result), "OperationContext": context,
                   "Status": if result.code == 200 { "completed" } else { "failed" },
                   "CallLegId": leg, "Participants": [identifier_pascal(participant)]}),
        ),
        _ => return None,
    };
    Some(Rendered {
        repeat: false,
        callback_uri: None,
        event_type: format!("{PREFIX}{name}"),
        body: json!({
            "id": null, "topic": null, "subject": format!("callLeg/{leg}/{subject}"),
            "data": data, "eventType": format!("{PREFIX}{name}"), "eventTime": time(e),
            "metadataVersion": null, "dataVersion": null,
        }),
    })
}

// ---- A2: the public preview (one CloudEvent, camelCase data) ----

fn a2(e: &SimEvent) -> Option<Rendered> {
    let conn = &e.call_id;
    let (name, data) = match &e.kind {
        EventKind::CallState { state, .. } => (
            "CallConnectionStateChanged",
            json!({"serverCallId": e.server_call_id, "callConnectionId": conn,
            "callConnectionState": match state {
                CallState::Establishing => "connecting",
                CallState::Established => "connected",
                CallState::Terminating => "disconnecting",
                CallState::Terminated => "disconnected",
            }}),
        ),
        EventKind::Participants { participants, .. } => (
            "ParticipantsUpdated",
            json!({"callConnectionId": conn, "participants": participants.iter().map(|p| json!({
                "identifier": identifier_camel(&p.identifier),
                "participantId": p.participant_id,
                "isMuted": p.is_muted,
            })).collect::<Vec<_>>()}),
        ),
        EventKind::Tone { sequence, tone, .. } => (
            "DtmfReceived",
            json!({"toneInfo": {"sequenceId": sequence, "tone": tone_2021(*tone, false)},
                   "callConnectionId": conn}),
        ),
        EventKind::Play {
            context,
            stage,
            result,
            ..
        } => (
            "PlayAudioResult",
            json!({"resultInfo": result_preview(result), "operationContext": context,
                   "status": preview_status(*stage), "callConnectionId": conn}),
        ),
        EventKind::Invite {
            context, result, ..
        } => (
            "AddParticipantResult",
            json!({"resultInfo": result_preview(result), "operationContext": context,
                   "status": if result.code == 200 { "completed" } else { "failed" },
                   "callConnectionId": conn}),
        ),
        _ => return None,
    };
    Some(cloud_event(e, name, data))
}

// ---- B: GA (CloudEvents, each POST an array) ----

fn b(e: &SimEvent) -> Option<Rendered> {
    let mut data = Map::new();
    data.insert("callConnectionId".into(), json!(e.call_id));
    data.insert("serverCallId".into(), json!(e.server_call_id));
    data.insert("correlationId".into(), json!(e.correlation_id));
    let mut put = |key: &str, value: Value| {
        data.insert(key.to_owned(), value);
    };
    // The operation context is left out, not null, when the request had none.
    let context = |put: &mut dyn FnMut(&str, Value), context: &Option<String>| {
        if let Some(context) = context {
            put("operationContext", json!(context));
        }
    };
    let name = match &e.kind {
        EventKind::CallState {
            state,
            result,
            context: ctx,
        } => match state {
            CallState::Established => {
                context(&mut put, ctx);
                put("resultInformation", result_ga(&SUCCESS_EMPTY));
                "CallConnected"
            }
            CallState::Terminated => {
                context(&mut put, ctx);
                put(
                    "resultInformation",
                    result_ga(result.as_ref().unwrap_or(&SUCCESS_EMPTY)),
                );
                "CallDisconnected"
            }
            CallState::Establishing | CallState::Terminating => return None,
        },
        EventKind::CreateFailed {
            result,
            context: ctx,
        } => {
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            "CreateCallFailed"
        }
        EventKind::Participants {
            sequence,
            participants,
        } => {
            put(
                "participants",
                participants
                    .iter()
                    .map(|p| {
                        json!({"identifier": identifier_camel(&p.identifier),
                               "isMuted": p.is_muted, "isOnHold": false})
                    })
                    .collect(),
            );
            put("sequenceNumber", json!(sequence));
            put("resultInformation", result_ga(&SUCCESS_EMPTY));
            "ParticipantsUpdated"
        }
        EventKind::Tone {
            sequence,
            tone,
            context: ctx,
            ..
        } => {
            put("sequenceId", json!(sequence));
            put("tone", json!(tone_ga(*tone)));
            context(&mut put, ctx);
            put("resultInformation", result_ga(&TONE_RECEIVED));
            "ContinuousDtmfRecognitionToneReceived"
        }
        EventKind::Play {
            context: ctx,
            stage,
            result,
            failed_source,
        } => {
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            match stage {
                PlayStage::Started => "PlayStarted",
                PlayStage::Completed => "PlayCompleted",
                PlayStage::Failed => {
                    put("failedPlaySourceIndex", json!(failed_source.unwrap_or(0)));
                    "PlayFailed"
                }
                PlayStage::Canceled => "PlayCanceled",
            }
        }
        EventKind::Invite {
            context: ctx,
            participant,
            result,
        } => {
            put("participant", identifier_camel(participant));
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            if result.code == 200 {
                "AddParticipantSucceeded"
            } else {
                "AddParticipantFailed"
            }
        }
        EventKind::Removed {
            participant,
            context: ctx,
        } => {
            put("participant", identifier_camel(participant));
            context(&mut put, ctx);
            put("resultInformation", result_ga(&SUCCESS));
            "RemoveParticipantSucceeded"
        }
        EventKind::Recognize {
            context: ctx,
            stage,
            tones,
            result,
        } => {
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            match stage {
                RecognizeStage::Completed => {
                    put("recognitionType", json!("dtmf"));
                    let tones: Vec<String> = tones.iter().map(|t| tone_ga(*t)).collect();
                    put("dtmfResult", json!({"tones": tones}));
                    "RecognizeCompleted"
                }
                RecognizeStage::Failed => "RecognizeFailed",
                RecognizeStage::Canceled => "RecognizeCanceled",
            }
        }
        EventKind::DtmfStopped {
            context: ctx,
            result,
        } => {
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            "ContinuousDtmfRecognitionStopped"
        }
        EventKind::DtmfSent {
            context: ctx,
            result,
        } => {
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            "SendDtmfTonesCompleted"
        }
        EventKind::AddCancelled {
            context: ctx,
            invitation_id,
            result,
        } => {
            put("invitationId", json!(invitation_id));
            context(&mut put, ctx);
            put("resultInformation", result_ga(result));
            "CancelAddParticipantSucceeded"
        }
    };
    Some(cloud_event(e, name, Value::Object(data)))
}

const SUCCESS_EMPTY: ResultInfo = ResultInfo {
    code: 200,
    sub_code: 0,
    message: "",
};
const TONE_RECEIVED: ResultInfo = ResultInfo {
    code: 200,
    sub_code: 0,
    message: "DTMF tone received successfully.",
};

fn cloud_event(e: &SimEvent, name: &str, data: Value) -> Rendered {
    let source = format!("calling/callConnections/{}", e.call_id);
    Rendered {
        repeat: false,
        callback_uri: None,
        event_type: format!("{PREFIX}{name}"),
        body: json!({
            "id": uuid::Uuid::new_v4().to_string(), "source": source,
            "type": format!("{PREFIX}{name}"), "data": data, "time": time(e),
            "specversion": "1.0", "datacontenttype": "application/json", "subject": source,
        }),
    }
}

/// The previews' operation status; a cancellation is a failure with 400/8508.
fn preview_status(stage: PlayStage) -> &'static str {
    match stage {
        PlayStage::Started => "running",
        PlayStage::Completed => "completed",
        PlayStage::Failed | PlayStage::Canceled => "failed",
    }
}

fn result_pascal(r: &ResultInfo) -> Value {
    json!({"Code": r.code, "Subcode": r.sub_code, "Message": r.message})
}

fn result_preview(r: &ResultInfo) -> Value {
    json!({"code": r.code, "subcode": r.sub_code, "message": r.message})
}

fn result_ga(r: &ResultInfo) -> Value {
    json!({"code": r.code, "subCode": r.sub_code, "message": r.message})
}

fn identifier_pascal(id: &Identifier) -> Value {
    match id.kind {
        IdentifierKind::PhoneNumber => json!({"RawId": id.raw_id,
            "PhoneNumber": {"Value": id.raw_id.strip_prefix("4:").unwrap_or(&id.raw_id)}}),
        IdentifierKind::CommunicationUser => {
            json!({"RawId": id.raw_id, "CommunicationUser": {"Id": id.raw_id}})
        }
        _ => json!({"RawId": id.raw_id}),
    }
}

/// An identifier as GA bodies carry it (`CommunicationIdentifierModel`, with `kind`).
pub fn identifier_camel(id: &Identifier) -> Value {
    match id.kind {
        IdentifierKind::PhoneNumber => json!({"kind": "phoneNumber", "rawId": id.raw_id,
            "phoneNumber": {"value": id.raw_id.strip_prefix("4:").unwrap_or(&id.raw_id)}}),
        IdentifierKind::CommunicationUser => json!({"kind": "communicationUser",
            "rawId": id.raw_id, "communicationUser": {"id": id.raw_id}}),
        IdentifierKind::MicrosoftTeamsUser => json!({"kind": "microsoftTeamsUser",
            "rawId": id.raw_id, "microsoftTeamsUser": {
                "userId": id.raw_id.strip_prefix("8:orgid:").unwrap_or(&id.raw_id)}}),
        _ => json!({"kind": "unknown", "rawId": id.raw_id}),
    }
}

/// The 2021 tone names: `Tone1`, `Star`, `Pound`, `A` (A1) or `tone1`, `star`, `pound`, `a` (A2).
fn tone_2021(tone: char, pascal: bool) -> String {
    let name = match tone {
        '0'..='9' => format!("tone{tone}"),
        '*' => "star".into(),
        '#' => "pound".into(),
        other => other.to_ascii_lowercase().to_string(),
    };
    if pascal {
        let mut chars = name.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    } else {
        name
    }
}

/// The GA tone names: `zero` … `nine`, `asterisk`, `pound`, `a` … `d`.
fn tone_ga(tone: char) -> String {
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    match tone {
        '0'..='9' => DIGITS[tone as usize - '0' as usize].into(),
        '*' => "asterisk".into(),
        '#' => "pound".into(),
        other => other.to_ascii_lowercase().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::sim::model::DOWNLOAD_FAILED;

    fn event(kind: EventKind) -> SimEvent {
        SimEvent {
            call_id: "c1".into(),
            server_call_id: "s1".into(),
            correlation_id: "r1".into(),
            at: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.000006Z")
                .unwrap()
                .into(),
            kind,
            callback_uri: None,
        }
    }

    fn tone(t: char) -> EventKind {
        EventKind::Tone {
            sequence: 3,
            tone: t,
            participant: Identifier::from_raw_id("4:+1"),
            context: None,
        }
    }

    #[test]
    fn tones_are_spelled_as_each_era_spells_them() {
        let a1 = render(&event(tone('1')), CallbackFormat::A1).unwrap();
        assert_eq!(
            a1.body["data"]["ToneInfo"],
            json!({"SequenceId": 3, "Tone": "Tone1"})
        );
        assert_eq!(a1.body["id"], Value::Null);
        assert_eq!(a1.body["eventTime"], "2026-01-02T03:04:05.000006Z");
        let a2 = render(&event(tone('*')), CallbackFormat::A2).unwrap();
        assert_eq!(a2.body["data"]["toneInfo"]["tone"], "star");
        let b = render(&event(tone('#')), CallbackFormat::B).unwrap();
        assert_eq!(
            b.event_type,
            "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived"
        );
        assert_eq!(
            (
                b.body["data"]["tone"].as_str(),
                b.body["data"]["sequenceId"].as_u64()
            ),
            (Some("pound"), Some(3))
        );
        assert_eq!(b.body["specversion"], "1.0");
    }

    #[test]
    fn a_cancelled_play_is_a_failed_play_audio_result_in_the_seed_era() {
        let cancelled = EventKind::Play {
            context: Some("ctx".into()),
            stage: PlayStage::Canceled,
            result: crate::emulator::sim::model::CANCELLED,
            failed_source: None,
        };
        let a1 = render(&event(cancelled.clone()), CallbackFormat::A1).unwrap();
        assert_eq!(a1.body["data"]["Status"], "failed");
        assert_eq!(a1.body["data"]["ResultInfo"]["Subcode"], 8508);
        let b = render(&event(cancelled), CallbackFormat::B).unwrap();
        assert_eq!(b.event_type, "Microsoft.Communication.PlayCanceled");
        assert_eq!(b.body["data"]["resultInformation"]["subCode"], 8508);
        let failed = EventKind::Play {
            context: None,
            stage: PlayStage::Failed,
            result: DOWNLOAD_FAILED,
            failed_source: Some(0),
        };
        let b = render(&event(failed), CallbackFormat::B).unwrap();
        assert_eq!(b.body["data"]["failedPlaySourceIndex"], 0);
        assert!(b.body["data"].get("operationContext").is_none());
    }

    #[test]
    fn events_an_era_does_not_have_are_not_rendered() {
        let establishing = EventKind::CallState {
            state: CallState::Establishing,
            result: None,
            context: None,
        };
        assert!(render(&event(establishing.clone()), CallbackFormat::B).is_none());
        assert!(render(&event(establishing), CallbackFormat::A1).is_some());
        let removed = EventKind::Removed {
            participant: Identifier::from_raw_id("8:acs:x"),
            context: None,
        };
        assert!(render(&event(removed.clone()), CallbackFormat::A1).is_none());
        assert!(render(&event(removed), CallbackFormat::B).is_some());
    }
}
