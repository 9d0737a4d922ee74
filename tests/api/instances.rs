//! Three instances on one database, deliveries spread across them and every one of them also sent
//! to a different instance, as a load balancer does with a sender's retry: every event is stored
//! once, and the call model is what one instance makes of the same deliveries and what `rebuild`
//! derives from the log. (The fault suite does the same under a duplicate storm with the binary.)

use serde_json::Value;

use crate::call_model::{dump, every_format, ga_call, Posts};
use crate::helpers::*;

/// Posts `body` to `app`, which must acknowledge it: the answer's (stored, duplicates).
async fn deliver(app: &TestApp, body: &Value) -> (i64, i64) {
    let response = app.post_callback(body.to_string()).await;
    assert_eq!(response.status(), 200, "body: {body}");
    let answer: Value = response.json().await.unwrap();
    (
        answer["stored"].as_i64().unwrap(),
        answer["duplicates"].as_i64().unwrap(),
    )
}

fn posts() -> Posts {
    let mut posts = every_format();
    for n in 1..10 {
        posts.extend(ga_call(&format!("multi-{n}")));
    }
    posts
}

#[tokio::test]
async fn three_instances_with_duplicates_across_them_store_once_and_agree_with_a_rebuild() {
    let posts = posts();
    let single = TestApp::spawn().await;
    for body in &posts {
        deliver(&single, body).await;
    }
    single.wait_for_projections().await;
    let expected_events = single.event_count().await;
    let expected = dump(&single.pool, true).await;

    let database_url = create_database().await;
    let mut instances = Vec::new();
    for _ in 0..3 {
        // Small batches and fast polling make the projectors meet on the same calls.
        instances.push(
            TestApp::spawn_on(&database_url, |s| {
                s.projection.batch_calls = 2;
                s.projection.poll_interval_ms = 5;
            })
            .await,
        );
    }
    // Sender i delivers to instance i % 3 and its duplicate to the next one, both at once, so
    // the two copies race through different instances' writers.
    let sender = |i: usize| {
        let (one, other) = (&instances[i % 3], &instances[(i + 1) % 3]);
        let body = &posts[i];
        async move {
            let (a, b) = tokio::join!(deliver(one, body), deliver(other, body));
            (a.0 + b.0, a.1 + b.1)
        }
    };
    let answers = futures_util::future::join_all((0..posts.len()).map(sender)).await;
    let stored: i64 = answers.iter().map(|a| a.0).sum();

    let one = &instances[0];
    assert_eq!(one.event_count().await, expected_events);
    assert_eq!(stored, expected_events, "answers said stored once each");
    let keys: i64 = sqlx::query_scalar("SELECT count(DISTINCT dedup_key) FROM events")
        .fetch_one(&one.pool)
        .await
        .unwrap();
    assert_eq!(keys, expected_events, "no event stored twice");

    one.wait_for_projections().await;
    assert!(one.count_rows("calls").await >= 10, "every call projected");
    assert_eq!(dump(&one.pool, true).await, expected);
    let projected = dump(&one.pool, false).await;
    calltrail::projection::rebuild(&one.pool, 5).await.unwrap();
    assert_eq!(
        dump(&one.pool, false).await,
        projected,
        "equal to a rebuild"
    );
}

/// A projector takes the calls its own instance committed at once, another instance's only once
/// they have waited `projection.foreign_after_ms`: the events of its own are still in its memory.
#[tokio::test]
async fn a_projector_leaves_another_instances_calls_until_they_have_waited() {
    let database_url = create_database().await;
    // Another instance's call: committed by an instance that does not project, then given the
    // mark of an instance that does (one that is not this test's).
    let writer = TestApp::spawn_on(&database_url, |s| s.projection.enabled = false).await;
    for body in ga_call("foreign") {
        deliver(&writer, &body).await;
    }
    sqlx::query("UPDATE projection_queue SET owner = 42")
        .execute(&writer.pool)
        .await
        .unwrap();
    // Polls often, and would take another instance's calls only after ten minutes.
    let projecting = TestApp::spawn_on(&database_url, |s| {
        s.projection.poll_interval_ms = 5;
        s.projection.settle_ms = 0;
        s.projection.foreign_after_ms = 600_000;
    })
    .await;
    for body in ga_call("own") {
        deliver(&projecting, &body).await;
    }
    let projected = |call: &'static str| {
        let pool = projecting.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM calls WHERE call_id = $1)")
                .bind(call)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !projected("own").await {
        assert!(
            std::time::Instant::now() < deadline,
            "own call not projected after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Dozens of polls later, the other instance's call is still queued.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !projected("foreign").await,
        "another instance's call was taken at once"
    );
    assert!(projecting.count_rows("projection_queue").await > 0);

    // Once its rows have waited long enough (made to look eleven minutes old), they are taken.
    sqlx::query("UPDATE projection_queue SET enqueued_at = now() - interval '11 minutes'")
        .execute(&projecting.pool)
        .await
        .unwrap();
    projecting.wait_for_projections().await;
    assert!(projected("foreign").await);
}
