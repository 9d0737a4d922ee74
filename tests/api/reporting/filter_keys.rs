//! The audit log's `correlation_id` and `operation_context` filters, which are not indexed per
//! event: found through the keys the projector keeps per call, through the projector's queue
//! before it gets there, and through an index of their own for events without a call id. Exact in
//! every one of these states.

use serde_json::json;

use super::*;

/// A call whose events carry two correlation ids (the second from a later leg of the same
/// connection) and two operation contexts, another call sharing one context, an incoming call
/// (no call id) sharing the first correlation id.
async fn fixture(app: &TestApp) {
    let mut moved = b_result(
        "a-3",
        "PlayCompleted",
        "call-a",
        "ctx-menu",
        200,
        0,
        "2024-03-12T09:00:03Z",
    );
    moved["data"]["correlationId"] = json!("corr-second");
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
                "PlayStarted",
                "call-a",
                "ctx-menu",
                200,
                0,
                "2024-03-12T09:00:01Z",
            ),
            moved,
            b_result(
                "a-4",
                "RecognizeFailed",
                "call-a",
                "ctx-pin",
                400,
                8510,
                "2024-03-12T09:00:04Z",
            ),
            b_result(
                "b-1",
                "PlayFailed",
                "call-b",
                "ctx-menu",
                400,
                8536,
                "2024-03-12T09:00:05Z",
            ),
        ],
    )
    .await;
    let mut incoming = eg_incoming_call("in-1", "+14255550100", "+14255550199");
    incoming["data"]["correlationId"] = json!("corr-call-a");
    let response = app.post_eventgrid(json!([incoming]).to_string(), &[]).await;
    assert_eq!(response.status(), 200);
}

/// What every state must answer.
async fn assert_filters(app: &TestApp, state: &str) {
    let cases: [(&str, &[&str]); 7] = [
        ("correlation_id=corr-call-a", &["a-1", "a-2", "a-4", "in-1"]),
        ("correlation_id=corr-second", &["a-3"]),
        ("correlation_id=corr-call-b", &["b-1"]),
        ("correlation_id=corr-none", &[]),
        ("operation_context=ctx-menu", &["a-2", "a-3", "b-1"]),
        ("operation_context=ctx-pin", &["a-4"]),
        (
            "operation_context=ctx-menu&correlation_id=corr-call-a",
            &["a-2"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(event_ids(app, query).await, expected, "{state}: {query}");
    }
}

async fn keys_of(app: &TestApp, call: &str) -> Vec<i64> {
    sqlx::query_scalar("SELECT key FROM call_filter_keys WHERE call_id = $1 ORDER BY key")
        .bind(call)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn filters_are_exact_before_and_after_the_projector_reaches_the_events() {
    // The projector off: every event is still queued, and no call has keys.
    let app = spawn_api().await;
    fixture(&app).await;
    assert_eq!(app.count_rows("call_filter_keys").await, 0);
    assert!(app.count_rows("projection_queue").await > 0);
    assert_filters(&app, "queued").await;

    // An instance with a projector on the same database takes the queue: the calls now have keys,
    // one per distinct value, and the queue is empty.
    let projector = TestApp::spawn_on(&app.database_url, |s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.api.rate_limit_per_second = 0;
        s.projection.foreign_after_ms = 0;
    })
    .await;
    projector.wait_for_projections().await;
    use calltrail::store::filter_key::{filter_key, FilterKind::*};
    let mut expected = vec![
        filter_key(CorrelationId, "corr-call-a"),
        filter_key(CorrelationId, "corr-second"),
        filter_key(OperationContext, "ctx-menu"),
        filter_key(OperationContext, "ctx-pin"),
    ];
    expected.sort_unstable();
    assert_eq!(keys_of(&app, "call-a").await, expected);
    assert_eq!(keys_of(&app, "call-b").await.len(), 2);
    assert_filters(&app, "projected").await;
    assert_filters(&projector, "projected, read by the other instance").await;

    // A key is only a pointer: a call whose keys were lost would not be found (so the filter does
    // read them), and a key pointing at a call without the value finds nothing.
    sqlx::query("DELETE FROM call_filter_keys WHERE call_id = 'call-b'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        event_ids(&app, "operation_context=ctx-menu").await,
        ["a-2", "a-3"]
    );
    sqlx::query("INSERT INTO call_filter_keys VALUES ($1, 'call-b')")
        .bind(filter_key(OperationContext, "ctx-pin"))
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(event_ids(&app, "operation_context=ctx-pin").await, ["a-4"]);

    // A rebuild derives the same keys from the log.
    let summary = calltrail::projection::rebuild(&app.pool, 100)
        .await
        .unwrap();
    assert_eq!(summary.rebuilt, 2, "{summary:?}");
    assert_eq!(keys_of(&app, "call-a").await, expected);
    assert_filters(&app, "rebuilt").await;
}

#[tokio::test]
async fn the_databases_key_function_is_calltrails() {
    let app = spawn_api().await;
    use calltrail::store::filter_key::{filter_key, FilterKind};
    let long = "state=".to_owned() + &"x".repeat(5000);
    for value in ["", "corr-call-a", "ctx-menu", "é漢字🙂", long.as_str()] {
        for kind in [FilterKind::CorrelationId, FilterKind::OperationContext] {
            let in_sql: i64 = sqlx::query_scalar("SELECT calltrail_filter_key($1, $2)")
                .bind(kind.letter())
                .bind(value)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            assert_eq!(in_sql, filter_key(kind, value), "{kind:?} {value:.20}");
        }
    }
}
