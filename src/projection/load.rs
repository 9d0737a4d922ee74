//! Reading for the projector: claiming queued calls, locking them, loading their stored state and
//! their events.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, Row, Transaction};

use crate::events::{stored_event, CallId, EventKind};
use crate::projection::fold::Fold;
use crate::projection::model::CallEvent;

/// What a pass took from the queue.
#[derive(Debug, Default)]
pub(crate) struct Claimed {
    /// Every call the rows name (a call may appear more than once).
    pub call_ids: Vec<CallId>,
    /// The new events of those calls, to fold into them.
    pub event_seqs: Vec<i64>,
    /// Calls named by rows that do not list their events (queued by an older version): these are
    /// recomputed from their log.
    pub recompute: Vec<CallId>,
}

/// Which queue rows a projector takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    /// Calls to take at least (at least one row).
    pub limit: usize,
    /// This process's mark (`ProjectionFeed::owner`).
    pub owner: Option<i64>,
    /// Rows marked by another process are taken once they have waited this long.
    pub foreign_after: Duration,
}

/// Takes queue rows oldest first until they name at least `limit` calls (at least one row), removes
/// them, and returns what they name; the rows come back if the transaction rolls back. Each row is
/// one committed batch, so taking several at once also projects once a call whose POSTs were
/// committed in several batches. Rows another projector has claimed are skipped, not waited for;
/// rows locked here but not taken are released at commit.
///
/// Of the rows, a projector takes those its own process added, unmarked ones, and other processes'
/// once they have waited `foreign_after`: each instance folds what its writers committed from
/// memory instead of reading another's back from the event log, and the rows of an instance that
/// stopped or fell behind are still taken, later.
pub(crate) async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    claim: Claim,
) -> Result<Claimed, sqlx::Error> {
    let rows: Vec<(Vec<CallId>, Option<Vec<i64>>)> = sqlx::query_as(
        "WITH picked AS ( \
           SELECT id, cardinality(call_ids) AS calls FROM projection_queue \
           WHERE owner IS NULL OR owner = $2 \
             OR enqueued_at < now() - make_interval(secs => $3) \
           ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $1), \
         taken AS ( \
           SELECT id FROM (SELECT id, sum(calls) OVER (ORDER BY id) - calls AS before FROM picked) p \
           WHERE before < $1) \
         DELETE FROM projection_queue WHERE id IN (SELECT id FROM taken) \
         RETURNING call_ids, event_seqs",
    )
    .bind(i64::try_from(claim.limit.max(1)).unwrap_or(i64::MAX))
    .bind(claim.owner)
    .bind(claim.foreign_after.as_secs_f64())
    .fetch_all(&mut **tx)
    .await?;
    let mut claimed = Claimed::default();
    for (call_ids, event_seqs) in rows {
        match event_seqs {
            Some(seqs) => claimed.event_seqs.extend(seqs),
            None => claimed.recompute.extend(call_ids.iter().cloned()),
        }
        claimed.call_ids.extend(call_ids);
    }
    Ok(claimed)
}

/// Serialises every projector and rebuild working on these calls until the transaction ends.
/// The keys are taken in one global order so that two transactions cannot deadlock on them
/// (DISTINCT keeps the subquery from being flattened, so the locks follow its ORDER BY).
pub(crate) async fn lock_calls(
    conn: &mut PgConnection,
    call_ids: &[CallId],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(k) FROM \
           (SELECT DISTINCT hashtextextended(c, 0) AS k FROM unnest($1::text[]) AS c ORDER BY k) AS keys",
    )
    .bind(call_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// The fold state stored with each of these calls that has a row: `None` when the row has none
/// (projected by an older version) or it cannot be read (an older shape); such a call is
/// recomputed, which stores a fresh one. Calls without a row are absent.
pub(crate) async fn states(
    conn: &mut PgConnection,
    call_ids: &[CallId],
) -> Result<HashMap<CallId, Option<Fold>>, sqlx::Error> {
    let rows: Vec<(CallId, Option<String>)> =
        sqlx::query_as("SELECT call_id, fold FROM calls WHERE call_id = ANY($1)")
            .bind(call_ids)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(call_id, fold)| {
            let state = fold.and_then(|fold| match serde_json::from_str(&fold) {
                Ok(state) => Some(state),
                Err(error) => {
                    tracing::warn!(%error, "a stored call-model state is unreadable; recomputing the call");
                    None
                }
            });
            (call_id, state)
        })
        .collect())
}

