//! The call model: `calls`, `call_participants`, `participant_changes`, `dtmf_tones` and
//! `media_operations`, derived from the event log, which stays the source of truth.
//!
//! Appending events queues their calls and the new events in `projection_queue` in the same
//! transaction; the [`Projector`] of any instance drains it. A pass folds each call's new events
//! into the state stored with the call ([`fold`]), so a long call costs its new events, not its
//! whole log again at every pass; a call never projected before starts from an empty state. When
//! new events do not come after everything folded (late or out-of-order delivery), or the call's
//! row has no usable state, the call is recomputed from all of its events instead. Both ways give
//! the same rows (one pure function of a call's events, whose rows are [`model`]), so the result
//! is the same whatever the delivery order, whichever instance does the work, and after a
//! [`rebuild`].

pub mod feed;
mod filter_keys;
mod fold;
mod load;
pub mod model;
mod rebuild;
pub mod rollup;
mod worker;
mod write;

use std::collections::{BTreeMap, HashSet};

use sqlx::PgConnection;

use crate::events::CallId;
use crate::metrics as m;
use crate::projection::model::CallEvent;
pub use feed::ProjectionFeed;
pub use rebuild::{rebuild, RebuildSummary};
pub use worker::Projector;

/// Recomputes the rows of `call_ids` from their whole log inside the caller's transaction; the
/// number of distinct calls.
pub(crate) async fn recompute_calls(
    conn: &mut PgConnection,
    call_ids: Vec<CallId>,
) -> Result<usize, sqlx::Error> {
    let whole = call_ids.clone();
    project(conn, call_ids, &[], whole, &ProjectionFeed::default()).await
}

/// Projects what a pass claimed from the queue inside the caller's transaction; the number of
/// distinct calls.
pub(crate) async fn project_claimed(
    conn: &mut PgConnection,
    claimed: load::Claimed,
    feed: &ProjectionFeed,
) -> Result<usize, sqlx::Error> {
    project(
        conn,
        claimed.call_ids,
        &claimed.event_seqs,
        claimed.recompute,
        feed,
    )
    .await
}

/// Each call is locked first, then read, so two transactions projecting one call run one after
/// the other and the later one sees everything the earlier one wrote. Calls in `recompute`, and any
/// whose new events cannot be folded in, are recomputed from their log. New events handed over by
/// this process's writers come from `feed`; the others are read from the event log.
async fn project(
    conn: &mut PgConnection,
    mut call_ids: Vec<CallId>,
    new_event_seqs: &[i64],
    recompute: Vec<CallId>,
    feed: &ProjectionFeed,
) -> Result<usize, sqlx::Error> {
    call_ids.sort_unstable();
    call_ids.dedup();
    if call_ids.is_empty() {
        return Ok(0);
    }
    // Every statement of a projection reaches its rows through a `call_id` index; a sequential
    // scan is never the right plan. The planner picks one anyway when its statistics are empty or
    // stale (a fresh database under its first burst, before autovacuum's first ANALYZE): each
    // `call_id = ANY($1)` then compares every row of the table against the whole array, and a
    // prepared statement keeps that plan. Measured on a fresh database under load, this turned a
    // 4 ms pass into 55 ms and let the projector fall seconds behind.
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *conn)
        .await?;
    load::lock_calls(conn, &call_ids).await?;

    let recompute: HashSet<CallId> = recompute.into_iter().collect();
    let candidates: Vec<CallId> = call_ids
        .iter()
        .filter(|id| !recompute.contains(*id))
        .cloned()
        .collect();
    let (mut states, mut new_events) = if candidates.is_empty() || new_event_seqs.is_empty() {
        Default::default()
    } else {
        (
            load::states(conn, &candidates).await?,
            new_events(conn, &candidates, new_event_seqs, feed).await?,
        )
    };

    let mut passes = Vec::new();
    let mut whole = Vec::new();
    let mut keys = filter_keys::FilterKeys::default();
    for id in &call_ids {
        let state = if recompute.contains(id) {
            None
        } else {
            match states.remove(id) {
                // Never projected: every event it has is new.
                None => Some(fold::Fold::default()),
                Some(state) => state,
            }
        };
        let pass = match (state, new_events.remove(id)) {
            (Some(mut state), Some(events)) => {
                keys.add(id, &events);
                state
                    .extend(id, &events)
                    .ok()
                    .map(|pass| (pass, fold_json(&state)))
            }
            // No usable state, or its new events are gone (dropped with their partition).
            _ => None,
        };
        match pass {
            Some(pass) => passes.push(pass),
            None => whole.push(id.clone()),
        }
    }

    let mut events = if whole.is_empty() {
        Default::default()
    } else {
        load::events_of(conn, &whole).await?
    };
    let projections: Vec<_> = whole
        .iter()
        .filter_map(|id| {
            let log = events.remove(id).unwrap_or_default();
            keys.add(id, &log);
            fold::full(id, &log)
        })
        .map(|(state, projection)| (projection, fold_json(&state)))
        .collect();
    // Before the write: the rollups subtract what the calls' stored rows contributed.
    rollup::maintain::apply(conn, &whole, &projections, &passes).await?;
    write::write(conn, &whole, &projections, &passes).await?;
    keys.write(conn).await?;
    metrics::counter!(m::PROJECTION_CALLS, "way" => "folded").increment(passes.len() as u64);
    metrics::counter!(m::PROJECTION_CALLS, "way" => "recomputed").increment(whole.len() as u64);
    Ok(call_ids.len())
}

/// The events among `event_seqs` of the `candidates` calls (sorted), by call in `event_seq` order:
/// those handed over through `feed`, and the others read from the event log.
async fn new_events(
    conn: &mut PgConnection,
    candidates: &[CallId],
    event_seqs: &[i64],
    feed: &ProjectionFeed,
) -> Result<BTreeMap<CallId, Vec<CallEvent>>, sqlx::Error> {
    let taken = feed.take(event_seqs);
    let mut events = taken.found;
    // The queued events all belong to the claimed calls; those of calls not taken here (being
    // recomputed) are dropped, as the read below drops them.
    events.retain(|call_id, _| candidates.binary_search(call_id).is_ok());
    let handed: usize = events.values().map(Vec::len).sum();
    metrics::counter!(m::PROJECTION_EVENTS, "from" => "memory").increment(handed as u64);
    if taken.missing.is_empty() {
        return Ok(events);
    }
    let read = load::new_events(conn, candidates, &taken.missing).await?;
    let read_count: usize = read.values().map(Vec::len).sum();
    metrics::counter!(m::PROJECTION_EVENTS, "from" => "database").increment(read_count as u64);
    for (call_id, mut more) in read {
        let all = events.entry(call_id).or_default();
        all.append(&mut more);
        all.sort_unstable_by_key(|e| e.event_seq);
    }
    Ok(events)
}

fn fold_json(state: &fold::Fold) -> write::FoldJson {
    serde_json::to_string(state).expect("a fold state always serialises")
}
