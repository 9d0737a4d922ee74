//! Every malformed case rejects the whole body and names element and field.

use super::invalid;
use crate::events::parse_callback_body;

const GOOD: &str = r#"{"id": "ok-1", "source": "s", "type": "Microsoft.Communication.CallConnected", "data": {"callConnectionId": "c1"}}"#;

/// Wraps `bad` as element 2 of a GA array, after two valid events, so the
/// reported index proves the right element was blamed.
fn third(bad: &str) -> String {
    format!("[{GOOD}, {GOOD}, {bad}]")
}

fn check(bad: &str, want_field: &str, want_problem: &str) {
    let body = third(bad);
    let (element, field, message) = invalid(parse_callback_body(body.as_bytes()));
    assert_eq!(element, Some(2), "{bad}");
    assert_eq!(field, want_field, "{bad}");
    let want_message = if want_field.is_empty() {
        format!("element 2: {want_problem}")
    } else {
        format!("element 2: field `{want_field}` {want_problem}")
    };
    assert_eq!(message, want_message, "{bad}");
}

#[test]
fn envelope_errors() {
    check("42", "", "must be a JSON object");
    check("[]", "", "must be a JSON object");
    check(r#"{"id": "x", "data": {}}"#, "type", "is required");
    check(r#"{"type": null}"#, "type", "is required");
    check(r#"{"type": ["CallConnected"]}"#, "type", "must be a string");
    check(r#"{"type": "T", "data": "x"}"#, "data", "must be an object");
    check(r#"{"type": "T", "data": [1]}"#, "data", "must be an object");
    check(
        r#"{"type": "T", "time": 1710234940}"#,
        "time",
        "must be a string",
    );
    check(
        r#"{"type": "T", "time": "12/03/2024 09:15"}"#,
        "time",
        "must be an RFC 3339 timestamp",
    );
    check(r#"{"type": "T", "id": 17}"#, "id", "must be a string");
    check(
        r#"{"type": "T", "source": true}"#,
        "source",
        "must be a string",
    );
    check(
        r#"{"type": "T", "subject": {}}"#,
        "subject",
        "must be a string",
    );
}

#[test]
fn known_type_needs_object_data() {
    check(
        r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.CallConnected", "data": null}"#,
        "data",
        "must be an object",
    );
    check(
        r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.PlayCompleted"}"#,
        "data",
        "must be an object",
    );
}

#[test]
fn known_fields_with_wrong_types() {
    let cases = [
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"sequenceNumber": "4", "participants": []}}"#,
            "data.sequenceNumber",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"sequenceNumber": 4.5, "participants": []}}"#,
            "data.sequenceNumber",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"participants": {"identifier": "4:+1"}}}"#,
            "data.participants",
            "must be an array",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {}}"#,
            "data.participants",
            "is required",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"participants": [{"identifier": "4:+1"}, "8:acs:x"]}}"#,
            "data.participants[1]",
            "must be an object",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"participants": [{"identifier": {"kind": "communicationUser", "communicationUser": {}}}]}}"#,
            "data.participants[0].identifier",
            "has no rawId, communicationUser.id, phoneNumber.value, microsoftTeamsUser.userId or microsoftTeamsApp.appId",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"participants": [{"isMuted": false}]}}"#,
            "data.participants[0].identifier",
            "is required",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ParticipantsUpdated", "data": {"participants": [{"identifier": "4:+1", "isMuted": "no"}]}}"#,
            "data.participants[0].isMuted",
            "must be a boolean",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"sequenceId": 1}}"#,
            "data.tone",
            "is required",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"toneInfo": {"sequenceId": 1}}}"#,
            "data.toneInfo.tone",
            "is required",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"sequenceId": "1", "tone": "one"}}"#,
            "data.sequenceId",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"sequenceId": 1.0, "tone": "one"}}"#,
            "data.sequenceId",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"sequenceId": 1, "tone": 1}}"#,
            "data.tone",
            "must be a string",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ContinuousDtmfRecognitionToneReceived", "data": {"sequenceId": 1, "tone": " "}}"#,
            "data.tone",
            "must not be empty",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.ToneReceived", "data": {"toneInfo": "tone1"}}"#,
            "data.toneInfo",
            "must be an object",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.PlayFailed", "data": {"failedPlaySourceIndex": "1"}}"#,
            "data.failedPlaySourceIndex",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.PlayFailed", "data": {"resultInformation": {"code": "500"}}}"#,
            "data.resultInformation.code",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.PlayFailed", "data": {"resultInformation": "failed"}}"#,
            "data.resultInformation",
            "must be an object",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.CallConnected", "data": {"callConnectionId": 421}}"#,
            "data.callConnectionId",
            "must be a string",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.RecognizeCompleted", "data": {"dtmfResult": {"tones": ["one", 2]}}}"#,
            "data.dtmfResult.tones[1]",
            "must be a string",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.RecognizeCompleted", "data": {"collectTonesResult": {"tones": "123"}}}"#,
            "data.collectTonesResult.tones",
            "must be an array",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.AddParticipantSucceeded", "data": {"participant": 5}}"#,
            "data.participant",
            "must be an object or a raw id string",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.CallTransferAccepted", "data": {"transferTarget": {"phoneNumber": {}}}}"#,
            "data.transferTarget",
            "has no rawId, communicationUser.id, phoneNumber.value, microsoftTeamsUser.userId or microsoftTeamsApp.appId",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.RecordingStateChanged", "data": {"state": 1}}"#,
            "data.state",
            "must be a string",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.IncomingCall", "data": {"from": {"rawId": ""}}}"#,
            "data.from",
            "has no rawId, communicationUser.id, phoneNumber.value, microsoftTeamsUser.userId or microsoftTeamsApp.appId",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.RecordingFileStatusUpdated", "data": {"recordingDurationMs": "62456"}}"#,
            "data.recordingDurationMs",
            "must be an integer",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.RecordingFileStatusUpdated", "data": {"recordingStartTime": "soon"}}"#,
            "data.recordingStartTime",
            "must be an RFC 3339 timestamp",
        ),
        (
            r#"{"id": "e3", "source": "s", "type": "Microsoft.Communication.CallConnectionStateChanged", "data": {"callConnectionId": "c"}}"#,
            "data.callConnectionState",
            "is required",
        ),
    ];
    for (bad, field, problem) in cases {
        check(bad, field, problem);
    }
}

