//! Body shapes, format detection, raw text preservation and tolerance.

use super::{all, invalid, one};
use crate::events::{
    parse_callback_body, CommonFields, EventKind, Outcome, ParseError, ResultInfo, WireFormat,
};

#[test]
fn raw_is_byte_exact_for_each_array_element() {
    let body = "[ {\"type\":\"Microsoft.Communication.CallConnected\" , \"id\":\"e1\",\"data\":{\"callConnectionId\":\"c1\"}},\n\t{ \"id\" : \"e2\",\n  \"type\": \"Microsoft.Communication.PlayCompleted\", \"data\": {}  }\r\n,{\"type\":\"X.Y\"} ]";
    let events = all(body);
    assert_eq!(
        events.iter().map(|e| e.raw.as_str()).collect::<Vec<_>>(),
        vec![
            "{\"type\":\"Microsoft.Communication.CallConnected\" , \"id\":\"e1\",\"data\":{\"callConnectionId\":\"c1\"}}",
            "{ \"id\" : \"e2\",\n  \"type\": \"Microsoft.Communication.PlayCompleted\", \"data\": {}  }",
            "{\"type\":\"X.Y\"}",
        ]
    );
    assert_eq!(events[0].common.call_id.as_deref(), Some("c1"));
    assert!(matches!(
        events[1].kind,
        EventKind::Play {
            outcome: Outcome::Completed,
            ..
        }
    ));
    assert_eq!(events[2].kind, EventKind::Unknown);
}

#[test]
fn raw_of_a_single_object_is_the_body_without_surrounding_whitespace() {
    let body = "\n\t {\"specversion\":\"1.0\", \"type\":\"Microsoft.Communication.CallConnectionStateChanged\",\"data\":{\"callConnectionState\":\"Disconnected\"}}  \r\n";
    let ev = one(body);
    assert_eq!(ev.raw, body.trim());
    assert_eq!(
        ev.kind,
        EventKind::CallState {
            state: "disconnected".into(),
            conversation_id: None
        }
    );
}

#[test]
fn raw_keeps_escapes_and_nul_while_fields_replace_nul() {
    let body = r#"[{"id":"e\u00001","type":"Microsoft.Communication.CallConnected","data":{"callConnectionId":"c\u0000x","operationContext":"caf\u00e9"}}]"#;
    let ev = &all(body)[0];
    assert_eq!(ev.raw, &body[1..body.len() - 1]);
    assert!(ev.raw.contains(r"\u0000"));
    assert_eq!(ev.event_id.as_deref(), Some("e\u{FFFD}1"));
    assert_eq!(ev.common.call_id.as_deref(), Some("c\u{FFFD}x"));
    assert_eq!(ev.common.operation_context.as_deref(), Some("café"));
}

