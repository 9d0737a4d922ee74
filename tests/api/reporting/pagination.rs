//! Keyset pages neither skip nor repeat a row, even while rows are being inserted.

use std::collections::HashSet;

use super::*;

fn seqs(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|e| e["event_seq"].as_i64().unwrap())
        .collect()
}

/// Every row present before the first page is seen exactly once; nothing is seen twice.
fn assert_exactly_once<T: std::hash::Hash + Eq + std::fmt::Debug + Clone>(
    before: &[T],
    seen: &[T],
) {
    let mut unique = HashSet::new();
    for item in seen {
        assert!(unique.insert(item.clone()), "{item:?} seen twice");
    }
    for item in before {
        assert!(unique.contains(item), "{item:?} skipped");
    }
}

#[tokio::test]
async fn event_pages_survive_concurrent_inserts() {
    let app = spawn_api().await;
    for batch in 0..3 {
        ingest(
            &app,
            tones(&format!("pre{batch}"), &format!("pre-call-{batch}"), 100),
        )
        .await;
    }
    let before: Vec<i64> = sqlx::query_scalar("SELECT event_seq FROM events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(before.len(), 300);

    for order in ["asc", "desc"] {
        let writer = {
            let address = app.address.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for batch in 0..40 {
                    let body = Value::Array(tones(&format!("{order}-live{batch}"), "live-call", 5));
                    let response = client
                        .post(format!("{address}/api/callbacks?secret={SECRET}"))
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
        };
        let seen = all_pages(&app, &format!("/api/v1/events?limit=7&order={order}")).await;
        writer.await.unwrap();
        assert_exactly_once(&before, &seqs(&seen));
        // Filtered pages too (a different index, same guarantee).
        let filtered = all_pages(&app, "/api/v1/events?limit=9&call_id=pre-call-1").await;
        assert_eq!(filtered.len(), 100);
        assert_exactly_once(&before[100..200], &seqs(&filtered));
    }
}

#[tokio::test]
async fn call_pages_break_ties_and_survive_concurrent_inserts() {
    let app = spawn_api().await;
    // Many calls share a first_event_at: the call id orders them.
    let mut before = Vec::new();
    for i in 0..60 {
        let id = format!("pre-{i:03}");
        CallRow::new(&id, &format!("2024-03-01T10:00:{:02}Z", i % 4))
            .insert(&app)
            .await;
        before.push(id);
    }
    let writer = {
        let pool = app.pool.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                // Rows that sort before, between and after those already read.
                sqlx::query(
                    "INSERT INTO calls (call_id, first_event_at, last_event_at, outcome, last_event_seq) \
                     VALUES ($1, $2, $2, 'completed', 1)",
                )
                .bind(format!("live-{i:03}"))
                .bind(t(&format!("2024-03-01T10:00:{:02}Z", i % 6)))
                .execute(&pool)
                .await
                .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
    };
    let seen = strings(&all_pages(&app, "/api/v1/calls?limit=7").await, "call_id");
    writer.await.unwrap();
    assert_exactly_once(&before, &seen);
    let all = strings(
        &all_pages(&app, "/api/v1/calls?limit=11&order=desc").await,
        "call_id",
    );
    assert_eq!(all.len(), 120);
    let mut sorted = all.clone();
    sorted.sort_by_key(|id| {
        let n: u32 = id[id.len() - 3..].parse().unwrap();
        let second = if id.starts_with("pre") { n % 4 } else { n % 6 };
        (std::cmp::Reverse(second), std::cmp::Reverse(id.clone()))
    });
    assert_eq!(
        all, sorted,
        "ordered by (first_event_at, call_id) descending"
    );
}

#[tokio::test]
async fn a_cursor_only_works_on_its_own_list_and_direction() {
    let app = spawn_api().await;
    for i in 0..3 {
        CallRow::new(&format!("c{i}"), "2024-03-01T10:00:00Z")
            .insert(&app)
            .await;
    }
    ingest(&app, tones("x", "c0", 3)).await;
    let calls = get_ok(&app, "/api/v1/calls?limit=1").await;
    let cursor = calls["next_cursor"].as_str().unwrap().to_owned();
    let events = get_ok(&app, "/api/v1/events?limit=1&order=desc").await;
    let event_cursor = events["next_cursor"].as_str().unwrap().to_owned();

    // The cursor continues where the page ended.
    let next = get_ok(&app, &format!("/api/v1/calls?limit=1&cursor={cursor}")).await;
    assert_eq!(next["items"][0]["call_id"], "c1");
    let next = get_ok(
        &app,
        &format!("/api/v1/events?limit=5&cursor={event_cursor}"),
    )
    .await;
    assert_eq!(
        strings(next["items"].as_array().unwrap(), "event_id"),
        ["x-1", "x-0"]
    );
    assert_eq!(next["next_cursor"], Value::Null);

    for path in [
        format!("/api/v1/events?cursor={cursor}"),
        format!("/api/v1/calls/c0/events?cursor={cursor}"),
        format!("/api/v1/calls?cursor={event_cursor}"),
        format!("/api/v1/calls?cursor={cursor}&order=desc"),
        format!("/api/v1/events?cursor={event_cursor}&order=asc"),
        // Tampered: a character changed, cut short, extended.
        format!(
            "/api/v1/calls?cursor={}{}",
            &cursor[..cursor.len() - 1],
            if cursor.ends_with('A') { 'B' } else { 'A' }
        ),
        format!("/api/v1/calls?cursor={}", &cursor[..cursor.len() / 2]),
        format!("/api/v1/calls?cursor={cursor}x"),
        format!("/api/v1/calls?cursor={}", "A".repeat(5000)),
    ] {
        assert_error(&app, &path, 400, "bad_request").await;
    }
}

/// Found by the `api_params` fuzz target: a client can write any cursor, and one whose key holds
/// what no row holds (a NUL in a text, a time before PostgreSQL's earliest) was bound to the query
/// as it was, which PostgreSQL refused: a `500` for the client's mistake. Each list refuses it.
#[tokio::test]
async fn a_forged_cursor_with_a_key_no_row_could_have_is_a_400() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let app = spawn_api().await;
    CallRow::new("c0", "2024-03-01T10:00:00Z")
        .insert(&app)
        .await;
    ingest(&app, tones("x", "c0", 3)).await;
    let cursor = |resource: &str, key: &str| {
        URL_SAFE_NO_PAD.encode(format!(r#"{{"v":1,"r":"{resource}","o":"asc","k":{key}}}"#))
    };
    let before_pg = "-5000-01-01T00:00:00Z";
    for (path, resource, key) in [
        (
            "/api/v1/calls",
            "calls",
            r#"["2024-03-12T09:15:40Z","c\u0000"]"#.to_owned(),
        ),
        ("/api/v1/calls", "calls", format!(r#"["{before_pg}","c0"]"#)),
        ("/api/v1/events", "events", format!(r#"["{before_pg}",1]"#)),
        (
            "/api/v1/calls/c0/participants",
            "call_participants",
            format!(r#"["{before_pg}","p",1]"#),
        ),
        (
            "/api/v1/calls/c0/media",
            "call_media",
            r#"["\u0000",""]"#.to_owned(),
        ),
        (
            "/api/v1/participants/p/calls",
            "participant_calls",
            format!(r#"["{before_pg}","c0"]"#),
        ),
    ] {
        let url = format!("{path}?cursor={}", cursor(resource, &key));
        assert_error(&app, &url, 400, "bad_request").await;
    }
    // The earliest time PostgreSQL holds is a key a row could have: a page, not an error.
    let earliest = cursor("calls", r#"["-4713-11-24T00:00:00Z",""]"#);
    let page = get_ok(&app, &format!("/api/v1/calls?cursor={earliest}")).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
}
