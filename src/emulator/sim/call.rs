//! One simulated call: who is in it, who is ringing, what is playing.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::emulator::sim::clock::SimTime;
use crate::emulator::sim::model::{CallState, EventKind, Identifier, ParticipantView, SimEvent};
use crate::emulator::sim::scenario::{Answer, Scenario};

#[derive(Debug)]
pub(crate) struct Call {
    pub id: String,
    pub server_call_id: String,
    pub correlation_id: String,
    pub source: Identifier,
    pub source_participant_id: String,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub state: CallState,
    /// In the call now, in order of joining; the source first once the call is established.
    pub present: Vec<Present>,
    pub ringing: Vec<Ringing>,
    pub media: VecDeque<Play>,
    pub scenario: Option<Arc<Scenario>>,
    pub snapshot_seq: u64,
    pub tone_seq: u64,
    last_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Present {
    pub identifier: Identifier,
    pub participant_id: String,
    pub is_muted: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Ringing {
    pub ring_id: u64,
    pub identifier: Identifier,
    pub answer: Answer,
    /// `Some` for a participant invited into an established call; `None` for a target of the
    /// call's creation.
    pub invitation: Option<Invitation>,
}

#[derive(Debug, Clone)]
pub(crate) struct Invitation {
    pub context: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub id: String,
    pub uri: String,
    pub looped: bool,
    pub context: Option<String>,
    pub started: bool,
}

impl Call {
    pub fn new(
        id: String,
        source: Identifier,
        subject: Option<String>,
        created_at: DateTime<Utc>,
        scenario: Option<Arc<Scenario>>,
    ) -> Call {
        Call {
            server_call_id: server_call_id(&id),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            source_participant_id: uuid::Uuid::new_v4().to_string(),
            id,
            source,
            subject,
            created_at,
            state: CallState::Establishing,
            present: Vec::new(),
            ringing: Vec::new(),
            media: VecDeque::new(),
            scenario,
            snapshot_seq: 0,
            tone_seq: 0,
            last_at: None,
        }
    }

    pub fn is_over(&self) -> bool {
        matches!(self.state, CallState::Terminating | CallState::Terminated)
    }

    /// The event's time: the simulated moment, moved past the call's previous event when two
    /// happen at once, so that time order is the simulation's order. Microseconds, the precision
    /// receivers store.
    fn stamp(&mut self, origin: DateTime<Utc>, now: SimTime) -> DateTime<Utc> {
        let micros = i64::try_from(now.as_micros()).unwrap_or(i64::MAX / 2);
        let mut at = origin + chrono::Duration::microseconds(micros);
        if let Some(last) = self.last_at {
            if at <= last {
                at = last + chrono::Duration::microseconds(1);
            }
        }
        self.last_at = Some(at);
        at
    }

    pub fn emit(
        &mut self,
        out: &mut Vec<SimEvent>,
        origin: DateTime<Utc>,
        now: SimTime,
        kind: EventKind,
    ) {
        let at = self.stamp(origin, now);
        out.push(SimEvent {
            call_id: self.id.clone(),
            server_call_id: self.server_call_id.clone(),
            correlation_id: self.correlation_id.clone(),
            at,
            kind,
        });
    }

    /// The full list of who is in the call, with the next sequence number.
    pub fn snapshot(&mut self) -> EventKind {
        self.snapshot_seq += 1;
        EventKind::Participants {
            sequence: self.snapshot_seq,
            participants: self
                .present
                .iter()
                .map(|p| ParticipantView {
                    identifier: p.identifier.clone(),
                    participant_id: p.participant_id.clone(),
                    is_muted: p.is_muted,
                })
                .collect(),
        }
    }

    /// A participant by participant id or raw id.
    pub fn find_present(&self, who: &str) -> Option<usize> {
        self.present
            .iter()
            .position(|p| p.participant_id == who || p.identifier.raw_id == who)
    }

    pub fn find_ringing(&self, raw_id: &str) -> Option<usize> {
        self.ringing
            .iter()
            .position(|r| r.identifier.raw_id == raw_id)
    }

    /// Someone other than the call's own source is still in the call.
    pub fn has_remote_party(&self) -> bool {
        self.present
            .iter()
            .any(|p| p.participant_id != self.source_participant_id)
    }

    pub fn view(&self) -> CallView {
        CallView {
            call_id: self.id.clone(),
            server_call_id: self.server_call_id.clone(),
            correlation_id: self.correlation_id.clone(),
            state: self.state,
            source: self.source.raw_id.clone(),
            subject: self.subject.clone(),
            created_at: self.created_at,
            scenario: self.scenario.as_ref().map(|s| s.name.clone()),
            participants: self
                .present
                .iter()
                .map(|p| ParticipantRow {
                    raw_id: p.identifier.raw_id.clone(),
                    participant_id: p.participant_id.clone(),
                    is_muted: p.is_muted,
                })
                .collect(),
            ringing: self
                .ringing
                .iter()
                .map(|r| RingingRow {
                    raw_id: r.identifier.raw_id.clone(),
                    answer: r.answer,
                    invited: r.invitation.is_some(),
                })
                .collect(),
            media: self
                .media
                .iter()
                .map(|m| MediaRow {
                    id: m.id.clone(),
                    audio_file_uri: m.uri.clone(),
                    r#loop: m.looped,
                    operation_context: m.context.clone(),
                    status: if m.started { "running" } else { "notStarted" },
                })
                .collect(),
            snapshot_sequence: self.snapshot_seq,
            tone_sequence: self.tone_seq,
        }
    }
}

/// A server call id shaped like the real ones (base64 of a URL), derived from the call id.
fn server_call_id(call_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("https://emulator.calltrail.local/conv/{call_id}"))
}

/// A call as `GET /emulator/calls/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    pub call_id: String,
    pub server_call_id: String,
    pub correlation_id: String,
    pub state: CallState,
    pub source: String,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub scenario: Option<String>,
    pub participants: Vec<ParticipantRow>,
    pub ringing: Vec<RingingRow>,
    pub media: Vec<MediaRow>,
    pub snapshot_sequence: u64,
    pub tone_sequence: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParticipantRow {
    pub raw_id: String,
    pub participant_id: String,
    pub is_muted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RingingRow {
    pub raw_id: String,
    pub answer: Answer,
    pub invited: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaRow {
    pub id: String,
    pub audio_file_uri: String,
    pub r#loop: bool,
    pub operation_context: Option<String>,
    pub status: &'static str,
}
