//! Callbacks in every era are stored, normalised, exactly once, and atomically per POST.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

/// A stored event as calltrail reads it back.
#[derive(Debug)]
struct Row {
    format: String,
    event_type: String,
    family: String,
    call_id: Option<String>,
    server_call_id: Option<String>,
    correlation_id: Option<String>,
    operation_context: Option<String>,
    result_code: Option<i64>,
    result_sub_code: Option<i64>,
    sequence_number: Option<i64>,
    auth_scheme: String,
    request_id: Option<String>,
    /// Derived from `format` and `raw`, as every reader derives it, like the fields of the
    /// envelope and the result.
    details: Value,
    raw: String,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    stored_events(&app.pool)
        .await
        .into_iter()
        .map(|stored| {
            let e = stored.event;
            Row {
                format: e.format,
                event_type: e.event_type,
                family: e.family,
                call_id: e.call_id,
                server_call_id: e.server_call_id,
                correlation_id: e.correlation_id,
                operation_context: e.operation_context,
                result_code: e.result_code,
                result_sub_code: e.result_sub_code,
                sequence_number: e.sequence_number,
                auth_scheme: e.auth_scheme,
                request_id: e.request_id,
                details: e.details,
                raw: stored.raw,
            }
        })
        .collect()
}

async fn post_ok(app: &TestApp, body: &Value) -> Value {
    let response = app.post_callback(body.to_string()).await;
    assert_eq!(response.status(), 200, "body: {body}");
    response.json().await.expect("summary")
}

#[tokio::test]
async fn a1_events_are_stored_with_normalised_fields() {
    let app = TestApp::spawn().await;
    let t = "2021-05-05T20:09:41.1220417Z";
    post_ok(&app, &a1_state("leg-1", "Established", t)).await;
    post_ok(&app, &a1_dtmf("leg-1", 3, "Tone1", t)).await;
    post_ok(&app, &a1_play("leg-1", "ctx-play", "completed", 200, 0, t)).await;
    post_ok(
        &app,
        &a1_play("leg-1", "ctx-cancel", "failed", 400, 8508, t),
    )
    .await;
    post_ok(&app, &a1_invite("leg-1", "ctx-inv", "completed", t)).await;
    post_ok(
        &app,
        &a1_participants(
            "leg-1",
            &[("8:acs:r_u1", false), ("4:+14255550123", true)],
            t,
        ),
    )
    .await;

    let rows = rows(&app).await;
    assert_eq!(rows.len(), 6);
    assert!(rows
        .iter()
        .all(|r| r.format == "a1" && r.call_id.as_deref() == Some("leg-1")));
    assert!(rows.iter().all(|r| r.auth_scheme == "query_secret"));
    assert!(rows.iter().all(|r| r.request_id.is_some()));
    let families: Vec<&str> = rows.iter().map(|r| r.family.as_str()).collect();
    assert_eq!(
        families,
        [
            "call_state",
            "dtmf_tone",
            "play",
            "play",
            "participant_operation",
            "participants_updated"
        ]
    );
    assert_eq!(rows[0].details["state"], "established");
    assert_eq!(rows[1].details["tone"], "1");
    assert_eq!(rows[1].details["sequence_id"], 3);
    assert_eq!(rows[2].details["outcome"], "completed");
    assert_eq!(rows[2].operation_context.as_deref(), Some("ctx-play"));
    // CancelMediaProcessing has no event of its own in A1: a PlayAudioResult 400/8508 is a cancel.
    assert_eq!(rows[3].details["outcome"], "canceled");
    assert_eq!(
        (rows[3].result_code, rows[3].result_sub_code),
        (Some(400), Some(8508))
    );
    assert_eq!(rows[5].details["participants"].as_array().unwrap().len(), 2);
    assert_eq!(
        rows[5].details["participants"][1]["identifier"]["raw_id"],
        "4:+14255550123"
    );
}

