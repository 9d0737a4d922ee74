//! Public preview: one CloudEvent object per POST, camelCase data.

use super::{ident, one, ts, ACS_USER};
use crate::events::{
    EventKind, IdentifierKind, Outcome, ParticipantOp, ParticipantState, ResultInfo, WireFormat,
};

const CONN: &str = "411f0b00-7c2d-4a8e-8f3b-6d1e7a2c5b90";
const SERVER_CALL: &str = "aHR0cHM6Ly94LWNvbnYtdXN3ZS0wMS5jb252LnNreXBlLmNvbS9jb252L3h5eg";

#[test]
fn call_connection_state_changed() {
    let body = include_str!("../testdata/a2_call_connection_state_changed.json");
    let ev = one(body);
    assert_eq!(ev.format, WireFormat::A2);
    assert_eq!(ev.raw, body.trim());
    assert_eq!(
        ev.event_id.as_deref(),
        Some("7f8e3b2a-1c4d-4e5f-9a6b-0c1d2e3f4a5b")
    );
    assert_eq!(
        ev.source.as_deref(),
        Some("callConnection/411f0b00-7c2d-4a8e-8f3b-6d1e7a2c5b90")
    );
    assert_eq!(ev.event_time, Some(ts("2021-09-13T21:27:02.3424591Z")));
    assert_eq!(
        ev.kind,
        EventKind::CallState {
            state: "connected".into(),
            conversation_id: None,
        }
    );
    assert_eq!(ev.common.call_id.as_deref(), Some(CONN));
    assert_eq!(ev.common.server_call_id.as_deref(), Some(SERVER_CALL));
}

#[test]
fn dtmf_received_and_tone_received_are_the_same_family() {
    let dtmf = one(include_str!("../testdata/a2_dtmf_received.json"));
    assert_eq!(
        dtmf.kind,
        EventKind::DtmfTone {
            sequence_id: Some(1),
            tone: "#".into(),
            raw_tone: "pound".into(),
            participant_id: None,
        }
    );
    let tone = one(include_str!("../testdata/a2_tone_received.json"));
    assert_eq!(tone.event_type, "Microsoft.Communication.ToneReceived");
    assert_eq!(
        tone.kind,
        EventKind::DtmfTone {
            sequence_id: Some(2),
            tone: "5".into(),
            raw_tone: "tone5".into(),
            participant_id: None,
        }
    );
    assert_eq!(tone.common.call_id.as_deref(), Some(CONN));
}

#[test]
fn play_audio_result_failed_with_lowercase_subcode() {
    let ev = one(include_str!("../testdata/a2_play_audio_result.json"));
    assert_eq!(
        ev.kind,
        EventKind::Play {
            outcome: Outcome::Failed,
            status: Some("failed".into()),
            failed_play_source_index: None,
        }
    );
    assert_eq!(
        ev.common.result,
        Some(ResultInfo {
            code: Some(500),
            sub_code: Some(8535),
            message: Some("Action failed, file format is invalid.".into()),
        })
    );
    assert_eq!(ev.common.operation_context.as_deref(), Some("hold-music"));
}

#[test]
fn play_audio_result_cancellation_applies_to_a2_too() {
    let body = include_str!("../testdata/a2_play_audio_result.json").replace(
        "\"code\": 500, \"subcode\": 8535",
        "\"code\": 400, \"subcode\": 8508",
    );
    assert!(matches!(
        one(&body).kind,
        EventKind::Play {
            outcome: Outcome::Canceled,
            ..
        }
    ));
}

#[test]
fn add_participant_result() {
    let ev = one(include_str!("../testdata/a2_add_participant_result.json"));
    assert_eq!(
        ev.kind,
        EventKind::ParticipantOperation {
            operation: ParticipantOp::Add,
            outcome: Outcome::Failed,
            participant: None,
        }
    );
    assert_eq!(ev.common.result.unwrap().sub_code, Some(10004));
}

#[test]
fn add_participant_result_without_status_uses_result_code() {
    let body = include_str!("../testdata/a2_add_participant_result.json")
        .replace("\"status\": \"failed\",", "")
        .replace("\"code\": 408", "\"code\": 200");
    assert!(matches!(
        one(&body).kind,
        EventKind::ParticipantOperation {
            outcome: Outcome::Completed,
            ..
        }
    ));
}

#[test]
fn participants_updated() {
    let ev = one(include_str!("../testdata/a2_participants_updated.json"));
    assert_eq!(
        ev.kind,
        EventKind::ParticipantsUpdated {
            participants: vec![
                ParticipantState {
                    identifier: ident(ACS_USER, IdentifierKind::CommunicationUser),
                    participant_id: Some("c5a0b6e1-0f33-4d5e-9a0c-7a2b9d3e4f10".into()),
                    is_muted: Some(false),
                    is_on_hold: None,
                },
                ParticipantState {
                    identifier: ident(
                        "8:orgid:b2c4f6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
                        IdentifierKind::MicrosoftTeamsUser
                    ),
                    participant_id: Some("e7d6c5b4-a392-4810-9f8e-7d6c5b4a3928".into()),
                    is_muted: Some(true),
                    is_on_hold: None,
                },
            ],
        }
    );
}

#[test]
fn call_recording_state_changed() {
    let ev = one(include_str!(
        "../testdata/a2_call_recording_state_changed.json"
    ));
    assert_eq!(
        ev.kind,
        EventKind::Recording {
            state: Some("active".into()),
            recording_id: Some("eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiI0MTFmMGIwMCJ9".into()),
        }
    );
    assert_eq!(ev.common.server_call_id.as_deref(), Some(SERVER_CALL));
    assert_eq!(ev.common.call_id, None);
}
