//! Body shapes, format detection, raw text preservation and tolerance.

use super::{all, invalid, one};
use crate::events::{
    parse_callback_body, CommonFields, EventKind, Outcome, ParseError, ResultInfo, WireFormat,
};

#[test]
fn raw_is_byte_exact_for_each_array_element() {
    let body = "[ {\"type\":\"Microsoft.Communication.CallConnected\" , \"id\":\"e1\",\"source\":\"s\",\"data\":{\"callConnectionId\":\"c1\"}},\n\t{ \"id\" : \"e2\", \"source\" :\"s\",\n  \"type\": \"Microsoft.Communication.PlayCompleted\", \"data\": {}  }\r\n,{\"type\":\"X.Y\",\"id\":\"e3\",\"source\":\"s\"} ]";
    let events = all(body);
    assert_eq!(
        events.iter().map(|e| e.raw.as_str()).collect::<Vec<_>>(),
        vec![
            "{\"type\":\"Microsoft.Communication.CallConnected\" , \"id\":\"e1\",\"source\":\"s\",\"data\":{\"callConnectionId\":\"c1\"}}",
            "{ \"id\" : \"e2\", \"source\" :\"s\",\n  \"type\": \"Microsoft.Communication.PlayCompleted\", \"data\": {}  }",
            "{\"type\":\"X.Y\",\"id\":\"e3\",\"source\":\"s\"}",
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
    let body = "\n\t {\"specversion\":\"1.0\", \"id\":\"e1\", \"source\":\"calling/callConnections/c1\", \"type\":\"Microsoft.Communication.CallConnectionStateChanged\",\"data\":{\"callConnectionState\":\"Disconnected\"}}  \r\n";
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
fn raw_keeps_escapes_byte_exact_while_fields_decode_them() {
    let body = r#"[{"id":"e\u00e91","source":"s\/1","type":"Microsoft.Communication.CallConnected","data":{"callConnectionId":"c\"x\\","operationContext":"caf\u00e9 \ud83d\ude00\t"}}]"#;
    let ev = &all(body)[0];
    assert_eq!(ev.raw, &body[1..body.len() - 1]);
    assert!(ev.raw.contains(r"\u00e9") && ev.raw.contains(r"\ud83d\ude00"));
    assert_eq!(ev.event_id.as_deref(), Some("eé1"));
    assert_eq!(ev.source.as_deref(), Some("s/1"));
    assert_eq!(ev.common.call_id.as_deref(), Some("c\"x\\"));
    assert_eq!(ev.common.operation_context.as_deref(), Some("café 😀\t"));
}

#[test]
fn nul_in_any_string_is_refused_naming_the_field() {
    let envelope = r#""id":"e1","source":"s","type":"Microsoft.Communication.CallConnected""#;
    let cases = [
        (
            r#"{"id":"e\u00001","source":"s","type":"Microsoft.Communication.CallConnected","data":{"callConnectionId":"c1"}}"#.to_owned(),
            "id",
        ),
        (
            format!(r#"{{{envelope},"data":{{"callConnectionId":"c\u0000x"}}}}"#),
            "data.callConnectionId",
        ),
        (
            format!(r#"{{{envelope},"data":{{"callConnectionId":"c1","extra":[{{"note":"\u0000"}}]}}}}"#),
            "data.extra[0].note",
        ),
        (
            format!(r#"{{{envelope},"data":{{"callConnectionId":"c1","k\u0000":1}}}}"#),
            "data.k\u{0}",
        ),
    ];
    for (element, want_field) in &cases {
        let body = format!(r#"[{{"id":"ok","source":"s","type":"T"}}, {element}]"#);
        let (index, field, message) = invalid(parse_callback_body(body.as_bytes()));
        assert_eq!((index, field.as_str()), (Some(1), *want_field), "{element}");
        assert_eq!(
            message,
            format!(
                "element 1: field `{want_field}` contains a NUL character (\\u0000), which cannot be stored"
            ),
            "{element}"
        );
    }
    // A single object (A1 here, whose null id is fine) and the Event Grid endpoint refuse it too.
    let a1 = r#"{"id":null,"eventType":"Microsoft.Communication.DtmfReceived","subject":"callLeg/x\u0000/dtmf"}"#;
    assert_eq!(
        invalid(parse_callback_body(a1.as_bytes())),
        (
            None,
            "subject".to_owned(),
            "event: field `subject` contains a NUL character (\\u0000), which cannot be stored"
                .to_owned()
        )
    );
    let eg = r#"[{"id":"x1","topic":"t\u0000","eventType":"Contoso.Custom","data":{}}]"#;
    let (index, field, _) = invalid(crate::events::parse_eventgrid_body(eg.as_bytes()));
    assert_eq!((index, field.as_str()), (Some(0), "topic"));
    // The six characters `\u0000`, escaped as text, are no NUL: they are kept.
    let text = r#"[{"id":"e1","source":"s","type":"T","data":{"operationContext":"\\u0000"}}]"#;
    assert_eq!(
        all(text)[0].common.operation_context.as_deref(),
        Some(r"\u0000")
    );
}

#[test]
fn format_detection_for_callbacks() {
    let a1 = one(r#"{"eventType": "Microsoft.Communication.Something", "data": {}}"#);
    assert_eq!(a1.format, WireFormat::A1);
    let a2 = one(
        r#"{"specversion": "1.0", "id": "e1", "source": "s", "type": "Microsoft.Communication.Something"}"#,
    );
    assert_eq!(a2.format, WireFormat::A2);
    // `specversion` decides even when an `eventType` is also present.
    let both =
        one(r#"{"specversion": "1.0", "id": "e1", "source": "s", "type": "T", "eventType": "E"}"#);
    assert_eq!(
        (both.format, both.event_type.as_str()),
        (WireFormat::A2, "T")
    );
    let b = all(r#"[{"id": "e1", "source": "s", "type": "T"}]"#);
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
fn byte_order_mark_is_refused_as_invalid_json() {
    let array = r#"[{"type":"T","id":"1","source":"s"}]"#;
    let object = r#"{"specversion":"1.0","type":"T","id":"1","source":"s"}"#;
    let bom = ParseError::InvalidJson(
        "the body starts with a byte order mark (U+FEFF), which JSON does not allow".into(),
    );
    for body in [array, object] {
        // Without the mark the same body is accepted: the mark alone is refused.
        assert_eq!(all(body).len(), 1, "{body}");
        let with_bom = format!("\u{feff}{body}");
        assert_eq!(
            parse_callback_body(with_bom.as_bytes()),
            Err(bom.clone()),
            "{body}"
        );
        assert_eq!(
            crate::events::parse_eventgrid_body(with_bom.as_bytes()),
            Err(bom.clone()),
            "{body}"
        );
    }
    // Nor is it whitespace further in.
    let after_space = format!(" \u{feff}{array}");
    assert!(matches!(
        parse_callback_body(after_space.as_bytes()),
        Err(ParseError::InvalidJson(_))
    ));
}

#[test]
fn unknown_type_keeps_common_fields_and_tolerates_odd_ones() {
    let body = r#"[{"id": "u1", "source": "s", "type": "Microsoft.Communication.HoldAudioStarted",
                    "data": {"callConnectionId": "c9", "sequenceNumber": "seven",
                             "resultInformation": {"code": 200, "subCode": "x", "message": "ok"}}},
                   {"id": "u2", "source": "s", "type": "Contoso.NoData", "data": null},
                   {"id": "u3", "source": "s", "type": "Contoso.NoDataAtAll"}]"#;
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
    // `id` and `source` may not be null in a CloudEvent: see `cloud_events`.
    let body = r#"[{"id": "e1", "source": "s", "subject": null, "time": null,
                    "type": "Microsoft.Communication.PlayFailed", "extension": {"x": [1, 2]},
                    "data": {"failedPlaySourceIndex": null, "operationContext": null,
                             "resultInformation": null, "brandNewField": {"deep": true}}}]"#;
    let ev = &all(body)[0];
    assert_eq!(ev.event_id.as_deref(), Some("e1"));
    assert_eq!(ev.subject, None);
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
