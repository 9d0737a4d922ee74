//! The model's order. Delivery order means nothing (ACS sends out of order and at least once), so
//! every order the fold uses is derived from the events' content, and each is written once here:
//! [`full`](super::full) sorts by it, [`Fold::extend`](super::Fold::extend) checks new events
//! against it.
//!
//! - Every event: its time (the sender's, else the receipt), then its sequence number, then its
//!   dedup key, which is unique, so the order is total and the same whatever the delivery order
//!   ([`ContentKey`], [`in_content_order`]).
//! - Participant snapshots of the GA era: their sequence number, then time ([`SnapshotKey`]).
//! - Key presses: their sequence id, presses without one after all numbered ones ([`ToneKey`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OutOfOrder;
use crate::projection::model::{CallEvent, Details};
use crate::store::DedupKey;

/// Where an event sits in the model's order. Field order is comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) struct ContentKey {
    pub(super) at: DateTime<Utc>,
    pub(super) sequence: Option<i64>,
    pub(super) dedup: DedupKey,
}

/// Where a participant snapshot of the GA era sits among the others. Field order is comparison
/// order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) struct SnapshotKey {
    pub(super) sequence: i64,
    pub(super) at: DateTime<Utc>,
    pub(super) dedup: DedupKey,
}

/// Where a key press sits among the others: numbered ones by their id, then the unnumbered ones.
/// Presses with the same id (repeats) are equal and keep their content order.
pub(super) type ToneKey = (bool, Option<i64>);

pub(super) fn tone_key(sequence_id: Option<i64>) -> ToneKey {
    (sequence_id.is_none(), sequence_id)
}

/// One event, read: its place in the order and its typed details.
pub(crate) struct Event<'a> {
    pub(super) stored: &'a CallEvent,
    pub(super) key: ContentKey,
    pub(super) details: Details,
}

impl<'a> Event<'a> {
    fn read(stored: &'a CallEvent) -> Self {
        Event {
            key: ContentKey {
                at: stored.effective_time(),
                sequence: stored.sequence_number,
                dedup: stored.dedup_key,
            },
            details: serde_json::from_str(&stored.details).unwrap_or(Details::Other),
            stored,
        }
    }

    pub(super) fn at(&self) -> DateTime<Utc> {
        self.key.at
    }

    /// Its place among the snapshots of the GA era; `None` for one without a sequence number.
    pub(super) fn snapshot_key(&self) -> Option<SnapshotKey> {
        self.stored.sequence_number.map(|sequence| SnapshotKey {
            sequence,
            at: self.at(),
            dedup: self.key.dedup,
        })
    }
}

/// The distinct events of `stored` (by dedup key; the first stored wins) in content order, all of
/// them after `after` (the last event already folded in); otherwise `OutOfOrder`. Equal to
/// `after` means the same event again, which was folded in already: that declines too.
pub(super) fn in_content_order<'a>(
    stored: &'a [CallEvent],
    after: Option<&ContentKey>,
) -> Result<Vec<Event<'a>>, OutOfOrder> {
    let mut seen = HashSet::new();
    let mut events: Vec<Event<'_>> = stored
        .iter()
        .filter(|e| seen.insert(e.dedup_key))
        .map(Event::read)
        .collect();
    events.sort_by(|a, b| a.key.cmp(&b.key));
    debug_assert!(
        events.windows(2).all(|w| w[0].key < w[1].key),
        "distinct dedup keys make the content order strict"
    );
    match (after, events.first()) {
        (Some(last), Some(first)) if first.key <= *last => Err(OutOfOrder),
        _ => Ok(events),
    }
}
