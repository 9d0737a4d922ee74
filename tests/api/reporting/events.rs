//! The audit log through real ingestion: every filter, one event, its raw payload byte for byte.

use serde_json::json;

use super::*;

async fn spawn_open_api() -> TestApp {
    TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.auth.allow_unauthenticated = true;
    })
    .await
}

/// Two calls' events in a first delivery, one unauthenticated event, then a later delivery.
async fn fixture(app: &TestApp) {
    ingest(
        app,
        vec![
            b_event(
                "a-1",
                "CallConnected",
                "call-a",
                json!({}),
                "2024-03-12T09:00:00Z",
            ),
            b_result(
                "a-2",
                "PlayFailed",
                "call-a",
                "ctx-play",
                400,
                8536,
                "2024-03-12T09:00:01Z",
            ),
            b_event(
                "b-1",
                "CallConnected",
                "call-b",
                json!({}),
                "2024-03-12T09:00:02Z",
            ),
        ],
    )
    .await;
    let response = app
        .client
        .post(app.url("/api/callbacks"))
        .header("content-type", "application/json")
        .body(json!([b_tone("c-1", "call-c", 1, "one", "2024-03-12T09:00:03Z")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ingest(
        app,
        vec![
            b_result(
                "b-2",
                "RecognizeFailed",
                "call-b",
                "ctx-rec",
                400,
                8510,
                "2024-03-12T09:00:04Z",
            ),
            b_tone("a-3", "call-a", 1, "two", "2024-03-12T09:00:05Z"),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_audit_log_is_filtered_by_every_field() {
    let app = spawn_open_api().await;
    fixture(&app).await;
    let all = ["a-1", "a-2", "b-1", "c-1", "b-2", "a-3"];
    assert_eq!(event_ids(&app, "").await, all);
    let mut reversed = all;
    reversed.reverse();
    assert_eq!(event_ids(&app, "order=desc").await, reversed);
    assert_eq!(
        event_ids(&app, "type=Microsoft.Communication.CallConnected").await,
        ["a-1", "b-1"]
    );
    assert_eq!(
        event_ids(&app, "type=CallConnected").await,
        Vec::<String>::new()
    );
    assert_eq!(
        event_ids(&app, "call_id=call-a").await,
        ["a-1", "a-2", "a-3"]
    );
    assert_eq!(
        event_ids(&app, "correlation_id=corr-call-b").await,
        ["b-1", "b-2"]
    );
    assert_eq!(event_ids(&app, "operation_context=ctx-play").await, ["a-2"]);
    assert_eq!(
        event_ids(&app, "auth_scheme=unauthenticated").await,
        ["c-1"]
    );
    assert_eq!(event_ids(&app, "auth_scheme=query_secret").await.len(), 5);
    assert_eq!(
        event_ids(&app, "auth_scheme=jwt").await,
        Vec::<String>::new()
    );
    assert_eq!(
        event_ids(
            &app,
            "json_path=data.resultInformation.subCode&json_value=8536"
        )
        .await,
        ["a-2"]
    );
    assert_eq!(
        event_ids(&app, "json_path=data.callConnectionId&json_value=call-b").await,
        ["b-1", "b-2"]
    );
    assert_eq!(
        event_ids(&app, "json_path=id&json_value=c-1").await,
        ["c-1"]
    );
    assert_eq!(
        event_ids(&app, "json_path=data.nothing.here&json_value=1").await,
        Vec::<String>::new()
    );
    assert_eq!(
        event_ids(
            &app,
            "call_id=call-b&type=Microsoft.Communication.RecognizeFailed"
        )
        .await,
        ["b-2"]
    );

    // The time range is on receipt: the second delivery came ≥ 20 ms after the first.
    let events = all_pages(&app, "/api/v1/events?limit=10").await;
    let second = events[4]["received_at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    assert_ne!(events[3]["received_at"], events[4]["received_at"]);
    assert_eq!(
        event_ids(&app, &format!("from={second}")).await,
        ["b-2", "a-3"]
    );
    assert_eq!(
        event_ids(&app, &format!("to={second}")).await,
        ["a-1", "a-2", "b-1", "c-1"]
    );
    assert_eq!(
        event_ids(&app, &format!("from={second}&call_id=call-a")).await,
        ["a-3"]
    );

    let a2 = &events[1];
    assert_eq!(a2["event_type"], "Microsoft.Communication.PlayFailed");
    assert_eq!(a2["family"], "play");
    assert_eq!(a2["format"], "call_automation");
    assert_eq!(a2["endpoint"], "callbacks");
    assert_eq!(a2["auth_scheme"], "query_secret");
    assert_eq!(a2["source"], "calling/callConnections/call-a");
    assert_eq!(a2["server_call_id"], "srv-call-a");
    assert_eq!(
        (&a2["result_code"], &a2["result_sub_code"]),
        (&json!(400), &json!(8536))
    );
    assert_eq!(a2["details"]["outcome"], "failed");
    assert!(a2.get("raw").is_none());
}

#[tokio::test]
async fn bad_event_parameters_are_400_and_unknown_ids_404() {
    let app = spawn_api().await;
    ingest(&app, tones("e", "call-e", 1)).await;
    for query in [
        "json_path=data..x&json_value=1",
        "json_path=data.x-y&json_value=1",
        "json_path=data.0&json_value=1",
        "json_path=data%27%3B--&json_value=1",
        "json_path=data.subCode",
        "json_value=8536",
        "auth_scheme=password",
        "from=12:00",
        "to=tomorrow",
    ] {
        assert_error(&app, &format!("/api/v1/events?{query}"), 400, "bad_request").await;
        assert_error(
            &app,
            &format!("/api/v1/events/export?{query}"),
            400,
            "bad_request",
        )
        .await;
    }
    for id in ["abc", "0", "-1", "1.5", "99999999999999999999"] {
        assert_error(&app, &format!("/api/v1/events/{id}"), 400, "bad_request").await;
        assert_error(
            &app,
            &format!("/api/v1/events/{id}/raw"),
            400,
            "bad_request",
        )
        .await;
    }
    assert_error(&app, "/api/v1/events/999999", 404, "not_found").await;
    assert_error(&app, "/api/v1/events/999999/raw", 404, "not_found").await;
}

#[tokio::test]
async fn one_event_keeps_its_payload_byte_for_byte() {
    let app = spawn_api().await;
    // Odd spacing, tabs, CRLF, escapes, key order, non-ASCII and a big number: kept as sent.
    let element = "{ \"id\" :\t\"ws-1\",\r\n  \"source\":\"calling/callConnections/ws\" ,\"type\":\"Microsoft.Communication.CallConnected\",\n\"time\":\"2024-03-12T09:15:40.43+00:00\",\"specversion\":\"1.0\",\n\t\"data\" : {\"callConnectionId\":\"ws\",\"serverCallId\":\"s\\u0065rv\",\"correlationId\":\"c\", \"note\":\"caf\u{e9} \u{260e} \\\"q\\\"\", \"n\": 1.50e+3, \"big\": 123456789012345678901234567890}  }";
    let body = format!("[ \n{element}\n  ,\t{{\"id\":\"ws-2\",\"source\":\"s\",\"type\":\"Custom.Thing\",\"specversion\":\"1.0\"}} ]");
    let response = app.post_callback(body.clone()).await;
    assert_eq!(response.status(), 200);
    let seq: i64 = sqlx::query_scalar("SELECT event_seq FROM events WHERE event_id = 'ws-1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let raw = get(&app, &format!("/api/v1/events/{seq}/raw")).await;
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "application/json");
    assert_eq!(raw.bytes().await.unwrap().as_ref(), element.as_bytes());

    let event = get_ok(&app, &format!("/api/v1/events/{seq}")).await;
    assert_eq!(event["raw"], element);
    assert_eq!(event["event_seq"], seq);
    assert_eq!(event["event_id"], "ws-1");
    assert_eq!(event["server_call_id"], "serv");
    assert_eq!(event["details"]["family"], "call_state");
    assert_eq!(event["event_time"], "2024-03-12T09:15:40.430Z");

    // A single CloudEvent (public preview) keeps its inner bytes too.
    let a2 = " {\"id\":\"ws-3\" , \"source\":\"calling/callConnections/ws\",\"type\":\"Microsoft.Communication.CallConnectionStateChanged\",\"specversion\":\"1.0\",\"data\":{\"callConnectionId\":\"ws\",\"callConnectionState\":\"connected\"}}";
    assert_eq!(app.post_callback(a2.to_owned()).await.status(), 200);
    let seq: i64 = sqlx::query_scalar("SELECT event_seq FROM events WHERE event_id = 'ws-3'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let raw = get(&app, &format!("/api/v1/events/{seq}/raw")).await;
    assert_eq!(raw.text().await.unwrap(), a2.trim());
}
