//! The hostile-input corpus: hundreds of malformed, oversized, smuggled, forged and injected
//! requests against one running app, each with the answer it must get. After every case nothing
//! was stored (or exactly what the case stores, byte for byte); after every group the service still
//! answers and still stores a good delivery. Never a 5xx for a client's mistake, never a partial
//! write.

mod bodies;
mod case;
mod fields;
mod http;
mod injection;
mod jwt;
mod paths;
mod webhooks;

use std::time::Duration;

use serde_json::json;

use crate::fixtures::*;
use crate::helpers::*;
use crate::reporting::API_TOKEN;

use self::bodies::{body_cases, over_limit_cases, size_cases};
use self::case::{judge, send, Case};
use self::fields::generated_field_cases;
use self::http::{content_type_cases, http_layer_cases};
use self::injection::{injection_cases, reporting_cases};
use self::jwt::jwt_cases;
use self::webhooks::webhook_cases;

const T: &str = "2024-01-01T00:00:00Z";
const AUDIENCE: &str = "acs-resource-immutable-id";
const ISSUER: &str = "https://acscallautomation.communication.azure.com";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn still_answers(app: &TestApp, n: usize) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "healthz after group {n}");
    let before = app.event_count().await;
    let response = app
        .post_callback(
            json!([b_tone(&format!("alive-{n}"), "c-alive", n as i64, "one", T)]).to_string(),
        )
        .await;
    assert_eq!(response.status(), 200, "a good delivery after group {n}");
    assert_eq!(
        app.event_count().await,
        before + 1,
        "a good delivery after group {n} is stored"
    );
}

async fn spawn_corpus_app() -> TestApp {
    let jwks =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwks_key1.json");
    TestApp::spawn_with(move |s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        // Hundreds of reporting requests in a few seconds: no per-token rate limit here.
        s.api.rate_limit_per_second = 0;
        s.auth.jwt.enabled = true;
        s.auth.jwt.audiences = vec![AUDIENCE.to_owned()];
        s.auth.jwt.jwks_file = Some(jwks);
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![WHSEC.to_owned().into()];
    })
    .await
}

#[tokio::test]
async fn the_hostile_corpus_is_refused_cleanly_and_changes_nothing() {
    let app = spawn_corpus_app().await;
    let started = std::time::Instant::now();
    // Built just before they run: the credentials among them are minted with the current time.
    let groups: Vec<fn() -> Vec<Case>> = vec![
        body_cases,
        size_cases,
        over_limit_cases,
        generated_field_cases,
        content_type_cases,
        http_layer_cases,
        jwt_cases,
        webhook_cases,
        injection_cases,
        reporting_cases,
    ];
    let mut failures = Vec::new();
    let mut run = 0;
    let mut by_group: Vec<(&'static str, usize)> = Vec::new();
    for (n, group) in groups.into_iter().enumerate() {
        for case in group() {
            let before = app.event_count().await;
            let answer = send(&app, &case).await;
            run += 1;
            match by_group.iter_mut().find(|(g, _)| *g == case.group) {
                Some((_, count)) => *count += 1,
                None => by_group.push((case.group, 1)),
            }
            let stored = match judge(&case, &answer) {
                Ok(stored) => stored,
                Err(why) => {
                    failures.push(format!("[{}] {}: {why}", case.group, case.name));
                    continue;
                }
            };
            let after = app.event_count().await;
            if after != before + stored {
                failures.push(format!(
                    "[{}] {}: {} events stored, expected {stored}",
                    case.group,
                    case.name,
                    after - before
                ));
            }
            if let Some((id, raw)) = &case.verbatim {
                let got: Option<String> =
                    sqlx::query_scalar("SELECT raw FROM events WHERE event_id = $1")
                        .bind(id)
                        .fetch_optional(&app.pool)
                        .await
                        .unwrap();
                if got.as_deref() != Some(raw.as_str()) {
                    failures.push(format!(
                        "[{}] {}: stored raw differs: {got:?}",
                        case.group, case.name
                    ));
                }
            }
        }
        still_answers(&app, n).await;
    }
    // What the corpus stored (injection strings in ids, huge contexts, wide snapshots) is projected
    // into the call model like any other call.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let queued = app.count_rows("projection_queue").await;
        if queued == 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            failures.push(format!(
                "{queued} calls still queued for projection after 30 s"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "hostile corpus: {run} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (group, count) in &by_group {
        println!("  {count:5}  {group}");
    }
    assert!(
        failures.is_empty(),
        "{} of {run} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(run >= 150, "only {run} cases");
}

/// A call state too long for a B-tree entry (the call model indexes `calls.state`) is refused at
/// ingestion, naming the field, as call ids are: stored, it stalled the projector for its call and
/// its neighbours. The neighbour is projected.
#[tokio::test]
async fn a_call_state_too_long_for_an_index_entry_is_refused_and_the_call_model_goes_on() {
    let app = TestApp::spawn().await;
    // Text that does not compress (xorshift): an index entry holds about 2.7 kB.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let state: String = (0..4000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [(x % 62) as usize],
            )
        })
        .collect();
    let long = a2_state("long-state-1", "c-long-state", &state, T);
    let (status, code, message) = error_code(app.post_callback(long.to_string()).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_event"));
    assert_eq!(
        message,
        "event: field `data.callConnectionState` must be at most 1024 characters"
    );
    let neighbour = json!([b_tone("after-long-state", "c-neighbour", 1, "one", T)]);
    assert_eq!(app.post_callback(neighbour.to_string()).await.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let queued = app.count_rows("projection_queue").await;
        if queued == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{queued} calls still queued for projection after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls: Vec<String> = sqlx::query_scalar("SELECT call_id FROM calls ORDER BY call_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(calls, ["c-neighbour"]);
}
