//! The summary report on a fixture whose numbers are worked out by hand.

use serde_json::json;

use super::*;

#[allow(clippy::too_many_arguments)]
async fn call(
    app: &TestApp,
    id: &str,
    at: &str,
    connected: bool,
    duration_ms: Option<i64>,
    outcome: &'static str,
    dtmf: i32,
    media: (i32, i32),
    participants: &[&str],
) {
    let mut row = CallRow::new(id, at);
    row.connected_at = connected.then(|| t(at));
    row.duration_ms = duration_ms;
    row.outcome = outcome;
    row.dtmf_count = dtmf;
    row.media_succeeded = media.0;
    row.media_total = media.1;
    row.insert(app).await;
    for (i, raw_id) in participants.iter().enumerate() {
        insert_interval(app, id, raw_id, i as i32, at, None).await;
    }
}

async fn fixture(app: &TestApp) {
    call(
        app,
        "s1",
        "2024-03-01T10:00:00Z",
        true,
        Some(1000),
        "completed",
        2,
        (2, 3),
        &["A", "B"],
    )
    .await;
    call(
        app,
        "s2",
        "2024-03-01T12:00:00Z",
        true,
        Some(3000),
        "completed",
        0,
        (0, 0),
        &["A", "C"],
    )
    .await;
    call(
        app,
        "s3",
        "2024-03-01T13:00:00Z",
        false,
        None,
        "failed",
        1,
        (0, 1),
        &["D"],
    )
    .await;
    call(
        app,
        "s4",
        "2024-03-01T23:59:59.999Z",
        true,
        Some(2000),
        "completed",
        0,
        (1, 1),
        &["A"],
    )
    .await;
    // The same participant twice in one call counts once.
    call(
        app,
        "s5",
        "2024-03-03T00:00:00Z",
        true,
        Some(5000),
        "in_progress",
        0,
        (0, 0),
        &["E", "E"],
    )
    .await;
    // Just outside the range on both sides.
    call(
        app,
        "s6",
        "2024-02-29T23:59:59Z",
        true,
        Some(9),
        "failed",
        9,
        (9, 9),
        &["Z"],
    )
    .await;
    call(
        app,
        "s7",
        "2024-03-04T00:00:00Z",
        true,
        Some(9),
        "failed",
        9,
        (9, 9),
        &["Z"],
    )
    .await;
    // The rows were written by hand, not by the projector: the rollups are recomputed from them.
    refresh_rollups(app).await;
}

fn empty(start: &str) -> Value {
    json!({"start": start, "calls": 0, "connected": 0, "failed": 0, "duration_p50_ms": null,
           "duration_p95_ms": null, "participants": 0, "dtmf_tones": 0, "media_success_rate": null})
}

#[tokio::test]
async fn daily_summary_matches_the_hand_computed_numbers() {
    let app = spawn_api().await;
    fixture(&app).await;
    let summary = get_ok(
        &app,
        "/api/v1/reports/summary?from=2024-03-01T00:00:00Z&to=2024-03-04T00:00:00Z&bucket=day",
    )
    .await;
    assert_eq!(summary["bucket"], "day");
    assert_eq!(summary["from"], "2024-03-01T00:00:00Z");
    assert_eq!(
        summary["buckets"],
        json!([
            // Durations 1000, 2000, 3000: p50 2000; p95 at rank 0.95 × 2 = 1.9 → 2000 + 0.9 × 1000.
            // Media 3 of 5 succeeded. Participants A, B, C, D.
            {"start": "2024-03-01T00:00:00Z", "calls": 4, "connected": 3, "failed": 1,
             "duration_p50_ms": 2000.0, "duration_p95_ms": 2900.0, "participants": 4,
             "dtmf_tones": 3, "media_success_rate": 0.6},
            empty("2024-03-02T00:00:00Z"),
            {"start": "2024-03-03T00:00:00Z", "calls": 1, "connected": 1, "failed": 0,
             "duration_p50_ms": 5000.0, "duration_p95_ms": 5000.0, "participants": 1,
             "dtmf_tones": 0, "media_success_rate": null},
        ])
    );
    // Buckets are whole UTC days, whatever the offset of `from`; calls before `from` are out.
    let shifted = get_ok(
        &app,
        "/api/v1/reports/summary?from=2024-03-01T12:30:00%2B02:00&to=2024-03-02T00:00:00Z",
    )
    .await;
    let day = &shifted["buckets"][0];
    assert_eq!(day["start"], "2024-03-01T00:00:00Z");
    assert_eq!(
        (&day["calls"], &day["participants"]),
        (&json!(3), &json!(3))
    );
}

