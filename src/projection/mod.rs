//! The call model: `calls`, `call_participants`, `participant_changes`, `dtmf_tones` and
//! `media_operations`, derived from the event log, which stays the source of truth.
//!
//! Each call's rows are recomputed from all of its events whenever new ones arrive ([`model`] is
//! the pure computation), so the result is the same whatever the delivery order, whichever
//! instance does the work, and after a [`rebuild`]. Appending events queues their calls in
//! `projection_queue` in the same transaction; the [`Projector`] of any instance drains it.

mod load;
pub mod model;
mod rebuild;
mod worker;
mod write;

use sqlx::PgConnection;

pub use rebuild::{rebuild, RebuildSummary};
pub use worker::{Projector, Wakeup};

/// Recomputes and replaces the rows of `call_ids` inside the caller's transaction; the number of
/// distinct calls. Each call is locked first, then read whole, so two transactions projecting one
/// call run one after the other and the later one sees every event the earlier one saw.
pub(crate) async fn project_calls(
    conn: &mut PgConnection,
    mut call_ids: Vec<String>,
) -> Result<usize, sqlx::Error> {
    call_ids.sort_unstable();
    call_ids.dedup();
    if call_ids.is_empty() {
        return Ok(0);
    }
    load::lock_calls(conn, &call_ids).await?;
    let mut events = load::events_of(conn, &call_ids).await?;
    let projections: Vec<model::CallProjection> = call_ids
        .iter()
        .filter_map(|id| model::project(id, events.remove(id).as_deref().unwrap_or_default()))
        .collect();
    write::replace(conn, &call_ids, &projections).await?;
    Ok(call_ids.len())
}
