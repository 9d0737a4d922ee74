//! First private preview: one Event Grid-like object, PascalCase data, null ids.

use super::{ident, one, ts, ACS_USER};
use crate::events::{
    CommonFields, EventKind, IdentifierKind, Outcome, ParticipantOp, ParticipantState, ResultInfo,
    WireFormat,
};

const LEG: &str = "511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c";

#[test]
fn call_leg_state_changed() {
    let body = include_str!("../testdata/a1_call_leg_state_changed.json");
    let ev = one(body);
    assert_eq!(ev.format, WireFormat::A1);
    assert_eq!(ev.raw, body.trim());
    assert_eq!(ev.event_id, None);
    assert_eq!(ev.source, None);
    assert_eq!(ev.event_type, "Microsoft.Communication.CallLegStateChanged");
    assert_eq!(
        ev.subject.as_deref(),
        Some("callLeg/511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c/callState")
    );
    assert_eq!(ev.event_time, Some(ts("2021-05-05T20:09:39.0061422Z")));
    assert_eq!(
        ev.kind,
        EventKind::CallState {
            state: "established".into(),
            conversation_id: Some(
                "aHR0cHM6Ly9jb252LWV1d2UtMDIuY29udi5za3lwZS5jb20vY29udi9hYmMxMjM".into()
            ),
        }
    );
    // The conversation id belongs to the kind, not to the server call id.
    assert_eq!(
        ev.common,
        CommonFields {
            call_id: Some(LEG.into()),
            ..CommonFields::default()
        }
    );
}

#[test]
fn dtmf_received() {
    let ev = one(include_str!("../testdata/a1_dtmf_received.json"));
    assert_eq!(ev.format, WireFormat::A1);
    assert_eq!(
        ev.kind,
        EventKind::DtmfTone {
            sequence_id: Some(3),
            tone: "1".into(),
            raw_tone: "Tone1".into(),
            participant_id: None,
        }
    );
    assert_eq!(ev.common.call_id.as_deref(), Some(LEG));
    let t = ev.event_time.unwrap();
    assert_eq!(t.timestamp_subsec_nanos(), 122_041_700);
}

#[test]
fn play_audio_result_completed() {
    let ev = one(include_str!("../testdata/a1_play_audio_result.json"));
    assert_eq!(
        ev.kind,
        EventKind::Play {
            outcome: Outcome::Completed,
            status: Some("completed".into()),
            failed_play_source_index: None,
        }
    );
    assert_eq!(
        ev.common.operation_context.as_deref(),
        Some("wildfire-alert-prompt")
    );
    assert_eq!(
        ev.common.result,
        Some(ResultInfo {
            code: Some(200),
            sub_code: Some(0),
            message: Some("Action completed successfully.".into()),
        })
    );
}

#[test]
fn play_audio_result_400_8508_is_a_cancellation() {
    let ev = one(include_str!("../testdata/a1_play_audio_cancelled.json"));
    assert_eq!(
        ev.kind,
        EventKind::Play {
            outcome: Outcome::Canceled,
            status: Some("failed".into()),
            failed_play_source_index: None,
        }
    );
    let result = ev.common.result.unwrap();
    assert_eq!((result.code, result.sub_code), (Some(400), Some(8508)));
}

#[test]
fn play_audio_result_other_failure_stays_failed() {
    let body = include_str!("../testdata/a1_play_audio_cancelled.json")
        .replace("\"Subcode\": 8508", "\"Subcode\": 8536");
    let ev = one(&body);
    assert!(matches!(
        ev.kind,
        EventKind::Play {
            outcome: Outcome::Failed,
            ..
        }
    ));
}

#[test]
fn invite_participant_result() {
    let ev = one(include_str!(
        "../testdata/a1_invite_participant_result.json"
    ));
    assert_eq!(
        ev.kind,
        EventKind::ParticipantOperation {
            operation: ParticipantOp::Invite,
            outcome: Outcome::Completed,
            participant: Some(ident("4:+14255550199", IdentifierKind::PhoneNumber)),
        }
    );
    assert_eq!(
        ev.common.operation_context.as_deref(),
        Some("invite-supervisor")
    );
}

#[test]
fn participants_updated_with_object_and_bare_string_identifiers() {
    let ev = one(include_str!("../testdata/a1_participants_updated.json"));
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
                    identifier: ident("4:+14255550199", IdentifierKind::PhoneNumber),
                    participant_id: Some("0f7c2d44-8e1b-4b8a-bd52-1e6f0c9a7d23".into()),
                    is_muted: Some(true),
                    is_on_hold: None,
                },
            ],
        }
    );
    assert_eq!(ev.common.sequence_number, None);
}
