//! Retention: monthly partitions past `retention.keep_months` are dropped with the dedup keys of
//! their events, the calls they held are recomputed from what is left, and what is retained is
//! untouched.

use serde_json::json;

use crate::fixtures::b_tone;
use crate::helpers::TestApp;

const T: &str = "2024-01-01T00:00:00Z";

/// Makes the events of `call` look as if they had arrived in January 2020 (their partition and their
/// dedup keys both say so).
async fn age(app: &TestApp, call: &str, event_ids: &[&str]) {
    let keys: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT dedup_key FROM events WHERE call_id = $1 AND event_id = ANY($2)",
    )
    .bind(call)
    .bind(event_ids)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(keys.len(), event_ids.len());
    // A row whose partition key changes moves to the partition of its new month.
    sqlx::query(
        "UPDATE events SET received_at = '2020-01-15T12:00:00Z' \
         WHERE call_id = $1 AND event_id = ANY($2)",
    )
    .bind(call)
    .bind(event_ids)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE event_dedup SET first_received_at = '2020-01-15T12:00:00Z' \
         WHERE dedup_key = ANY($1)",
    )
    .bind(&keys)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn partitions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'events'::regclass ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn call_events(app: &TestApp, call: &str) -> Option<i32> {
    sqlx::query_scalar("SELECT event_count FROM calls WHERE call_id = $1")
        .bind(call)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn partitions_past_retention_are_dropped_with_their_dedup_keys_and_their_calls_recomputed() {
    let app = TestApp::spawn().await;
    let post = |events: serde_json::Value| {
        let app = &app;
        async move {
            let response = app.post_callback(events.to_string()).await;
            assert_eq!(response.status(), 200);
        }
    };
    // A call entirely old, a call that spans the cutoff, and a call entirely retained.
    post(json!([
        b_tone("old-1", "old", 1, "one", T),
        b_tone("old-2", "old", 2, "two", T),
        b_tone("span-1", "span", 1, "one", T),
        b_tone("span-2", "span", 2, "two", T),
        b_tone("new-1", "new", 1, "one", T),
    ]))
    .await;
    app.wait_for_projections().await;
    sqlx::query("SELECT calltrail_ensure_event_partitions('2020-01-01', 2)")
        .execute(&app.pool)
        .await
        .unwrap();
    age(&app, "old", &["old-1", "old-2"]).await;
    age(&app, "span", &["span-1"]).await;
    assert!(partitions(&app)
        .await
        .contains(&"events_y2020m01".to_owned()));
    assert_eq!(call_events(&app, "old").await, Some(2));
    assert_eq!(call_events(&app, "span").await, Some(2));
    // Duplicates absorbed for two of the calls, and two dashboard views of payloads: one recorded
    // in January 2020, one now.
    sqlx::query("INSERT INTO call_duplicates VALUES ('old', 3), ('span', 4)")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO payload_views (viewed_at, principal, event_seq, call_id, how) VALUES \
         ('2020-01-20T00:00:00Z', 'sha256:0123456789ab', 1, 'old', 'page'), \
         (now(), 'sha256:0123456789ab', 2, 'span', 'download')",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    // Nothing is done when retention is off.
    let none = calltrail::store::retention::apply(&app.pool, 0)
        .await
        .unwrap();
    assert_eq!(none, Default::default());
    assert_eq!(app.event_count().await, 5);

    let summary = calltrail::store::retention::apply(&app.pool, 3)
        .await
        .unwrap();
    assert_eq!(
        summary.dropped,
        vec![
            ("events_y2020m01".to_owned(), 3),
            ("events_y2020m02".to_owned(), 0)
        ]
    );
    assert_eq!(summary.dedup_keys_pruned, 3);
    assert_eq!(summary.payload_views_pruned, 1);
    // The audit log's filter key of the call with no event left (its correlation id) goes too.
    assert_eq!(summary.filter_keys_pruned, 1);
    let keyed: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT call_id FROM call_filter_keys ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(keyed, ["new", "span"]);
    let views: Vec<String> = sqlx::query_scalar("SELECT how FROM payload_views")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(views, ["download"], "the recent view stays");
    let left = partitions(&app).await;
    assert!(
        !left.iter().any(|p| p.starts_with("events_y2020")),
        "{left:?}"
    );
    // The current month's partition (and the ones around it) stay.
    let this_month = chrono::Utc::now().format("events_y%Ym%m").to_string();
    assert!(left.contains(&this_month), "{left:?}");
    assert_eq!(app.event_count().await, 2);
    assert_eq!(app.count_rows("event_dedup").await, 2);

    // The projector recomputes the dropped partition's calls from what is left.
    app.wait_for_projections().await;
    assert_eq!(
        call_events(&app, "old").await,
        None,
        "a call with no events left"
    );
    assert_eq!(call_events(&app, "span").await, Some(1));
    assert_eq!(call_events(&app, "new").await, Some(1));
    let duplicates: Vec<(String, i64)> =
        sqlx::query_as("SELECT call_id, duplicates FROM call_duplicates ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        duplicates,
        [("span".to_owned(), 4)],
        "the count of a call with no events left goes with it"
    );
    let tones: Vec<String> =
        sqlx::query_scalar("SELECT tone FROM dtmf_tones WHERE call_id = 'span' ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(tones, ["2"]);
    // The summary rollups follow the calls: the removed one is no longer counted, and they are what
    // a recomputation from the calls left gives.
    let rollups = || async {
        sqlx::query_scalar::<_, serde_json::Value>(
            "SELECT jsonb_build_array( \
               (SELECT jsonb_agg(t ORDER BY bucket, start) FROM summary_buckets t), \
               (SELECT jsonb_agg(t ORDER BY bucket, unit, start, value) FROM summary_durations t), \
               (SELECT jsonb_agg(t ORDER BY bucket, start, raw_id) FROM summary_participants t))",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let kept = rollups().await;
    let counted: i64 =
        sqlx::query_scalar("SELECT sum(calls)::int8 FROM summary_buckets WHERE bucket = 'day'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(counted, 2);
    let mut tx = app.pool.begin().await.unwrap();
    calltrail::projection::rollup::recompute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rollups().await, kept);

    // A second run (another instance, the next hour) finds nothing to do.
    let again = calltrail::store::retention::apply(&app.pool, 3)
        .await
        .unwrap();
    assert_eq!(again, Default::default());

    // The dedup key of a dropped event is gone with it: a retry is stored as new, and deduplicated
    // against from then on.
    post(json!([b_tone("old-1", "old", 1, "one", T)])).await;
    post(json!([b_tone("old-1", "old", 1, "one", T)])).await;
    assert_eq!(app.event_count().await, 3);

    let metrics = app.metrics_text().await;
    for name in [
        "calltrail_retention_partitions_dropped_total",
        "calltrail_retention_events_dropped_total",
        "calltrail_retention_dedup_keys_pruned_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}
