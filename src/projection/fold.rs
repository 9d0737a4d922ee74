//! The call model as a fold: a small state per call that each event, taken in the model's order,
//! moves forward, emitting the rows it creates or changes.
//!
//! The same fold serves both ways of projecting a call:
//! - [`full`] sorts all of a call's events and folds them from nothing (a rebuild, a call whose row
//!   has no usable state, or any case the incremental way cannot take);
//! - [`Fold::extend`] folds a pass's new events into the state stored with the call (an empty one
//!   for a call never projected), so a call's cost is its new events, not its whole log again. It accepts new events only when every one of
//!   them comes after everything folded so far (in each order the model uses); otherwise it
//!   declines and the caller recomputes the call in full. Events delivered late or out of order
//!   therefore cost a recompute, never a wrong row.
//!
//! Both ways run the same steps in the same order over the same events, so they give the same
//! rows; the tests check this for every split of a call's events.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::projection::model::{
    kind_name, CallEvent, CallOutcome, CallProjection, CallRow, Details, DtmfTone, MediaOperation,
    Participant, ParticipantChange, ParticipantInterval, CALL_FAILURES, CONNECTED_STATES,
    DISCONNECTED_STATES, TERMINAL_MEDIA,
};

/// Where an event sits in the model's order: its time (the sender's, else the receipt), then its
/// sequence number, then its dedup key, which is unique, so the order is total and the same
/// whatever the delivery order. Field order is comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct ContentKey {
    at: DateTime<Utc>,
    sequence: Option<i64>,
    #[serde(with = "hex")]
    dedup: Vec<u8>,
}

/// Participant snapshots of the GA era are ordered by their sequence number, then time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct SnapshotKey {
    sequence: i64,
    at: DateTime<Utc>,
    #[serde(with = "hex")]
    dedup: Vec<u8>,
}

/// One event, read: its place in the order and its typed details.
pub(crate) struct Event<'a> {
    stored: &'a CallEvent,
    key: ContentKey,
    details: Details,
}

impl<'a> Event<'a> {
    fn read(stored: &'a CallEvent) -> Self {
        Event {
            key: ContentKey {
                at: stored.effective_time(),
                sequence: stored.sequence_number,
                dedup: stored.dedup_key.clone(),
            },
            details: serde_json::from_str(&stored.details).unwrap_or(Details::Other),
            stored,
        }
    }

    fn at(&self) -> DateTime<Utc> {
        self.key.at
    }
}

/// Distinct events (by dedup key; the first stored wins) in content order.
fn content_order(stored: &[CallEvent]) -> Vec<Event<'_>> {
    let mut seen = HashSet::new();
    let mut events: Vec<Event<'_>> = stored
        .iter()
        .filter(|e| seen.insert(e.dedup_key.as_slice()))
        .map(Event::read)
        .collect();
    events.sort_by(|a, b| a.key.cmp(&b.key));
    events
}