#[tokio::test]
async fn a2_events_are_stored() {
    let app = TestApp::spawn().await;
    let t = "2022-01-10T10:00:00.5Z";
    post_ok(&app, &a2_state("a2-1", "conn-2", "Connected", t)).await;
    post_ok(&app, &a2_tone("a2-2", "conn-2", 1, "tone5", t)).await;
    let dtmf = cloud_event(
        "a2-3",
        "DtmfReceived",
        "conn-2",
        json!({"toneInfo": {"sequenceId": 2, "tone": "pound"}, "callConnectionId": "conn-2"}),
        t,
    );
    post_ok(&app, &dtmf).await;
    let recording = cloud_event(
        "a2-4",
        "CallRecordingStateChanged",
        "conn-2",
        json!({"recordingId": "rec-9", "state": "active", "startDateTime": t, "serverCallId": "srv"}),
        t,
    );
    post_ok(&app, &recording).await;
    let add = cloud_event(
        "a2-5",
        "AddParticipantResult",
        "conn-2",
        json!({"callConnectionId": "conn-2", "operationContext": "add-1", "status": "completed",
               "resultInfo": {"code": 202, "subcode": 0, "message": "ok"}}),
        t,
    );
    post_ok(&app, &add).await;

    let rows = rows(&app).await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.format == "a2"));
    assert_eq!(rows[0].details["state"], "connected");
    assert_eq!(rows[0].server_call_id.as_deref(), Some("srv-conn-2"));
    assert_eq!(rows[1].family, "dtmf_tone");
    assert_eq!(rows[1].details["tone"], "5");
    assert_eq!(rows[2].details["tone"], "#");
    assert_eq!(rows[3].family, "recording");
    assert_eq!(rows[3].details["recording_id"], "rec-9");
    assert_eq!(rows[4].family, "participant_operation");
    assert_eq!(rows[4].result_sub_code, Some(0));
}

#[tokio::test]
async fn b_arrays_store_every_element_byte_for_byte() {
    let app = TestApp::spawn().await;
    let call = "421f0a00-b1";
    let t = "2024-03-12T09:15:40.43+00:00";
    let events = vec![
        b_event("b-1", "CallConnected", call, json!({}), t),
        b_participants(
            "b-2",
            call,
            4,
            &[
                (phone("+14255550123"), false, true),
                (acs_user("8:acs:r_u1"), true, false),
            ],
            t,
        ),
        b_tone("b-3", call, 1, "nine", t),
        b_result("b-4", "PlayCompleted", call, "ctx-p", 200, 0, t),
        b_result("b-5", "PlayFailed", call, "ctx-f", 400, 8536, t),
        b_result("b-6", "RecognizeFailed", call, "ctx-r", 400, 8510, t),
        b_result("b-7", "AddParticipantSucceeded", call, "ctx-a", 200, 0, t),
        b_result("b-8", "CallTransferAccepted", call, "ctx-t", 200, 0, t),
        b_event(
            "b-9",
            "RecordingStateChanged",
            call,
            json!({"recordingId": "r1", "state": "active"}),
            t,
        ),
        b_result("b-10", "CreateCallFailed", call, "ctx-c", 408, 10004, t),
        b_event("b-11", "CallDisconnected", call, json!({}), t),
    ];
    // Odd spacing inside the body: each element's raw text must be kept exactly.
    let elements: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string_pretty(e).unwrap())
        .collect();
    let body = format!("[ {} ]", elements.join(" ,\n "));
    let summary: Value = {
        let response = app.post_callback(body).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    };
    assert_eq!(
        summary,
        json!({"received": 11, "stored": 11, "duplicates": 0})
    );

    let rows = rows(&app).await;
    assert_eq!(rows.len(), 11);
    for (row, element) in rows.iter().zip(&elements) {
        assert_eq!(&row.raw, element, "raw bytes are kept");
        assert_eq!(row.format, "call_automation");
        assert_eq!(row.call_id.as_deref(), Some(call));
        assert_eq!(row.correlation_id.as_deref(), Some("corr-421f0a00-b1"));
    }
    let families: Vec<&str> = rows.iter().map(|r| r.family.as_str()).collect();
    assert_eq!(
        families,
        [
            "call_state",
            "participants_updated",
            "dtmf_tone",
            "play",
            "play",
            "recognize",
            "participant_operation",
            "transfer",
            "recording",
            "operation_failed",
            "call_state"
        ]
    );
    assert_eq!(rows[0].details["state"], "connected");
    assert_eq!(rows[1].sequence_number, Some(4));
    assert_eq!(rows[1].details["participants"][0]["is_on_hold"], true);
    assert_eq!(rows[2].details["tone"], "9");
    assert_eq!(rows[4].details["outcome"], "failed");
    assert_eq!(rows[4].result_sub_code, Some(8536));
    assert_eq!(rows[10].details["state"], "disconnected");
}

