//! Event Grid deliveries in both schemas, and both subscription handshakes.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

#[tokio::test]
async fn subscription_validation_is_answered_200_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let response = app
        .post_eventgrid(
            eg_validation("512d38b6-c7b8-40c8-89fe-f46f9e9622b6").to_string(),
            &[("aeg-event-type", "SubscriptionValidation")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn validation_requires_authentication_too() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/eventgrid"))
        .header("content-type", "application/json")
        .body(eg_validation("code").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn cloudevents_options_handshake_echoes_the_origin() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/eventgrid"))
        .header("WebHook-Request-Origin", "eventgrid.azure.net")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["webhook-allowed-origin"],
        "eventgrid.azure.net"
    );
    assert!(response.headers()["allow"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn event_grid_schema_events_are_stored() {
    let app = TestApp::spawn().await;
    let body = json!([
        eg_incoming_call("eg-1", "+14255550100", "+14255550199"),
        eg_recording_file("eg-2")
    ]);
    let response = app
        .post_eventgrid(body.to_string(), &[("aeg-event-type", "Notification")])
        .await;
    assert_eq!(response.status(), 200);
    let rows: Vec<_> = stored_events(&app.pool)
        .await
        .into_iter()
        .map(|s| {
            let e = s.event;
            (e.format, e.endpoint, e.family, e.server_call_id, e.details)
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
        ("event_grid", "eventgrid", "incoming_call")
    );
    assert_eq!(rows[0].3.as_deref(), Some("srv-incoming"));
    assert_eq!(rows[0].4["from"]["raw_id"], "4:+14255550199");
    assert_eq!(rows[1].2, "recording_file_status_updated");
    assert_eq!(rows[1].4["recording_duration_ms"], 53000);
    assert_eq!(rows[1].4["chunk_count"], 1);
}

#[tokio::test]
async fn cloudevents_schema_events_are_stored_single_and_batched() {
    let app = TestApp::spawn().await;
    let mut incoming = cloud_event(
        "ce-1",
        "IncomingCall",
        "none",
        eg_incoming_call("x", "+14255550100", "+14255550199")["data"].clone(),
        "2024-03-12T09:15:40Z",
    );
    incoming["source"] = json!("/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs");
    let response = app
        .client
        .post(app.url(&format!("/api/eventgrid?secret={SECRET}")))
        .header(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )
        .body(incoming.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut second = incoming.clone();
    second["id"] = json!("ce-2");
    let response = app
        .client
        .post(app.url(&format!("/api/eventgrid?secret={SECRET}")))
        .header("content-type", "application/cloudevents-batch+json")
        .body(json!([second, incoming]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(
        summary,
        json!({"received": 2, "stored": 1, "duplicates": 1})
    );
    let formats: Vec<String> = sqlx::query_scalar("SELECT format FROM events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(formats, ["cloud_event", "cloud_event"]);
}
