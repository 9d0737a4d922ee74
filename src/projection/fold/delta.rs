//! The rows one fold pass created or changed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::projection::model::{DtmfTone, MediaOperation, ParticipantChange, ParticipantInterval};

/// The rows one fold pass created or changed.
#[derive(Debug, Default)]
pub struct Delta {
    /// Intervals opened in this pass, as they stand at its end.
    pub opened: Vec<ParticipantInterval>,
    opened_at: HashMap<(String, i32), usize>,
    /// New ends of intervals opened in an earlier pass: (raw id, interval no) → (left at, left
    /// sequence).
    pub ended: BTreeMap<(String, i32), (DateTime<Utc>, Option<i64>)>,
    pub changes: Vec<ParticipantChange>,
    pub tones: Vec<DtmfTone>,
    /// Media operations started or changed in this pass, as they stand at its end.
    pub media: Vec<MediaChange>,
    /// Index in the call's media groups → index in `media`.
    media_at: HashMap<usize, usize>,
}

#[derive(Debug)]
pub struct MediaChange {
    pub row: MediaOperation,
    /// Started in this pass: its row is inserted, not updated.
    pub is_new: bool,
}

impl Delta {
    pub(super) fn open(&mut self, interval: ParticipantInterval) {
        self.opened_at.insert(
            (interval.raw_id.clone(), interval.interval_no),
            self.opened.len(),
        );
        self.opened.push(interval);
    }

    pub(super) fn end(
        &mut self,
        raw_id: &str,
        interval_no: i32,
        at: DateTime<Utc>,
        sequence: Option<i64>,
    ) {
        let key = (raw_id.to_owned(), interval_no);
        match self.opened_at.get(&key) {
            Some(&i) => {
                self.opened[i].left_at = Some(at);
                self.opened[i].left_sequence = sequence;
            }
            None => {
                self.ended.insert(key, (at, sequence));
            }
        }
    }

    /// The row of the call's media group `group` as it stands now: one change per group and pass.
    pub(super) fn media(&mut self, group: usize, row: MediaOperation, is_new: bool) {
        match self.media_at.get(&group) {
            Some(&at) => self.media[at].row = row,
            None => {
                self.media_at.insert(group, self.media.len());
                self.media.push(MediaChange { row, is_new });
            }
        }
    }

    /// Every index points at its row.
    pub(super) fn check(&self) {
        debug_assert_eq!(
            self.opened_at.len(),
            self.opened.len(),
            "one index per interval"
        );
        debug_assert_eq!(
            self.media_at.len(),
            self.media.len(),
            "one index per operation"
        );
        debug_assert!(
            self.opened_at.iter().all(|((raw_id, no), &i)| {
                self.opened[i].raw_id == *raw_id && self.opened[i].interval_no == *no
            }),
            "an opened interval is found under its own key"
        );
    }
}
