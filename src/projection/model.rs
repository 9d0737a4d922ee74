//! The call model as a pure function of one call's events.
//!
//! Delivery order is meaningless (ACS sends out of order and at least once), so nothing here looks
//! at `event_seq` or `received_at` to order events: they are sorted by a key derived from their
//! content, and the same set of events always gives the same rows.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::events::{Identifier, IdentifierKind};

/// One stored event of a call: the columns of `events` the model reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    pub event_seq: i64,
    pub received_at: DateTime<Utc>,
    pub event_time: Option<DateTime<Utc>>,
    /// The serialised [`crate::events::EventKind`], as JSON text: read straight into the few fields
    /// the model needs, without building a JSON tree of the rest.
    pub details: String,
    pub sequence_number: Option<i64>,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub operation_context: Option<String>,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub dedup_key: Vec<u8>,
}

impl CallEvent {
    /// When it happened by the sender's clock; the receipt time only when the sender gave none.
    fn effective_time(&self) -> DateTime<Utc> {
        self.event_time.unwrap_or(self.received_at)
    }
}

/// Everything derived for one call: one row for `calls` and the rows of the detail tables.
#[derive(Debug, Clone, PartialEq)]
pub struct CallProjection {
    pub call: CallRow,
    pub participants: Vec<ParticipantInterval>,
    pub changes: Vec<ParticipantChange>,
    pub tones: Vec<DtmfTone>,
    pub media: Vec<MediaOperation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    pub call_id: String,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub state: Option<String>,
    pub first_event_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub participant_count: i32,
    pub peak_participants: i32,
    pub outcome: CallOutcome,
    pub failure_code: Option<i64>,
    pub failure_sub_code: Option<i64>,
    pub failure_message: Option<String>,
    pub event_count: i32,
    pub dtmf_count: i32,
    pub media_total: i32,
    pub media_succeeded: i32,
    /// The newest log row this projection has seen (by insertion, not by event time).
    pub last_event_seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    InProgress,
    Completed,
    Failed,
    NeverConnected,
}

impl CallOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            CallOutcome::InProgress => "in_progress",
            CallOutcome::Completed => "completed",
            CallOutcome::Failed => "failed",
            CallOutcome::NeverConnected => "never_connected",
        }
    }
}

/// One continuous presence of a participant in the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantInterval {
    pub raw_id: String,
    pub interval_no: i32,
    pub kind: String,
    pub display_id: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub joined_sequence: Option<i64>,
    pub left_sequence: Option<i64>,
}

