//! The summary report from the rollups the projector keeps: the same answer as the direct query
//! over the call model, byte for byte, after calls delivered out of order and twice through the
//! real ingest, and after `rebuild`.

use chrono::{DateTime, Duration, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Value};

use super::*;

fn base() -> DateTime<Utc> {
    t("2024-05-01T20:10:00Z")
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// xorshift64*: a fixed sequence, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

/// Call `n`'s events (GA format): the late one, when it has one, holds its earliest event, sent
/// after the others were projected, so that the call moves to an earlier hour (and sometimes day).
/// Durations repeat across calls, participants across calls and buckets.
fn call(n: usize) -> (Vec<Value>, Option<Value>) {
    let call = format!("roll-{n}");
    let id = |k: u32| format!("{call}-{k}");
    let start = base() + Duration::minutes(53 * n as i64) + Duration::milliseconds(n as i64 * 7);
    let s = |ms: i64| at(start + Duration::milliseconds(ms));
    let caller = phone(&format!("+1425555010{}", n % 4));
    let agent = acs_user(&format!("8:acs:agent-{}", n % 3));
    let mut events = Vec::new();
    if n % 7 == 3 {
        // Failed before connecting.
        events.push(b_result(
            &id(1),
            "CreateCallFailed",
            &call,
            "dial",
            500,
            8501,
            &s(0),
        ));
        events.push(b_participants(
            &id(2),
            &call,
            1,
            &[(caller, false, false)],
            &s(10),
        ));
        return (events, None);
    }
    let duration = 1_000 * (n as i64 * 37 % 23) + 333 * (n as i64 % 3) + n as i64 % 2;
    events.push(b_event(&id(1), "CallConnected", &call, json!({}), &s(0)));
    events.push(b_participants(
        &id(2),
        &call,
        1,
        &[(caller.clone(), false, false)],
        &s(100),
    ));
    events.push(b_participants(
        &id(3),
        &call,
        2,
        &[
            (caller.clone(), false, false),
            (agent.clone(), false, false),
        ],
        &s(200),
    ));
    for k in 0..(n % 4) as i64 {
        events.push(b_tone(&id(10 + k as u32), &call, k + 1, "one", &s(300 + k)));
    }
    if n % 3 != 0 {
        let (kind, code, sub) = if n % 5 == 0 {
            ("PlayFailed", 500, 8535)
        } else {
            ("PlayCompleted", 200, 0)
        };
        events.push(b_result(
            &id(20),
            "PlayStarted",
            &call,
            "prompt",
            200,
            0,
            &s(400),
        ));
        events.push(b_result(&id(21), kind, &call, "prompt", code, sub, &s(500)));
    }
    if n % 6 != 5 {
        events.push(b_event(
            &id(30),
            "CallDisconnected",
            &call,
            json!({}),
            &s(duration),
        ));
    }
    let late = (n % 4 == 1).then(|| {
        // Long before the call: another hour, for some calls another day.
        let early = at(start - Duration::minutes(40 + 20 * (n as i64 % 3)));
        b_participants(&id(40), &call, 0, &[(caller, false, false)], &early)
    });
    (events, late)
}

/// `events` in a seeded order, about a quarter of them twice, in arrays of one to four.
fn scrambled(mut events: Vec<Value>, rng: &mut Rng) -> Vec<Value> {
    let again: Vec<Value> = events
        .iter()
        .filter(|_| rng.below(4) == 0)
        .cloned()
        .collect();
    events.extend(again);
    for i in (1..events.len()).rev() {
        events.swap(i, rng.below(i + 1));
    }
    let mut posts = Vec::new();
    while !events.is_empty() {
        let take = (1 + rng.below(4)).min(events.len());
        posts.push(Value::Array(events.drain(..take).collect()));
    }
    posts
}

async fn post(app: &TestApp, posts: &[Value]) {
    for body in posts {
        let response = app.post_callback(body.to_string()).await;
        assert_eq!(response.status(), 200, "body: {body}");
    }
}

/// The windows compared: whole days and hours, and ranges that cut their first and last bucket.
fn windows() -> Vec<(String, String, &'static str)> {
    let day =
        |d: i64| base().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(d);
    vec![
        (at(day(-1)), at(day(5)), "day"),
        (at(day(0)), at(day(4)), "hour"),
        (
            at(day(0) + Duration::minutes(90)),
            at(day(3) + Duration::minutes(7)),
            "day",
        ),
        (
            at(day(1) + Duration::seconds(1)),
            at(day(1) + Duration::hours(20)),
            "hour",
        ),
        (
            at(day(2) + Duration::minutes(5)),
            at(day(2) + Duration::minutes(50)),
            "hour",
        ),
        (
            at(day(1) + Duration::hours(3)),
            at(day(1) + Duration::hours(3)),
            "day",
        ),
    ]
}

/// The report's buckets from the API, against the direct query over the calls, for every window.
async fn assert_matches_the_direct_query(app: &TestApp, when: &str) {
    for (from, to, bucket) in windows() {
        let path = format!(
            "/api/v1/reports/summary?from={}&to={}&bucket={bucket}",
            from.replace('+', "%2B"),
            to.replace('+', "%2B")
        );
        let response = get(app, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let served = response.text().await.unwrap();
        let width = if bucket == "hour" {
            TimeDelta::hours(1)
        } else {
            TimeDelta::days(1)
        };
        let mut tx = app.pool.begin().await.unwrap();
        let direct = calltrail::api::reports::direct_buckets(&mut tx, t(&from), t(&to), width)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        // Byte for byte: the served text of the buckets is the text of the direct query's. (Not
        // parsed JSON values: parsing may round a float's last digit, and the point is that the
        // rollups give the very same f64.)
        let buckets = served
            .split_once("\"buckets\":")
            .and_then(|(_, rest)| rest.rsplit_once(",\"next_from\":"))
            .map(|(buckets, _)| buckets)
            .expect("a summary");
        assert_eq!(
            buckets,
            serde_json::to_string(&direct).unwrap(),
            "{when}: {path}"
        );
    }
}

/// The three rollup tables, rows in key order.
async fn rollups(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    let tables = crate::model_tables::queries(false);
    for (_, sql) in tables
        .iter()
        .filter(|(table, _)| table.starts_with("summary_"))
    {
        let rows: Vec<Value> = sqlx::query_scalar(sql).fetch_all(&app.pool).await.unwrap();
        all.push(Value::Array(rows));
    }
    all
}

#[tokio::test]
async fn the_rollups_answer_as_the_calls_do_under_late_and_repeated_delivery_and_after_rebuild() {
    let app = spawn_api_with_projector().await;
    let mut rng = Rng(0x5eed_cafe);
    let (mut first, mut second, mut late) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..90 {
        let (events, early) = call(n);
        // Half of each call first, the rest later: later passes fold into stored calls.
        let half = events.len() / 2;
        first.extend(events[..half].iter().cloned());
        second.extend(events[half..].iter().cloned());
        late.extend(early);
    }
    post(&app, &scrambled(first.clone(), &mut rng)).await;
    app.wait_for_projections().await;
    assert_matches_the_direct_query(&app, "first halves").await;

    post(&app, &scrambled(second.clone(), &mut rng)).await;
    app.wait_for_projections().await;
    assert_matches_the_direct_query(&app, "whole calls").await;
    // The comparison covers interpolated percentiles and media rates, not only nulls.
    let days = get_ok(
        &app,
        "/api/v1/reports/summary?from=2024-05-02T00:00:00Z&to=2024-05-03T00:00:00Z",
    )
    .await;
    let day = &days["buckets"][0];
    assert!(day["duration_p95_ms"].as_f64().unwrap() > day["duration_p50_ms"].as_f64().unwrap());
    assert!(
        day["duration_p95_ms"].as_f64().unwrap().fract() != 0.0,
        "{day}"
    );
    assert!(day["media_success_rate"].as_f64().unwrap() < 1.0, "{day}");
    let before_late = rollups(&app).await;

    // Each late event is earlier than everything stored for its call: recomputed, and counted
    // in its new bucket only. Redeliveries of everything change nothing.
    let mut again = late.clone();
    again.extend(first.iter().step_by(3).cloned());
    post(&app, &scrambled(again, &mut rng)).await;
    app.wait_for_projections().await;
    assert_matches_the_direct_query(&app, "after late events").await;
    let after_late = rollups(&app).await;
    assert_ne!(after_late, before_late, "the late events moved calls");
    post(&app, &scrambled([first, second, late].concat(), &mut rng)).await;
    app.wait_for_projections().await;
    assert_eq!(
        rollups(&app).await,
        after_late,
        "redeliveries changed the rollups"
    );

    // A rebuild recomputes the same rollups, also from nothing.
    calltrail::projection::rebuild(&app.pool, 7).await.unwrap();
    assert_eq!(rollups(&app).await, after_late);
    sqlx::query("DELETE FROM summary_buckets")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM summary_participants")
        .execute(&app.pool)
        .await
        .unwrap();
    calltrail::projection::rebuild(&app.pool, 50).await.unwrap();
    assert_eq!(rollups(&app).await, after_late);
    assert_matches_the_direct_query(&app, "after rebuild").await;
}

#[tokio::test]
async fn a_call_removed_from_the_model_leaves_the_rollups() {
    let app = spawn_api_with_projector().await;
    let (events, _) = call(2);
    post(&app, &[Value::Array(events)]).await;
    app.wait_for_projections().await;
    assert_eq!(app.count_rows("summary_buckets").await, 2);
    assert!(app.count_rows("summary_durations").await > 0);
    // As retention does when a call's partition is dropped: its events go, the call is queued.
    sqlx::query("DELETE FROM events WHERE call_id = 'roll-2'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO projection_queue (call_ids) VALUES (ARRAY['roll-2'])")
        .execute(&app.pool)
        .await
        .unwrap();
    app.wait_for_projections().await;
    assert_eq!(app.count_rows("calls").await, 0);
    for table in [
        "summary_buckets",
        "summary_durations",
        "summary_participants",
    ] {
        assert_eq!(app.count_rows(table).await, 0, "{table}");
    }
}