/// Everything later events need to know about a call. Stored as JSON beside the call's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// The last event folded in; a new event must come after it.
    last: Option<ContentKey>,
    call: CallState,
    roster: Roster,
    tones: Tones,
    media: Vec<MediaGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CallState {
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    server_call_id: Option<String>,
    correlation_id: Option<String>,
    state: Option<String>,
    connected_at: Option<DateTime<Utc>>,
    disconnected_at: Option<DateTime<Utc>>,
    failure: Option<Failure>,
    event_count: i32,
    last_event_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Failure {
    code: Option<i64>,
    sub_code: Option<i64>,
    message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum SnapshotOrder {
    /// Every snapshot has a sequence number (GA): they are ordered by it.
    Sequence,
    /// Some snapshot has none (the previews): time is all there is.
    Time,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Roster {
    order: Option<SnapshotOrder>,
    /// The last snapshot folded in, in `Sequence` order.
    last: Option<SnapshotKey>,
    /// Everyone who has been in the call, by raw id.
    people: BTreeMap<String, Person>,
    peak: i32,
}

/// One participant, as far as later snapshots need: one entry per raw id keeps the stored state
/// small (raw ids are long).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Person {
    /// Number of the open interval, while in the call.
    open: Option<i32>,
    /// Intervals so far.
    intervals: i32,
    /// Mute and hold as last recorded, and the changes recorded so far.
    muted: Option<bool>,
    held: Option<bool>,
    changes: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Tones {
    count: i32,
    /// The highest sequence id so far.
    previous: Option<i64>,
    /// A tone without a sequence id was folded in; such tones sort after all numbered ones.
    unnumbered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MediaGroup {
    /// A hash of the operation context, which is the application's own state and often hundreds
    /// of bytes: the events that update the group carry the context itself.
    context: String,
    operation: String,
    started_at: DateTime<Utc>,
    latest_outcome: String,
    terminal: Option<Terminal>,
    count: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Terminal {
    at: DateTime<Utc>,
    outcome: String,
    code: Option<i64>,
    sub_code: Option<i64>,
    message: Option<String>,
}

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
    media_at: HashMap<usize, usize>,
}

#[derive(Debug)]
pub struct MediaChange {
    pub row: MediaOperation,
    /// Started in this pass: its row is inserted, not updated.
    pub is_new: bool,
}

impl Delta {
    fn open(&mut self, interval: ParticipantInterval) {
        self.opened_at.insert(
            (interval.raw_id.clone(), interval.interval_no),
            self.opened.len(),
        );
        self.opened.push(interval);
    }

    fn end(&mut self, raw_id: &str, interval_no: i32, at: DateTime<Utc>, sequence: Option<i64>) {
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
}

/// An event the incremental fold cannot place after what it holds: the call is recomputed.
#[derive(Debug)]
pub struct OutOfOrder;

/// Projects a call from all of its events. `None` when it has none (its rows are then removed).
pub fn full(call_id: &str, stored: &[CallEvent]) -> Option<(Fold, CallProjection)> {
    let events = content_order(stored);
    if events.is_empty() {
        return None;
    }
    let mut fold = Fold::default();
    let mut delta = Delta::default();
    for e in &events {
        fold.call_event(e, &mut delta);
    }
    fold.call.last_event_seq = stored.iter().map(|e| e.event_seq).max().unwrap_or(0);

    // Tones in sequence-id order, unnumbered ones last; the sort is stable, so equal ids keep
    // content order.
    let mut tones: Vec<&Event<'_>> = events
        .iter()
        .filter(|e| matches!(e.details, Details::DtmfTone { .. }))
        .collect();
    tones.sort_by_key(|e| match &e.details {
        Details::DtmfTone { sequence_id, .. } => (sequence_id.is_none(), *sequence_id),
        _ => (true, None),
    });
    for e in tones {
        fold.tones
            .fold(e, &mut delta)
            .expect("sorted tones are in order");
    }

    // Snapshots up to the disconnect, in snapshot order. The order is fixed by the whole set: a
    // call comes from one era, so its snapshots all have sequence numbers or none do.
    let disconnected_at = fold.call.disconnected_at;
    let mut snapshots: Vec<&Event<'_>> = events
        .iter()
        .filter(|e| matches!(e.details, Details::ParticipantsUpdated { .. }))
        .filter(|e| disconnected_at.map_or(true, |d| e.at() <= d))
        .collect();
    // With none yet, the first snapshot folded in later decides.
    if !snapshots.is_empty() {
        if snapshots.iter().all(|e| e.stored.sequence_number.is_some()) {
            // Keys are distinct (the dedup key is unique), so the fold never declines these.
            snapshots.sort_by_key(|e| snapshot_key(e));
            fold.roster.order = Some(SnapshotOrder::Sequence);
        } else {
            fold.roster.order = Some(SnapshotOrder::Time);
        }
    }
    for e in snapshots {
        fold.roster
            .fold(e, disconnected_at, &mut delta)
            .expect("sorted snapshots are in order");
    }

    fold.last = events.last().map(|e| e.key.clone());
    let mut projection = fold.projection_rows(call_id, delta);
    projection
        .participants
        .sort_by(|a, b| (&a.raw_id, a.interval_no).cmp(&(&b.raw_id, b.interval_no)));
    projection
        .changes
        .sort_by(|a, b| (&a.raw_id, a.ordinal).cmp(&(&b.raw_id, b.ordinal)));
    Some((fold, projection))
}

fn snapshot_key(e: &Event<'_>) -> Option<SnapshotKey> {
    e.stored.sequence_number.map(|sequence| SnapshotKey {
        sequence,
        at: e.at(),
        dedup: e.key.dedup.clone(),
    })
}

/// What one incremental pass produced: the call's new row and its other changed rows.
#[derive(Debug)]
pub struct Pass {
    pub call: CallRow,
    pub delta: Delta,
}

impl Fold {
    /// Folds new events into the state, or declines (and leaves `self` unusable) when one of them
    /// does not come after everything folded so far.
    pub fn extend(&mut self, call_id: &str, stored: &[CallEvent]) -> Result<Pass, OutOfOrder> {
        let events = content_order(stored);
        if let (Some(last), Some(first)) = (&self.last, events.first()) {
            // Equal means the same event again: it was folded in already.
            if first.key <= *last {
                return Err(OutOfOrder);
            }
        }
        let mut delta = Delta::default();
        for e in &events {
            self.call_event(e, &mut delta);
            match &e.details {
                Details::DtmfTone { .. } => self.tones.fold(e, &mut delta)?,
                Details::ParticipantsUpdated { .. } => {
                    let disconnected_at = self.call.disconnected_at;
                    if disconnected_at.map_or(true, |d| e.at() <= d) {
                        if self.roster.order.is_none() {
                            self.roster.order = Some(match e.stored.sequence_number {
                                Some(_) => SnapshotOrder::Sequence,
                                None => SnapshotOrder::Time,
                            });
                        }
                        self.roster.fold(e, disconnected_at, &mut delta)?;
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = events.last() {
            self.last = Some(e.key.clone());
        }
        self.call.last_event_seq = stored
            .iter()
            .map(|e| e.event_seq)
            .fold(self.call.last_event_seq, i64::max);
        Ok(Pass {
            call: self.call_row(call_id),
            delta,
        })
    }

    /// The call-level part of an event, in content order: state, failure, media, counts.
    fn call_event(&mut self, e: &Event<'_>, delta: &mut Delta) {
        let call = &mut self.call;
        let at = e.at();
        call.first_at.get_or_insert(at);
        call.last_at = Some(at);
        call.event_count = call.event_count.saturating_add(1);
        if call.server_call_id.is_none() {
            call.server_call_id.clone_from(&e.stored.server_call_id);
        }
        if call.correlation_id.is_none() {
            call.correlation_id.clone_from(&e.stored.correlation_id);
        }
        match &e.details {
            Details::CallState { state } => {
                if call.connected_at.is_none() && CONNECTED_STATES.contains(&state.as_str()) {
                    call.connected_at = Some(at);
                }
                if call.disconnected_at.is_none() && DISCONNECTED_STATES.contains(&state.as_str()) {
                    call.disconnected_at = Some(at);
                    // Whoever is still in the call leaves with it; a snapshot at the same moment
                    // may still record a proper leave.
                    for (raw_id, person) in &self.roster.people {
                        if let Some(no) = person.open {
                            delta.end(raw_id, no, at, None);
                        }
                    }
                }
                call.state = Some(state.clone());
            }
            // A call-level operation failing fails the call whenever it happens; any other
            // failure does only before the call connected.
            Details::OperationFailed { operation }
                if call.failure.is_none()
                    && (CALL_FAILURES.contains(&operation.as_str())
                        || call.connected_at.is_none()) =>
            {
                call.failure = Some(Failure {
                    code: e.stored.result_code,
                    sub_code: e.stored.result_sub_code,
                    message: e.stored.result_message.clone(),
                });
            }
            Details::Play { outcome } => self.media_event(e, "play", outcome, delta),
            Details::Recognize { outcome } => self.media_event(e, "recognize", outcome, delta),
            _ => {}
        }
    }

    /// Play and recognize operations, one per (operation context, operation).
    fn media_event(&mut self, e: &Event<'_>, operation: &str, outcome: &str, delta: &mut Delta) {
        let context = e.stored.operation_context.as_deref().unwrap_or_default();
        let key = context_key(context);
        let (index, is_new) = match self
            .media
            .iter()
            .position(|g| g.context == key && g.operation == operation)
        {
            Some(i) => (i, false),
            None => {
                self.media.push(MediaGroup {
                    context: key,
                    operation: operation.to_owned(),
                    started_at: e.at(),
                    latest_outcome: String::new(),
                    terminal: None,
                    count: 0,
                });
                (self.media.len() - 1, true)
            }
        };
        let group = &mut self.media[index];
        group.count = group.count.saturating_add(1);
        outcome.clone_into(&mut group.latest_outcome);
        if TERMINAL_MEDIA.contains(&outcome) {
            group.terminal = Some(Terminal {
                at: e.at(),
                outcome: outcome.to_owned(),
                code: e.stored.result_code,
                sub_code: e.stored.result_sub_code,
                message: e.stored.result_message.clone(),
            });
        }
        let row = group.row(context);
        match delta.media_at.get(&index) {
            Some(&at) => delta.media[at].row = row,
            None => {
                delta.media_at.insert(index, delta.media.len());
                delta.media.push(MediaChange { row, is_new });
            }
        }
    }

    fn call_row(&self, call_id: &str) -> CallRow {
        let c = &self.call;
        let first_event_at = c.first_at.unwrap_or_default();
        let outcome = match (&c.failure, c.connected_at, c.disconnected_at) {
            (Some(_), _, _) => CallOutcome::Failed,
            (None, Some(_), Some(_)) => CallOutcome::Completed,
            (None, None, Some(_)) => CallOutcome::NeverConnected,
            (None, _, None) => CallOutcome::InProgress,
        };
        let terminal = self.media.iter().filter_map(|g| g.terminal.as_ref());
        CallRow {
            call_id: call_id.to_owned(),
            server_call_id: c.server_call_id.clone(),
            correlation_id: c.correlation_id.clone(),
            state: c.state.clone(),
            first_event_at,
            last_event_at: c.last_at.unwrap_or(first_event_at),
            connected_at: c.connected_at,
            disconnected_at: c.disconnected_at,
            duration_ms: match (c.connected_at, c.disconnected_at) {
                (Some(start), Some(end)) => Some((end - start).num_milliseconds()),
                _ => None,
            },
            participant_count: count(self.roster.people.len()),
            peak_participants: self.roster.peak,
            outcome,
            failure_code: c.failure.as_ref().and_then(|f| f.code),
            failure_sub_code: c.failure.as_ref().and_then(|f| f.sub_code),
            failure_message: c.failure.as_ref().and_then(|f| f.message.clone()),
            event_count: c.event_count,
            dtmf_count: self.tones.count,
            media_total: count(terminal.clone().count()),
            media_succeeded: count(terminal.filter(|t| t.outcome == "completed").count()),
            last_event_seq: c.last_event_seq,
        }
    }

    /// The rows of a call folded from nothing, in one pass: every row is in the delta.
    fn projection_rows(&self, call_id: &str, delta: Delta) -> CallProjection {
        let mut media: Vec<MediaOperation> = delta.media.into_iter().map(|m| m.row).collect();
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
}

impl MediaGroup {
    fn row(&self, context: &str) -> MediaOperation {
        let terminal = self.terminal.as_ref();
        let finished_at = terminal.map(|t| t.at);
        MediaOperation {
            operation_context: context.to_owned(),
            operation: if self.operation == "play" {
                "play"
            } else {
                "recognize"
            },
            outcome: terminal
                .map_or(&self.latest_outcome, |t| &t.outcome)
                .clone(),
            result_code: terminal.and_then(|t| t.code),
            result_sub_code: terminal.and_then(|t| t.sub_code),
            result_message: terminal.and_then(|t| t.message.clone()),
            started_at: Some(self.started_at),
            finished_at,
            duration_ms: finished_at.map(|f| (f - self.started_at).num_milliseconds()),
            event_count: self.count,
        }
    }
}

/// 128 bits of SHA-256 of an operation context: stable across versions, unlike the standard
/// library's hasher, because it is stored.
fn context_key(context: &str) -> String {
    hex::encode(&Sha256::digest(context.as_bytes())[..16])
}

impl Roster {
    /// One snapshot: the full list of who is in the call, so presence is the difference from the
    /// previous one; nothing is trusted from one event alone.
    fn fold(
        &mut self,
        e: &Event<'_>,
        disconnected_at: Option<DateTime<Utc>>,
        delta: &mut Delta,
    ) -> Result<(), OutOfOrder> {
        let Details::ParticipantsUpdated { participants } = &e.details else {
            return Ok(());
        };
        if self.order == Some(SnapshotOrder::Sequence) {
            let key = snapshot_key(e).ok_or(OutOfOrder)?;
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
        Ok(())
    }
}

impl Tones {
    /// One key press, flagging repeats and gaps against the highest sequence id before it.
    fn fold(&mut self, e: &Event<'_>, delta: &mut Delta) -> Result<(), OutOfOrder> {
        let Details::DtmfTone {
            sequence_id,
            tone,
            participant_id,
        } = &e.details
        else {
            return Ok(());
        };
        let (repeated, missing_before) = match (*sequence_id, self.previous) {
            // A numbered tone sorts before every unnumbered one and after lower ids.
            (Some(_), _) if self.unnumbered => return Err(OutOfOrder),
            (Some(id), Some(prev)) if id < prev => return Err(OutOfOrder),
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
        Ok(())
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
