//! Reporting reads from a read replica (`database.read_url`): the real streaming replica that
//! scripts/test.sh starts beside its primary (`REPLICA_DATABASE_URL`). Ingestion writes the
//! primary; the reporting API, exports and the dashboard read the replica, which is shown by
//! pausing its replay: what is ingested meanwhile is on the primary but not in any report until
//! replay resumes.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::fixtures::*;
use crate::helpers::*;
use crate::ui::{configure_ui, login, page, UI_TOKEN};

/// Longest a replica may take to replay what the primary committed, on a loaded test machine.
const CATCH_UP: Duration = Duration::from_secs(60);

/// The replica's URL for the database `primary_url` names (every database a test creates on the
/// primary is replicated under the same name).
fn replica_url(primary_url: &str) -> String {
    let replica = std::env::var("REPLICA_DATABASE_URL").expect(
        "REPLICA_DATABASE_URL must point at a streaming replica of DATABASE_URL's cluster \
         (scripts/test.sh starts one)",
    );
    let (base, _) = replica.rsplit_once('/').expect("URL has a database part");
    let (_, name) = primary_url
        .rsplit_once('/')
        .expect("URL has a database part");
    format!("{base}/{name}")
}

/// Polls `probe` until it returns `Some`, failing with `what` after `limit`.
async fn until<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The app with ingestion on a fresh primary database and reads on its replica.
async fn spawn_on_replica() -> (TestApp, String) {
    let database_url = create_database().await;
    let replica = replica_url(&database_url);
    // The database exists on the replica once its creation has been replayed.
    until(CATCH_UP, "the new database on the replica", || async {
        PgConnection::connect(&replica).await.ok()
    })
    .await;
    let read_url = replica.clone();
    let app = TestApp::spawn_on(&database_url, move |s| {
        configure_ui(s);
        s.database.read_url = SecretString::from(read_url);
    })
    .await;
    (app, replica)
}

async fn api(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(UI_TOKEN)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The event ids of a call as the reporting API lists them.
async fn listed(app: &TestApp, call: &str) -> Vec<String> {
    let (status, body) = api(app, &format!("/api/v1/events?call_id={call}&limit=100")).await;
    if status != 200 {
        // The replica may not have replayed the migrations yet.
        return Vec::new();
    }
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn exported(app: &TestApp) -> usize {
    let response = app
        .client
        .get(app.url("/api/v1/events/export"))
        .bearer_auth(UI_TOKEN)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    response.text().await.unwrap().lines().count()
}

async fn readyz(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn tones(call: &str, n: i64) -> String {
    let events: Vec<Value> = (1..=n)
        .map(|i| {
            b_tone(
                &format!("{call}-{i}"),
                call,
                i,
                "one",
                "2024-05-01T10:00:00Z",
            )
        })
        .collect();
    json!(events).to_string()
}

/// Replay paused on the replica while held; resumed when dropped, even by a failing assertion, so
/// that the rest of the suite finds a replica that follows its primary.
struct ReplayPaused {
    replica: String,
}

impl ReplayPaused {
    async fn pause(replica: &str) -> ReplayPaused {
        // A superuser's connection: pausing replay is an operator's function.
        let conn = sqlx::PgPool::connect(replica).await.unwrap();
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(&conn)
            .await
            .unwrap();
        until(CATCH_UP, "replay paused", || async {
            let state: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
                .fetch_one(&conn)
                .await
                .unwrap();
            (state == "paused").then_some(())
        })
        .await;
        ReplayPaused {
            replica: replica.to_owned(),
        }
    }
}

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        let replica = self.replica.clone();
        // Drop cannot await: a thread of its own with a runtime of its own.
        let resumed = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut conn = PgConnection::connect(&replica).await?;
                    sqlx::query("SELECT pg_wal_replay_resume()")
                        .execute(&mut conn)
                        .await
                        .map(|_| ())
                })
        })
        .join();
        if !matches!(resumed, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not resume replay on the replica: {resumed:?}");
        }
    }
}

