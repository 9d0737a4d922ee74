//! Retention: the event log keeps `retention.keep_months` whole months before the current one
//! (UTC) and drops the monthly partitions older than that, with the dedup keys of their events.
//!
//! Deduplication stays exact against every event still retained: a key is pruned only once the
//! event it stands for is gone, so a sender retrying an event older than the retention period has
//! it stored again, as new. The call model follows the log: each dropped partition's calls are
//! queued for recomputation, and the projector rebuilds them from what is left (removing those
//! with nothing left, and their count of duplicates absorbed), exactly as `calltrail rebuild` would.
//! The dashboard's record of payload views (`payload_views`) is kept as long as the events, and
//! the audit log's filter keys (`call_filter_keys`) as long as their call has events.
//!
//! Safe with several instances: each partition is dropped under the lock that serialises partition
//! creation, and an instance that comes second finds nothing left to drop.

use sqlx::PgPool;

use crate::metrics as m;

/// Dedup keys deleted per statement: each batch is one short transaction.
const PRUNE_BATCH: i64 = 10_000;

/// What one run of retention did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionSummary {
    /// The partitions dropped, oldest first, with the events each held.
    pub dropped: Vec<(String, i64)>,
    pub dedup_keys_pruned: u64,
    /// The audit log's filter keys (`call_filter_keys`) of calls with no event left.
    pub filter_keys_pruned: u64,
    /// Dashboard views of stored payloads (`payload_views`) older than the cutoff, deleted.
    pub payload_views_pruned: u64,
}

/// Drops what is older than `keep_months` whole months before the current one; `keep_months` 0
/// keeps everything (nothing is done).
pub async fn apply(pool: &PgPool, keep_months: u32) -> Result<RetentionSummary, sqlx::Error> {
    let mut summary = RetentionSummary::default();
    if keep_months == 0 {
        return Ok(summary);
    }
    let cutoff: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1)) \
         AT TIME ZONE 'UTC'",
    )
    .bind(i32::try_from(keep_months).unwrap_or(i32::MAX))
    .fetch_one(pool)
    .await?;
    let expired: Vec<String> = sqlx::query_scalar("SELECT calltrail_expired_event_partitions($1)")
        .bind(cutoff)
        .fetch_all(pool)
        .await?;
    for name in expired {
        let held: Option<i64> = sqlx::query_scalar("SELECT calltrail_drop_event_partition($1)")
            .bind(&name)
            .fetch_one(pool)
            .await?;
        // Another instance dropped it first.
        let Some(held) = held else { continue };
        tracing::info!(
            partition = %name,
            events = held,
            %cutoff,
            "retention: dropped an event partition past retention.keep_months"
        );
        metrics::counter!(m::RETENTION_PARTITIONS_DROPPED).increment(1);
        metrics::counter!(m::RETENTION_EVENTS_DROPPED).increment(u64::try_from(held).unwrap_or(0));
        summary.dropped.push((name, held));
    }
    loop {
        let pruned = sqlx::query(
            "DELETE FROM event_dedup WHERE ctid = ANY(ARRAY( \
               SELECT ctid FROM event_dedup WHERE first_received_at < $1 LIMIT $2))",
        )
        .bind(cutoff)
        .bind(PRUNE_BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        summary.dedup_keys_pruned += pruned;
        metrics::counter!(m::RETENTION_DEDUP_KEYS_PRUNED).increment(pruned);
        if pruned < PRUNE_BATCH as u64 {
            break;
        }
    }
    if !summary.dropped.is_empty() {
        summary.filter_keys_pruned = prune_filter_keys(pool).await?;
    }
    if summary.dedup_keys_pruned > 0 {
        tracing::info!(
            keys = summary.dedup_keys_pruned,
            %cutoff,
            "retention: pruned the dedup keys of events past retention.keep_months"
        );
    }
    // The record of who opened which payload is kept as long as the events themselves: a view
    // recorded before the cutoff goes with the month it belongs to. (Written only by people, so
    // one statement.)
    summary.payload_views_pruned = sqlx::query("DELETE FROM payload_views WHERE viewed_at < $1")
        .bind(cutoff)
        .execute(pool)
        .await?
        .rows_affected();
    if summary.payload_views_pruned > 0 {
        tracing::info!(
            views = summary.payload_views_pruned,
            %cutoff,
            "retention: pruned the dashboard's payload views past retention.keep_months"
        );
    }
    Ok(summary)
}

/// Deletes the filter keys of calls that have no event left (run when partitions were dropped,
/// and by a rebuild): one pass over the keys, each checked against the call's index of the event
/// log. A key of a call that still has events stays, even if the events that
/// carried its value are gone: it only makes a filter look at that call.
pub async fn prune_filter_keys(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let pruned = sqlx::query(
        "DELETE FROM call_filter_keys k \
         WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.call_id = k.call_id)",
    )
    .execute(pool)
    .await?
    .rows_affected();
    if pruned > 0 {
        tracing::info!(
            keys = pruned,
            "retention: pruned the audit-log filter keys of calls with no event left"
        );
    }
    Ok(pruned)
}
