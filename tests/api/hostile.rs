//! A stranger on the internet cannot block the receiver or poison what it stores: refused bodies
//! cost nothing more, slow senders cannot starve genuine ones, and what PostgreSQL cannot hold is
//! refused with a clear 400 instead of breaking later queries.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixtures::b_tone;
use crate::helpers::{error_code, TestApp, SECRET};

const T: &str = "2024-01-01T00:00:00Z";

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Writes `head` (and whatever of a body follows it) and reads the answer, which must end with the
/// connection closed within 5 s: the server does not wait for the rest of the body.
pub async fn answer_and_close(app: &TestApp, head: &str) -> String {
    let mut stream = connect(app).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed without waiting for the body")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Writes `head`, then pushes body bytes until the server stops taking them; returns how many it
/// took and the answer it wrote.
async fn push_until_refused(app: &TestApp, head: &str, chunked: bool) -> (usize, String) {
    let mut stream = connect(app).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let block = vec![b' '; 64 * 1024];
    let chunk = [
        format!("{:x}\r\n", block.len()).into_bytes(),
        block.clone(),
        b"\r\n".to_vec(),
    ]
    .concat();
    let piece = if chunked { &chunk } else { &block };
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(Duration::from_secs(2), stream.write_all(piece)).await {
            Ok(Ok(())) => sent += piece.len(),
            // Refused: the connection was closed (reset), or the server stopped reading.
            Ok(Err(_)) | Err(_) => break,
        }
        assert!(
            Instant::now() < deadline,
            "the server kept reading: {sent} bytes"
        );
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    (sent, String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_body_over_the_limit_is_answered_413_and_the_rest_is_never_read() {
    let app = TestApp::spawn().await;
    for chunked in [false, true] {
        let framing = if chunked {
            "transfer-encoding: chunked".to_owned()
        } else {
            format!("content-length: {}", 50 * 1024 * 1024)
        };
        let head = format!(
            "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
        );
        let (sent, answer) = push_until_refused(&app, &head, chunked).await;
        // What the kernel's socket buffers take on both sides, far below the 50 MB (or the
        // endless chunked body) the sender offers.
        assert!(
            sent < 16 * 1024 * 1024,
            "chunked={chunked}: {sent} bytes taken"
        );
        if !answer.is_empty() {
            assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
            assert!(answer.contains("payload_too_large"), "{answer}");
        }
    }
    assert_eq!(app.event_count().await, 0);
    // The service still answers.
    let ok = app
        .post_callback(json!([b_tone("after", "c", 1, "one", T)]).to_string())
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_stranger_is_refused_before_sending_the_body() {
    let app = TestApp::spawn().await;
    // Wrong secret, large declared body: answered from the headers alone, connection closed.
    let head = "POST /api/callbacks?secret=wrong-secret-0000000 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n";
    let answer = answer_and_close(&app, head).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("\"code\":\"unauthorized\""), "{answer}");
}

/// Writes `head` and reads what the server answers within a second, without sending a body.
async fn answer_to_head(stream: &mut TcpStream, head: &str) -> String {
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer to the head alone")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn expect_continue_is_refused_without_inviting_a_body_that_would_be_refused() {
    let app = TestApp::spawn().await;
    let refused = [
        // Over the limit: 413, not `100 Continue`.
        (
            format!("POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\nexpect: 100-continue\r\n\r\n"),
            "413",
            "payload_too_large",
        ),
        // A stranger: 401 from the query secret alone.
        (
            "POST /api/callbacks?secret=wrong-secret-0000000 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n".to_owned(),
            "401",
            "unauthorized",
        ),
        // The wrong type, on the Event Grid endpoint.
        (
            format!("POST /api/eventgrid?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n"),
            "415",
            "unsupported_media_type",
        ),
    ];
    for (head, status, code) in refused {
        let mut stream = connect(&app).await;
        let answer = answer_to_head(&mut stream, &head).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{head}: {answer}"
        );
        assert!(!answer.contains("100 Continue"), "{answer}");
        assert!(answer.contains(&format!("\"code\":\"{code}\"")), "{answer}");
        // And the connection is closed: the sender need not (and cannot) send the body.
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("the connection is closed after the refusal")
            .unwrap();
    }

    // A delivery that will be read is invited, then stored.
    let body = json!([b_tone("expected", "c", 1, "one", T)]).to_string();
    let head = format!(
        "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    let mut stream = connect(&app).await;
    let invited = answer_to_head(&mut stream, &head).await;
    assert!(invited.starts_with("HTTP/1.1 100 Continue"), "{invited}");
    stream.write_all(body.as_bytes()).await.unwrap();
    // The answer may already have followed the `100 Continue` in the same read, or not yet.
    let mut text = invited["HTTP/1.1 100 Continue\r\n\r\n".len()..].to_owned();
    let mut answer = vec![0u8; 4096];
    while !text.contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
            .await
            .expect("an answer to the body")
            .unwrap();
        assert!(n > 0, "closed before answering: {text}");
        text.push_str(&String::from_utf8_lossy(&answer[..n]));
    }
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn slow_unauthenticated_bodies_cannot_starve_genuine_deliveries() {
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = TestApp::spawn_with(|s| {
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![whsec.to_owned().into()];
        s.server.max_inflight_body_bytes = 8 * 1024 * 1024;
        s.server.max_unverified_body_bytes = 2 * 1024 * 1024;
    })
    .await;
    // 80 strangers with well-formed (but wrongly signed) webhook headers, each announcing 1 MiB
    // and sending a byte a second: their headers pass the checks made before the body.
    let now = chrono::Utc::now().timestamp();
    let mut strangers = Vec::new();
    for i in 0..80 {
        let mut stream = connect(&app).await;
        let head = format!(
            "POST /api/callbacks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1048576\r\nwebhook-id: msg_{i}\r\nwebhook-timestamp: {now}\r\nwebhook-signature: v1,Zm9v\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"[").await.unwrap();
        strangers.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, stream) in strangers.iter_mut().enumerate().take(20) {
        let _ = stream.write_all(&vec![b' '; 100 * 1024 + i]).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Genuine deliveries, authenticated before their body, still get through.
    for n in 0..20 {
        let response = app
            .post_callback(json!([b_tone(&format!("g-{n}"), "c", n + 1, "one", T)]).to_string())
            .await;
        assert_eq!(response.status(), 200, "genuine delivery {n}");
    }
    assert_eq!(app.event_count().await, 20);
    drop(strangers);
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_and_closed() {
    let app = TestApp::spawn_with(|s| s.server.body_timeout_ms = 500).await;
    let head = format!(
        "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n["
    );
    let answer = answer_and_close(&app, &head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_head_that_does_not_arrive_in_time_is_answered_408_in_the_error_shape() {
    let app = TestApp::spawn_with(|s| s.server.head_timeout_ms = 300).await;
    let started = Instant::now();
    let answer = answer_and_close(&app, "POST /api/callbacks HTTP/1.1\r\nhost: x\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn compressed_bodies_are_refused_with_415() {
    let app = TestApp::spawn().await;
    for coding in ["gzip", "br", "deflate, identity"] {
        let response = app
            .client
            .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(json!([b_tone("z", "c", 1, "one", T)]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["accept-encoding"], "identity");
        let (status, code, _) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_encoding"),
            "{coding}"
        );
    }
    let identity = app
        .client
        .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(json!([b_tone("z", "c", 1, "one", T)]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(identity.status(), 200);
}

/// Bodies PostgreSQL could not hold as they are, or that would read differently as typed fields
/// and as raw JSON: each a 400 naming what is wrong, nothing stored.
#[tokio::test]
async fn unstorable_or_ambiguous_events_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let good = json!(b_tone("ok-1", "c", 1, "one", T)).to_string();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(r#"[{good},{{"id":"x\u0000","source":"s","type":"T","specversion":"1.0"}}]"#),
            "invalid_event",
            "element 1: field `id` contains a NUL",
        ),
        (
            r#"[{"id":"n","source":"s","type":"T","specversion":"1.0","data":{"v":1e-20000}}]"#
                .to_owned(),
            "invalid_event",
            "field `data.v` is a number too small",
        ),
        (
            r#"[{"id":"d","ID":"e","source":"s","type":"T","specversion":"1.0"}]"#.to_owned(),
            "invalid_event",
            "field `ID` appears more than once",
        ),
        (
            r#"[{"id":"","source":"s","type":"T","specversion":"1.0"}]"#.to_owned(),
            "invalid_event",
            "field `id` is required",
        ),
        (
            r#"[{"id":"i","type":"T","specversion":"1.0"}]"#.to_owned(),
            "invalid_event",
            "field `source` is required",
        ),
        (
            format!("\u{feff}[{good}]"),
            "invalid_json",
            "byte order mark",
        ),
        (
            r#"[{"id":"s","source":"s","type":"T","specversion":"1.0","data":{"x":"\ud800"}}]"#
                .to_owned(),
            "invalid_json",
            "not valid JSON",
        ),
    ];
    for (body, code, message) in cases {
        let response = app.post_callback(body.clone()).await;
        let (status, got_code, got_message) = error_code(response).await;
        assert_eq!((status, got_code.as_str()), (400, code), "{body}");
        assert!(got_message.contains(message), "{body}: {got_message}");
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_nul_in_a_reporting_parameter_or_path_is_a_400_and_a_stored_event_cannot_break_json_search(
) {
    let app = crate::reporting::spawn_api().await;
    let ok = app
        .post_callback(json!([b_tone("j-1", "c", 1, "one", T)]).to_string())
        .await;
    assert_eq!(ok.status(), 200);
    // An event stored before such text was refused: its raw text is not valid jsonb.
    sqlx::query(
        "UPDATE events SET raw = replace(raw, '\"one\"', '\"o\\u0000ne\"') WHERE event_id = 'j-1'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let ok = app
        .post_callback(json!([b_tone("j-2", "c", 2, "two", T)]).to_string())
        .await;
    assert_eq!(ok.status(), 200);

    let get = |path: &str| {
        app.client
            .get(app.url(path))
            .bearer_auth(crate::reporting::API_TOKEN)
            .send()
    };
    let found: serde_json::Value = get("/api/v1/events?json_path=data.tone&json_value=two")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = found["items"].as_array().expect("a page, not an error");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["event_id"], "j-2");

    for path in [
        "/api/v1/events?call_id=c%00",
        "/api/v1/events?json_path=data.tone&json_value=%00",
        "/api/v1/calls?participant=4%3A%2B1%00",
        "/api/v1/calls/c%00",
        "/api/v1/calls/c%00/events",
        "/api/v1/participants/x%00/calls",
        "/api/v1/events/export?format=csv&type=%00",
    ] {
        let (status, code, message) = error_code(get(path).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{path}");
        assert!(message.contains("NUL"), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_very_long_url_is_a_414_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let long = format!("/api/callbacks?secret={SECRET}&pad={}", "x".repeat(10_000));
    let response = app
        .client
        .post(app.url(&long))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(response).await;
    assert_eq!((status, code.as_str()), (414, "uri_too_long"));
    assert_eq!(app.event_count().await, 0);
}
