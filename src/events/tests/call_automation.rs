//! GA Call Automation: JSON arrays of CloudEvents, every element parsed.

use super::{all, assert_raw_is_each_element, ident, ts, ACS_USER};
use crate::events::{
    CommonFields, EventKind, IdentifierKind, Outcome, ParticipantOp, ParticipantState, ResultInfo,
    WireFormat,
};

const CONN: &str = "421f1100-9c2d-4a8e-8f3b-6d1e7a2c5b90";
const SOURCE: &str = "calling/callConnections/421f1100-9c2d-4a8e-8f3b-6d1e7a2c5b90";
const SERVER_CALL: &str = "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkudGVhbXMubWljcm9zb2Z0LmNvbS9hcGkvdjIvY3AvY29udi1ldXdlLTAyL2NvbnYvM1pRa1dOSmhVMGV4cjk0S3F3ZWxlQQ";
const CORRELATION: &str = "9b2e4f1a-7c3d-4e5f-8a6b-1c2d3e4f5a6b";

fn kinds(body: &str) -> Vec<EventKind> {
    let events = all(body);
    assert_raw_is_each_element(body, &events);
    assert!(events
        .iter()
        .all(|e| e.format == WireFormat::CallAutomation));
    events.into_iter().map(|e| e.kind).collect()
}

fn phone(number: &str) -> crate::events::Identifier {
    ident(&format!("4:{number}"), IdentifierKind::PhoneNumber)
}

#[test]
fn call_lifecycle_with_participant_snapshot() {
    let body = include_str!("../testdata/b_call_lifecycle.json");
    let events = all(body);
    assert_raw_is_each_element(body, &events);
    assert_eq!(events.len(), 3);

    let connected = &events[0];
    assert_eq!(connected.format, WireFormat::CallAutomation);
    assert_eq!(
        connected.event_id.as_deref(),
        Some("9dff6ffa-0001-4b6e-8c1d-5a3e0f2b7c01")
    );
    assert_eq!(connected.source.as_deref(), Some(SOURCE));
    assert_eq!(connected.subject.as_deref(), Some(SOURCE));
    assert_eq!(
        connected.event_type,
        "Microsoft.Communication.CallConnected"
    );
    assert_eq!(
        connected.event_time,
        Some(ts("2024-03-12T09:15:31.1234568Z"))
    );
    assert_eq!(
        connected.kind,
        EventKind::CallState {
            state: "connected".into(),
            conversation_id: None
        }
    );
    assert_eq!(
        connected.common,
        CommonFields {
            call_id: Some(CONN.into()),
            server_call_id: Some(SERVER_CALL.into()),
            correlation_id: Some(CORRELATION.into()),
            operation_context: Some("outbound-alert".into()),
            result: Some(ResultInfo {
                code: Some(200),
                sub_code: Some(0),
                message: Some(String::new()),
            }),
            sequence_number: None,
        }
    );

    let snapshot = &events[1];
    assert_eq!(snapshot.common.sequence_number, Some(4));
    assert_eq!(
        snapshot.kind,
        EventKind::ParticipantsUpdated {
            participants: vec![
                ParticipantState {
                    identifier: phone("+14255550123"),
                    participant_id: None,
                    is_muted: Some(false),
                    is_on_hold: Some(false),
                },
                ParticipantState {
                    identifier: ident(ACS_USER, IdentifierKind::CommunicationUser),
                    participant_id: None,
                    is_muted: Some(true),
                    is_on_hold: Some(true),
                },
            ],
        }
    );

    let disconnected = &events[2];
    assert_eq!(
        disconnected.kind,
        EventKind::CallState {
            state: "disconnected".into(),
            conversation_id: None
        }
    );
    assert_eq!(
        disconnected.common.result.as_ref().unwrap().sub_code,
        Some(7000)
    );
}

#[test]
fn play_started_completed_failed_canceled() {
    let got = kinds(include_str!("../testdata/b_play.json"));
    let play = |outcome, index| EventKind::Play {
        outcome,
        status: None,
        failed_play_source_index: index,
    };
    assert_eq!(
        got,
        vec![
            play(Outcome::Started, None),
            play(Outcome::Completed, None),
            play(Outcome::Failed, Some(1)),
            play(Outcome::Canceled, None),
        ]
    );
}

#[test]
fn recognize_results() {
    let got = kinds(include_str!("../testdata/b_recognize.json"));
    let recognize = |outcome,
                     kind: Option<&str>,
                     tones: &[&str],
                     choice: Option<&str>,
                     speech: Option<&str>| {
        EventKind::Recognize {
            outcome,
            recognition_type: kind.map(String::from),
            tones: tones.iter().map(|t| t.to_string()).collect(),
            choice: choice.map(String::from),
            speech: speech.map(String::from),
        }
    };
    assert_eq!(
        got,
        vec![
            recognize(
                Outcome::Completed,
                Some("dtmf"),
                &["5", "6", "#"],
                None,
                None
            ),
            recognize(
                Outcome::Completed,
                Some("dtmf"),
                &["1", "0", "*"],
                None,
                None
            ),
            recognize(Outcome::Failed, None, &[], None, None),
            recognize(
                Outcome::Completed,
                Some("choices"),
                &[],
                Some("Confirm"),
                None
            ),
            recognize(
                Outcome::Completed,
                Some("speech"),
                &[],
                None,
                Some("I need to speak to an agent")
            ),
            recognize(Outcome::Canceled, None, &[], None, None),
        ]
    );
}