#[test]
fn format_detection_for_callbacks() {
    let a1 = one(r#"{"eventType": "Microsoft.Communication.Something", "data": {}}"#);
    assert_eq!(a1.format, WireFormat::A1);
    let a2 = one(r#"{"specversion": "1.0", "type": "Microsoft.Communication.Something"}"#);
    assert_eq!(a2.format, WireFormat::A2);
    // `specversion` decides even when an `eventType` is also present.
    let both = one(r#"{"specversion": "1.0", "type": "T", "eventType": "E"}"#);
    assert_eq!(
        (both.format, both.event_type.as_str()),
        (WireFormat::A2, "T")
    );
    let b = all(r#"[{"type": "T"}]"#);
    assert_eq!(b[0].format, WireFormat::CallAutomation);

    for body in ["42", "\"text\"", "null", "true"] {
        let (element, field, message) = invalid(parse_callback_body(body.as_bytes()));
        assert_eq!((element, field.as_str()), (None, ""), "{body}");
        assert_eq!(message, "body must be a JSON object or an array of objects");
    }
    let (element, field, message) = invalid(parse_callback_body(br#"{"type": "T", "data": {}}"#));
    assert_eq!((element, field.as_str()), (None, ""));
    assert_eq!(message, "event: has neither `specversion` nor `eventType`");
}

#[test]
fn empty_array_is_no_events() {
    let (element, field, message) = invalid(parse_callback_body(b" [ ] "));
    assert_eq!((element, field.as_str()), (None, ""));
    assert_eq!(message, "no events: the body is an empty array");
    assert!(crate::events::parse_eventgrid_body(b"[]").is_err());
}

#[test]
fn byte_order_mark_is_tolerated() {
    let body = "\u{feff}[{\"type\":\"T\",\"id\":\"1\"}]";
    assert_eq!(all(body)[0].raw, "{\"type\":\"T\",\"id\":\"1\"}");
}

#[test]
fn unknown_type_keeps_common_fields_and_tolerates_odd_ones() {
    let body = r#"[{"id": "u1", "source": "s", "type": "Microsoft.Communication.HoldAudioStarted",
                    "data": {"callConnectionId": "c9", "sequenceNumber": "seven",
                             "resultInformation": {"code": 200, "subCode": "x", "message": "ok"}}},
                   {"id": "u2", "type": "Contoso.NoData", "data": null},
                   {"id": "u3", "type": "Contoso.NoDataAtAll"}]"#;
    let events = all(body);
    assert_eq!(events[0].kind, EventKind::Unknown);
    assert_eq!(
        events[0].common,
        CommonFields {
            call_id: Some("c9".into()),
            result: Some(ResultInfo {
                code: Some(200),
                sub_code: None,
                message: Some("ok".into()),
            }),
            ..CommonFields::default()
        }
    );
    assert_eq!(events[1].kind, EventKind::Unknown);
    assert_eq!(events[1].common, CommonFields::default());
    assert_eq!(events[2].kind, EventKind::Unknown);
}

#[test]
fn keys_match_whatever_their_case() {
    let body = r#"[{"ID": "m1", "Source": "s", "TYPE": "microsoft.communication.participantsupdated",
                    "Time": "2024-03-12T09:15:40.43+00:00",
                    "DATA": {"CALLCONNECTIONID": "c1", "SequenceNumber": 9,
                             "ResultInformation": {"Code": 200, "subcode": 0},
                             "Participants": [{"Identifier": {"RAWID": "4:+14255550123"},
                                               "ISMUTED": true, "isonhold": false}]}}]"#;
    let ev = &all(body)[0];
    assert_eq!(ev.event_id.as_deref(), Some("m1"));
    assert_eq!(ev.source.as_deref(), Some("s"));
    assert_eq!(ev.event_type, "microsoft.communication.participantsupdated");
    assert!(ev.event_time.is_some());
    assert_eq!(ev.common.call_id.as_deref(), Some("c1"));
    assert_eq!(ev.common.sequence_number, Some(9));
    assert_eq!(ev.common.result.as_ref().unwrap().sub_code, Some(0));
    match &ev.kind {
        EventKind::ParticipantsUpdated { participants } => {
            assert_eq!(participants.len(), 1);
            assert_eq!(participants[0].identifier.raw_id, "4:+14255550123");
            assert_eq!(participants[0].is_muted, Some(true));
            assert_eq!(participants[0].is_on_hold, Some(false));
        }
        other => panic!("unexpected kind {other:?}"),
    }
}

#[test]
fn nulls_and_extra_fields_are_tolerated() {
    let body = r#"[{"id": null, "source": null, "subject": null, "time": null,
                    "type": "Microsoft.Communication.PlayFailed", "extension": {"x": [1, 2]},
                    "data": {"failedPlaySourceIndex": null, "operationContext": null,
                             "resultInformation": null, "brandNewField": {"deep": true}}}]"#;
    let ev = &all(body)[0];
    assert_eq!(ev.event_id, None);
    assert_eq!(ev.event_time, None);
    assert_eq!(ev.common, CommonFields::default());
    assert_eq!(
        ev.kind,
        EventKind::Play {
            outcome: Outcome::Failed,
            status: None,
            failed_play_source_index: None
        }
    );
}

#[test]
fn wire_format_names() {
    let cases = [
        (WireFormat::A1, "a1"),
        (WireFormat::A2, "a2"),
        (WireFormat::CallAutomation, "call_automation"),
        (WireFormat::EventGrid, "event_grid"),
        (WireFormat::CloudEvent, "cloud_event"),
    ];
    assert_eq!(cases.map(|(format, _)| format), WireFormat::ALL);
    for (format, name) in cases {
        assert_eq!(format.as_str(), name);
        assert_eq!(
            serde_json::to_value(format).unwrap(),
            serde_json::json!(name)
        );
    }
}

#[test]
fn invalid_json_and_invalid_utf8() {
    assert!(matches!(
        parse_callback_body(b"{\"type\": "),
        Err(ParseError::InvalidJson(_))
    ));
    assert!(matches!(
        parse_callback_body(b"[{\"type\": \"T\"}] trailing"),
        Err(ParseError::InvalidJson(_))
    ));
    assert!(matches!(
        parse_callback_body(b"[{\"type\": \"\xff\"}]"),
        Err(ParseError::InvalidJson(_))
    ));
    assert!(matches!(
        parse_callback_body(b""),
        Err(ParseError::InvalidJson(_))
    ));
}
