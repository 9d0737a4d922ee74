//! The call model: whole calls in every format give exact projection rows, whatever the delivery
//! order, duplicates or number of instances, and `rebuild` reproduces them.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::*;
use crate::helpers::*;

// ---- scripted calls ----

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-12T09:15:00.500Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The instant `s` seconds into a call.
fn ts(s: i64) -> DateTime<Utc> {
    base() + Duration::seconds(s)
}

fn at(s: i64) -> String {
    ts(s).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One delivery unit: previews send one object per POST; GA events travel in arrays, which the
/// shuffled deliveries regroup at will.
#[derive(Debug, Clone)]
enum Wire {
    Object(Value),
    Element(Value),
}

/// What the sender POSTs, in order: a preview object, or a GA array.
pub(crate) type Posts = Vec<Value>;

const CALLER: &str = "+14255550123";

fn a1_call(call: &str) -> Posts {
    vec![
        a1_state(call, "Establishing", &at(0)),
        a1_state(call, "Established", &at(1)),
        a1_participants(
            call,
            &[("8:acs:r_u1", false), ("4:+14255550123", true)],
            &at(2),
        ),
        a1_dtmf(call, 1, "Tone1", &at(3)),
        a1_dtmf(call, 2, "Tone2", &at(4)),
        a1_play(call, "welcome", "completed", 200, 0, &at(5)),
        // CancelMediaProcessing in A1: a failed play with 400/8508.
        a1_play(call, "hold", "failed", 400, 8508, &at(6)),
        a1_participants(call, &[("8:acs:r_u1", false)], &at(7)),
        a1_invite(call, "inv", "completed", &at(8)),
        a1_state(call, "Terminated", &at(9)),
    ]
}

fn a2_participants(id: &str, call: &str, who: &[(Value, bool)], time: &str) -> Value {
    let participants: Vec<Value> = who
        .iter()
        .map(|(identifier, muted)| json!({"identifier": identifier, "participantId": "p", "isMuted": muted}))
        .collect();
    cloud_event(
        id,
        "ParticipantsUpdated",
        call,
        json!({"callConnectionId": call, "participants": participants}),
        time,
    )
}

fn a2_play(
    id: &str,
    call: &str,
    ctx: &str,
    status: &str,
    result: Option<(i64, i64)>,
    time: &str,
) -> Value {
    let mut data = json!({"operationContext": ctx, "status": status, "callConnectionId": call});
    if let Some((code, sub)) = result {
        data["resultInfo"] = json!({"code": code, "subcode": sub, "message": "ok"});
    }
    cloud_event(id, "PlayAudioResult", call, data, time)
}

fn a2_call(call: &str) -> Posts {
    let user = json!({"rawId": "8:acs:a2-user", "communicationUser": {"id": "8:acs:a2-user"}});
    let phone = phone("+442071838750");
    let id = |n: u32| format!("{call}-{n}");
    vec![
        a2_state(&id(1), call, "connecting", &at(0)),
        a2_state(&id(2), call, "connected", &at(1)),
        a2_participants(
            &id(3),
            call,
            &[(user.clone(), false), (phone, false)],
            &at(2),
        ),
        a2_tone(&id(4), call, 1, "tone5", &at(3)),
        // The same key press again, under another event id.
        a2_tone(&id(5), call, 1, "tone5", &at(4)),
        a2_tone(&id(6), call, 3, "pound", &at(5)),
        a2_play(&id(7), call, "greet", "running", None, &at(6)),
        a2_play(&id(8), call, "greet", "completed", Some((200, 0)), &at(8)),
        a2_participants(&id(9), call, &[(user, true)], &at(9)),
        a2_state(&id(10), call, "disconnected", &at(12)),
    ]
}

pub(crate) fn ga_call(call: &str) -> Posts {
    let caller = phone(CALLER);
    let agent = acs_user(&format!("8:acs:agent-{call}"));
    let id = |n: u32| format!("{call}-{n}");
    let snap = |n: u32, seq: i64, who: &[(Value, bool, bool)], s: i64| {
        b_participants(&id(n), call, seq, who, &at(s))
    };
    let res = |n: u32, ty: &str, ctx: &str, code: i64, sub: i64, s: i64| {
        b_result(&id(n), ty, call, ctx, code, sub, &at(s))
    };
    vec![
        json!([b_event(&id(1), "CallConnected", call, json!({}), &at(0))]),
        json!([snap(2, 1, &[(caller.clone(), false, false)], 1)]),
        json!([
            snap(
                3,
                2,
                &[
                    (caller.clone(), false, false),
                    (agent.clone(), false, false)
                ],
                2
            ),
            res(4, "PlayStarted", "prompt", 200, 0, 3),
        ]),
        json!([
            snap(
                5,
                3,
                &[(caller.clone(), true, false), (agent.clone(), false, true)],
                4
            ),
            b_tone(&id(6), call, 1, "one", &at(5)),
            b_tone(&id(7), call, 2, "two", &at(6)),
        ]),
        json!([
            b_tone(&id(8), call, 2, "two", &at(7)),
            res(9, "PlayCompleted", "prompt", 200, 0, 8),
        ]),
        json!([
            snap(10, 4, &[(caller.clone(), true, false)], 9),
            res(11, "PlayStarted", "music", 200, 0, 10),
            b_tone(&id(12), call, 5, "pound", &at(11)),
        ]),
        json!([
            res(13, "PlayCanceled", "music", 400, 8508, 12),
            snap(
                14,
                5,
                &[(caller.clone(), true, false), (agent.clone(), false, false)],
                13
            ),
        ]),
        json!([
            res(15, "PlayFailed", "bad-file", 500, 8535, 14),
            res(16, "RecognizeCompleted", "menu", 200, 8531, 15),
            res(17, "RecognizeFailed", "pin", 400, 8510, 16),
            res(18, "RecognizeCanceled", "survey", 400, 8508, 17),
        ]),
        json!([b_event(
            &id(19),
            "CallDisconnected",
            call,
            json!({}),
            &at(20)
        )]),
    ]
}

fn ga_failed_call(call: &str) -> Posts {
    vec![json!([b_result(
        &format!("{call}-1"),
        "CreateCallFailed",
        call,
        "dial",
        500,
        8501,
        &at(0)
    )])]
}

pub(crate) fn every_format() -> Posts {
    [
        a1_call("a1-leg"),
        a2_call("a2-call"),
        ga_call("ga-1"),
        ga_failed_call("ga-fail"),
    ]
    .concat()
}

/// The events of `posts`, each one delivery unit.
fn units(posts: &[Value]) -> Vec<Wire> {
    posts
        .iter()
        .flat_map(|p| match p {
            Value::Array(elements) => elements.iter().cloned().map(Wire::Element).collect(),
            other => vec![Wire::Object(other.clone())],
        })
        .collect()
}

// ---- deterministic shuffling (no randomness crate needed) ----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The same events in a seeded random order, about a fifth of them twice, GA elements regrouped
/// into arrays of one to four (mixing calls).
fn scrambled(posts: &[Value], seed: u64) -> Posts {
    let mut rng = Rng(seed);
    let mut units = units(posts);
    let again: Vec<Wire> = units
        .iter()
        .filter(|_| rng.below(5) == 0)
        .cloned()
        .collect();
    units.extend(again);
    for i in (1..units.len()).rev() {
        units.swap(i, rng.below(i + 1));
    }
    let mut out = Vec::new();
    let mut array: Vec<Value> = Vec::new();
    let mut size = 1 + rng.below(4);
    for unit in units {
        match unit {
            Wire::Object(v) => out.push(v),
            Wire::Element(v) => {
                array.push(v);
                if array.len() >= size {
                    out.push(Value::Array(std::mem::take(&mut array)));
                    size = 1 + rng.below(4);
                }
            }
        }
    }
    if !array.is_empty() {
        out.push(Value::Array(array));
    }
    out
}

async fn post_all(app: &TestApp, posts: &[Value]) {
    for body in posts {
        let response = app.post_callback(body.to_string()).await;
        assert_eq!(response.status(), 200, "body: {body}");
    }
}

/// Four requests in flight at once, each posting a quarter of `posts` in order.
async fn post_concurrently(app: &TestApp, posts: &[Value]) {
    let quarters = posts.chunks(posts.len().div_ceil(4).max(1));
    futures_util::future::join_all(quarters.map(|q| post_all(app, q))).await;
}

// ---- reading the projection ----

/// Every projection table, rows in key order, as JSON.
#[derive(Debug, PartialEq)]
pub(crate) struct Dump(Vec<(&'static str, Vec<Value>)>);

/// `portable`: see [`crate::model_tables::queries`].
pub(crate) async fn dump(pool: &PgPool, portable: bool) -> Dump {
    let queries = crate::model_tables::queries(portable);
    let mut tables = Vec::new();
    for (table, sql) in queries {
        let rows: Vec<Value> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
        tables.push((table, rows));
    }
    Dump(tables)
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Call {
    call_id: String,
    server_call_id: Option<String>,
    correlation_id: Option<String>,
    state: Option<String>,
    first_event_at: DateTime<Utc>,
    last_event_at: DateTime<Utc>,
    connected_at: Option<DateTime<Utc>>,
    disconnected_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
    participant_count: i32,
    peak_participants: i32,
    outcome: String,
    failure_code: Option<i64>,
    failure_sub_code: Option<i64>,
    failure_message: Option<String>,
    event_count: i32,
    dtmf_count: i32,
    media_total: i32,
    media_succeeded: i32,
}

type Interval = (
    String,
    i32,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
);
type Change = (
    String,
    i32,
    DateTime<Utc>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
);
type Tone = (
    i32,
    Option<i64>,
    String,
    DateTime<Utc>,
    Option<String>,
    bool,
    i32,
);
type Media = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i64>,
    i32,
);

struct Rows {
    call: Option<Call>,
    participants: Vec<Interval>,
    changes: Vec<Change>,
    tones: Vec<Tone>,
    media: Vec<Media>,
}

async fn rows(pool: &PgPool, call: &str) -> Rows {
    let call_row: Option<Call> = sqlx::query_as(
        "SELECT call_id, server_call_id, correlation_id, state, first_event_at, last_event_at, \
           connected_at, disconnected_at, duration_ms, participant_count, peak_participants, \
           outcome, failure_code, failure_sub_code, failure_message, event_count, dtmf_count, \
           media_total, media_succeeded \
         FROM calls WHERE call_id = $1",
    )
    .bind(call)
    .fetch_optional(pool)
    .await
    .unwrap();
    // The projection has seen every event of the call.
    let stale: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM calls c WHERE call_id = $1 AND last_event_seq <> \
           (SELECT max(event_seq) FROM events e WHERE e.call_id = c.call_id))",
    )
    .bind(call)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(!stale, "last_event_seq of {call}");
    // Each tone row points at the event it came from.
    type ToneSource = (Option<i64>, Option<String>, Option<String>, Option<String>);
    let sources: Vec<ToneSource> = sqlx::query_as(
        "SELECT t.sequence_id, e.call_id, e.format, e.raw \
         FROM dtmf_tones t LEFT JOIN events e ON e.event_seq = t.event_seq WHERE t.call_id = $1",
    )
    .bind(call)
    .fetch_all(pool)
    .await
    .unwrap();
    for (sequence_id, event_call, format, raw) in sources {
        assert_eq!(
            event_call.as_deref(),
            Some(call),
            "dtmf_tones.event_seq of {call}"
        );
        let kind =
            calltrail::events::stored_kind(&format.unwrap_or_default(), &raw.unwrap_or_default());
        assert_eq!(
            kind.family().as_str(),
            "dtmf_tone",
            "dtmf_tones.event_seq of {call}"
        );
        let details = serde_json::to_value(kind).unwrap();
        assert_eq!(
            details["sequence_id"].as_i64(),
            sequence_id,
            "tone of {call}"
        );
    }
    Rows {
        call: call_row,
        participants: sqlx::query_as(
            "SELECT raw_id, interval_no, kind, display_id, joined_at, left_at, joined_sequence, \
               left_sequence FROM call_participants WHERE call_id = $1 ORDER BY raw_id, interval_no",
        )
        .bind(call)
        .fetch_all(pool)
        .await
        .unwrap(),
        changes: sqlx::query_as(
            "SELECT raw_id, ordinal, at, sequence_number, is_muted, is_on_hold \
             FROM participant_changes WHERE call_id = $1 ORDER BY raw_id, ordinal",
        )
        .bind(call)
        .fetch_all(pool)
        .await
        .unwrap(),
        tones: sqlx::query_as(
            "SELECT ordinal, sequence_id, tone, at, participant_id, repeated, missing_before \
             FROM dtmf_tones WHERE call_id = $1 ORDER BY ordinal",
        )
        .bind(call)
        .fetch_all(pool)
        .await
        .unwrap(),
        media: sqlx::query_as(
            "SELECT operation_context, operation, outcome, result_code, result_sub_code, \
               result_message, started_at, finished_at, duration_ms, event_count \
             FROM media_operations WHERE call_id = $1 ORDER BY operation_context, operation",
        )
        .bind(call)
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn interval(
    raw: &str,
    n: i32,
    kind: &str,
    display: &str,
    joined: i64,
    left: Option<i64>,
    seqs: (Option<i64>, Option<i64>),
) -> Interval {
    (
        s(raw),
        n,
        s(kind),
        s(display),
        ts(joined),
        left.map(ts),
        seqs.0,
        seqs.1,
    )
}

fn change(raw: &str, n: i32, at: i64, seq: Option<i64>, muted: bool, hold: Option<bool>) -> Change {
    (s(raw), n, ts(at), seq, Some(muted), hold)
}

fn tone(n: i32, seq: i64, tone: &str, at: i64, repeated: bool, missing: i32) -> Tone {
    (n, Some(seq), s(tone), ts(at), None, repeated, missing)
}

fn media(
    ctx: &str,
    op: &str,
    outcome: &str,
    result: (i64, i64, &str),
    started: i64,
    finished: i64,
    events: i32,
) -> Media {
    (
        s(ctx),
        s(op),
        s(outcome),
        Some(result.0),
        Some(result.1),
        Some(s(result.2)),
        Some(ts(started)),
        Some(ts(finished)),
        Some((finished - started) * 1000),
        events,
    )
}

/// A call with two participants that connected and ended; tests override the rest.
fn completed_call(call: &str, ids: (Option<&str>, Option<&str>), state: Option<&str>) -> Call {
    Call {
        call_id: s(call),
        server_call_id: ids.0.map(s),
        correlation_id: ids.1.map(s),
        state: state.map(s),
        first_event_at: ts(0),
        last_event_at: ts(0),
        connected_at: None,
        disconnected_at: None,
        duration_ms: None,
        participant_count: 2,
        peak_participants: 2,
        outcome: s("completed"),
        failure_code: None,
        failure_sub_code: None,
        failure_message: None,
        event_count: 0,
        dtmf_count: 0,
        media_total: 0,
        media_succeeded: 0,
    }
}

const PHONE_KIND: &str = "phone_number";
const USER_KIND: &str = "communication_user";

async fn assert_a1_rows(pool: &PgPool) {
    let r = rows(pool, "a1-leg").await;
    assert_eq!(
        r.call,
        Some(Call {
            last_event_at: ts(9),
            connected_at: Some(ts(1)),
            disconnected_at: Some(ts(9)),
            duration_ms: Some(8000),
            event_count: 10,
            dtmf_count: 2,
            media_total: 2,
            media_succeeded: 1,
            ..completed_call("a1-leg", (None, None), Some("terminated"))
        })
    );
    let phone = "4:+14255550123";
    let masked = "4:+1********23";
    assert_eq!(
        r.participants,
        [
            interval(phone, 0, PHONE_KIND, masked, 2, Some(7), (None, None)),
            interval(
                "8:acs:r_u1",
                0,
                USER_KIND,
                "8:acs:r_u1",
                2,
                Some(9),
                (None, None)
            ),
        ]
    );
    assert_eq!(
        r.changes,
        [
            change(phone, 0, 2, None, true, None),
            change("8:acs:r_u1", 0, 2, None, false, None),
        ]
    );
    assert_eq!(
        r.tones,
        [tone(0, 1, "1", 3, false, 0), tone(1, 2, "2", 4, false, 0)]
    );
    assert_eq!(
        r.media,
        [
            media("hold", "play", "canceled", (400, 8508, "msg"), 6, 6, 1),
            media("welcome", "play", "completed", (200, 0, "msg"), 5, 5, 1),
        ]
    );
}

async fn assert_a2_rows(pool: &PgPool) {
    let r = rows(pool, "a2-call").await;
    assert_eq!(
        r.call,
        Some(Call {
            last_event_at: ts(12),
            connected_at: Some(ts(1)),
            disconnected_at: Some(ts(12)),
            duration_ms: Some(11_000),
            event_count: 10,
            dtmf_count: 3,
            media_total: 1,
            media_succeeded: 1,
            ..completed_call("a2-call", (Some("srv-a2-call"), None), Some("disconnected"))
        })
    );
    let phone = "4:+442071838750";
    let user = "8:acs:a2-user";
    assert_eq!(
        r.participants,
        [
            interval(
                phone,
                0,
                PHONE_KIND,
                "4:+44********50",
                2,
                Some(9),
                (None, None)
            ),
            interval(user, 0, USER_KIND, user, 2, Some(12), (None, None)),
        ]
    );
    assert_eq!(
        r.changes,
        [
            change(phone, 0, 2, None, false, None),
            change(user, 0, 2, None, false, None),
            change(user, 1, 9, None, true, None),
        ]
    );
    assert_eq!(
        r.tones,
        [
            tone(0, 1, "5", 3, false, 0),
            tone(1, 1, "5", 4, true, 0),
            tone(2, 3, "#", 5, false, 1),
        ]
    );
    assert_eq!(
        r.media,
        [media("greet", "play", "completed", (200, 0, "ok"), 6, 8, 2)]
    );
}

async fn assert_ga_rows(pool: &PgPool, call: &str) {
    let r = rows(pool, call).await;
    let srv = format!("srv-{call}");
    let corr = format!("corr-{call}");
    assert_eq!(
        r.call,
        Some(Call {
            last_event_at: ts(20),
            connected_at: Some(ts(0)),
            disconnected_at: Some(ts(20)),
            duration_ms: Some(20_000),
            event_count: 19,
            dtmf_count: 4,
            media_total: 6,
            media_succeeded: 2,
            ..completed_call(call, (Some(&srv), Some(&corr)), Some("disconnected"))
        })
    );
    let caller = format!("4:{CALLER}");
    let agent = format!("8:acs:agent-{call}");
    assert_eq!(
        r.participants,
        [
            interval(
                &caller,
                0,
                PHONE_KIND,
                "4:+1********23",
                1,
                Some(20),
                (Some(1), None)
            ),
            interval(&agent, 0, USER_KIND, &agent, 2, Some(9), (Some(2), Some(4))),
            interval(&agent, 1, USER_KIND, &agent, 13, Some(20), (Some(5), None)),
        ]
    );
    assert_eq!(
        r.changes,
        [
            change(&caller, 0, 1, Some(1), false, Some(false)),
            change(&caller, 1, 4, Some(3), true, Some(false)),
            change(&agent, 0, 2, Some(2), false, Some(false)),
            change(&agent, 1, 4, Some(3), false, Some(true)),
            change(&agent, 2, 13, Some(5), false, Some(false)),
        ]
    );
    assert_eq!(
        r.tones,
        [
            tone(0, 1, "1", 5, false, 0),
            tone(1, 2, "2", 6, false, 0),
            tone(2, 2, "2", 7, true, 0),
            tone(3, 5, "#", 11, false, 2),
        ]
    );
    assert_eq!(
        r.media,
        [
            media("bad-file", "play", "failed", (500, 8535, "m"), 14, 14, 1),
            media(
                "menu",
                "recognize",
                "completed",
                (200, 8531, "m"),
                15,
                15,
                1
            ),
            media("music", "play", "canceled", (400, 8508, "m"), 10, 12, 2),
            media("pin", "recognize", "failed", (400, 8510, "m"), 16, 16, 1),
            media("prompt", "play", "completed", (200, 0, "m"), 3, 8, 2),
            media(
                "survey",
                "recognize",
                "canceled",
                (400, 8508, "m"),
                17,
                17,
                1
            ),
        ]
    );
}

async fn assert_failed_rows(pool: &PgPool) {
    let r = rows(pool, "ga-fail").await;
    assert_eq!(
        r.call,
        Some(Call {
            participant_count: 0,
            peak_participants: 0,
            outcome: s("failed"),
            failure_code: Some(500),
            failure_sub_code: Some(8501),
            failure_message: Some(s("m")),
            event_count: 1,
            ..completed_call("ga-fail", (Some("srv-ga-fail"), Some("corr-ga-fail")), None)
        })
    );
    assert!(r.participants.is_empty() && r.changes.is_empty());
    assert!(r.tones.is_empty() && r.media.is_empty());
}

async fn assert_every_format(pool: &PgPool) {
    assert_a1_rows(pool).await;
    assert_a2_rows(pool).await;
    assert_ga_rows(pool, "ga-1").await;
    assert_failed_rows(pool).await;
}

// ---- tests ----

#[tokio::test]
async fn whole_calls_in_every_format_project_to_exact_rows() {
    let app = TestApp::spawn().await;
    post_all(&app, &every_format()).await;
    app.wait_for_projections().await;
    assert_every_format(&app.pool).await;
    let calls = app.count_rows("calls").await;
    assert_eq!(calls, 4);
}

#[tokio::test]
async fn shuffled_and_duplicated_deliveries_give_identical_rows() {
    let reference = TestApp::spawn().await;
    post_all(&reference, &every_format()).await;
    reference.wait_for_projections().await;
    let expected = dump(&reference.pool, true).await;

    for seed in [0x5eed_0001, 0x0dd5_eed2, 0xdead_beef_cafe] {
        let app = TestApp::spawn().await;
        let posts = scrambled(&every_format(), seed);
        post_all(&app, &posts).await;
        app.wait_for_projections().await;
        assert_eq!(dump(&app.pool, true).await, expected, "seed {seed:#x}");
        // Not just equal to each other: equal to the right answer.
        assert_every_format(&app.pool).await;
    }
}

#[tokio::test]
async fn the_write_transaction_queues_each_new_call_once_and_duplicates_nothing() {
    let app = TestApp::spawn_with(|s| s.projection.enabled = false).await;
    let queued = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT c FROM projection_queue, unnest(call_ids) AS c ORDER BY id, c",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let first = json!([
        b_tone("q-1", "call-q", 1, "one", &at(1)),
        b_tone("q-2", "call-q", 2, "two", &at(2)),
        b_tone("q-3", "call-r", 1, "one", &at(1)),
    ]);
    post_all(&app, std::slice::from_ref(&first)).await;
    assert_eq!(queued().await, ["call-q", "call-r"]);
    // A redelivery stores nothing and queues nothing.
    post_all(&app, &[first]).await;
    assert_eq!(queued().await, ["call-q", "call-r"]);
    // Events without a call (Event Grid's IncomingCall) queue nothing either.
    let response = app
        .post_eventgrid(
            json!([eg_incoming_call("inc-1", "+14255550100", CALLER)]).to_string(),
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(queued().await, ["call-q", "call-r"]);

    // This instance does not project; another one on the same database finds the work by polling.
    let other = TestApp::spawn_on(&app.database_url, |_| {}).await;
    other.wait_for_projections().await;
    let tones = app.count_rows("dtmf_tones").await;
    assert_eq!(tones, 3);
}

#[tokio::test]
async fn two_instances_on_one_database_agree_with_one() {
    let mut posts = every_format();
    for n in 2..8 {
        posts.extend(ga_call(&format!("ga-{n}")));
    }

    let single = TestApp::spawn().await;
    post_all(&single, &posts).await;
    single.wait_for_projections().await;
    let expected = dump(&single.pool, true).await;

    let database_url = create_database().await;
    // Small batches and fast polling make the instances meet on the same calls.
    let one = TestApp::spawn_on(&database_url, |s| {
        s.projection.batch_calls = 2;
        s.projection.poll_interval_ms = 5;
    })
    .await;
    let two = TestApp::spawn_on(&database_url, |s| {
        s.projection.batch_calls = 3;
        s.projection.poll_interval_ms = 5;
    })
    .await;
    let scrambled = scrambled(&posts, 0xc0ffee);
    let (mine, theirs): (Vec<_>, Vec<_>) = scrambled
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let strip = |v: Vec<(usize, Value)>| v.into_iter().map(|(_, p)| p).collect::<Vec<_>>();
    let (mine, theirs) = (strip(mine), strip(theirs));
    // A rebuild running meanwhile must not disturb anything either.
    let rebuilds = async {
        for _ in 0..3 {
            calltrail::projection::rebuild(&one.pool, 4).await.unwrap();
        }
    };
    tokio::join!(
        post_concurrently(&one, &mine),
        post_concurrently(&two, &theirs),
        rebuilds
    );
    one.wait_for_projections().await;

    assert_eq!(dump(&one.pool, true).await, expected);
    assert_every_format(&one.pool).await;
    for n in 2..8 {
        assert_ga_rows(&one.pool, &format!("ga-{n}")).await;
    }
    let left = one.count_rows("projection_queue").await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn rebuild_reproduces_the_projection_exactly() {
    let app = TestApp::spawn().await;
    post_all(&app, &every_format()).await;
    app.wait_for_projections().await;
    let before = dump(&app.pool, false).await;

    // What `calltrail rebuild` runs; a batch of 3 makes it page.
    let summary = calltrail::projection::rebuild(&app.pool, 3).await.unwrap();
    assert_eq!((summary.rebuilt, summary.removed), (4, 0));
    assert_eq!(dump(&app.pool, false).await, before);

    sqlx::query(
        "TRUNCATE calls, call_participants, participant_changes, dtmf_tones, media_operations",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let summary = calltrail::projection::rebuild(&app.pool, 200)
        .await
        .unwrap();
    assert_eq!(summary.rebuilt, 4);
    assert_eq!(dump(&app.pool, false).await, before);

    // A call whose events are gone (say its partition was dropped) loses its rows.
    sqlx::query(
        "INSERT INTO calls (call_id, first_event_at, last_event_at, outcome, last_event_seq) \
         VALUES ('gone', now(), now(), 'in_progress', 1)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let summary = calltrail::projection::rebuild(&app.pool, 200)
        .await
        .unwrap();
    assert_eq!((summary.rebuilt, summary.removed), (4, 1));
    assert_eq!(dump(&app.pool, false).await, before);
}

#[tokio::test]
async fn projection_metrics_are_exported() {
    let app = TestApp::spawn().await;
    post_all(&app, &ga_failed_call("metrics-call")).await;
    app.wait_for_projections().await;
    let body = app.metrics_text().await;
    for name in [
        "calltrail_projection_calls_total",
        "calltrail_projection_events_total",
        "calltrail_projection_queue_depth",
        "calltrail_projection_lag_seconds",
    ] {
        assert!(body.contains(name), "{name} missing from:\n{body}");
    }
}

#[tokio::test]
async fn a_call_delivered_in_a_burst_waits_to_be_projected_in_one_pass() {
    // A settle time far longer than posting the call takes, so the test does not depend on speed.
    let app = TestApp::spawn_with(|s| s.projection.settle_ms = 3_000).await;
    let posts = ga_call("burst-call");
    assert!(posts.len() > 3, "the call comes in several POSTs");
    post_all(&app, &posts).await;
    // Every POST is still queued and nothing is projected yet: the first commit woke the projector,
    // which is letting the rest of the burst arrive.
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection_queue WHERE 'burst-call' = ANY(call_ids)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(queued, posts.len() as i64);
    assert_eq!(app.count_rows("calls").await, 0);
    app.wait_for_projections().await;
    assert_ga_rows(&app.pool, "burst-call").await;
}

#[tokio::test]
async fn a_call_projected_post_by_post_is_folded_in_and_matches_a_rebuild() {
    let app = TestApp::spawn_with(|s| s.projection.settle_ms = 0).await;
    let posts = ga_call("staged-call");
    let tone_rows = || async {
        sqlx::query_as::<_, (i32, String)>(
            "SELECT ordinal, xmin::text FROM dtmf_tones WHERE call_id = 'staged-call' \
             ORDER BY ordinal",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    // Each POST is projected before the next is sent, so every pass after the first has a stored
    // call to fold its events into.
    let mut first_tones = Vec::new();
    for (n, post) in posts.iter().enumerate() {
        post_all(&app, std::slice::from_ref(post)).await;
        app.wait_for_projections().await;
        if first_tones.is_empty() {
            first_tones = tone_rows().await;
        }
        assert_eq!(app.count_rows("calls").await, 1, "after POST {n}");
    }
    assert_ga_rows(&app.pool, "staged-call").await;
    // The key presses projected first were never rewritten by the passes that followed: those
    // passes added rows, they did not recompute the call.
    assert_eq!(first_tones.len(), 2);
    assert_eq!(tone_rows().await[..2], first_tones[..]);

    // The state stored with the call is the one a recompute from the log arrives at.
    let before = dump(&app.pool, false).await;
    let folds_before: Vec<Value> = sqlx::query_scalar("SELECT fold::jsonb FROM calls")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    calltrail::projection::rebuild(&app.pool, 10).await.unwrap();
    assert_eq!(dump(&app.pool, false).await, before);
    let folds_after: Vec<Value> = sqlx::query_scalar("SELECT fold::jsonb FROM calls")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(folds_after, folds_before);
    assert_ne!(
        tone_rows().await[..2],
        first_tones[..],
        "a rebuild rewrites"
    );
}

#[tokio::test]
async fn events_delivered_late_make_the_call_be_recomputed() {
    let app = TestApp::spawn_with(|s| s.projection.settle_ms = 0).await;
    let mut posts = ga_call("late-call");
    // The first POST (the connection) arrives last, after the rest was projected.
    let first = posts.remove(0);
    post_all(&app, &posts).await;
    app.wait_for_projections().await;
    post_all(&app, &[first]).await;
    app.wait_for_projections().await;
    assert_ga_rows(&app.pool, "late-call").await;
}

#[tokio::test]
async fn calls_queued_by_an_older_version_are_recomputed() {
    let app = TestApp::spawn_with(|s| s.projection.enabled = false).await;
    post_all(&app, &ga_call("old-queue-call")).await;
    // What an older version wrote: queue rows without their events, a call without a state.
    sqlx::query("UPDATE projection_queue SET event_seqs = NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let other = TestApp::spawn_on(&app.database_url, |s| s.projection.settle_ms = 0).await;
    other.wait_for_projections().await;
    assert_ga_rows(&app.pool, "old-queue-call").await;
    sqlx::query("UPDATE calls SET fold = NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    post_all(
        &app,
        &[json!([b_tone(
            "old-queue-late",
            "old-queue-call",
            9,
            "nine",
            &at(30)
        )])],
    )
    .await;
    other.wait_for_projections().await;
    let (dtmf_count, has_fold): (i32, bool) =
        sqlx::query_as("SELECT dtmf_count, fold IS NOT NULL FROM calls")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((dtmf_count, has_fold), (5, true));
}

/// `posts` with every event time written to the tenth of a microsecond, as .NET writes them:
/// finer than PostgreSQL keeps.
fn finer_times(posts: Posts) -> Posts {
    fn finer(value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(finer),
            Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    match field {
                        Value::String(time) if name == "time" || name == "eventTime" => {
                            *time = time.replace(".500Z", ".5004567Z");
                        }
                        other => finer(other),
                    }
                }
            }
            _ => {}
        }
    }
    posts
        .into_iter()
        .map(|mut post| {
            finer(&mut post);
            post
        })
        .collect()
}

#[tokio::test]
async fn events_handed_over_in_memory_project_as_the_event_log_reads_them() {
    let app = TestApp::spawn_with(|s| s.projection.settle_ms = 0).await;
    let mut posts = finer_times(every_format());
    assert!(posts[0].to_string().contains(".5004567Z"));
    // And one event without a time, which the model places by its receipt: the server's clock,
    // in nanoseconds.
    posts.push(json!([b_tone("no-time-tone", "ga-1", 9, "five", &at(40))]));
    posts.last_mut().unwrap()[0]
        .as_object_mut()
        .unwrap()
        .remove("time");
    // Projected post by post, so that every pass folds events handed over by the writers.
    for post in &posts {
        post_all(&app, std::slice::from_ref(post)).await;
        app.wait_for_projections().await;
    }
    let before = dump(&app.pool, false).await;
    let folds = || async {
        sqlx::query_scalar::<_, Value>("SELECT fold::jsonb FROM calls ORDER BY call_id")
            .fetch_all(&app.pool)
            .await
            .unwrap()
    };
    let folds_before = folds().await;

    // A rebuild reads every event back from the event log.
    calltrail::projection::rebuild(&app.pool, 10).await.unwrap();
    assert_eq!(dump(&app.pool, false).await, before);
    assert_eq!(folds().await, folds_before);
}

/// Posts a whole call to a fresh instance whose projector settles for longer than posting the call
/// and deleting its events take, deletes the call's events from the event log before the pass, and
/// waits for the pass: only what the writers handed over (`handoff_events` of them) is left to fold.
async fn projected_after_its_events_are_deleted(call: &str, handoff_events: usize) -> TestApp {
    let app = TestApp::spawn_with(|s| {
        s.projection.settle_ms = 3_000;
        s.projection.handoff_events = handoff_events;
    })
    .await;
    post_all(&app, &ga_call(call)).await;
    sqlx::query("DELETE FROM events WHERE call_id = $1")
        .bind(call)
        .execute(&app.pool)
        .await
        .unwrap();
    app.wait_for_projections().await;
    app
}

#[tokio::test]
async fn the_projector_folds_in_committed_events_without_reading_them_back() {
    let app = projected_after_its_events_are_deleted("handed-call", 8192).await;
    // The same call projected as usual, in a database of its own.
    let reference = TestApp::spawn_with(|s| s.projection.settle_ms = 0).await;
    post_all(&reference, &ga_call("handed-call")).await;
    reference.wait_for_projections().await;
    assert_ga_rows(&reference.pool, "handed-call").await;
    assert_eq!(
        dump(&app.pool, false).await,
        dump(&reference.pool, false).await
    );

    // With nothing handed over, the pass reads the event log, and finds nothing to project.
    let app = projected_after_its_events_are_deleted("read-call", 0).await;
    assert_eq!(app.count_rows("calls").await, 0);
}

#[tokio::test]
async fn timestamps_handed_over_are_cut_as_postgresql_keeps_them() {
    let app = TestApp::spawn_with(|s| s.projection.enabled = false).await;
    for time in [
        "2024-03-12T09:15:00.123456789Z",
        "2024-03-12T09:15:00.5004567Z",
        "2000-01-01T00:00:00.000000999Z",
        "1999-12-31T23:59:59.999999999Z",
        "1969-07-20T20:17:40.0000015Z",
    ] {
        let at = DateTime::parse_from_rfc3339(time)
            .unwrap()
            .with_timezone(&Utc);
        let kept: DateTime<Utc> = sqlx::query_scalar("SELECT $1::timestamptz")
            .bind(at)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(calltrail::store::event_log::as_stored(at), kept, "{time}");
    }
}

#[tokio::test]
async fn the_fold_state_is_compressed_with_lz4() {
    // The projector rewrites a call's row, state included, at every pass.
    let app = TestApp::spawn_with(|s| s.projection.enabled = false).await;
    let method: String = sqlx::query_scalar(
        "SELECT attcompression::text FROM pg_attribute \
         WHERE attrelid = 'calls'::regclass AND attname = 'fold'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(method, "l");
}