#[tokio::test]
async fn hourly_summary() {
    let app = spawn_api().await;
    fixture(&app).await;
    let summary = get_ok(
        &app,
        "/api/v1/reports/summary?from=2024-03-01T09:30:00Z&to=2024-03-01T13:30:00Z&bucket=hour",
    )
    .await;
    let buckets = summary["buckets"].as_array().unwrap();
    let starts: Vec<&str> = buckets
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2024-03-01T09:00:00Z",
            "2024-03-01T10:00:00Z",
            "2024-03-01T11:00:00Z",
            "2024-03-01T12:00:00Z",
            "2024-03-01T13:00:00Z"
        ]
    );
    let calls: Vec<i64> = buckets
        .iter()
        .map(|b| b["calls"].as_i64().unwrap())
        .collect();
    assert_eq!(calls, [0, 1, 0, 1, 1]);
    assert_eq!(
        buckets[1]["media_success_rate"].as_f64().unwrap(),
        2.0 / 3.0
    );
    assert_eq!(buckets[4]["failed"], 1);
    assert_eq!(buckets[4]["media_success_rate"], 0.0);
}

#[tokio::test]
async fn summary_parameters_are_checked() {
    let app = spawn_api().await;
    let start = t("2024-01-01T00:00:00Z");
    let at_limit = (start + chrono::TimeDelta::hours(2000))
        .to_rfc3339()
        .replace('+', "%2B");
    let over = (start + chrono::TimeDelta::hours(2001))
        .to_rfc3339()
        .replace('+', "%2B");
    let base = "/api/v1/reports/summary?from=2024-01-01T00:00:00Z";
    let ok = get_ok(&app, &format!("{base}&to={at_limit}&bucket=hour")).await;
    assert_eq!(ok["buckets"].as_array().unwrap().len(), 2000);
    assert_eq!(ok["next_from"], Value::Null);
    // A range of more buckets lists the first 2000 and says where the next ones start.
    let more = get_ok(&app, &format!("{base}&to={over}&bucket=hour")).await;
    assert_eq!(more["buckets"].as_array().unwrap().len(), 2000);
    assert_eq!(more["next_from"], "2024-03-24T08:00:00Z");
    let rest = get_ok(
        &app,
        &format!("/api/v1/reports/summary?from=2024-03-24T08:00:00Z&to={over}&bucket=hour"),
    )
    .await;
    assert_eq!(rest["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_from"], Value::Null);
    let years = get_ok(&app, &format!("{base}&to=2030-01-01T00:00:00Z")).await;
    assert_eq!(years["buckets"].as_array().unwrap().len(), 2000);
    assert_eq!(years["next_from"], "2029-06-23T00:00:00Z");
    // A range that holds nothing has no bucket; times far from today are still times.
    for query in [
        "from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z",
        "from=2024-01-01T00:00:00Z&to=2024-01-01T00:00:00Z",
    ] {
        let empty = get_ok(&app, &format!("/api/v1/reports/summary?{query}")).await;
        assert_eq!(empty["buckets"], serde_json::json!([]), "{query}");
    }
    let ancient = get_ok(
        &app,
        "/api/v1/reports/summary?from=0001-01-01T00:00:00%2B23:59&to=0001-01-03T00:00:00Z",
    )
    .await;
    assert_eq!(ancient["buckets"].as_array().unwrap().len(), 3);
    assert_eq!(ancient["buckets"][0]["start"], "0000-12-31T00:00:00Z");
    // At the ends of years 0000 and 9999, a time UTC cannot write counts as the nearest that it can.
    let far = get_ok(
        &app,
        "/api/v1/reports/summary?from=0000-01-01T00:00:00%2B01:00&to=9999-12-31T23:59:59-23:59&bucket=day",
    )
    .await;
    assert_eq!(far["from"], "0000-01-01T00:00:00Z");
    assert_eq!(far["to"], "9999-12-31T23:59:59.999999Z");
    assert_eq!(far["buckets"][0]["start"], "0000-01-01T00:00:00Z");
    assert_eq!(far["next_from"], "0005-06-23T00:00:00Z");
    for query in [
        "to=2024-01-02T00:00:00Z",
        "from=2024-01-01T00:00:00Z",
        "",
        "from=&to=2024-01-02T00:00:00Z",
        "from=2024-01-01&to=2024-01-02",
        "from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z&bucket=week",
    ] {
        assert_error(
            &app,
            &format!("/api/v1/reports/summary?{query}"),
            400,
            "bad_request",
        )
        .await;
    }
}