#[tokio::test]
async fn reports_exports_and_pages_are_read_from_the_replica_while_ingestion_writes_the_primary() {
    let (app, replica) = spawn_on_replica().await;

    // Ingested through the real endpoint, onto the primary; seen through the API once replayed.
    assert_eq!(app.post_callback(tones("rep-1", 3)).await.status(), 200);
    until(CATCH_UP, "rep-1 in the API", || async {
        (listed(&app, "rep-1").await.len() == 3).then_some(())
    })
    .await;
    app.wait_for_projections().await;
    let cookie = login(&app).await;
    until(CATCH_UP, "rep-1's page", || async {
        let (status, html) = page(&app, &cookie, "/ui/calls/rep-1").await;
        (status == 200 && html.contains("class=\"swimlane\"")).then_some(())
    })
    .await;
    let (status, body) = readyz(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["replica"]["status"], "ready", "{body}");
    assert_eq!(body["replica"]["in_recovery"], true, "{body}");

    let paused = ReplayPaused::pause(&replica).await;
    // Acknowledged, stored on the primary and projected there...
    assert_eq!(app.post_callback(tones("rep-2", 2)).await.status(), 200);
    assert_eq!(app.post_callback(tones("rep-1", 4)).await.status(), 200);
    app.wait_for_projections().await;
    let on_primary: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(on_primary, 3 + 2 + 1);
    // ...but no report sees them: the API, the export and the dashboard read the replica.
    assert_eq!(listed(&app, "rep-2").await, Vec::<String>::new());
    assert_eq!(listed(&app, "rep-1").await.len(), 3);
    let (status, _) = api(&app, "/api/v1/calls/rep-2").await;
    assert_eq!(status, 404, "rep-2 is projected on the primary only");
    assert_eq!(exported(&app).await, 3);
    let (_, html) = page(&app, &cookie, "/ui/calls/rep-2").await;
    assert!(
        !html.contains("class=\"swimlane\""),
        "rep-2 has no page yet"
    );
    // Readiness: still ready (deliveries never touch the replica), and the replica shown behind.
    let (status, body) = readyz(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let replica_state = &body["replica"];
    assert_eq!(replica_state["status"], "ready", "{body}");
    assert_eq!(replica_state["replay_paused"], true, "{body}");
    assert!(replica_state["lag_bytes"].as_i64().unwrap() > 0, "{body}");
    assert!(
        replica_state["replay_lag_seconds"].as_f64().unwrap() >= 0.0,
        "{body}"
    );
    let (status, body) = readyz(&app, "/readyz/reads").await;
    assert_eq!(status, 200, "a replica behind still serves reads: {body}");
    let metrics = app.metrics_text().await;
    for name in [
        "calltrail_replica_up",
        "calltrail_replica_replay_lag_seconds",
        "calltrail_replica_lag_bytes",
    ] {
        assert!(metrics.contains(name), "{name} in:\n{metrics}");
    }

    // Resumed, the replica catches up and every report sees everything.
    drop(paused);
    until(CATCH_UP, "rep-2 in the API", || async {
        (listed(&app, "rep-2").await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(listed(&app, "rep-1").await.len(), 4);
    assert_eq!(exported(&app).await, 6);
    until(CATCH_UP, "rep-2's page", || async {
        let (status, html) = page(&app, &cookie, "/ui/calls/rep-2").await;
        (status == 200 && html.contains("class=\"swimlane\"")).then_some(())
    })
    .await;
    let (_, body) = readyz(&app, "/readyz").await;
    assert_eq!(body["replica"]["replay_paused"], false, "{body}");
}

#[tokio::test]
async fn a_replica_that_is_down_fails_reads_but_not_deliveries() {
    // Nothing listens on port 1: the replica is unreachable from the start.
    let app = TestApp::spawn_with(|s| {
        configure_ui(s);
        s.database.read_url = SecretString::from(
            "postgres://reader:hunter2-not-shown@127.0.0.1:1/calltrail".to_owned(),
        );
        s.database.acquire_timeout_ms = 2000;
    })
    .await;
    assert_eq!(app.post_callback(tones("down-1", 2)).await.status(), 200);
    assert_eq!(app.event_count().await, 2);

    let (status, body) = readyz(&app, "/readyz").await;
    assert_eq!(status, 200, "deliveries are still routed here: {body}");
    assert_eq!(body["replica"]["status"], "unavailable", "{body}");
    let (status, body) = readyz(&app, "/readyz/reads").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "not_ready", "{body}");
    let (status, body) = api(&app, "/api/v1/events").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "storage_unavailable", "{body}");
    // The replica's password is never shown.
    for text in [body.to_string(), app.metrics_text().await] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    let (_, body) = readyz(&app, "/readyz/reads").await;
    assert!(!body.to_string().contains("hunter2"), "{body}");
}