/// Only what the event log stores: the envelope, the result and the typed details are derived from
/// `format` and `raw` here.
const EVENT_COLUMNS: &str =
    "call_id, event_seq, received_at, format, raw, operation_context, correlation_id, dedup_key";

/// Every event of each call, whenever it arrived.
pub(crate) async fn events_of(
    conn: &mut PgConnection,
    call_ids: &[CallId],
) -> Result<BTreeMap<CallId, Vec<CallEvent>>, sqlx::Error> {
    let rows: Vec<PgRow> = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE call_id = ANY($1) ORDER BY call_id, event_seq"
    ))
    .bind(call_ids)
    .fetch_all(conn)
    .await?;
    by_call(rows)
}

/// The events among `event_seqs` that belong to these calls: a pass's new events. They are
/// looked up by `event_seq` alone, one primary-key probe each. Adding `call_id = ANY(…)` to the
/// query made it slower by an order of magnitude on PostgreSQL 15 (108 ms instead of 9 for 5,000
/// events of 2,000 calls): the planner either checks each row against the whole array or descends
/// the call-id index once per pair of values. The queued events all belong to the claimed calls,
/// so the few of calls not taken here are dropped in memory (`call_ids` is sorted).
pub(crate) async fn new_events(
    conn: &mut PgConnection,
    call_ids: &[CallId],
    event_seqs: &[i64],
) -> Result<BTreeMap<CallId, Vec<CallEvent>>, sqlx::Error> {
    let rows: Vec<PgRow> = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE event_seq = ANY($1) AND call_id IS NOT NULL \
         ORDER BY call_id, event_seq"
    ))
    .bind(event_seqs)
    .fetch_all(conn)
    .await?;
    let mut events = by_call(rows)?;
    events.retain(|call_id, _| call_ids.binary_search(call_id).is_ok());
    Ok(events)
}

/// Columns are read by position: decoding by name looks each name up in a hash map, for every
/// column of every row, which showed in the projector's profile.
fn by_call(rows: Vec<PgRow>) -> Result<BTreeMap<CallId, Vec<CallEvent>>, sqlx::Error> {
    let mut by_call: BTreeMap<CallId, Vec<CallEvent>> = BTreeMap::new();
    for row in rows {
        let call_id: CallId = row.try_get(0)?;
        let event_seq = row.try_get(1)?;
        let received_at = row.try_get(2)?;
        let mut event = match stored_event(row.try_get(3)?, row.try_get(4)?) {
            Some(parsed) => {
                let details = serde_json::to_string(&parsed.kind)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                CallEvent::of(&parsed, event_seq, received_at, details)
            }
            // An element that no longer parses: only what the row's own columns hold.
            None => CallEvent {
                event_seq,
                received_at,
                event_time: None,
                details: serde_json::to_string(&EventKind::Unknown)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                sequence_number: None,
                result_code: None,
                result_sub_code: None,
                result_message: None,
                operation_context: None,
                server_call_id: None,
                correlation_id: None,
                dedup_key: row.try_get(7)?,
            },
        };
        // The stored columns, as the audit log's filters and the call's index read them.
        event.operation_context = row.try_get(5)?;
        event.correlation_id = row.try_get(6)?;
        event.dedup_key = row.try_get(7)?;
        by_call.entry(call_id).or_default().push(event);
    }
    Ok(by_call)
}