#[tokio::test]
async fn unknown_event_types_are_stored_and_acknowledged() {
    let app = TestApp::spawn().await;
    let body = json!([b_event(
        "u-1",
        "SomethingNew2031",
        "c-9",
        json!({"shiny": [1, 2]}),
        "2031-01-01T00:00:00Z"
    )]);
    let summary = post_ok(&app, &body).await;
    assert_eq!(summary["stored"], 1);
    let rows = rows(&app).await;
    assert_eq!(rows[0].family, "unknown");
    assert_eq!(
        rows[0].event_type,
        "Microsoft.Communication.SomethingNew2031"
    );
    assert_eq!(rows[0].call_id.as_deref(), Some("c-9"));
}

#[tokio::test]
async fn duplicate_deliveries_are_acknowledged_but_stored_once() {
    let app = TestApp::spawn().await;
    let t = "2024-03-12T09:15:40Z";
    let first = json!([
        b_tone("d-1", "c-1", 1, "one", t),
        b_tone("d-2", "c-1", 2, "two", t)
    ]);
    assert_eq!(
        post_ok(&app, &first).await,
        json!({"received": 2, "stored": 2, "duplicates": 0})
    );
    // The same delivery again, and one that overlaps it.
    assert_eq!(
        post_ok(&app, &first).await,
        json!({"received": 2, "stored": 0, "duplicates": 2})
    );
    let overlap = json!([
        b_tone("d-2", "c-1", 2, "two", t),
        b_tone("d-3", "c-1", 3, "three", t)
    ]);
    assert_eq!(
        post_ok(&app, &overlap).await,
        json!({"received": 2, "stored": 1, "duplicates": 1})
    );
    // A1 has null ids: the canonical bytes are the key, so whitespace and key order do not matter.
    let a1 = a1_dtmf("leg-7", 1, "Tone2", t);
    post_ok(&app, &a1).await;
    let reordered = r#"{"eventTime":"2024-03-12T09:15:40Z","eventType":"Microsoft.Communication.DtmfReceived",
        "data":{"CallLegId":"leg-7","ToneInfo":{"Tone":"Tone2","SequenceId":1}},"dataVersion":null,
        "metadataVersion":null,"subject":"callLeg/leg-7/x","topic":null,"id":null}"#;
    let response = app.post_callback(reordered).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["duplicates"], 1);
    // The same event twice inside one POST.
    let twice = json!([
        b_tone("d-9", "c-1", 9, "nine", t),
        b_tone("d-9", "c-1", 9, "nine", t)
    ]);
    assert_eq!(
        post_ok(&app, &twice).await,
        json!({"received": 2, "stored": 1, "duplicates": 1})
    );

    assert_eq!(app.event_count().await, 5);
    let dedup = app.count_rows("event_dedup").await;
    assert_eq!(dedup, 5);
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_store_one_copy() {
    let app = TestApp::spawn().await;
    let body = json!([b_tone("race-1", "c-r", 1, "one", "2024-03-12T09:15:40Z")]).to_string();
    let sends = (0..16).map(|_| app.post_callback(body.clone()));
    let responses = futures_util::future::join_all(sends).await;
    let mut stored = 0;
    for response in responses {
        assert_eq!(response.status(), 200);
        stored += response.json::<Value>().await.unwrap()["stored"]
            .as_i64()
            .unwrap();
    }
    assert_eq!(
        stored, 1,
        "exactly one delivery reports the event as stored"
    );
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn a_malformed_element_rejects_the_whole_post() {
    let app = TestApp::spawn().await;
    let t = "2024-03-12T09:15:40Z";
    let mut bad = b_participants("m-2", "c-m", 1, &[(phone("+14255550100"), false, false)], t);
    bad["data"]["sequenceNumber"] = json!("four");
    let body = json!([
        b_tone("m-1", "c-m", 1, "one", t),
        bad,
        b_tone("m-3", "c-m", 2, "two", t)
    ]);
    let (status, code, message) = error_code(app.post_callback(body.to_string()).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_event"));
    assert!(message.contains('1'), "names the element: {message}");
    assert!(
        message.contains("sequenceNumber"),
        "names the field: {message}"
    );
    assert_eq!(app.event_count().await, 0, "nothing of the POST is stored");
    // The good events are accepted once the sender fixes the batch.
    let fixed = json!([
        b_tone("m-1", "c-m", 1, "one", t),
        b_tone("m-3", "c-m", 2, "two", t)
    ]);
    post_ok(&app, &fixed).await;
    assert_eq!(app.event_count().await, 2);
}

#[tokio::test]
async fn a_bad_request_sharing_a_batch_does_not_poison_the_others() {
    // A long batch window makes concurrent requests share transactions.
    let app = TestApp::spawn_with(|s| {
        s.ingest.batch_max_wait_us = 50_000;
        s.ingest.writers = 1;
    })
    .await;
    let t = "2024-03-12T09:15:40Z";
    let good: Vec<String> = (0..10)
        .map(|i| json!([b_tone(&format!("g-{i}"), "c-g", i, "one", t)]).to_string())
        .collect();
    let bad = r#"[{"id": "x", "type": 5}]"#.to_owned();
    let mut sends = Vec::new();
    for (i, body) in good.iter().enumerate() {
        sends.push(app.post_callback(body.clone()));
        if i == 4 {
            sends.push(app.post_callback(bad.clone()));
        }
    }
    let responses = futures_util::future::join_all(sends).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(app.event_count().await, 10);
}

/// Found by the `callback_parser` fuzz target: an event time written with a signed year before
/// 4714 BC was accepted, PostgreSQL refused to store it, and its sender got a `500`, which it would
/// retry forever. It is a `400` for its sender alone; the requests sharing its batch are stored.
#[tokio::test]
async fn an_event_time_before_any_that_can_be_stored_is_a_400_and_its_batch_neighbours_are_stored()
{
    let app = TestApp::spawn_with(|s| {
        s.ingest.batch_max_wait_us = 50_000;
        s.ingest.writers = 1;
    })
    .await;
    let t = "2024-03-12T09:15:40Z";
    let mut sends = Vec::new();
    for i in 0..10 {
        let body = json!([b_tone(&format!("g-{i}"), "c-g", i, "one", t)]).to_string();
        sends.push(app.post_callback(body));
        if i == 4 {
            let early = json!([b_tone("early", "c-g", 99, "two", "-5000-09-13T21:27:10")]);
            sends.push(app.post_callback(early.to_string()));
        }
    }
    let responses = futures_util::future::join_all(sends).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let mut expected = vec![200; 10];
    expected.insert(5, 400);
    assert_eq!(statuses, expected);
    assert_eq!(app.event_count().await, 10);
}

#[tokio::test]
async fn group_commit_and_per_request_commit_store_the_same() {
    for (max_events, wait) in [(1, 0), (500, 2_000)] {
        let app = TestApp::spawn_with(|s| {
            s.ingest.batch_max_events = max_events;
            s.ingest.batch_max_wait_us = wait;
        })
        .await;
        let sends = (0..40).map(|i| {
            let body = json!([
                b_tone(
                    &format!("gc-{i}-a"),
                    &format!("c-{i}"),
                    1,
                    "one",
                    "2024-03-12T09:15:40Z"
                ),
                b_tone(
                    &format!("gc-{i}-b"),
                    &format!("c-{i}"),
                    2,
                    "two",
                    "2024-03-12T09:15:41Z"
                ),
            ]);
            app.post_callback(body.to_string())
        });
        for response in futures_util::future::join_all(sends).await {
            assert_eq!(response.status(), 200);
        }
        assert_eq!(
            app.event_count().await,
            80,
            "batch_max_events = {max_events}"
        );
    }
}

#[tokio::test]
async fn nul_characters_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let good = b_result(
        "ok-1",
        "PlayCompleted",
        "c-n",
        "ctx",
        200,
        0,
        "2024-03-12T09:15:40Z",
    );
    let body = json!([
        good,
        b_result(
            "nul-1",
            "PlayCompleted",
            "c-n",
            "ctx\u{0}evil",
            200,
            0,
            "2024-03-12T09:15:40Z"
        )
    ]);
    let response = app.post_callback(body.to_string()).await;
    let (status, code, message) = error_code(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_event"));
    assert_eq!(
        message,
        "element 1: field `data.operationContext` contains a NUL character (\\u0000), which cannot be stored"
    );
    assert_eq!(app.event_count().await, 0, "the whole POST is refused");
}

#[tokio::test]
async fn large_events_are_compressed_with_lz4_in_current_and_future_partitions() {
    let app = TestApp::spawn().await;
    let long_message = "Action failed: the prompt could not be played. ".repeat(80);
    let body = json!([b_event(
        "lz4-1",
        "PlayFailed",
        "c-lz4",
        json!({"operationContext": "prompt", "resultInformation": {"code": 400, "subCode": 8535, "message": long_message}}),
        "2024-03-12T09:15:40Z"
    )]);
    post_ok(&app, &body).await;
    // The stored raw element (4 kB) was compressed, and with lz4.
    let raw: Option<String> = sqlx::query_scalar("SELECT pg_column_compression(raw) FROM events")
        .fetch_one(&app.pool)
        .await
        .expect("compression of the stored row");
    assert_eq!(raw.as_deref(), Some("lz4"));

    sqlx::query("SELECT calltrail_ensure_event_partitions('2031-01-01', 1)")
        .execute(&app.pool)
        .await
        .expect("a new partition");
    // Every column PostgreSQL may compress, not only the largest: after `raw`, the next value
    // compressed in a large row is usually the operation context.
    let methods: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.attname::text, a.attcompression::text FROM pg_attribute a \
         WHERE a.attrelid = 'events_y2031m01'::regclass AND a.attnum > 0 \
           AND NOT a.attisdropped AND a.attstorage IN ('x', 'm') \
         ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the new partition's columns");
    let names: Vec<&str> = methods.iter().map(|(name, _)| name.as_str()).collect();
    for expected in ["operation_context", "raw"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let not_lz4: Vec<&(String, String)> = methods.iter().filter(|(_, m)| m != "l").collect();
    assert!(not_lz4.is_empty(), "columns without lz4: {not_lz4:?}");
}

#[tokio::test]
async fn analyze_skips_the_large_columns_in_current_and_future_partitions() {
    let app = TestApp::spawn().await;
    let t = "2024-03-12T09:15:40Z";
    let body = json!([
        b_tone("st-1", "c-st", 1, "one", t),
        b_tone("st-2", "c-st", 2, "two", t)
    ]);
    post_ok(&app, &body).await;
    sqlx::query("SELECT calltrail_ensure_event_partitions('2031-02-01', 1)")
        .execute(&app.pool)
        .await
        .expect("a new partition");
    sqlx::query("ANALYZE events")
        .execute(&app.pool)
        .await
        .expect("analyze");
    // Statistics for every column but the large one, in the partition holding the events.
    let analyzed: Vec<String> = sqlx::query_scalar(
        "SELECT s.attname::text FROM pg_stats s JOIN pg_inherits i \
           ON i.inhrelid = format('%I.%I', s.schemaname, s.tablename)::regclass \
         WHERE i.inhparent = 'events'::regclass AND s.tablename <> 'events' \
         ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("statistics");
    for expected in ["call_id", "event_type", "received_at"] {
        assert!(
            analyzed.iter().any(|c| c == expected),
            "{expected} in {analyzed:?}"
        );
    }
    assert!(!analyzed.iter().any(|c| c == "raw"), "raw in {analyzed:?}");
    // Every partition, the one just created included, has the setting.
    let targets: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, coalesce(a.attstattarget::int, -1) \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'raw' \
         WHERE i.inhparent = 'events'::regclass ORDER BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the partitions' columns");
    assert!(
        targets.iter().any(|(p, _, _)| p == "events_y2031m02"),
        "{targets:?}"
    );
    let with_statistics: Vec<&(String, String, i32)> = targets
        .iter()
        .filter(|(_, _, target)| *target != 0)
        .collect();
    assert!(with_statistics.is_empty(), "{with_statistics:?}");
}

#[tokio::test]
async fn a_full_queue_answers_503_at_once_and_the_queued_requests_are_stored_after() {
    let app = TestApp::spawn_with(|s| {
        s.ingest.writers = 1;
        s.ingest.queue_capacity = 2;
        s.ingest.batch_max_events = 1;
    })
    .await;
    // Hold the only writer: its statement waits on a lock another session keeps on the dedup table.
    let mut blocker = app.pool.begin().await.expect("blocker");
    sqlx::query("LOCK TABLE event_dedup IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");

    let (done, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let t = "2024-03-12T09:15:40Z";
    for i in 0..8 {
        let request = app
            .client
            .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
            .header("content-type", "application/json")
            .body(json!([b_tone(&format!("q-{i}"), "c-q", i, "one", t)]).to_string());
        let done = done.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let response = request.send().await.expect("answer");
            let retry_after = response.headers().contains_key("retry-after");
            let status = response.status().as_u16();
            let code = if status == 503 {
                error_code(response).await.1
            } else {
                String::new()
            };
            let _ = done.send((status, code, retry_after, started.elapsed()));
        });
    }
    // At most one request is with the blocked writer and two wait in the queue: at least five are
    // refused while the writer is still blocked, each at once.
    for _ in 0..5 {
        let (status, code, retry_after, took) =
            tokio::time::timeout(std::time::Duration::from_secs(5), answers.recv())
                .await
                .expect("a refusal while the writer is blocked")
                .expect("an answer");
        assert_eq!(
            (status, code.as_str(), retry_after),
            (503, "overloaded", true)
        );
        assert!(
            took < std::time::Duration::from_secs(1),
            "refused after {took:?}"
        );
    }
    assert_eq!(app.event_count().await, 0);

    // The accepted ones (two or three, depending on whether the writer had taken the first before
    // the queue filled) are stored once the writer can go on; a sixth may have been refused too.
    blocker.rollback().await.expect("release the lock");
    let mut stored = 0;
    for _ in 0..3 {
        let (status, code, ..) = answers.recv().await.expect("an answer");
        match status {
            200 => stored += 1,
            _ => assert_eq!((status, code.as_str()), (503, "overloaded")),
        }
    }
    assert!(stored >= 2, "{stored} accepted");
    assert_eq!(app.event_count().await, stored);
}

#[tokio::test]
async fn long_operation_contexts_are_stored_projected_and_found() {
    // Applications put their own state in operation contexts: longer than a B-tree entry holds.
    let app = TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token("long-ctx-token")];
    })
    .await;
    let context = format!("state:{}", "x".repeat(6000));
    let t = "2024-03-12T09:15:40Z";
    let body = json!([
        b_result("long-1", "PlayStarted", "c-long", &context, 200, 0, t),
        b_result(
            "long-2",
            "PlayCompleted",
            "c-long",
            &context,
            200,
            0,
            "2024-03-12T09:15:45Z"
        ),
    ]);
    assert_eq!(post_ok(&app, &body).await["stored"], 2);
    app.wait_for_projections().await;
    let (outcome, stored_context): (String, String) = sqlx::query_as(
        "SELECT outcome, operation_context FROM media_operations WHERE call_id = 'c-long'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (outcome.as_str(), stored_context.len()),
        ("completed", context.len())
    );
    let page: Value = app
        .client
        .get(app.url(&format!("/api/v1/events?operation_context={context}")))
        .bearer_auth("long-ctx-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn ids_too_long_to_index_are_refused_as_invalid() {
    let app = TestApp::spawn().await;
    let call = "c".repeat(calltrail::events::MAX_KEY_CHARS + 1);
    let body = json!([b_tone("too-long", &call, 1, "one", "2024-03-12T09:15:40Z")]);
    let (status, code, message) = error_code(app.post_callback(body.to_string()).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_event"));
    assert!(message.contains("callConnectionId"), "{message}");
    let someone = json!({"rawId": format!("8:acs:{}", "p".repeat(2000))});
    let body = json!([b_participants(
        "too-long-2",
        "c-ok",
        1,
        &[(someone, false, false)],
        "2024-03-12T09:15:40Z"
    )]);
    let (status, _, message) = error_code(app.post_callback(body.to_string()).await).await;
    assert_eq!(status, 400);
    assert!(message.contains("rawId"), "{message}");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_writer_waits_for_company_only_while_every_other_writer_is_committing() {
    // A batch window far longer than any commit. With one writer, a lone request waits it out in
    // case others arrive to share its transaction; with two, the other is idle and could take any
    // request arriving meanwhile, so waiting gains nothing and the request is committed at once.
    for (writers, waits) in [(1, true), (2, false)] {
        let app = TestApp::spawn_with(|s| {
            s.ingest.batch_max_wait_us = 5_000_000;
            s.ingest.writers = writers;
        })
        .await;
        let started = std::time::Instant::now();
        post_ok(
            &app,
            &json!([b_tone(
                "alone-1",
                "c-alone",
                1,
                "one",
                "2024-03-12T09:15:40Z"
            )]),
        )
        .await;
        let took = started.elapsed();
        if waits {
            assert!(took >= std::time::Duration::from_millis(4_900), "{took:?}");
        } else {
            assert!(took < std::time::Duration::from_millis(2_500), "{took:?}");
        }
        assert_eq!(app.event_count().await, 1);
    }
}
