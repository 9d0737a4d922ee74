//! What the simulation says happened, before any wire format: the delivery engine renders each
//! [`SimEvent`] in the call's chosen format (some have no counterpart in some eras).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::events::{Identifier, IdentifierKind};

/// The call states of the seed (`CallLegStateChanged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CallState {
    Establishing,
    Established,
    Terminating,
    Terminated,
}

/// A result as the service reports it: code, sub-code, message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultInfo {
    pub code: u16,
    pub sub_code: u32,
    pub message: &'static str,
}

impl ResultInfo {
    const fn new(code: u16, sub_code: u32, message: &'static str) -> Self {
        ResultInfo {
            code,
            sub_code,
            message,
        }
    }
}

// The codes and messages the real service reports (its documentation and recorded traffic), typos
// included.
pub const SUCCESS: ResultInfo = ResultInfo::new(200, 0, "Action completed successfully.");
pub const CANCELLED: ResultInfo =
    ResultInfo::new(400, 8508, "Action falied, the operation was cancelled.");
pub const DOWNLOAD_FAILED: ResultInfo =
    ResultInfo::new(400, 8536, "Action failed, file could not be downloaded.");
pub const NO_ANSWER: ResultInfo = ResultInfo::new(480, 560480, "No answer from callee.");
pub const DECLINED: ResultInfo = ResultInfo::new(603, 560603, "Call declined by the recipient.");
pub const BUSY: ResultInfo = ResultInfo::new(486, 560486, "Callee is busy.");
pub const ENDED_BY_APP: ResultInfo = ResultInfo::new(
    200,
    7000,
    "Call was ended by Azure Communication Service Call Automation API or a server bot. DiagCode: 0#7000.@",
);
pub const ENDED_BY_REMOTE: ResultInfo =
    ResultInfo::new(200, 540000, "Call ended successfully by local PSTN caller.");
pub const ENDED_BY_REMOVAL: ResultInfo = ResultInfo::new(
    200,
    5002,
    "The last participant was removed. DiagCode: 0#5002.@",
);
pub const MAX_DIGITS: ResultInfo =
    ResultInfo::new(200, 8531, "Action completed, max digits received.");
pub const STOP_TONE: ResultInfo =
    ResultInfo::new(200, 8514, "Action completed as stop tone was detected.");
pub const INITIAL_SILENCE: ResultInfo =
    ResultInfo::new(400, 8510, "Action failed, initial silence timeout reached.");
pub const INTER_DIGIT_TIMEOUT: ResultInfo = ResultInfo::new(
    400,
    8532,
    "Action failed, inter-digit silence timeout reached.",
);
pub const DTMF_STOPPED: ResultInfo =
    ResultInfo::new(200, 0, "Continuous DTMF Recognition stopped successfully.");
pub const DTMF_STOPPED_BY_END: ResultInfo =
    ResultInfo::new(200, 7000, "The conversation has ended. DiagCode: 0#7000.@");
pub const ADD_CANCELLED: ResultInfo = ResultInfo::new(
    200,
    5300,
    "addParticipants failed for participant. Underlying reason: The invitation was cancelled. DiagCode: 0#5300.@",
);
pub const INVITE_CANCELLED: ResultInfo = ResultInfo::new(
    487,
    5300,
    "The invitation was cancelled by the application. DiagCode: 487#5300.@",
);

/// A participant as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantView {
    pub identifier: Identifier,
    pub participant_id: String,
    pub is_muted: bool,
}

/// How a play operation moved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayStage {
    Started,
    Completed,
    Failed,
    Canceled,
}

/// One thing that happened in a call, at a simulated moment. Within a call, times strictly
/// increase in the order the simulation produced them, so a receiver ordering by time sees the
/// simulation's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimEvent {
    pub call_id: String,
    pub server_call_id: String,
    pub correlation_id: String,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// Where this event goes instead of the call's callbackUri: the `operationCallbackUri` of the
    /// operation whose event it is. `None` for the call's own (and for operations that set none).
    /// Opaque here: the simulation neither reads nor checks it.
    pub callback_uri: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    CallState {
        state: CallState,
        /// Why the call ended, on `Terminated`.
        result: Option<ResultInfo>,
        /// The operation context the call was created or answered with.
        context: Option<String>,
    },
    /// No target answered the call (rendered in format B only, before the disconnect).
    CreateFailed {
        result: ResultInfo,
        context: Option<String>,
    },
    Participants {
        sequence: u64,
        participants: Vec<ParticipantView>,
    },
    Tone {
        sequence: u64,
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        tone: char,
        participant: Identifier,
        /// The context continuous recognition was started with (GA calls).
        context: Option<String>,
    },
    Play {
        context: Option<String>,
        stage: PlayStage,
        result: ResultInfo,
        /// On `Failed`: which of the play's sources failed.
        failed_source: Option<usize>,
    },
    Invite {
        context: Option<String>,
        participant: Identifier,
        result: ResultInfo,
    },
    Removed {
        participant: Identifier,
        context: Option<String>,
    },
    /// A recognition ended: collected tones (without the stop tone), or why it failed.
    Recognize {
        context: Option<String>,
        stage: RecognizeStage,
        tones: Vec<char>,
        result: ResultInfo,
    },
    /// Continuous tone recognition of a participant stopped (asked, or the call ended).
    DtmfStopped {
        context: Option<String>,
        result: ResultInfo,
    },
    /// Tones the application sent were played.
    DtmfSent {
        context: Option<String>,
        result: ResultInfo,
    },
    /// A pending invitation was cancelled by the application.
    AddCancelled {
        context: Option<String>,
        invitation_id: String,
        result: ResultInfo,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecognizeStage {
    Completed,
    Failed,
    Canceled,
}

impl EventKind {
    /// A short name for listings (`GET /emulator/deliveries`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::CallState { .. } => "call_state",
            EventKind::CreateFailed { .. } => "create_failed",
            EventKind::Participants { .. } => "participants",
            EventKind::Tone { .. } => "tone",
            EventKind::Play { .. } => "play",
            EventKind::Invite { .. } => "invite",
            EventKind::Removed { .. } => "removed",
            EventKind::Recognize { .. } => "recognize",
            EventKind::DtmfStopped { .. } => "dtmf_stopped",
            EventKind::DtmfSent { .. } => "dtmf_sent",
            EventKind::AddCancelled { .. } => "add_cancelled",
        }
    }
}
