//! Who was in the call and when: participant snapshots, each the full list of who is in the call,
//! so presence is the difference from the previous one; nothing is trusted from one event alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::delta::Delta;
use super::order::{Event, SnapshotKey};
use super::{count, OutOfOrder};
use crate::projection::model::{
    kind_name, Details, Participant, ParticipantChange, ParticipantInterval,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) enum SnapshotOrder {
    /// Every snapshot has a sequence number (GA): they are ordered by it.
    Sequence,
    /// Some snapshot has none (the previews): time is all there is.
    Time,
}

impl SnapshotOrder {
    /// The order a call's snapshots are taken in, fixed by the whole set: a call comes from one
    /// era, so its snapshots all have sequence numbers or none do. `None` without snapshots.
    pub(super) fn of<'a, 'b: 'a>(
        snapshots: impl IntoIterator<Item = &'a Event<'b>>,
    ) -> Option<Self> {
        snapshots.into_iter().map(Self::of_one).max()
    }

    /// The order one snapshot says its call's are in.
    fn of_one(e: &Event<'_>) -> Self {
        match e.stored.sequence_number {
            Some(_) => SnapshotOrder::Sequence,
            None => SnapshotOrder::Time,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Roster {
    pub(super) order: Option<SnapshotOrder>,
    /// The last snapshot folded in, in `Sequence` order.
    last: Option<SnapshotKey>,
    /// Everyone who has been in the call, by raw id.
    pub(super) people: BTreeMap<String, Person>,
    pub(super) peak: i32,
}

/// One participant, as far as later snapshots need: one entry per raw id keeps the stored state
/// small (raw ids are long).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Person {
    /// Number of the open interval, while in the call.
    open: Option<i32>,
    /// Intervals so far.
    intervals: i32,
    /// Mute and hold as last recorded, and the changes recorded so far.
    muted: Option<bool>,
    held: Option<bool>,
    changes: i32,
}

/// Whether a snapshot counts: those after the call's disconnect describe no one in it.
pub(super) fn in_call(e: &Event<'_>, disconnected_at: Option<DateTime<Utc>>) -> bool {
    matches!(e.details, Details::ParticipantsUpdated { .. })
        && disconnected_at.map_or(true, |d| e.at() <= d)
}

impl Roster {
    /// Whoever is still in the call leaves with it; a snapshot at the same moment may still record
    /// a proper leave.
    pub(super) fn leave_with_call(&self, at: DateTime<Utc>, delta: &mut Delta) {
        for (raw_id, person) in &self.people {
            if let Some(no) = person.open {
                delta.end(raw_id, no, at, None);
            }
        }
    }

    /// One snapshot: who left since the previous one, who joined, whose mute or hold changed.
    /// Declines a snapshot that sorts before the last one folded in.
    pub(super) fn fold(
        &mut self,
        e: &Event<'_>,
        disconnected_at: Option<DateTime<Utc>>,
        delta: &mut Delta,
    ) -> Result<(), OutOfOrder> {
        let Details::ParticipantsUpdated { participants } = &e.details else {
            return Ok(());
        };
        // With none yet, the first snapshot folded in decides.
        let order = *self.order.get_or_insert_with(|| SnapshotOrder::of_one(e));
        if order == SnapshotOrder::Sequence {
            let key = e.snapshot_key().ok_or(OutOfOrder)?;
            if self.last.as_ref().is_some_and(|last| key <= *last) {
                return Err(OutOfOrder);
            }
            self.last = Some(key);
        }
        let at = e.at();
        let sequence = e.stored.sequence_number;
        let mut now: BTreeMap<&str, &Participant> = BTreeMap::new();
        for p in participants {
            now.entry(p.identifier.raw_id.as_str()).or_insert(p);
        }
        self.peak = self.peak.max(count(now.len()));

        let gone: Vec<(String, i32)> = self
            .people
            .iter()
            .filter(|(raw, _)| !now.contains_key(raw.as_str()))
            .filter_map(|(raw, person)| person.open.map(|no| (raw.clone(), no)))
            .collect();
        for (raw, no) in gone {
            if let Some(person) = self.people.get_mut(&raw) {
                person.open = None;
            }
            delta.end(&raw, no, at, sequence);
        }
        for (raw, p) in now {
            let person = self.people.entry(raw.to_owned()).or_default();
            if person.open.is_none() {
                let identifier = p.identifier.identifier();
                person.open = Some(person.intervals);
                delta.open(ParticipantInterval {
                    raw_id: raw.to_owned(),
                    interval_no: person.intervals,
                    kind: kind_name(identifier.kind),
                    display_id: identifier.display_safe(),
                    joined_at: at,
                    // Still there when the call ended: it left with the call.
                    left_at: disconnected_at,
                    joined_sequence: sequence,
                    left_sequence: None,
                });
                person.intervals += 1;
            }
            let (muted, held) = (p.is_muted, p.is_on_hold);
            // The first appearance is always recorded.
            if person.changes == 0 || (person.muted, person.held) != (muted, held) {
                (person.muted, person.held) = (muted, held);
                delta.changes.push(ParticipantChange {
                    raw_id: raw.to_owned(),
                    ordinal: person.changes,
                    at,
                    sequence_number: sequence,
                    is_muted: muted,
                    is_on_hold: held,
                });
                person.changes = person.changes.saturating_add(1);
            }
        }
        self.check();
        Ok(())
    }

    /// Everyone seen has an interval and a recorded state; an open interval is the latest one;
    /// no more are in the call at once than the peak.
    pub(super) fn check(&self) {
        debug_assert!(
            self.people
                .values()
                .all(|p| p.intervals > 0 && p.changes > 0),
            "everyone seen has an interval and a recorded state"
        );
        debug_assert!(
            self.people
                .values()
                .all(|p| p.open.map_or(true, |no| no + 1 == p.intervals)),
            "an open interval is the latest one"
        );
        debug_assert!(
            count(self.people.values().filter(|p| p.open.is_some()).count()) <= self.peak,
            "no more are in the call at once than its peak"
        );
    }
}
