//! `calltrail rebuild`: every call's projection recomputed from the log, then the summary rollups
//! from the calls.

use sqlx::PgPool;

use crate::events::CallId;
use crate::projection::{recompute_calls, rollup};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildSummary {
    /// Calls with events, projected again.
    pub rebuilt: usize,
    /// Calls whose events are gone (their partitions dropped): their rows were removed.
    pub removed: usize,
}

/// Recomputes every call, `batch_calls` calls per transaction, through the same code as the
/// projector. Safe while the service runs: both lock each call before reading it.
pub async fn rebuild(pool: &PgPool, batch_calls: usize) -> Result<RebuildSummary, sqlx::Error> {
    let limit = i64::try_from(batch_calls.max(1)).unwrap_or(i64::MAX);
    let mut rebuilt = 0;
    let mut after: Option<CallId> = None;
    loop {
        // Keyset pagination over the call-id index: each page is one short transaction.
        let page: Vec<CallId> = match &after {
            None => {
                sqlx::query_scalar(
                    "SELECT DISTINCT call_id FROM events WHERE call_id IS NOT NULL \
                 ORDER BY call_id LIMIT $1",
                )
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Some(last) => {
                sqlx::query_scalar(
                    "SELECT DISTINCT call_id FROM events WHERE call_id > $1 \
                 ORDER BY call_id LIMIT $2",
                )
                .bind(last)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        let Some(last) = page.last().cloned() else {
            break;
        };
        let mut tx = pool.begin().await?;
        rebuilt += recompute_calls(&mut tx, page).await?;
        tx.commit().await?;
        after = Some(last);
    }

    let mut removed = 0;
    loop {
        let orphans: Vec<CallId> = sqlx::query_scalar(
            "SELECT call_id FROM calls c \
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.call_id = c.call_id) \
             ORDER BY call_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?;
        if orphans.is_empty() {
            break;
        }
        let mut tx = pool.begin().await?;
        // Projecting a call without events removes its rows (unless events arrived meanwhile).
        removed += recompute_calls(&mut tx, orphans).await?;
        tx.commit().await?;
    }
    crate::store::retention::prune_filter_keys(pool).await?;
    // The calls are as the log makes them: the rollups are recomputed from them, whatever they held
    // (a rebuild is also the way to restore them after a table was emptied or edited by hand).
    let mut tx = pool.begin().await?;
    rollup::recompute(&mut tx).await?;
    tx.commit().await?;
    Ok(RebuildSummary { rebuilt, removed })
}
