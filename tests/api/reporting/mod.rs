//! The reporting API end to end. Call endpoints read projection rows this module inserts with SQL;
//! event endpoints read events stored through real callback POSTs.

mod access;
mod calls;
mod events;
mod export;
mod filter_keys;
mod openapi;
mod pagination;
mod rollups;
mod summary;
mod whole_call;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::fixtures::*;
use crate::helpers::*;

pub const API_TOKEN: &str = "test-api-token";

/// The app with the test token and the projector off: these tests write projection rows themselves,
/// and a projector recomputing a call from its events would overwrite them mid-test. The per-token
/// rate limit is off: some tests walk hundreds of pages at full speed (the limit has a test of its
/// own, in `access`).
pub async fn spawn_api() -> TestApp {
    TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.api.rate_limit_per_second = 0;
        s.projection.enabled = false;
    })
    .await
}

/// The app with the test token and the projector running: for tests that read what it derives.
pub async fn spawn_api_with_projector() -> TestApp {
    TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.api.rate_limit_per_second = 0;
    })
    .await
}

pub fn t(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test time")
        .with_timezone(&Utc)
}

/// GET with the test token.
pub async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("request sent")
}

/// GET that must answer 200 JSON.
pub async fn get_ok(app: &TestApp, path: &str) -> Value {
    let response = get(app, path).await;
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

/// GET that must fail with this status and error code.
pub async fn assert_error(app: &TestApp, path: &str, status: u16, code: &str) {
    let (got_status, got_code, message) = error_code(get(app, path).await).await;
    assert_eq!(
        (got_status, got_code.as_str()),
        (status, code),
        "GET {path}: {message}"
    );
}

/// The `event_id`s of the audit log filtered by `query`, every page followed (two events a page,
/// so that paging is exercised too).
pub async fn event_ids(app: &TestApp, query: &str) -> Vec<String> {
    strings(
        &all_pages(app, &format!("/api/v1/events?limit=2&{query}")).await,
        "event_id",
    )
}

/// Follows `next_cursor` to the end; `path` has a query string already.
pub async fn all_pages(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = get_ok(app, &url).await;
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("pagination did not end");
}

pub fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[field].as_str().expect("string field").to_owned())
        .collect()
}

/// POSTs GA events as one array and checks they were all stored.
pub async fn ingest(app: &TestApp, events: Vec<Value>) {
    let n = events.len();
    let response = app.post_callback(Value::Array(events).to_string()).await;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.expect("summary");
    assert_eq!(summary["stored"], n, "{summary}");
}

/// `n` GA tone events of one call, ids `{prefix}-{i}`.
pub fn tones(prefix: &str, call: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            b_tone(
                &format!("{prefix}-{i}"),
                call,
                i as i64,
                "one",
                "2024-03-12T09:15:40Z",
            )
        })
        .collect()
}

// ---- projection rows, inserted directly until the projector writes them ----

/// Recomputes the summary rollups from the call model, as `calltrail rebuild` does: rows inserted
/// by hand are not counted in them otherwise.
pub async fn refresh_rollups(app: &TestApp) {
    let mut tx = app.pool.begin().await.expect("begin");
    calltrail::projection::rollup::recompute(&mut tx)
        .await
        .expect("recompute the rollups");
    tx.commit().await.expect("commit");
}

pub struct CallRow {
    pub call_id: String,
    pub state: Option<&'static str>,
    pub first_event_at: DateTime<Utc>,
    pub connected_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub outcome: &'static str,
    pub dtmf_count: i32,
    pub media_total: i32,
    pub media_succeeded: i32,
}

impl CallRow {
    pub fn new(call_id: &str, first_event_at: &str) -> CallRow {
        CallRow {
            call_id: call_id.to_owned(),
            state: Some("disconnected"),
            first_event_at: t(first_event_at),
            connected_at: None,
            duration_ms: None,
            outcome: "completed",
            dtmf_count: 0,
            media_total: 0,
            media_succeeded: 0,
        }
    }

    pub async fn insert(&self, app: &TestApp) {
        sqlx::query(
            "INSERT INTO calls (call_id, server_call_id, correlation_id, state, first_event_at, \
               last_event_at, connected_at, disconnected_at, duration_ms, participant_count, \
               peak_participants, outcome, failure_code, failure_sub_code, failure_message, \
               event_count, dtmf_count, media_total, media_succeeded, last_event_seq) \
             VALUES ($1, 'srv-' || $1, 'corr-' || $1, $2, $3, $3 + interval '1 minute', $4, \
               $3 + interval '1 minute', $5, 0, 2, $6, \
               CASE WHEN $6 = 'failed' THEN 500 END, CASE WHEN $6 = 'failed' THEN 8500 END, \
               CASE WHEN $6 = 'failed' THEN 'failed' END, 3, $7, $8, $9, 42)",
        )
        .bind(&self.call_id)
        .bind(self.state)
        .bind(self.first_event_at)
        .bind(self.connected_at)
        .bind(self.duration_ms)
        .bind(self.outcome)
        .bind(self.dtmf_count)
        .bind(self.media_total)
        .bind(self.media_succeeded)
        .execute(&app.pool)
        .await
        .expect("insert call");
    }
}

pub async fn insert_interval(
    app: &TestApp,
    call: &str,
    raw_id: &str,
    interval_no: i32,
    joined_at: &str,
    left_at: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO call_participants (call_id, raw_id, interval_no, kind, display_id, joined_at, \
           left_at, joined_sequence, left_sequence, call_started_at) \
         VALUES ($1, $2, $3, CASE WHEN $2 LIKE '4:%' THEN 'phone_number' ELSE 'communication_user' END, \
           'shown-' || $3, $4, $5, $3 * 10, CASE WHEN $5 IS NULL THEN NULL ELSE $3 * 10 + 1 END, \
           coalesce((SELECT first_event_at FROM calls WHERE call_id = $1), $4))",
    )
    .bind(call)
    .bind(raw_id)
    .bind(interval_no)
    .bind(t(joined_at))
    .bind(left_at.map(t))
    .execute(&app.pool)
    .await
    .expect("insert interval");
}

pub async fn insert_change(
    app: &TestApp,
    call: &str,
    raw_id: &str,
    ordinal: i32,
    at: &str,
    muted: bool,
    on_hold: bool,
) {
    sqlx::query(
        "INSERT INTO participant_changes (call_id, raw_id, ordinal, at, sequence_number, is_muted, is_on_hold) \
         VALUES ($1, $2, $3, $4, $3, $5, $6)",
    )
    .bind(call)
    .bind(raw_id)
    .bind(ordinal)
    .bind(t(at))
    .bind(muted)
    .bind(on_hold)
    .execute(&app.pool)
    .await
    .expect("insert change");
}
