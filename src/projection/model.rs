//! The call model: its rows and the stored events they are derived from. The rows are a pure
//! function of one call's events, computed by the fold (`fold/`), whose tests state the model.
//!
//! Delivery order is meaningless (ACS sends out of order and at least once), so nothing here looks
//! at `event_seq` or `received_at` to order events: they are sorted by a key derived from their
//! content, and the same set of events always gives the same rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{CallId, ParsedEvent};
use crate::events::{Identifier, IdentifierKind};
use crate::store::event_log::as_stored;
use crate::store::DedupKey;

/// One stored event of a call: the columns of `events` the model reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    pub event_seq: i64,
    pub received_at: DateTime<Utc>,
    pub event_time: Option<DateTime<Utc>>,
    /// The serialised [`crate::events::EventKind`], as JSON text (handed over by the writer, or
    /// derived from the stored element when read): read straight into the few fields the model
    /// needs, without building a JSON tree of the rest.
    pub details: String,
    pub sequence_number: Option<i64>,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub operation_context: Option<String>,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub dedup_key: DedupKey,
}

impl CallEvent {
    /// An event as the model reads it, from its parse (`details` is its serialised kind): what the
    /// writers hand over and what the projector derives from a stored element alike. Times are cut
    /// to the microsecond as the event log keeps them.
    pub(crate) fn of(
        event: &ParsedEvent,
        event_seq: i64,
        received_at: DateTime<Utc>,
        details: String,
    ) -> CallEvent {
        let common = &event.common;
        let result = common.result.as_ref();
        CallEvent {
            event_seq,
            received_at: as_stored(received_at),
            event_time: event.event_time.map(as_stored),
            details,
            sequence_number: common.sequence_number,
            result_code: result.and_then(|r| r.code),
            result_sub_code: result.and_then(|r| r.sub_code),
            result_message: result.and_then(|r| r.message.clone()),
            operation_context: common.operation_context.clone(),
            server_call_id: common.server_call_id.clone(),
            correlation_id: common.correlation_id.clone(),
            dedup_key: event.dedup_key,
        }
    }

    /// When it happened by the sender's clock; the receipt time only when the sender gave none.
    pub(crate) fn effective_time(&self) -> DateTime<Utc> {
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
    pub call_id: CallId,
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
    pub operation: MediaKind,
    pub outcome: String,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub event_count: i32,
}

/// The kinds of media operation the model follows. Ordered as their names are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Play,
    Recognize,
}

impl MediaKind {
    /// The name stored in `media_operations.operation`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Play => "play",
            MediaKind::Recognize => "recognize",
        }
    }
}

/// The parts of the stored `details` the model needs. Anything it cannot read counts as `Other`:
/// the event still counts towards the call, and one odd row must not stop a call's projection.
#[derive(Debug, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub(crate) enum Details {
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
pub(crate) struct Participant {
    pub(crate) identifier: StoredIdentifier,
    pub(crate) is_muted: Option<bool>,
    pub(crate) is_on_hold: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StoredIdentifier {
    pub(crate) raw_id: String,
    kind: Option<serde_json::Value>,
}

impl StoredIdentifier {
    pub(crate) fn identifier(&self) -> Identifier {
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

pub(crate) fn kind_name(kind: IdentifierKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

pub(crate) const CONNECTED_STATES: &[&str] = &["connected", "established"];
pub(crate) const DISCONNECTED_STATES: &[&str] = &["disconnected", "terminated"];
/// Call-level operations whose failure means the call itself failed, whenever it happens.
pub(crate) const CALL_FAILURES: &[&str] = &["CreateCall", "Answer", "Connect"];
pub(crate) const TERMINAL_MEDIA: &[&str] = &["completed", "failed", "canceled"];
