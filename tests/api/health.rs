//! Liveness, readiness, metrics, and the request id.

use serde_json::json;

use crate::fixtures::*;
use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_migrated() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_until_migrations_are_applied() {
    let app = TestApp::spawn_with(|s| s.database.migrate_on_start = false).await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await.1, "not_ready");
    calltrail::store::migrate(&app.pool).await.unwrap();
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn request_ids_are_reused_and_echoed_and_stored() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
        .header("content-type", "application/json")
        .header("x-request-id", "req-abc-123")
        .body(json!([b_tone("rid-1", "c", 1, "one", "2024-01-01T00:00:00Z")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-abc-123");
    let stored: String = sqlx::query_scalar("SELECT request_id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "req-abc-123");
    // A generated one when none (or an unsafe one) is sent.
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a uuid: {generated}");
}

#[tokio::test]
async fn metrics_count_events_and_rejections() {
    let app = TestApp::spawn().await;
    let t = "2024-01-01T00:00:00Z";
    let body = json!([b_tone("met-1", "c", 1, "one", t)]).to_string();
    app.post_callback(body.clone()).await;
    app.post_callback(body).await;
    app.client
        .post(app.url("/api/callbacks?secret=wrong"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    let text = app.metrics_text().await;
    // The recorder is shared by every app in this test process: check presence and shape.
    for needle in [
        "calltrail_events_received_total{family=\"dtmf_tone\",format=\"call_automation\"}",
        "calltrail_events_stored_total{family=\"dtmf_tone\"}",
        "calltrail_events_duplicate_total{family=\"dtmf_tone\"}",
        "calltrail_requests_rejected_total{route=\"/api/callbacks\",code=\"unauthorized\"}",
        "calltrail_http_request_duration_seconds_bucket",
        "calltrail_db_pool_connections{state=\"idle\"}",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn metrics_need_a_scraper_or_api_token_unless_opened() {
    let app = TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token("an-api-token")];
    })
    .await;
    let scrape = |token: Option<&'static str>| {
        let request = app.client.get(app.url("/metrics"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    for refused in [None, Some("not-a-token"), Some("")] {
        let response = scrape(refused).await.unwrap();
        assert_eq!(response.status(), 401, "{refused:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (_, code, _) = error_code(response).await;
        assert_eq!(code, "unauthorized");
    }
    for accepted in [METRICS_TOKEN, "an-api-token"] {
        let response = scrape(Some(accepted)).await.unwrap();
        assert_eq!(response.status(), 200, "{accepted}");
        let text = response.text().await.unwrap();
        assert!(text.contains("calltrail_db_pool_max"), "{text}");
    }
    // The scraper's token opens /metrics only, not the reporting API.
    let response = app
        .client
        .get(app.url("/api/v1/calls"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let open = TestApp::spawn_with(|s| s.metrics.require_token = false).await;
    let response = open.client.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