#[test]
fn recognize_failed_keeps_its_result_code() {
    let events = all(include_str!("../testdata/b_recognize.json"));
    let failed = &events[2];
    assert_eq!(failed.event_type, "Microsoft.Communication.RecognizeFailed");
    assert_eq!(
        failed.common.result,
        Some(ResultInfo {
            code: Some(400),
            sub_code: Some(8510),
            message: Some("Action failed, initial silence timeout reached.".into()),
        })
    );
    assert_eq!(failed.common.operation_context.as_deref(), Some("menu"));
}

#[test]
fn continuous_dtmf_flat_and_nested() {
    let got = kinds(include_str!("../testdata/b_continuous_dtmf.json"));
    assert_eq!(
        got,
        vec![
            EventKind::DtmfTone {
                sequence_id: Some(1),
                tone: "1".into(),
                raw_tone: "one".into(),
                participant_id: None,
            },
            EventKind::DtmfTone {
                sequence_id: Some(2),
                tone: "*".into(),
                raw_tone: "asterisk".into(),
                participant_id: Some("c5a0b6e1-0f33-4d5e-9a0c-7a2b9d3e4f10".into()),
            },
            EventKind::DtmfRecognition {
                outcome: Outcome::Failed
            },
            EventKind::DtmfRecognition {
                outcome: Outcome::Stopped
            },
        ]
    );
}

#[test]
fn participant_operations() {
    let got = kinds(include_str!("../testdata/b_participant_operations.json"));
    let op = |operation, outcome, participant| EventKind::ParticipantOperation {
        operation,
        outcome,
        participant,
    };
    let bot = ident(
        "28:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130",
        IdentifierKind::MicrosoftTeamsApp,
    );
    assert_eq!(
        got,
        vec![
            op(
                ParticipantOp::Add,
                Outcome::Succeeded,
                Some(phone("+14255550199"))
            ),
            op(
                ParticipantOp::Add,
                Outcome::Failed,
                Some(phone("+14255550199"))
            ),
            op(
                ParticipantOp::Remove,
                Outcome::Succeeded,
                Some(ident(ACS_USER, IdentifierKind::CommunicationUser))
            ),
            op(ParticipantOp::Remove, Outcome::Failed, Some(bot)),
            op(
                ParticipantOp::CancelAdd,
                Outcome::Succeeded,
                Some(phone("+14255550199"))
            ),
            op(ParticipantOp::CancelAdd, Outcome::Failed, None),
        ]
    );
}

#[test]
fn transfer_accepted_and_failed() {
    let got = kinds(include_str!("../testdata/b_transfer.json"));
    assert_eq!(
        got,
        vec![
            EventKind::Transfer {
                outcome: Outcome::Accepted,
                transferee: Some(phone("+14255550123")),
                target: Some(ident(
                    "8:orgid:b2c4f6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
                    IdentifierKind::MicrosoftTeamsUser
                )),
            },
            EventKind::Transfer {
                outcome: Outcome::Failed,
                transferee: None,
                target: None,
            },
        ]
    );
}

#[test]
fn recording_send_dtmf_operation_failures_and_unknown() {
    let body = include_str!("../testdata/b_misc.json");
    let events = all(body);
    assert_raw_is_each_element(body, &events);
    let got: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    let failed = |op: &str| EventKind::OperationFailed {
        operation: op.into(),
    };
    assert_eq!(
        got,
        vec![
            EventKind::Recording {
                state: Some("active".into()),
                recording_id: Some("eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiI0MjFmMTEwMCJ9".into()),
            },
            EventKind::SendDtmf {
                outcome: Outcome::Completed
            },
            EventKind::SendDtmf {
                outcome: Outcome::Failed
            },
            failed("CreateCall"),
            failed("Answer"),
            failed("Hold"),
            EventKind::Unknown,
        ]
    );
    let create = &events[3];
    assert_eq!(
        create.common.operation_context.as_deref(),
        Some("outbound-alert")
    );
    assert_eq!(create.common.result.as_ref().unwrap().sub_code, Some(10880));

    // An unknown type is stored with its correlation fields all the same.
    let unknown = &events[6];
    assert_eq!(
        unknown.event_type,
        "Microsoft.Communication.MediaStreamingStarted"
    );
    assert_eq!(unknown.common.call_id.as_deref(), Some(CONN));
    assert_eq!(unknown.common.correlation_id.as_deref(), Some(CORRELATION));
    assert_eq!(unknown.common.operation_context.as_deref(), Some("stream"));
}
