//! Bad input gets a clear `{"code", "message"}` answer with the right status, and nothing is stored.

use serde_json::json;

use crate::fixtures::*;
use crate::helpers::*;

#[tokio::test]
async fn invalid_json_is_a_400() {
    let app = TestApp::spawn().await;
    let (status, code, _) = error_code(app.post_callback("{\"id\": ").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_json"));
    let (status, code, _) = error_code(app.post_callback(vec![0xff, 0xfe, b'{']).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_json"));
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn bodies_that_are_not_events_are_invalid_events() {
    let app = TestApp::spawn().await;
    for body in [
        "42",
        "\"x\"",
        "{}",
        "[]",
        "[1]",
        r#"{"eventType": 5}"#,
        r#"[{"type": "x", "data": 3}]"#,
    ] {
        let (status, code, message) = error_code(app.post_callback(body).await).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_event"),
            "body {body}: {message}"
        );
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn wrong_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let body = json!([b_tone("ct-1", "c", 1, "one", "2024-01-01T00:00:00Z")]).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
            .body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let (status, code, _) = error_code(request.send().await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{content_type:?}"
        );
    }
    // CloudEvents media types and a charset parameter are fine.
    for content_type in [
        "application/cloudevents-batch+json",
        "application/json; charset=utf-8",
    ] {
        let response = app
            .client
            .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
            .header("content-type", content_type)
            .body(json!([b_tone(content_type, "c", 1, "one", "2024-01-01T00:00:00Z")]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{content_type}");
    }
    assert_eq!(app.event_count().await, 2);
}

#[tokio::test]
async fn oversize_bodies_are_a_413() {
    let app = TestApp::spawn_with(|s| s.server.max_body_bytes = 2048).await;
    let filler = "x".repeat(4096);
    let body = json!([b_event(
        "big-1",
        "PlayCompleted",
        "c",
        json!({"operationContext": filler}),
        "2024-01-01T00:00:00Z"
    )]);
    let (status, code, message) = error_code(app.post_callback(body.to_string()).await).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    assert!(message.contains("2048"));
    // Streamed without a Content-Length: the limit still holds.
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(body.to_string())];
    let stream = futures_util::stream::iter(chunks);
    let response = app
        .client
        .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await.1, "payload_too_large");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(error_code(response).await.1, "not_found");
    // Every 405 names the methods the route allows (RFC 9110).
    for (method, path, allow) in [
        (reqwest::Method::GET, "/api/callbacks", "POST"),
        (reqwest::Method::PUT, "/api/eventgrid", "POST, OPTIONS"),
        (reqwest::Method::POST, "/healthz", "GET"),
        (reqwest::Method::DELETE, "/readyz", "GET"),
        (reqwest::Method::POST, "/metrics", "GET"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let (status, code, _) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (405, "method_not_allowed"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_gives_503_with_retry_after() {
    // Nothing listens on port 1: every connection attempt fails.
    let app = TestApp::spawn_with(|s| {
        s.database.url = "postgres://postgres@127.0.0.1:1/none".to_owned().into();
        s.database.migrate_on_start = false;
        s.database.acquire_timeout_ms = 300;
    })
    .await;
    let body = json!([b_tone("down-1", "c", 1, "one", "2024-01-01T00:00:00Z")]).to_string();
    let response = app.post_callback(body).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(error_code(response).await.1, "storage_unavailable");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
}

#[tokio::test]
async fn losing_the_database_mid_flight_gives_503_and_recovers() {
    let app = TestApp::spawn_with(|s| s.database.acquire_timeout_ms = 500).await;
    let t = "2024-01-01T00:00:00Z";
    let response = app
        .post_callback(json!([b_tone("mid-1", "c", 1, "one", t)]).to_string())
        .await;
    assert_eq!(response.status(), 200);

    // Refuse new connections to the app's database and cut the open ones.
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&std::env::var("DATABASE_URL").unwrap())
        .await
        .unwrap();
    use sqlx::Connection;
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();

    let response = app
        .post_callback(json!([b_tone("mid-2", "c", 2, "two", t)]).to_string())
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    // Until the database is found again, deliveries are refused at once; it is found by itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not ready again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The sender's retry is stored.
    let response = app
        .post_callback(json!([b_tone("mid-2", "c", 2, "two", t)]).to_string())
        .await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM events ORDER BY event_seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids, ["mid-1", "mid-2"]);
}

#[tokio::test]
async fn bodies_beyond_the_in_memory_budget_get_503_until_it_frees() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|s| {
        s.server.max_body_bytes = 4096;
        s.server.max_inflight_body_bytes = 4096;
    })
    .await;
    // A body padded to 3000 bytes, of which the first 2900 arrive and then the sender stalls.
    let event = json!([b_tone("budget-1", "c", 1, "one", "2024-01-01T00:00:00Z")]).to_string();
    let slow = format!("{event}{}", " ".repeat(3000 - event.len()));
    let port = app.address.rsplit(':').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 3000\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&slow.as_bytes()[..2900]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Another 3000-byte body does not fit beside it.
    let other = json!([b_tone("budget-2", "c", 2, "two", "2024-01-01T00:00:00Z")]).to_string();
    let padded = format!("{other}{}", " ".repeat(3000 - other.len()));
    let response = app.post_callback(padded.clone()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_code(response).await.1, "overloaded");

    // The stalled request completes; its budget comes back and the retry is stored.
    stream.write_all(&slow.as_bytes()[2900..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(app.post_callback(padded).await.status(), 200);
    assert_eq!(app.event_count().await, 2);
}
