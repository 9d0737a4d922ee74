//! Duplicate deliveries absorbed, counted by call (`call_duplicates`): what the event log cannot
//! say, since a duplicate is answered without a write. Counted after the answer and only when a
//! batch held duplicates, so a count can fall short by a batch whose writer stopped in between;
//! it never counts an event that was stored.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};

use crate::events::{CallId, ParsedEvent};
use crate::store::event_log::Stored;

/// The duplicates among `events` (each with its outcome), by call; events without a call id are
/// not counted.
pub fn by_call<'a>(
    events: impl IntoIterator<Item = (&'a ParsedEvent, Stored)>,
) -> BTreeMap<CallId, i64> {
    let mut counts = BTreeMap::new();
    for (event, stored) in events {
        if let (Stored::Duplicate, Some(call_id)) = (stored, &event.common.call_id) {
            *counts.entry(call_id.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Adds `counts` to the calls' totals. The calls are taken in order (a `BTreeMap`), so writers
/// adding to the same calls at once cannot deadlock.
pub async fn record(
    conn: &mut PgConnection,
    counts: &BTreeMap<CallId, i64>,
) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    let (calls, added): (Vec<&str>, Vec<i64>) =
        counts.iter().map(|(call, n)| (call.as_str(), *n)).unzip();
    sqlx::query(
        "INSERT INTO call_duplicates (call_id, duplicates) \
         SELECT * FROM unnest($1::text[], $2::bigint[]) \
         ON CONFLICT (call_id) DO UPDATE SET duplicates = call_duplicates.duplicates + EXCLUDED.duplicates",
    )
    .bind(calls)
    .bind(added)
    .execute(conn)
    .await?;
    Ok(())
}

/// The duplicate deliveries absorbed for one call (0 when none were).
pub async fn of_call(pool: &PgPool, call_id: &str) -> Result<i64, sqlx::Error> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT duplicates FROM call_duplicates WHERE call_id = $1")
            .bind(call_id)
            .fetch_optional(pool)
            .await?;
    Ok(n.unwrap_or(0))
}
