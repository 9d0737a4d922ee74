//! Every `/api/v1` route needs a configured bearer token, the OpenAPI document included.

use calltrail::api::{PREFIX, ROUTES};
use calltrail::auth::tokens::hash_token;
use calltrail::config::Settings;

use serde_json::json;

use super::*;

/// A concrete URL for a route: path parameters filled in.
pub fn concrete(path: &str) -> String {
    format!(
        "{PREFIX}{}",
        path.replace("{id}", "1")
            .replace("{event_seq}", "1")
            .replace("{rawId}", "4%3A%2B14255550123")
    )
}

async fn send(app: &TestApp, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request sent")
}

async fn assert_refused(response: reqwest::Response, what: &str) {
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{what}"
    );
    let (status, code, message) = error_code(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (401, "unauthorized", "authentication failed"),
        "{what}"
    );
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_wrong_token() {
    let app = spawn_api().await;
    let refused: [Option<String>; 6] = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Basic {API_TOKEN}")),
        Some(API_TOKEN.to_owned()),
        // The configured hash itself is not a token.
        Some(format!("Bearer {}", hash_token(API_TOKEN))),
    ];
    let mut paths: Vec<String> = ROUTES.iter().map(|r| concrete(r.path)).collect();
    paths.push(format!("{PREFIX}/no-such-route"));
    for path in &paths {
        for authorization in &refused {
            assert_refused(
                send(&app, path, authorization.as_deref()).await,
                &format!("GET {path} with {authorization:?}"),
            )
            .await;
        }
        let accepted = send(&app, path, Some(&format!("Bearer {API_TOKEN}"))).await;
        assert_ne!(accepted.status(), 401, "GET {path} with the token");
        let accepted = send(&app, path, Some(&format!("bearer   {API_TOKEN}"))).await;
        assert_ne!(
            accepted.status(),
            401,
            "GET {path}: scheme is case-insensitive"
        );
    }
    assert_error(&app, &format!("{PREFIX}/no-such-route"), 404, "not_found").await;
}

#[tokio::test]
async fn several_tokens_are_accepted_at_once_for_rotation() {
    let app = TestApp::spawn_with(|s| {
        s.api.tokens = vec![
            hash_token("old-token"),
            hash_token("new-token").to_uppercase(),
        ];
    })
    .await;
    for token in ["old-token", "new-token"] {
        let response = send(&app, "/api/v1/calls", Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 200, "{token}");
    }
    assert_refused(
        send(&app, "/api/v1/calls", Some("Bearer other-token")).await,
        "unknown token",
    )
    .await;
}

#[tokio::test]
async fn no_configured_token_refuses_everything() {
    let app = TestApp::spawn().await;
    assert_refused(
        send(&app, "/api/v1/calls", Some(&format!("Bearer {API_TOKEN}"))).await,
        "no tokens configured",
    )
    .await;
}

#[test]
fn a_token_entry_that_is_not_a_hash_is_refused_at_start() {
    let mut settings =
        Settings::from_yaml("database: { url: \"postgres://localhost/x\" }").expect("settings");
    settings.api.tokens = vec![hash_token("a"), "plain-text-token".to_owned()];
    let error = settings.validate().expect_err("refused").to_string();
    assert!(error.contains("api.tokens[1]"), "{error}");
    assert!(!error.contains("plain-text-token"), "{error}");
}

#[tokio::test]
async fn a_report_that_runs_past_the_statement_timeout_is_cut_off() {
    let app = TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.api.statement_timeout_ms = 1;
        s.projection.enabled = false;
    })
    .await;
    // Enough calls that the summary's scan and sorts take well over a millisecond.
    sqlx::query(
        "INSERT INTO calls (call_id, first_event_at, last_event_at, outcome, last_event_seq, duration_ms) \
         SELECT 'bulk-' || n, timestamptz '2024-03-01' + n * interval '1 second', \
                timestamptz '2024-03-01' + n * interval '1 second', 'completed', n, n % 997 \
         FROM generate_series(1, 200000) AS n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // The rollups are not involved: a range that cuts its first day has that day computed from
    // the calls themselves, 86,399 of them.
    assert_error(
        &app,
        "/api/v1/reports/summary?from=2024-03-01T00:00:01Z&to=2024-03-04T00:00:00Z&bucket=day",
        503,
        "query_timeout",
    )
    .await;
    // The writer's pool has no such limit: ingestion is unaffected.
    let body = json!([b_tone(
        "after-timeout",
        "c",
        1,
        "one",
        "2024-03-01T00:00:00Z"
    )])
    .to_string();
    assert_eq!(app.post_callback(body).await.status(), 200);
}

#[tokio::test]
async fn each_token_has_its_own_request_budget_and_past_it_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(|s| {
        s.api.tokens = vec![hash_token("busy-token"), hash_token("quiet-token")];
        s.api.rate_limit_per_second = 1;
        s.api.rate_limit_burst = 3;
    })
    .await;
    for n in 0..3 {
        let response = send(&app, "/api/v1/calls", Some("Bearer busy-token")).await;
        assert_eq!(response.status(), 200, "request {n} is within the burst");
    }
    let refused = send(&app, "/api/v1/calls", Some("Bearer busy-token")).await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let (status, code, _) = error_code(refused).await;
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    // Another token is not held back by the first one's loop...
    let other = send(&app, "/api/v1/calls", Some("Bearer quiet-token")).await;
    assert_eq!(other.status(), 200);
    // ...and a wrong token is refused as such, not counted against anyone.
    assert_refused(
        send(&app, "/api/v1/calls", Some("Bearer wrong-token")).await,
        "wrong token",
    )
    .await;
    // The budget comes back at the configured rate.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = send(&app, "/api/v1/calls", Some("Bearer busy-token")).await;
    assert_eq!(again.status(), 200);
}