/// A participant's mute/hold state when it first appeared or changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantChange {
    pub raw_id: String,
    pub ordinal: i32,
    pub at: DateTime<Utc>,
    pub sequence_number: Option<i64>,
    pub is_muted: Option<bool>,
    pub is_on_hold: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DtmfTone {
    pub ordinal: i32,
    pub sequence_id: Option<i64>,
    pub tone: String,
    pub at: DateTime<Utc>,
    pub participant_id: Option<String>,
    pub repeated: bool,
    pub missing_before: i32,
    pub event_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MediaOperation {
    pub operation_context: String,
    /// `play` or `recognize`.
    pub operation: &'static str,
    pub outcome: String,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub event_count: i32,
}

/// The parts of the stored `details` the model needs. Anything it cannot read counts as `Other`:
/// the event still counts towards the call, and one odd row must not stop a call's projection.
#[derive(Debug, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum Details {
    CallState {
        state: String,
    },
    ParticipantsUpdated {
        participants: Vec<Participant>,
    },
    DtmfTone {
        sequence_id: Option<i64>,
        tone: String,
        participant_id: Option<String>,
    },
    Recognize {
        outcome: String,
    },
    Play {
        outcome: String,
    },
    OperationFailed {
        operation: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct Participant {
    identifier: StoredIdentifier,
    is_muted: Option<bool>,
    is_on_hold: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct StoredIdentifier {
    raw_id: String,
    kind: Option<serde_json::Value>,
}

impl StoredIdentifier {
    fn identifier(&self) -> Identifier {
        let kind = self
            .kind
            .clone()
            .and_then(|k| serde_json::from_value::<IdentifierKind>(k).ok())
            .unwrap_or_else(|| IdentifierKind::from_raw_id(&self.raw_id));
        Identifier {
            raw_id: self.raw_id.clone(),
            kind,
        }
    }
}

fn kind_name(kind: IdentifierKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

struct Event<'a> {
    stored: &'a CallEvent,
    at: DateTime<Utc>,
    details: Details,
}

const CONNECTED_STATES: &[&str] = &["connected", "established"];
const DISCONNECTED_STATES: &[&str] = &["disconnected", "terminated"];
/// Call-level operations whose failure means the call itself failed, whenever it happens.
const CALL_FAILURES: &[&str] = &["CreateCall", "Answer", "Connect"];
const TERMINAL_MEDIA: &[&str] = &["completed", "failed", "canceled"];

/// Projects one call. `None` when it has no events (its rows are then removed).
pub fn project(call_id: &str, stored: &[CallEvent]) -> Option<CallProjection> {
    let events = content_order(stored);
    let first = events.first()?;
    let last = events.last()?;

    let mut state = None;
    let mut connected_at = None;
    let mut disconnected_at = None;
    for e in &events {
        if let Details::CallState { state: s } = &e.details {
            if connected_at.is_none() && CONNECTED_STATES.contains(&s.as_str()) {
                connected_at = Some(e.at);
            }
            if disconnected_at.is_none() && DISCONNECTED_STATES.contains(&s.as_str()) {
                disconnected_at = Some(e.at);
            }
            state = Some(s.clone());
        }
    }

    let roster = participants(&events, disconnected_at);
    let tones = dtmf_tones(&events);
    let media = media_operations(&events);

    let failure = events.iter().find(|e| match &e.details {
        Details::OperationFailed { operation } => {
            CALL_FAILURES.contains(&operation.as_str()) || connected_at.map_or(true, |c| e.at < c)
        }
        _ => false,
    });
    let outcome = match (failure, connected_at, disconnected_at) {
        (Some(_), _, _) => CallOutcome::Failed,
        (None, Some(_), Some(_)) => CallOutcome::Completed,
        (None, None, Some(_)) => CallOutcome::NeverConnected,
        (None, _, None) => CallOutcome::InProgress,
    };

    let call = CallRow {
        call_id: call_id.to_owned(),
        server_call_id: events.iter().find_map(|e| e.stored.server_call_id.clone()),
        correlation_id: events.iter().find_map(|e| e.stored.correlation_id.clone()),
        state,
        first_event_at: first.at,
        last_event_at: last.at,
        connected_at,
        disconnected_at,
        duration_ms: match (connected_at, disconnected_at) {
            (Some(c), Some(d)) => Some((d - c).num_milliseconds()),
            _ => None,
        },
        participant_count: count(roster.distinct),
        peak_participants: count(roster.peak),
        outcome,
        failure_code: failure.and_then(|e| e.stored.result_code),
        failure_sub_code: failure.and_then(|e| e.stored.result_sub_code),
        failure_message: failure.and_then(|e| e.stored.result_message.clone()),
        event_count: count(events.len()),
        dtmf_count: count(tones.len()),
        media_total: count(
            media
                .iter()
                .filter(|m| TERMINAL_MEDIA.contains(&m.outcome.as_str()))
                .count(),
        ),
        media_succeeded: count(media.iter().filter(|m| m.outcome == "completed").count()),
        last_event_seq: stored.iter().map(|e| e.event_seq).max().unwrap_or(0),
    };
    Some(CallProjection {
        call,
        participants: roster.intervals,
        changes: roster.changes,
        tones,
        media,
    })
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Distinct events (by dedup key) in content order: effective time, then sequence number, then
/// dedup key, which is unique, so the order is total and independent of arrival.
fn content_order(stored: &[CallEvent]) -> Vec<Event<'_>> {
    let mut seen = HashSet::new();
    let mut events: Vec<Event<'_>> = stored
        .iter()
        .filter(|e| seen.insert(e.dedup_key.as_slice()))
        .map(|e| Event {
            stored: e,
            at: e.effective_time(),
            details: serde_json::from_str(&e.details).unwrap_or(Details::Other),
        })
        .collect();
    events.sort_by(|a, b| {
        (a.at, a.stored.sequence_number, &a.stored.dedup_key).cmp(&(
            b.at,
            b.stored.sequence_number,
            &b.stored.dedup_key,
        ))
    });
    events
}

struct Roster {
    intervals: Vec<ParticipantInterval>,
    changes: Vec<ParticipantChange>,
    distinct: usize,
    peak: usize,
}

/// Walks the participant snapshots in order. Each is the full list of who is in the call, so
/// presence is the difference between consecutive snapshots; nothing is trusted from one event.
fn participants(events: &[Event<'_>], disconnected_at: Option<DateTime<Utc>>) -> Roster {
    let mut snapshots: Vec<(&Event<'_>, &Vec<Participant>)> = events
        .iter()
        .filter_map(|e| match &e.details {
            Details::ParticipantsUpdated { participants } => Some((e, participants)),
            _ => None,
        })
        // The call is over: a later snapshot cannot put anyone back in it.
        .filter(|(e, _)| disconnected_at.map_or(true, |d| e.at <= d))
        .collect();
    // GA numbers its snapshots; the previews do not, and then time is all there is. A call comes
    // from one era, so it is one or the other.
    if snapshots
        .iter()
        .all(|(e, _)| e.stored.sequence_number.is_some())
    {
        snapshots.sort_by(|(a, _), (b, _)| {
            (a.stored.sequence_number, a.at, &a.stored.dedup_key).cmp(&(
                b.stored.sequence_number,
                b.at,
                &b.stored.dedup_key,
            ))
        });
    }

    let mut intervals: Vec<ParticipantInterval> = Vec::new();
    let mut changes: Vec<ParticipantChange> = Vec::new();
    // raw id → index of its open interval.
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut interval_counts: BTreeMap<String, i32> = BTreeMap::new();
    let mut last_state: BTreeMap<String, (Option<bool>, Option<bool>)> = BTreeMap::new();
    let mut change_counts: BTreeMap<String, i32> = BTreeMap::new();
    let mut peak = 0;

    for (snapshot, list) in snapshots {
        let at = snapshot.at;
        let sequence = snapshot.stored.sequence_number;
        let mut now: BTreeMap<&str, &Participant> = BTreeMap::new();
        for p in list {
            now.entry(p.identifier.raw_id.as_str()).or_insert(p);
        }
        peak = peak.max(now.len());

        let gone: Vec<String> = open
            .keys()
            .filter(|raw| !now.contains_key(raw.as_str()))
            .cloned()
            .collect();
        for raw in gone {
            if let Some(i) = open.remove(&raw) {
                intervals[i].left_at = Some(at);
                intervals[i].left_sequence = sequence;
            }
        }
        for (raw, p) in now {
            if !open.contains_key(raw) {
                let n = interval_counts.entry(raw.to_owned()).or_insert(0);
                let identifier = p.identifier.identifier();
                open.insert(raw.to_owned(), intervals.len());
                intervals.push(ParticipantInterval {
                    raw_id: raw.to_owned(),
                    interval_no: *n,
                    kind: kind_name(identifier.kind),
                    display_id: identifier.display_safe(),
                    joined_at: at,
                    left_at: None,
                    joined_sequence: sequence,
                    left_sequence: None,
                });
                *n += 1;
            }
            let value = (p.is_muted, p.is_on_hold);
            if last_state.get(raw) != Some(&value) {
                last_state.insert(raw.to_owned(), value);
                let ordinal = change_counts.entry(raw.to_owned()).or_insert(0);
                changes.push(ParticipantChange {
                    raw_id: raw.to_owned(),
                    ordinal: *ordinal,
                    at,
                    sequence_number: sequence,
                    is_muted: p.is_muted,
                    is_on_hold: p.is_on_hold,
                });
                *ordinal += 1;
            }
        }
    }
    if let Some(end) = disconnected_at {
        for i in open.into_values() {
            intervals[i].left_at = Some(end);
        }
    }
    intervals.sort_by(|a, b| (&a.raw_id, a.interval_no).cmp(&(&b.raw_id, b.interval_no)));
    changes.sort_by(|a, b| (&a.raw_id, a.ordinal).cmp(&(&b.raw_id, b.ordinal)));
    Roster {
        distinct: interval_counts.len(),
        peak,
        intervals,
        changes,
    }
}

/// Tones in `sequenceId` order (tones without one last, by time), flagging repeats and gaps.
fn dtmf_tones(events: &[Event<'_>]) -> Vec<DtmfTone> {
    let mut tones: Vec<(&Event<'_>, Option<i64>, &str, &Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.details {
            Details::DtmfTone {
                sequence_id,
                tone,
                participant_id,
            } => Some((e, *sequence_id, tone.as_str(), participant_id)),
            _ => None,
        })
        .collect();
    // Stable: equal keys keep content order.
    tones.sort_by_key(|(_, sequence_id, _, _)| (sequence_id.is_none(), *sequence_id));

    let mut previous: Option<i64> = None;
    let mut out = Vec::with_capacity(tones.len());
    for (ordinal, (e, sequence_id, tone, participant_id)) in tones.into_iter().enumerate() {
        let (repeated, missing_before) = match (sequence_id, previous) {
            (Some(id), Some(prev)) if id == prev => (true, 0),
            // Sequence ids start at 1.
            (Some(id), prev) => {
                previous = Some(id);
                let gap = id - prev.unwrap_or(0) - 1;
                (false, i32::try_from(gap.max(0)).unwrap_or(i32::MAX))
            }
            (None, _) => (false, 0),
        };
        out.push(DtmfTone {
            ordinal: count(ordinal),
            sequence_id,
            tone: tone.to_owned(),
            at: e.at,
            participant_id: participant_id.clone(),
            repeated,
            missing_before,
            event_seq: e.stored.event_seq,
        });
    }
    out
}

/// Play and recognize operations, one per (operation context, operation).
fn media_operations(events: &[Event<'_>]) -> Vec<MediaOperation> {
    let mut groups: BTreeMap<(String, &'static str), Vec<(&Event<'_>, &str)>> = BTreeMap::new();
    for e in events {
        let (operation, outcome) = match &e.details {
            Details::Play { outcome } => ("play", outcome.as_str()),
            Details::Recognize { outcome } => ("recognize", outcome.as_str()),
            _ => continue,
        };
        let context = e.stored.operation_context.clone().unwrap_or_default();
        groups
            .entry((context, operation))
            .or_default()
            .push((e, outcome));
    }
    groups
        .into_iter()
        .map(|((operation_context, operation), group)| {
            let terminal = group
                .iter()
                .rev()
                .find(|(_, outcome)| TERMINAL_MEDIA.contains(outcome));
            let (_, latest_outcome) = group.last().expect("groups are never empty");
            let started_at = group.first().map(|(e, _)| e.at);
            let finished_at = terminal.map(|(e, _)| e.at);
            let result = terminal.map(|(e, _)| e.stored);
            MediaOperation {
                operation_context,
                operation,
                outcome: terminal
                    .map_or(*latest_outcome, |(_, outcome)| outcome)
                    .to_owned(),
                result_code: result.and_then(|r| r.result_code),
                result_sub_code: result.and_then(|r| r.result_sub_code),
                result_message: result.and_then(|r| r.result_message.clone()),
                started_at,
                finished_at,
                duration_ms: match (started_at, finished_at) {
                    (Some(s), Some(f)) => Some((f - s).num_milliseconds()),
                    _ => None,
                },
                event_count: count(group.len()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
