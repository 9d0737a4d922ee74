//! What the database holds after a scenario, read directly: every acknowledged event exactly once,
//! and a call model equal to what `calltrail rebuild` derives from the log.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::service::rebuild;

pub async fn connect(database: &str) -> PgConnection {
    PgConnection::connect(database).await.unwrap()
}

/// Every acknowledged event is stored exactly once, and nothing is stored that was not sent.
/// Returns the number of events stored.
pub async fn acknowledged_are_stored_once(
    database: &str,
    acknowledged: &HashSet<String>,
    sent: &HashSet<String>,
) -> usize {
    let mut conn = connect(database).await;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT event_id, count(*) FROM events GROUP BY event_id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let stored: HashMap<String, i64> = rows.into_iter().collect();
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged but not stored, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let unknown: Vec<_> = stored.keys().filter(|id| !sent.contains(*id)).collect();
    assert!(unknown.is_empty(), "stored but never sent: {unknown:?}");
    stored.len()
}

/// Waits (up to a minute) until the projector has drained its queue.
pub async fn projected(database: &str) {
    let mut conn = connect(database).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM projection_queue")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if queued == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{queued} rows still queued for projection after a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every row of the five call-model tables (the fold state included; only the time of the
/// projection itself left out) and of the summary rollups, in a fixed order.
async fn dump(database: &str) -> Vec<(&'static str, Vec<Value>)> {
    let queries = crate::model_tables::queries(false);
    let mut conn = connect(database).await;
    let mut tables = Vec::new();
    for (table, sql) in queries {
        let rows: Vec<Value> = sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap();
        tables.push((table, rows));
    }
    tables
}

/// Once the projector is done, the call model is what `calltrail rebuild` makes of the log: the
/// binary's own subcommand is run and the tables compared before and after. Returns the number of
/// calls.
pub async fn equals_rebuild(database: &str) -> usize {
    projected(database).await;
    let before = dump(database).await;
    let calls = before[0].1.len();
    let printed = rebuild(database);
    assert!(
        printed.contains(&format!("rebuilt {calls} calls")),
        "{printed}"
    );
    let after = dump(database).await;
    for ((table, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(
            was.len(),
            is.len(),
            "{table}: rows before and after rebuild"
        );
        for (was, is) in was.iter().zip(is) {
            assert_eq!(
                was, is,
                "{table}: the projected row differs from the rebuild's"
            );
        }
    }
    calls
}

/// The projected calls: `(call_id, outcome, event_count, dtmf_count)`.
pub async fn calls(database: &str) -> Vec<(String, String, i32, i32)> {
    let mut conn = connect(database).await;
    sqlx::query_as(
        "SELECT call_id, outcome::text, event_count, dtmf_count FROM calls ORDER BY call_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}
