//! Deduplication keys across redeliveries.

use sha2::{Digest, Sha256};

use super::{all, one};
use crate::events::{canonical_json, parse_eventgrid_body, EventGridDelivery};

#[test]
fn a1_event_resent_with_other_whitespace_and_key_order_keeps_its_key() {
    let original = include_str!("../testdata/a1_dtmf_received.json");
    let resent = r#"{"eventTime":"2021-05-05T20:09:41.1220417Z","dataVersion":null,"eventType":"Microsoft.Communication.DtmfReceived","data":{"CallLegId":"511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c","ToneInfo":{"Tone":"Tone1","SequenceId":3}},"metadataVersion":null,"subject":"callLeg/511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c/dtmf","topic":null,"id":null}"#;
    let a = one(original);
    let b = one(resent);
    assert_ne!(a.raw, b.raw);
    assert_eq!(a.dedup_key, b.dedup_key);

    let value: serde_json::Value = serde_json::from_str(original).unwrap();
    let mut want = b"body\0".to_vec();
    want.extend_from_slice(canonical_json(&value).as_bytes());
    let want: [u8; 32] = Sha256::digest(&want).into();
    assert_eq!(a.dedup_key, want);
}

#[test]
fn a1_events_that_differ_get_different_keys() {
    let first = one(include_str!("../testdata/a1_dtmf_received.json"));
    let next = one(&include_str!("../testdata/a1_dtmf_received.json")
        .replace("\"SequenceId\": 3", "\"SequenceId\": 4"));
    assert_ne!(first.dedup_key, next.dedup_key);
}

#[test]
fn cloud_events_are_keyed_on_source_and_id_not_bytes() {
    let body = r#"[
      {"id": "9dff6ffa-1", "source": "calling/callConnections/c1", "type": "Microsoft.Communication.CallConnected",
       "time": "2024-03-12T09:15:40.43+00:00", "data": {"callConnectionId": "c1"}},
      {"source": "calling/callConnections/c1", "id": "9dff6ffa-1", "type": "Microsoft.Communication.CallConnected",
       "time": "2024-03-12T09:15:41+00:00", "data": {"callConnectionId": "c1", "retry": true}},
      {"id": "9dff6ffa-2", "source": "calling/callConnections/c1", "type": "Microsoft.Communication.CallConnected",
       "data": {"callConnectionId": "c1"}},
      {"id": "9dff6ffa-1", "source": "calling/callConnections/c2", "type": "Microsoft.Communication.CallConnected",
       "data": {"callConnectionId": "c2"}}
    ]"#;
    let events = all(body);
    assert_eq!(events[0].dedup_key, events[1].dedup_key);
    assert_ne!(events[0].dedup_key, events[2].dedup_key);
    assert_ne!(events[0].dedup_key, events[3].dedup_key);

    let want: [u8; 32] = Sha256::digest(b"id\0calling/callConnections/c1\09dff6ffa-1").into();
    assert_eq!(events[0].dedup_key, want);
}

#[test]
fn event_grid_topic_serves_as_source() {
    let body = include_str!("../testdata/eg_incoming_call.json");
    let EventGridDelivery::Events(events) = parse_eventgrid_body(body.as_bytes()).unwrap() else {
        panic!("expected events");
    };
    let mut want = b"id\0".to_vec();
    want.extend_from_slice(events[0].source.as_deref().unwrap().as_bytes());
    want.push(0);
    want.extend_from_slice(b"4a1e6b7c-2d3f-4c5a-9b8e-7f6d5c4b3a21");
    let want: [u8; 32] = Sha256::digest(&want).into();
    assert_eq!(events[0].dedup_key, want);
}

#[test]
fn empty_id_falls_back_to_the_body() {
    // Otherwise every event of such a sender would collapse into one. CloudEvents must carry a
    // non-empty id (see `cloud_events`); the Event Grid schema may send an empty or blank one.
    let body = r#"[{"id": "", "topic": "s", "eventType": "T", "data": {"n": 1}},
                   {"id": "", "topic": "s", "eventType": "T", "data": {"n": 2}},
                   {"id": " ", "topic": "s", "eventType": "T", "data": {"n": 2}}]"#;
    let EventGridDelivery::Events(events) = parse_eventgrid_body(body.as_bytes()).unwrap() else {
        panic!("expected events");
    };
    assert_eq!(events[0].event_id.as_deref(), Some(""));
    assert_eq!(events[2].event_id.as_deref(), Some(" "));
    assert_ne!(events[0].dedup_key, events[1].dedup_key);
    for ev in &events {
        let value: serde_json::Value = serde_json::from_str(&ev.raw).unwrap();
        let mut want = b"body\0".to_vec();
        want.extend_from_slice(canonical_json(&value).as_bytes());
        let want: [u8; 32] = Sha256::digest(&want).into();
        assert_eq!(ev.dedup_key, want, "{}", ev.raw);
    }
}
