//! End-to-end tests on whole bodies, one file per era or concern. Fixtures
//! under `testdata/` follow real payloads of each era.

mod a1;
mod a2;
mod bodies;
mod call_automation;
mod cloud_events;
mod dedup;
mod event_grid;
mod malformed;
mod unstorable;

use chrono::{DateTime, Utc};

use crate::events::{parse_callback_body, Identifier, IdentifierKind, ParseError, ParsedEvent};

/// Parses a callback body that must hold exactly one event.
fn one(body: &str) -> ParsedEvent {
    let mut events = parse_callback_body(body.as_bytes()).expect("body should parse");
    assert_eq!(events.len(), 1, "one event expected");
    events.remove(0)
}

fn all(body: &str) -> Vec<ParsedEvent> {
    parse_callback_body(body.as_bytes()).expect("body should parse")
}

/// The (element, field, message) of an `InvalidEvent`, panicking otherwise.
fn invalid<T: std::fmt::Debug>(result: Result<T, ParseError>) -> (Option<usize>, String, String) {
    match result {
        Err(ParseError::InvalidEvent {
            element,
            field,
            message,
        }) => (element, field, message),
        other => panic!("expected InvalidEvent, got {other:?}"),
    }
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ident(raw_id: &str, kind: IdentifierKind) -> Identifier {
    Identifier {
        raw_id: raw_id.into(),
        kind,
    }
}

const ACS_USER: &str =
    "8:acs:1b5cc06b-f352-4571-b1e6-d9b259b7c776_00000018-1c6b-2e2f-f40f-343a0d00e5c1";

/// Each event's `raw` must be the exact text of the matching array element:
/// found in the body in order, and equal to that element once parsed.
fn assert_raw_is_each_element(body: &str, events: &[ParsedEvent]) {
    let elements: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
    assert_eq!(elements.len(), events.len());
    let mut from = 0;
    for (i, (ev, element)) in events.iter().zip(&elements).enumerate() {
        let at = body[from..]
            .find(&ev.raw)
            .unwrap_or_else(|| panic!("raw of element {i} is not a slice of the body"));
        from += at + ev.raw.len();
        assert!(
            ev.raw.starts_with('{') && ev.raw.ends_with('}'),
            "element {i}"
        );
        let reparsed: serde_json::Value = serde_json::from_str(&ev.raw).unwrap();
        assert_eq!(&reparsed, element, "element {i}");
    }
}
