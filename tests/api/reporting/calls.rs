//! Calls and their sub-resources, read from projection rows inserted here.

use serde_json::json;

use super::*;

const PHONE: &str = "4:+14255550123";
const PHONE_IN_PATH: &str = "4%3A%2B14255550123";

/// c1 completed and c2 failed on March 1st, c3 still in progress on the 2nd, c4 never connected
/// on the 3rd. The phone participant was in c1 twice and in c3.
async fn fixture(app: &TestApp) {
    let mut c1 = CallRow::new("c1", "2024-03-01T10:00:00Z");
    c1.connected_at = Some(t("2024-03-01T10:00:02Z"));
    c1.duration_ms = Some(600_000);
    c1.insert(app).await;
    let mut c2 = CallRow::new("c2", "2024-03-01T11:00:00Z");
    c2.outcome = "failed";
    c2.insert(app).await;
    let mut c3 = CallRow::new("c3", "2024-03-02T09:00:00Z");
    c3.state = Some("connected");
    c3.outcome = "in_progress";
    c3.insert(app).await;
    let mut c4 = CallRow::new("c4", "2024-03-03T00:00:00Z");
    c4.state = None;
    c4.outcome = "never_connected";
    c4.insert(app).await;

    insert_interval(
        app,
        "c1",
        "8:acs:alice",
        1,
        "2024-03-01T10:00:00Z",
        Some("2024-03-01T10:10:00Z"),
    )
    .await;
    insert_interval(
        app,
        "c1",
        PHONE,
        1,
        "2024-03-01T10:00:05Z",
        Some("2024-03-01T10:02:00Z"),
    )
    .await;
    insert_interval(app, "c1", PHONE, 2, "2024-03-01T10:05:00Z", None).await;
    insert_interval(
        app,
        "c2",
        "8:acs:bob",
        1,
        "2024-03-01T11:00:00Z",
        Some("2024-03-01T11:00:30Z"),
    )
    .await;
    insert_interval(app, "c3", PHONE, 1, "2024-03-02T09:00:10Z", None).await;

    // Before the first join (kept with the first interval), during each interval.
    insert_change(app, "c1", PHONE, 1, "2024-03-01T10:00:01Z", false, false).await;
    insert_change(app, "c1", PHONE, 2, "2024-03-01T10:00:05Z", true, false).await;
    insert_change(app, "c1", PHONE, 3, "2024-03-01T10:01:00Z", false, true).await;
    insert_change(app, "c1", PHONE, 4, "2024-03-01T10:06:00Z", true, false).await;
    insert_change(
        app,
        "c1",
        "8:acs:alice",
        1,
        "2024-03-01T10:03:00Z",
        true,
        false,
    )
    .await;

    for (ordinal, seq, tone, repeated, missing) in [
        (1, 1, "1", false, 0),
        (2, 1, "1", true, 0),
        (3, 4, "#", false, 2),
    ] {
        sqlx::query(
            "INSERT INTO dtmf_tones (call_id, ordinal, sequence_id, tone, at, participant_id, repeated, missing_before, event_seq) \
             VALUES ('c1', $1, $2, $3, $4, $5, $6, $7, $1 + 100)",
        )
        .bind(ordinal)
        .bind(seq as i64)
        .bind(tone)
        .bind(t("2024-03-01T10:00:30Z") + chrono::TimeDelta::seconds(ordinal as i64))
        .bind(PHONE)
        .bind(repeated)
        .bind(missing)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    for (ctx, op, outcome) in [
        ("welcome", "play", "completed"),
        ("menu", "recognize", "failed"),
        ("menu", "play", "canceled"),
    ] {
        sqlx::query(
            "INSERT INTO media_operations (call_id, operation_context, operation, outcome, result_code, \
               result_sub_code, result_message, started_at, finished_at, duration_ms, event_count) \
             VALUES ('c1', $1, $2, $3, 200, 0, 'm', '2024-03-01T10:00:10Z', '2024-03-01T10:00:20Z', 10000, 2)",
        )
        .bind(ctx)
        .bind(op)
        .bind(outcome)
        .execute(&app.pool)
        .await
        .unwrap();
    }
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    strings(
        &all_pages(app, &format!("/api/v1/calls?limit=2&{query}")).await,
        "call_id",
    )
}

#[tokio::test]
async fn calls_are_listed_by_first_event_and_filtered() {
    let app = spawn_api().await;
    fixture(&app).await;
    assert_eq!(ids(&app, "").await, ["c1", "c2", "c3", "c4"]);
    assert_eq!(ids(&app, "order=desc").await, ["c4", "c3", "c2", "c1"]);
    // `from` inclusive, `to` exclusive; offsets other than Z are understood.
    assert_eq!(
        ids(&app, "from=2024-03-01T11:00:00Z&to=2024-03-02T09:00:00Z").await,
        ["c2"]
    );
    assert_eq!(
        ids(&app, "from=2024-03-01T12:00:00%2B01:00").await,
        ["c2", "c3", "c4"]
    );
    assert_eq!(ids(&app, "to=2024-03-01T10:00:00.000001Z").await, ["c1"]);
    assert_eq!(ids(&app, "state=connected").await, ["c3"]);
    assert_eq!(ids(&app, "state=").await, ["c1", "c2", "c3", "c4"]);
    assert_eq!(ids(&app, "outcome=failed").await, ["c2"]);
    assert_eq!(ids(&app, "outcome=never_connected").await, ["c4"]);
    assert_eq!(
        ids(&app, &format!("participant={PHONE_IN_PATH}")).await,
        ["c1", "c3"]
    );
    assert_eq!(
        ids(
            &app,
            &format!("participant={PHONE_IN_PATH}&outcome=in_progress")
        )
        .await,
        ["c3"]
    );
    assert_eq!(
        ids(&app, "participant=8:acs:nobody").await,
        Vec::<String>::new()
    );
    // Unknown parameters are ignored.
    assert_eq!(ids(&app, "colour=blue").await, ["c1", "c2", "c3", "c4"]);
}

#[tokio::test]
async fn one_call_has_every_column() {
    let app = spawn_api().await;
    fixture(&app).await;
    let call = get_ok(&app, "/api/v1/calls/c1").await;
    assert_eq!(
        call,
        json!({
            "call_id": "c1", "server_call_id": "srv-c1", "correlation_id": "corr-c1",
            "state": "disconnected",
            "first_event_at": "2024-03-01T10:00:00Z", "last_event_at": "2024-03-01T10:01:00Z",
            "connected_at": "2024-03-01T10:00:02Z", "disconnected_at": "2024-03-01T10:01:00Z",
            "duration_ms": 600000, "participant_count": 0, "peak_participants": 2,
            "outcome": "completed", "failure_code": null, "failure_sub_code": null,
            "failure_message": null, "event_count": 3, "dtmf_count": 0, "media_total": 0,
            "media_succeeded": 0, "last_event_seq": 42,
            "projected_at": call["projected_at"],
        })
    );
    assert!(call["projected_at"].as_str().unwrap().ends_with('Z'));
    let failed = get_ok(&app, "/api/v1/calls/c2").await;
    assert_eq!(
        (&failed["failure_code"], &failed["failure_sub_code"]),
        (&json!(500), &json!(8500))
    );
    assert_error(&app, "/api/v1/calls/nope", 404, "not_found").await;
}

#[tokio::test]
async fn participant_history_has_intervals_with_their_changes() {
    let app = spawn_api().await;
    fixture(&app).await;
    let intervals = all_pages(&app, "/api/v1/calls/c1/participants?limit=1").await;
    let summary: Vec<(String, i64, Value)> = intervals
        .iter()
        .map(|i| {
            let ordinals: Vec<i64> = i["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["ordinal"].as_i64().unwrap())
                .collect();
            (
                i["raw_id"].as_str().unwrap().to_owned(),
                i["interval_no"].as_i64().unwrap(),
                json!(ordinals),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("8:acs:alice".to_owned(), 1, json!([1])),
            (PHONE.to_owned(), 1, json!([1, 2, 3])),
            (PHONE.to_owned(), 2, json!([4])),
        ]
    );
    assert_eq!(
        intervals[2],
        json!({
            "raw_id": PHONE, "interval_no": 2, "kind": "phone_number", "display_id": "shown-2",
            "joined_at": "2024-03-01T10:05:00Z", "left_at": null,
            "joined_sequence": 20, "left_sequence": null,
            "changes": [{"ordinal": 4, "at": "2024-03-01T10:06:00Z", "sequence_number": 4,
                         "is_muted": true, "is_on_hold": false}]
        })
    );
    let desc = all_pages(&app, "/api/v1/calls/c1/participants?limit=2&order=desc").await;
    assert_eq!(
        desc.iter().map(|i| &i["joined_at"]).collect::<Vec<_>>(),
        [
            "2024-03-01T10:05:00Z",
            "2024-03-01T10:00:05Z",
            "2024-03-01T10:00:00Z"
        ]
    );
    // A call without participants is an empty list, an unknown call a 404.
    assert_eq!(
        all_pages(&app, "/api/v1/calls/c4/participants?limit=5").await,
        Vec::<Value>::new()
    );
    assert_error(&app, "/api/v1/calls/nope/participants", 404, "not_found").await;
}

#[tokio::test]
async fn dtmf_and_media_of_a_call() {
    let app = spawn_api().await;
    fixture(&app).await;
    let tones = all_pages(&app, "/api/v1/calls/c1/dtmf?limit=2").await;
    assert_eq!(strings(&tones, "tone"), ["1", "1", "#"]);
    assert_eq!(
        tones[2],
        json!({"ordinal": 3, "sequence_id": 4, "tone": "#", "at": "2024-03-01T10:00:33Z",
               "participant_id": PHONE, "repeated": false, "missing_before": 2, "event_seq": 103})
    );
    assert_eq!(tones[1]["repeated"], true);
    let media = all_pages(&app, "/api/v1/calls/c1/media?limit=2").await;
    let keys: Vec<(String, String)> = media
        .iter()
        .map(|m| {
            (
                m["operation_context"].as_str().unwrap().into(),
                m["operation"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("menu".into(), "play".into()),
            ("menu".into(), "recognize".into()),
            ("welcome".into(), "play".into())
        ]
    );
    assert_eq!(
        media[2],
        json!({"operation_context": "welcome", "operation": "play", "outcome": "completed",
               "result_code": 200, "result_sub_code": 0, "result_message": "m",
               "started_at": "2024-03-01T10:00:10Z", "finished_at": "2024-03-01T10:00:20Z",
               "duration_ms": 10000, "event_count": 2})
    );
    assert_eq!(
        all_pages(&app, "/api/v1/calls/c2/dtmf?limit=5").await,
        Vec::<Value>::new()
    );
    assert_eq!(
        all_pages(&app, "/api/v1/calls/c2/media?limit=5").await,
        Vec::<Value>::new()
    );
    assert_error(&app, "/api/v1/calls/nope/dtmf", 404, "not_found").await;
    assert_error(&app, "/api/v1/calls/nope/media", 404, "not_found").await;
}

#[tokio::test]
async fn a_participants_calls_by_raw_id_with_percent_decoding() {
    let app = spawn_api().await;
    fixture(&app).await;
    for path in [
        format!("/api/v1/participants/{PHONE_IN_PATH}/calls?limit=1"),
        format!("/api/v1/participants/{PHONE}/calls?limit=1"),
        "/api/v1/participants/4:%2B14255550123/calls?limit=1".to_owned(),
    ] {
        let calls = all_pages(&app, &path).await;
        assert_eq!(calls.len(), 2, "{path}");
        assert_eq!(
            (
                &calls[0]["joined_at"],
                &calls[0]["left_at"],
                &calls[0]["intervals"]
            ),
            (&json!("2024-03-01T10:00:05Z"), &Value::Null, &json!(2)),
            "{path}"
        );
        assert_eq!(calls[0]["kind"], "phone_number");
        assert_eq!(calls[0]["call"]["call_id"], "c1");
        assert_eq!(calls[0]["call"]["outcome"], "completed");
        assert_eq!(calls[1]["call"]["call_id"], "c3");
        assert_eq!(calls[1]["intervals"], 1);
    }
    let alice = all_pages(&app, "/api/v1/participants/8:acs:alice/calls?limit=5").await;
    assert_eq!(alice[0]["left_at"], "2024-03-01T10:10:00Z");
    let later = all_pages(
        &app,
        &format!("/api/v1/participants/{PHONE_IN_PATH}/calls?from=2024-03-02T00:00:00Z"),
    )
    .await;
    assert_eq!(later.len(), 1);
    // A plus that became a space (form encoding) is a different participant.
    assert_eq!(
        all_pages(&app, "/api/v1/participants/4:%2014255550123/calls?limit=5").await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn a_calls_timeline_is_every_event_in_order() {
    let app = spawn_api().await;
    // No projection rows at all: the timeline comes from the event log alone.
    let call = "tl-1";
    ingest(
        &app,
        vec![
            b_event(
                "tl-a",
                "CallConnected",
                call,
                json!({}),
                "2024-03-12T09:15:40Z",
            ),
            b_tone("tl-b", call, 1, "five", "2024-03-12T09:15:41Z"),
            b_tone("tl-x", "other-call", 1, "five", "2024-03-12T09:15:41Z"),
        ],
    )
    .await;
    ingest(
        &app,
        vec![b_result(
            "tl-c",
            "PlayCompleted",
            call,
            "ctx-1",
            200,
            0,
            "2024-03-12T09:15:42Z",
        )],
    )
    .await;
    let events = all_pages(&app, &format!("/api/v1/calls/{call}/events?limit=2")).await;
    assert_eq!(strings(&events, "event_id"), ["tl-a", "tl-b", "tl-c"]);
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["event_seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(events.iter().all(|e| e.get("raw").is_none()));
    assert_eq!(events[1]["details"]["family"], "dtmf_tone");
    assert_eq!(events[1]["details"]["tone"], "5");
    assert_eq!(events[2]["operation_context"], "ctx-1");
    assert_eq!(events[2]["result_code"], 200);
    assert_eq!(events[0]["event_time"], "2024-03-12T09:15:40Z");
    let desc = all_pages(&app, &format!("/api/v1/calls/{call}/events?order=desc")).await;
    assert_eq!(strings(&desc, "event_id"), ["tl-c", "tl-b", "tl-a"]);
    assert_error(&app, "/api/v1/calls/nope/events", 404, "not_found").await;
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let app = spawn_api().await;
    fixture(&app).await;
    let lists = [
        "/api/v1/calls",
        "/api/v1/calls/c1/participants",
        "/api/v1/calls/c1/events",
        "/api/v1/calls/c1/dtmf",
        "/api/v1/calls/c1/media",
        "/api/v1/participants/8:acs:alice/calls",
        "/api/v1/events",
    ];
    for list in lists {
        for query in [
            "limit=0",
            "limit=501",
            "limit=ten",
            "limit=-5",
            "cursor=not-a-cursor",
            "cursor=eyJ2IjoxfQ",
            "order=sideways",
        ] {
            assert_error(&app, &format!("{list}?{query}"), 400, "bad_request").await;
        }
    }
    for query in [
        "from=yesterday",
        "to=2024-03-01",
        "from=2024-03-01T10:00:00",
        "outcome=exploded",
        "limit=1&limit=2",
    ] {
        assert_error(&app, &format!("/api/v1/calls?{query}"), 400, "bad_request").await;
    }
    // A range that holds nothing is a question with an empty answer, not a mistake.
    for list in [
        "/api/v1/calls",
        "/api/v1/participants/8:acs:alice/calls",
        "/api/v1/events",
    ] {
        let page = get_ok(
            &app,
            &format!("{list}?from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z"),
        )
        .await;
        assert_eq!(page["items"], serde_json::json!([]), "{list}");
    }
    assert_error(
        &app,
        "/api/v1/participants/8:acs:alice/calls?from=soon",
        400,
        "bad_request",
    )
    .await;
    // The largest limit is fine.
    get_ok(&app, "/api/v1/calls?limit=500").await;
}
