//! Deliveries through Event Grid, in both of its schemas.

use super::{assert_raw_is_each_element, ident, invalid, ts, ACS_USER};
use crate::events::{
    parse_eventgrid_body, EventGridDelivery, EventKind, IdentifierKind, ParsedEvent, WireFormat,
};

const TOPIC: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/calltrail-rg/providers/Microsoft.Communication/communicationServices/calltrail-acs";

fn events(body: &str) -> Vec<ParsedEvent> {
    match parse_eventgrid_body(body.as_bytes()).expect("body should parse") {
        EventGridDelivery::Events(events) => events,
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn incoming_call_event_grid_schema() {
    let body = include_str!("../testdata/eg_incoming_call.json");
    let got = events(body);
    assert_raw_is_each_element(body, &got);
    let ev = &got[0];
    assert_eq!(ev.format, WireFormat::EventGrid);
    assert_eq!(
        ev.event_id.as_deref(),
        Some("4a1e6b7c-2d3f-4c5a-9b8e-7f6d5c4b3a21")
    );
    assert_eq!(ev.source.as_deref(), Some(TOPIC));
    assert_eq!(ev.event_type, "Microsoft.Communication.IncomingCall");
    assert_eq!(ev.event_time, Some(ts("2024-03-12T09:15:28.5543718Z")));
    assert_eq!(
        ev.kind,
        EventKind::IncomingCall {
            to: Some(ident("4:+14255550100", IdentifierKind::PhoneNumber)),
            from: Some(ident("4:+14255550123", IdentifierKind::PhoneNumber)),
            caller_display_name: Some(String::new()),
        }
    );
    assert_eq!(
        ev.common.server_call_id.as_deref(),
        Some(
            "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkudGVhbXMubWljcm9zb2Z0LmNvbS9hcGkvdjIvZXAvY29udi11c2Vh"
        )
    );
    assert_eq!(
        ev.common.correlation_id.as_deref(),
        Some("d5f8e2c1-3b4a-4e6d-8c7f-9a0b1c2d3e4f")
    );
    // The opaque context token stays in the raw text only.
    let kind_json = serde_json::to_string(&ev.kind).unwrap();
    assert!(!kind_json.contains("eyJhbGciOiJub25l"));
    assert!(ev.raw.contains("incomingCallContext"));
}

#[test]
fn incoming_call_cloud_events_schema_single_object() {
    let body = include_str!("../testdata/eg_incoming_call_cloudevent.json");
    let got = events(body);
    assert_eq!(got.len(), 1);
    let ev = &got[0];
    assert_eq!(ev.format, WireFormat::CloudEvent);
    assert_eq!(ev.raw, body.trim());
    assert_eq!(ev.source.as_deref(), Some(TOPIC));
    assert_eq!(ev.event_time, Some(ts("2024-03-12T09:20:04.1187252Z")));
    assert_eq!(
        ev.kind,
        EventKind::IncomingCall {
            to: Some(ident(
                "28:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130",
                IdentifierKind::MicrosoftTeamsApp
            )),
            from: Some(ident(ACS_USER, IdentifierKind::CommunicationUser)),
            caller_display_name: Some("Dispatch Desk 4".into()),
        }
    );
}

#[test]
fn recording_file_status_updated_event_grid_schema() {
    let body = include_str!("../testdata/eg_recording_file_status.json");
    let got = events(body);
    assert_raw_is_each_element(body, &got);
    assert_eq!(got[0].format, WireFormat::EventGrid);
    assert_eq!(
        got[0].kind,
        EventKind::RecordingFileStatusUpdated {
            chunk_count: 2,
            recording_start_time: Some(ts("2024-03-12T09:15:41.416Z")),
            recording_duration_ms: Some(5_432_100),
            session_end_reason: Some("CallEnded".into()),
        }
    );
}

#[test]
fn recording_file_status_updated_cloud_events_schema_array() {
    let body = include_str!("../testdata/eg_recording_file_status_cloudevent.json");
    let got = events(body);
    assert_raw_is_each_element(body, &got);
    assert_eq!(got[0].format, WireFormat::CloudEvent);
    assert_eq!(got[0].event_time, Some(ts("2024-03-12T10:46:21Z")));
    assert_eq!(
        got[0].kind,
        EventKind::RecordingFileStatusUpdated {
            chunk_count: 1,
            recording_start_time: Some(ts("2024-03-12T09:15:41.416Z")),
            recording_duration_ms: Some(62_456),
            session_end_reason: Some("CallEnded".into()),
        }
    );
}

#[test]
fn subscription_validation() {
    let got = parse_eventgrid_body(
        include_str!("../testdata/eg_subscription_validation.json").as_bytes(),
    )
    .unwrap();
    assert_eq!(
        got,
        EventGridDelivery::SubscriptionValidation {
            validation_code: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6".into(),
            validation_url: Some(
                "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/calltrail/validate?id=512d38b6-c7b8-40c8-89fe-f46f9e9622b6&t=2024-03-12T09:00:00.0000000Z&apiVersion=2018-05-01-preview&token=1A1A1A1A"
                    .into()
            ),
        }
    );
}

#[test]
fn subscription_validation_anywhere_in_the_array_wins() {
    let body = r#"[
      {"id": "a", "eventType": "Microsoft.Communication.IncomingCall", "data": {}},
      {"id": "b", "eventType": "microsoft.eventgrid.subscriptionvalidationevent",
       "data": {"ValidationCode": "code-1"}}
    ]"#;
    assert_eq!(
        parse_eventgrid_body(body.as_bytes()).unwrap(),
        EventGridDelivery::SubscriptionValidation {
            validation_code: "code-1".into(),
            validation_url: None,
        }
    );
}

#[test]
fn subscription_validation_without_code_is_malformed() {
    let body = r#"[{"id": "a", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                    "data": {"validationUrl": "https://example.invalid/validate"}}]"#;
    let (element, field, message) = invalid(parse_eventgrid_body(body.as_bytes()));
    assert_eq!(element, Some(0));
    assert_eq!(field, "data.validationCode");
    assert_eq!(
        message,
        "element 0: field `data.validationCode` is required"
    );

    let body = r#"[{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                    "data": {"validationCode": 42}}]"#;
    let (_, field, _) = invalid(parse_eventgrid_body(body.as_bytes()));
    assert_eq!(field, "data.validationCode");
}

#[test]
fn single_event_grid_object_and_mixed_schemas() {
    let single = r#"{"id": "x1", "topic": "t", "subject": "s", "eventType": "Contoso.Custom",
                     "eventTime": "2024-03-12T09:00:00Z", "data": {"a": 1}}"#;
    let got = events(single);
    assert_eq!(got[0].format, WireFormat::EventGrid);
    assert_eq!(got[0].kind, EventKind::Unknown);
    assert_eq!(got[0].raw, single);

    let mixed = r#"[{"id": "x1", "eventType": "Contoso.Custom", "data": {}},
                    {"id": "x2", "specversion": "1.0", "type": "Contoso.Custom", "source": "s"}]"#;
    let got = events(mixed);
    assert_eq!(
        got.iter().map(|e| e.format).collect::<Vec<_>>(),
        vec![WireFormat::EventGrid, WireFormat::CloudEvent]
    );
}

#[test]
fn element_with_neither_schema_is_malformed() {
    let body =
        r#"[{"id": "x1", "eventType": "Contoso.Custom"}, {"id": "x2", "type": "Contoso.Custom"}]"#;
    let (element, field, message) = invalid(parse_eventgrid_body(body.as_bytes()));
    assert_eq!(element, Some(1));
    assert_eq!(field, "");
    assert_eq!(
        message,
        "element 1: has neither `specversion` nor `eventType`"
    );
}
