//! The call model as a fold: a small state per call that each event, taken in the model's order,
//! moves forward, emitting the rows it creates or changes.
//!
//! The same fold serves both ways of projecting a call:
//! - [`full`] sorts all of a call's events and folds them from nothing (a rebuild, a call whose row
//!   has no usable state, or any case the incremental way cannot take);
//! - [`Fold::extend`] folds a pass's new events into the state stored with the call (an empty one
//!   for a call never projected), so a call's cost is its new events, not its whole log again. It
//!   accepts new events only when every one of them comes after everything folded so far (in each
//!   order the model uses, see [`order`]); otherwise it declines and the caller recomputes the
//!   call in full. Events delivered late or out of order therefore cost a recompute, never a wrong
//!   row.
//!
//! Both ways run the same steps in the same order over the same events, so they give the same
//! rows; the tests check this for every split of a call's events. Each concern keeps its own
//! state and steps: the call itself (`call`), who was in it (`roster`), key presses (`tones`),
//! play and recognize operations (`media`); `delta` collects the rows a pass touched.

mod call;
mod delta;
mod media;
mod order;
mod roster;
mod tones;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::events::CallId;
use crate::projection::model::{CallEvent, CallProjection, CallRow, Details, MediaKind};
use call::CallState;
pub use delta::Delta;
use media::Media;
use order::{in_content_order, ContentKey, Event};
use roster::{Roster, SnapshotOrder};
use tones::Tones;

/// Everything later events need to know about a call. Stored as JSON beside the call's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// The last event folded in; a new event must come after it.
    last: Option<ContentKey>,
    call: CallState,
    roster: Roster,
    tones: Tones,
    media: Media,
}

/// An event the incremental fold cannot place after what it holds: the call is recomputed.
#[derive(Debug)]
pub struct OutOfOrder;

/// What one incremental pass produced: the call's new row and its other changed rows.
#[derive(Debug)]
pub struct Pass {
    pub call: CallRow,
    pub delta: Delta,
}

/// Projects a call from all of its events. `None` when it has none (its rows are then removed).
pub fn full(call_id: &CallId, stored: &[CallEvent]) -> Option<(Fold, CallProjection)> {
    let events = in_content_order(stored, None).expect("nothing comes before the first event");
    if events.is_empty() {
        return None;
    }
    let mut fold = Fold::default();
    let mut delta = Delta::default();
    for e in &events {
        fold.call_event(e, &mut delta);
    }
    fold.call.saw(stored);

    // Tones in tone order; the sort is stable, so equal ids keep content order.
    let mut tones: Vec<(order::ToneKey, &Event<'_>)> = events
        .iter()
        .filter_map(|e| Some((tones::key_of(e)?, e)))
        .collect();
    tones.sort_by_key(|(key, _)| *key);
    for (_, e) in tones {
        fold.tones
            .fold(e, &mut delta)
            .expect("sorted tones are in order");
    }

    // Snapshots up to the disconnect, in snapshot order.
    let disconnected_at = fold.call.disconnected_at;
    let mut snapshots: Vec<&Event<'_>> = events
        .iter()
        .filter(|e| roster::in_call(e, disconnected_at))
        .collect();
    // With none yet, the first snapshot folded in later decides.
    fold.roster.order = SnapshotOrder::of(snapshots.iter().copied());
    if fold.roster.order == Some(SnapshotOrder::Sequence) {
        // Keys are distinct (the dedup key is unique), so the fold never declines these.
        snapshots.sort_by_key(|e| e.snapshot_key());
    }
    for e in snapshots {
        fold.roster
            .fold(e, disconnected_at, &mut delta)
            .expect("sorted snapshots are in order");
    }

    fold.last = events.last().map(|e| e.key.clone());
    fold.check(&delta);
    let mut projection = fold.projection_rows(call_id, delta);
    projection
        .participants
        .sort_by(|a, b| (&a.raw_id, a.interval_no).cmp(&(&b.raw_id, b.interval_no)));
    projection
        .changes
        .sort_by(|a, b| (&a.raw_id, a.ordinal).cmp(&(&b.raw_id, b.ordinal)));
    Some((fold, projection))
}

impl Fold {
    /// Folds new events into the state, or declines (and leaves `self` unusable) when one of them
    /// does not come after everything folded so far.
    pub fn extend(&mut self, call_id: &CallId, stored: &[CallEvent]) -> Result<Pass, OutOfOrder> {
        let events = in_content_order(stored, self.last.as_ref())?;
        let mut delta = Delta::default();
        for e in &events {
            self.call_event(e, &mut delta);
            match &e.details {
                Details::DtmfTone { .. } => self.tones.fold(e, &mut delta)?,
                Details::ParticipantsUpdated { .. } => {
                    let disconnected_at = self.call.disconnected_at;
                    if roster::in_call(e, disconnected_at) {
                        self.roster.fold(e, disconnected_at, &mut delta)?;
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = events.last() {
            self.last = Some(e.key.clone());
        }
        self.call.saw(stored);
        self.check(&delta);
        Ok(Pass {
            call: self.call_row(call_id),
            delta,
        })
    }

    /// The call-level part of an event, in content order: the call's own state, whoever leaves
    /// with it, media operations.
    fn call_event(&mut self, e: &Event<'_>, delta: &mut Delta) {
        if let Some(at) = self.call.fold(e) {
            self.roster.leave_with_call(at, delta);
        }
        match &e.details {
            Details::Play { outcome } => self.media.fold(e, MediaKind::Play, outcome, delta),
            Details::Recognize { outcome } => {
                self.media.fold(e, MediaKind::Recognize, outcome, delta)
            }
            _ => {}
        }
    }

    /// The rows of a call folded from nothing, in one pass: every row is in the delta.
    fn projection_rows(&self, call_id: &CallId, delta: Delta) -> CallProjection {
        let mut media: Vec<_> = delta.media.into_iter().map(|m| m.row).collect();
        media.sort_by(|a, b| {
            (&a.operation_context, a.operation).cmp(&(&b.operation_context, b.operation))
        });
        CallProjection {
            call: self.call_row(call_id),
            participants: delta.opened,
            changes: delta.changes,
            tones: delta.tones,
            media,
        }
    }

    /// What holds after every pass (checked in debug builds).
    fn check(&self, delta: &Delta) {
        debug_assert_eq!(
            self.last.is_some(),
            self.call.has_events(),
            "the last event folded in is known exactly when there was one"
        );
        self.call.check();
        self.roster.check();
        self.media.check();
        delta.check();
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
