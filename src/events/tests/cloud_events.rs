//! CloudEvents must carry a non-empty string `id` and `source`, in every format that uses them:
//! A2, GA arrays (B) and CloudEvents delivered by Event Grid. The Event Grid schema (and A1, which
//! imitates it) needs neither.

use super::{all, invalid, one};
use crate::events::{
    parse_callback_body, parse_eventgrid_body, EventGridDelivery, ParsedEvent, WireFormat,
};

const REQUIRED: &str = "is required: a non-empty string, as CloudEvents requires";

/// The `id` and `source` members of an element, each left out (`None`) or given as written.
fn envelope(id: Option<&str>, source: Option<&str>) -> String {
    let mut members = vec![r#""type":"Microsoft.Communication.CallConnected""#.to_owned()];
    members.extend(id.map(|v| format!(r#""id":{v}"#)));
    members.extend(source.map(|v| format!(r#""source":{v}"#)));
    members.push(r#""data":{"callConnectionId":"c1"}"#.to_owned());
    members.join(",")
}

/// Every way of lacking `id` or `source`, with the field that must be named.
fn lacking() -> Vec<(String, &'static str)> {
    let good = r#""calling/callConnections/c1""#;
    let mut cases = Vec::new();
    for bad in [
        None,
        Some("null"),
        Some(r#""""#),
        Some(r#"" ""#),
        Some(r#""\t\n ""#),
    ] {
        cases.push((envelope(bad, Some(good)), "id"));
        cases.push((envelope(Some(r#""e1""#), bad), "source"));
    }
    // Both lacking: `id` is named first.
    cases.push((envelope(None, None), "id"));
    cases
}

fn eventgrid_events(body: &str) -> Vec<ParsedEvent> {
    match parse_eventgrid_body(body.as_bytes()).expect("body should parse") {
        EventGridDelivery::Events(events) => events,
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn a2_without_a_non_empty_id_or_source_is_refused() {
    for (members, want_field) in lacking() {
        let body = format!(r#"{{"specversion":"1.0",{members}}}"#);
        assert_eq!(
            invalid(parse_callback_body(body.as_bytes())),
            (
                None,
                want_field.to_owned(),
                format!("event: field `{want_field}` {REQUIRED}")
            ),
            "{body}"
        );
    }
    let ok = one(&format!(
        r#"{{"specversion":"1.0",{}}}"#,
        envelope(Some(r#""e1""#), Some(r#""calling/callConnections/c1""#))
    ));
    assert_eq!(ok.format, WireFormat::A2);
    assert_eq!(
        (ok.event_id.as_deref(), ok.source.as_deref()),
        (Some("e1"), Some("calling/callConnections/c1"))
    );
}

#[test]
fn array_element_without_a_non_empty_id_or_source_is_refused_naming_it() {
    let good = envelope(Some(r#""e0""#), Some(r#""s""#));
    for (members, want_field) in lacking() {
        let body = format!("[{{{good}}}, {{{members}}}]");
        assert_eq!(
            invalid(parse_callback_body(body.as_bytes())),
            (
                Some(1),
                want_field.to_owned(),
                format!("element 1: field `{want_field}` {REQUIRED}")
            ),
            "{body}"
        );
    }
    let events = all(&format!("[{{{good}}}]"));
    assert_eq!(events[0].format, WireFormat::CallAutomation);
    assert_eq!(events[0].event_id.as_deref(), Some("e0"));
}

#[test]
fn event_grid_cloud_event_without_a_non_empty_id_or_source_is_refused() {
    for (members, want_field) in lacking() {
        let body = format!(r#"[{{"specversion":"1.0",{members}}}]"#);
        assert_eq!(
            invalid(parse_eventgrid_body(body.as_bytes())),
            (
                Some(0),
                want_field.to_owned(),
                format!("element 0: field `{want_field}` {REQUIRED}")
            ),
            "{body}"
        );
        // As a single object, too.
        let body = format!(r#"{{"specversion":"1.0",{members}}}"#);
        let (element, field, _) = invalid(parse_eventgrid_body(body.as_bytes()));
        assert_eq!((element, field.as_str()), (None, want_field), "{body}");
    }
}

#[test]
fn event_grid_schema_needs_neither_id_nor_topic() {
    // A1 sends `"id": null` and `"topic": null`.
    let a1 = one(include_str!("../testdata/a1_dtmf_received.json"));
    assert_eq!(a1.format, WireFormat::A1);
    assert_eq!((a1.event_id, a1.source), (None, None));
    let a1 = one(r#"{"eventType": "Contoso.Custom", "id": "", "data": {}}"#);
    assert_eq!(a1.event_id.as_deref(), Some(""));

    let events = eventgrid_events(
        r#"[{"id": null, "eventType": "Contoso.Custom", "data": {}},
            {"id": " ", "topic": "", "eventType": "Contoso.Custom"}]"#,
    );
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.format == WireFormat::EventGrid));
    assert_eq!(events[0].event_id, None);
    assert_eq!(events[1].source.as_deref(), Some(""));
}

#[test]
fn envelope_errors_come_before_and_data_errors_after_the_id_check() {
    // Neither `id` nor `source` in any of these.
    let before = [
        (r#"{"data": {}}"#, "type", "is required"),
        (r#"{"type": 5}"#, "type", "must be a string"),
        (
            r#"{"type": "T", "subject": []}"#,
            "subject",
            "must be a string",
        ),
        (r#"{"type": "T", "time": 1}"#, "time", "must be a string"),
        (
            r#"{"type": "T", "time": "soon"}"#,
            "time",
            "must be an RFC 3339 timestamp",
        ),
        (r#"{"type": "T", "id": 7}"#, "id", "must be a string"),
        (
            r#"{"type": "T", "source": 7}"#,
            "source",
            "must be a string",
        ),
    ];
    for (element, want_field, problem) in before {
        let body = format!("[{element}]");
        assert_eq!(
            invalid(parse_callback_body(body.as_bytes())),
            (
                Some(0),
                want_field.to_owned(),
                format!("element 0: field `{want_field}` {problem}")
            ),
            "{element}"
        );
    }
    // Errors in `data` of a known type are found only once the envelope is complete.
    let after = [
        r#"{"type": "Microsoft.Communication.CallConnected", "data": {"callConnectionId": 421}}"#,
        r#"{"type": "Microsoft.Communication.PlayCompleted"}"#,
        r#"{"type": "Microsoft.Communication.ParticipantsUpdated", "data": {}}"#,
    ];
    for element in after {
        let body = format!("[{element}]");
        let (_, field, message) = invalid(parse_callback_body(body.as_bytes()));
        assert_eq!(
            (field.as_str(), message),
            ("id", format!("element 0: field `id` {REQUIRED}")),
            "{element}"
        );
        let with_id = element.replacen('{', r#"{"id": "e1", "#, 1);
        let (_, field, _) = invalid(parse_callback_body(format!("[{with_id}]").as_bytes()));
        assert_eq!(field, "source", "{with_id}");
        let complete = element.replacen('{', r#"{"id": "e1", "source": "s", "#, 1);
        let (_, field, _) = invalid(parse_callback_body(format!("[{complete}]").as_bytes()));
        assert!(field.starts_with("data"), "{complete}: {field}");
    }
}
