//! Key presses (DTMF): numbered by their sequence id, each flagged as a repeat of the one before or
//! with the count of ids missing before it.

use serde::{Deserialize, Serialize};

use super::delta::Delta;
use super::order::{tone_key, Event, ToneKey};
use super::OutOfOrder;
use crate::projection::model::{Details, DtmfTone};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Tones {
    pub(super) count: i32,
    /// The highest sequence id so far.
    previous: Option<i64>,
    /// A tone without a sequence id was folded in; such tones sort after all numbered ones.
    unnumbered: bool,
}

/// A key press's place in tone order; `None` for any other event.
pub(super) fn key_of(e: &Event<'_>) -> Option<ToneKey> {
    match &e.details {
        Details::DtmfTone { sequence_id, .. } => Some(tone_key(*sequence_id)),
        _ => None,
    }
}

impl Tones {
    /// The place of the last press folded in, in tone order; `None` before the first.
    fn last(&self) -> Option<ToneKey> {
        if self.unnumbered {
            Some(tone_key(None))
        } else {
            self.previous.map(|id| tone_key(Some(id)))
        }
    }

    /// One key press, flagging repeats and gaps against the highest sequence id before it.
    /// Declines a press that sorts before the last one folded in.
    pub(super) fn fold(&mut self, e: &Event<'_>, delta: &mut Delta) -> Result<(), OutOfOrder> {
        let Details::DtmfTone {
            sequence_id,
            tone,
            participant_id,
        } = &e.details
        else {
            return Ok(());
        };
        if self
            .last()
            .is_some_and(|last| tone_key(*sequence_id) < last)
        {
            return Err(OutOfOrder);
        }
        let (repeated, missing_before) = match (*sequence_id, self.previous) {
            (Some(id), Some(prev)) if id == prev => (true, 0),
            // Sequence ids start at 1.
            (Some(id), prev) => {
                self.previous = Some(id);
                let gap = id - prev.unwrap_or(0) - 1;
                (false, i32::try_from(gap.max(0)).unwrap_or(i32::MAX))
            }
            (None, _) => {
                self.unnumbered = true;
                (false, 0)
            }
        };
        delta.tones.push(DtmfTone {
            ordinal: self.count,
            sequence_id: *sequence_id,
            tone: tone.clone(),
            at: e.at(),
            participant_id: participant_id.clone(),
            repeated,
            missing_before,
            event_seq: e.stored.event_seq,
        });
        self.count = self.count.saturating_add(1);
        debug_assert!(
            self.unnumbered || self.previous.is_some(),
            "a folded press leaves its place behind"
        );
        Ok(())
    }
}
