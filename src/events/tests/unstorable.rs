//! Elements the event log could not hold faithfully are refused whole, naming element and field:
//! keys repeated in one object, numbers too small to store and times earlier than any a
//! `timestamptz` holds. (NUL: see `bodies`.)

use super::{all, invalid, one};
use crate::events::{parse_callback_body, parse_eventgrid_body, EventGridDelivery};

const REPEATED: &str =
    "appears more than once in its object (keys are compared without regard to case)";
const TOO_SMALL: &str =
    "is a number too small to store (its magnitude must be zero or at least about 2.2e-308, the smallest a double holds in full)";
const ENVELOPE: &str = r#""id":"e1","source":"s","type":"Microsoft.Communication.CallConnected""#;

/// `data` as element 1 of a GA array after a valid event, and the refusal it gets.
fn refusal_of_data(data: &str) -> (Option<usize>, String, String) {
    let body = format!(
        r#"[{{{ENVELOPE},"data":{{"callConnectionId":"c0"}}}}, {{{ENVELOPE},"data":{data}}}]"#
    );
    invalid(parse_callback_body(body.as_bytes()))
}

#[test]
fn keys_repeated_in_one_object_are_refused_whatever_their_case() {
    let cases = [
        (
            r#"{"callConnectionId":"a","callConnectionId":"b"}"#,
            "data.callConnectionId",
        ),
        (
            r#"{"callConnectionId":"a","CallConnectionID":"a"}"#,
            "data.CallConnectionID",
        ),
        (
            r#"{"callConnectionId":"a","participants":[{"identifier":{"rawId":"4:+1","RawId":"4:+2"}}]}"#,
            "data.participants[0].identifier.RawId",
        ),
    ];
    for (data, want_field) in cases {
        assert_eq!(
            refusal_of_data(data),
            (
                Some(1),
                want_field.to_owned(),
                format!("element 1: field `{want_field}` {REPEATED}")
            ),
            "{data}"
        );
    }
    // In the envelope, in a single object (A1) and on the Event Grid endpoint.
    let body = format!(r#"[{{{ENVELOPE},"ID":"e2","data":{{"callConnectionId":"c1"}}}}]"#);
    assert_eq!(
        invalid(parse_callback_body(body.as_bytes())),
        (
            Some(0),
            "ID".to_owned(),
            format!("element 0: field `ID` {REPEATED}")
        )
    );
    let a1 = r#"{"eventType":"Contoso.Custom","EventType":"Contoso.Other","data":{}}"#;
    assert_eq!(
        invalid(parse_callback_body(a1.as_bytes())),
        (
            None,
            "EventType".to_owned(),
            format!("event: field `EventType` {REPEATED}")
        )
    );
    let eg = r#"[{"id":"x1","eventType":"Contoso.Custom","data":{"a":1,"A":1}}]"#;
    let (element, field, _) = invalid(parse_eventgrid_body(eg.as_bytes()));
    assert_eq!((element, field.as_str()), (Some(0), "data.A"));
}

#[test]
fn the_same_key_in_different_objects_is_fine() {
    let body = format!(
        r#"[{{{ENVELOPE},"data":{{"callConnectionId":"c1","a":{{"id":1}},"b":{{"id":2}},"list":[{{"id":1}},{{"id":2}}]}}}},
            {{{ENVELOPE},"data":{{"callConnectionId":"c1"}}}}]"#
    );
    let events = all(&body);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].common.call_id.as_deref(), Some("c1"));
}

#[test]
fn nonzero_numbers_too_small_to_store_are_refused() {
    let cases = [
        (r#"{"callConnectionId":"c1","x":1e-400}"#, "data.x"),
        (r#"{"callConnectionId":"c1","x":-2.5e-320}"#, "data.x"),
        (r#"{"callConnectionId":"c1","x":5e-324}"#, "data.x"),
        (
            r#"{"callConnectionId":"c1","list":[0.0,1.5,0.00001e-330]}"#,
            "data.list[2]",
        ),
    ];
    for (data, want_field) in cases {
        assert_eq!(
            refusal_of_data(data),
            (
                Some(1),
                want_field.to_owned(),
                format!("element 1: field `{want_field}` {TOO_SMALL}")
            ),
            "{data}"
        );
    }
    let a1 = r#"{"eventType":"Contoso.Custom","data":{"gain":1e-999}}"#;
    assert_eq!(
        invalid(parse_callback_body(a1.as_bytes())),
        (
            None,
            "data.gain".to_owned(),
            format!("event: field `data.gain` {TOO_SMALL}")
        )
    );
}

#[test]
fn zeros_small_doubles_and_number_like_text_are_kept() {
    let body = format!(
        r#"{{"specversion":"1.0",{ENVELOPE},"data":{{"callConnectionId":"c1","operationContext":"1e-400",
            "zeros":[0,0.0,-0.0,0e-400,0.000E+5],"small":1e-300}}}}"#
    );
    let ev = one(&body);
    assert_eq!(ev.raw, body);
    assert_eq!(ev.common.operation_context.as_deref(), Some("1e-400"));

    let eg = r#"[{"id":"x1","eventType":"Contoso.Custom","data":{"z":0e-999,"s":1e-300}}]"#;
    let Ok(EventGridDelivery::Events(events)) = parse_eventgrid_body(eg.as_bytes()) else {
        panic!("expected events");
    };
    assert_eq!(events.len(), 1);
}

/// Found by the `callback_parser` fuzz target's property that every accepted event time fits
/// `timestamptz`: a time without an offset is read with a year that may carry a sign and more
/// digits, so `-5000-09-13T21:27:10` was accepted, and PostgreSQL refused to store it (a `500`).
#[test]
fn times_earlier_than_any_that_can_be_stored_are_refused() {
    const TOO_EARLY: &str = "is earlier than the earliest time that can be stored (4714-11-24 BC)";
    let a2 = |time: &str| {
        format!(
            r#"{{"specversion":"1.0",{ENVELOPE},"time":"{time}","data":{{"callConnectionId":"c1"}}}}"#
        )
    };
    for time in ["-5000-09-13T21:27:10", "-4713-11-23T23:59:59.999999"] {
        assert_eq!(
            invalid(parse_callback_body(a2(time).as_bytes())),
            (
                None,
                "time".to_owned(),
                format!("event: field `time` {TOO_EARLY}")
            ),
            "{time}"
        );
    }
    // The earliest that can be stored, and years past 9999, are times like any other.
    assert_eq!(
        one(&a2("-4713-11-24T00:00:00"))
            .event_time
            .map(|t| t.timestamp()),
        Some(-210_866_803_200)
    );
    assert!(one(&a2("+10000-01-01T00:00:00")).event_time.is_some());

    let eg = include_str!("../testdata/eg_recording_file_status.json")
        .replace("2024-03-12T09:15:41.4160000Z", "-9999-01-01T00:00:00");
    assert_eq!(
        invalid(parse_eventgrid_body(eg.as_bytes())),
        (
            Some(0),
            "data.recordingStartTime".to_owned(),
            format!("element 0: field `data.recordingStartTime` {TOO_EARLY}")
        )
    );
}