#[test]
fn single_object_errors_have_no_element_index() {
    let a1_missing_tone = r#"{"id": null, "eventType": "Microsoft.Communication.DtmfReceived",
        "data": {"ToneInfo": {"SequenceId": 3}, "CallLegId": "leg"}}"#;
    let (element, field, message) = invalid(parse_callback_body(a1_missing_tone.as_bytes()));
    assert_eq!(element, None);
    // The container keeps the sender's spelling; a missing key can only be
    // named the way we look it up.
    assert_eq!(field, "data.ToneInfo.tone");
    assert_eq!(message, "event: field `data.ToneInfo.tone` is required");

    let a1_bad_sequence = r#"{"eventType": "Microsoft.Communication.DtmfReceived",
        "data": {"ToneInfo": {"SequenceId": "3", "Tone": "Tone1"}}}"#;
    let (_, field, _) = invalid(parse_callback_body(a1_bad_sequence.as_bytes()));
    assert_eq!(field, "data.ToneInfo.SequenceId");

    let a1_bad_type = r#"{"eventType": 12, "data": {}}"#;
    let (element, field, _) = invalid(parse_callback_body(a1_bad_type.as_bytes()));
    assert_eq!((element, field.as_str()), (None, "eventType"));

    let a1_bad_time = r#"{"eventType": "T", "eventTime": "2021-05-05 late"}"#;
    let (_, field, _) = invalid(parse_callback_body(a1_bad_time.as_bytes()));
    assert_eq!(field, "eventTime");

    let a1_status = r#"{"eventType": "Microsoft.Communication.PlayAudioResult",
        "data": {"Status": "paused"}}"#;
    let (_, field, message) = invalid(parse_callback_body(a1_status.as_bytes()));
    assert_eq!(field, "data.Status");
    assert_eq!(
        message,
        "event: field `data.Status` must be one of notStarted, running, completed, failed"
    );

    let a1_no_status = r#"{"eventType": "Microsoft.Communication.InviteParticipantResult",
        "data": {"OperationContext": "x"}}"#;
    let (_, field, _) = invalid(parse_callback_body(a1_no_status.as_bytes()));
    assert_eq!(field, "data.status");
}

#[test]
fn a_malformed_element_rejects_valid_neighbours() {
    let body = format!("[{GOOD}, {{\"type\": 1}}, {GOOD}]");
    let (element, field, _) = invalid(parse_callback_body(body.as_bytes()));
    assert_eq!((element, field.as_str()), (Some(1), "type"));
}
