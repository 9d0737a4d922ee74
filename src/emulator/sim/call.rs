//! One simulated call: who is in it, who is ringing, what is playing.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::emulator::sim::clock::SimTime;
use crate::emulator::sim::model::{CallState, EventKind, Identifier, ParticipantView, SimEvent};
use crate::emulator::sim::scenario::{Answer, Scenario};
use crate::emulator::sim::{PlaySource, ToneReports};

#[derive(Debug)]
pub(crate) struct Call {
    pub id: String,
    pub server_call_id: String,
    pub correlation_id: String,
    pub source: Identifier,
    pub source_participant_id: String,
    pub subject: Option<String>,
    /// The operation context the call was created or answered with.
    pub context: Option<String>,
    pub created_at: DateTime<Utc>,
    pub state: CallState,
    /// In the call now, in order of joining; the source first once the call is established.
    pub present: Vec<Present>,
    pub ringing: Vec<Ringing>,
    pub media: VecDeque<Play>,
    pub scenario: Option<Arc<Scenario>>,
    pub snapshot_seq: u64,
    pub tone_seq: u64,
    pub tones: ToneReports,
    /// Participants (raw id) whose key presses are reported, with the operation that started
    /// their recognition; read only when `tones` is `WhenRecognizing`.
    pub continuous: BTreeMap<String, Operation>,
    pub recognizing: Option<Recognizing>,
    /// Numbers recognitions, so that a timer of an earlier one finds nothing to do.
    pub next_recognize: u64,
    last_at: Option<DateTime<Utc>>,
}

/// A DTMF recognition in progress: a prompt may play first, then tones are collected until the
/// maximum, a stop tone, or a timeout.
#[derive(Debug, Clone)]
pub(crate) struct Recognizing {
    pub id: u64,
    pub target: String,
    pub context: Option<String>,
    /// Where its events go (`operationCallbackUri`); `None`: the call's callbackUri.
    pub callback: Option<Arc<str>>,
    pub max_tones: usize,
    pub stop_tones: Vec<char>,
    pub initial_silence: Duration,
    pub inter_tone: Duration,
    pub tones: Vec<char>,
    /// The prompt has ended (or there was none): the silence timers run.
    pub listening: bool,
    /// Bumped by every tone, so that only the latest timeout timer counts.
    pub generation: u64,
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
    pub id: String,
    pub context: Option<String>,
    /// Where its result goes (`operationCallbackUri`); `None`: the call's callbackUri.
    pub callback: Option<Arc<str>>,
}

/// An operation that lasts (continuous DTMF recognition): the context its events carry, and where
/// they go (`operationCallbackUri`; `None`: the call's callbackUri).
#[derive(Debug, Clone, Default)]
pub(crate) struct Operation {
    pub context: Option<String>,
    pub callback: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub id: String,
    pub sources: Vec<PlaySource>,
    pub looped: bool,
    pub context: Option<String>,
    /// Where its events go (`operationCallbackUri`); `None`: the call's callbackUri.
    pub callback: Option<Arc<str>>,
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
            context: None,
            created_at,
            state: CallState::Establishing,
            present: Vec::new(),
            ringing: Vec::new(),
            media: VecDeque::new(),
            scenario,
            snapshot_seq: 0,
            tone_seq: 0,
            tones: ToneReports::Always,
            continuous: BTreeMap::new(),
            recognizing: None,
            next_recognize: 0,
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

    /// An event for the call's callbackUri.
    pub fn emit(
        &mut self,
        out: &mut Vec<SimEvent>,
        origin: DateTime<Utc>,
        now: SimTime,
        kind: EventKind,
    ) {
        self.emit_to(out, origin, now, kind, None);
    }

    /// An event of an operation, for the operation's callback URI when it gave one (else the
    /// call's).
    pub fn emit_to(
        &mut self,
        out: &mut Vec<SimEvent>,
        origin: DateTime<Utc>,
        now: SimTime,
        kind: EventKind,
        callback_uri: Option<Arc<str>>,
    ) {
        let at = self.stamp(origin, now);
        out.push(SimEvent {
            call_id: self.id.clone(),
            server_call_id: self.server_call_id.clone(),
            correlation_id: self.correlation_id.clone(),
            at,
            kind,
            callback_uri,
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
                    invitation_id: r.invitation.as_ref().map(|i| i.id.clone()),
                })
                .collect(),
            media: self
                .media
                .iter()
                .map(|m| MediaRow {
                    id: m.id.clone(),
                    audio_file_uri: m
                        .sources
                        .first()
                        .map(PlaySource::describe)
                        .unwrap_or_default(),
                    r#loop: m.looped,
                    operation_context: m.context.clone(),
                    status: if m.started { "running" } else { "notStarted" },
                })
                .collect(),
            snapshot_sequence: self.snapshot_seq,
            tone_sequence: self.tone_seq,
            recognizing: self.recognizing.as_ref().map(|r| RecognizeRow {
                target: r.target.clone(),
                operation_context: r.context.clone(),
                tones: r.tones.iter().collect(),
                listening: r.listening,
            }),
            continuous_dtmf: self.continuous.keys().cloned().collect(),
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
    pub recognizing: Option<RecognizeRow>,
    /// Participants whose keys are reported one by one (continuous DTMF recognition).
    pub continuous_dtmf: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecognizeRow {
    pub target: String,
    pub operation_context: Option<String>,
    pub tones: String,
    pub listening: bool,
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
    pub invitation_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaRow {
    pub id: String,
    pub audio_file_uri: String,
    pub r#loop: bool,
    pub operation_context: Option<String>,
    pub status: &'static str,
}
