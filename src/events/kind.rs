//! The typed model shared by all eras, and which event type names map to it.
//!
//! Consumers work with one model whatever the era: an A1 `CallLegStateChanged`,
//! an A2 `CallConnectionStateChanged` and a GA `CallConnected` are all a
//! [`EventKind::CallState`].

use crate::events::identifier::Identifier;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum EventKind {
    /// A1 `CallLegStateChanged`, A2 `CallConnectionStateChanged`, GA
    /// `CallConnected`/`CallDisconnected`. States are open strings, lowercased.
    CallState {
        state: String,
        /// A1 only.
        conversation_id: Option<String>,
    },
    /// A full snapshot of who is in the call, not a delta.
    ParticipantsUpdated { participants: Vec<ParticipantState> },
    /// One DTMF key press: A1/A2 `DtmfReceived`/`ToneReceived`, GA
    /// `ContinuousDtmfRecognitionToneReceived` (flat or nested in `toneInfo`).
    DtmfTone {
        /// Detects repeated and missed tones; arrival order means nothing.
        sequence_id: Option<i64>,
        /// Normalised, see [`crate::events::normalize_tone`].
        tone: String,
        raw_tone: String,
        participant_id: Option<String>,
    },
    /// GA `ContinuousDtmfRecognitionToneFailed` / `ContinuousDtmfRecognitionStopped`.
    DtmfRecognition { outcome: Outcome },
    /// GA `RecognizeCompleted` / `RecognizeFailed` / `RecognizeCanceled`.
    Recognize {
        outcome: Outcome,
        /// Lowercased: "dtmf", "speech", "choices", …
        recognition_type: Option<String>,
        /// Normalised tones collected by a DTMF recognition.
        tones: Vec<String>,
        choice: Option<String>,
        speech: Option<String>,
    },
    /// A1/A2 `PlayAudioResult`, GA `PlayStarted`/`Completed`/`Failed`/`Canceled`.
    Play {
        outcome: Outcome,
        /// A1/A2 status as sent.
        status: Option<String>,
        failed_play_source_index: Option<i64>,
    },
    /// A1 `InviteParticipantResult`, A2 `AddParticipantResult`, GA add, remove
    /// and cancel-add results.
    ParticipantOperation {
        operation: ParticipantOp,
        outcome: Outcome,
        participant: Option<Identifier>,
    },
    /// GA `CallTransferAccepted` / `CallTransferFailed`.
    Transfer {
        outcome: Outcome,
        transferee: Option<Identifier>,
        target: Option<Identifier>,
    },
    /// A2 `CallRecordingStateChanged`, GA `RecordingStateChanged`. State lowercased.
    Recording {
        state: Option<String>,
        recording_id: Option<String>,
    },
    /// GA `SendDtmfTonesCompleted` / `SendDtmfTonesFailed`.
    SendDtmf { outcome: Outcome },
    /// A failed call-level operation (`CreateCallFailed`, `AnswerFailed`,
    /// `HoldFailed`, …); `operation` is the name without "Failed".
    OperationFailed { operation: String },
    /// Event Grid `IncomingCall`. The incoming call context, a large opaque
    /// token, is deliberately not kept here; it remains in `raw`.
    IncomingCall {
        to: Option<Identifier>,
        from: Option<Identifier>,
        caller_display_name: Option<String>,
    },
    /// Event Grid `RecordingFileStatusUpdated`.
    RecordingFileStatusUpdated {
        chunk_count: usize,
        recording_start_time: Option<chrono::DateTime<chrono::Utc>>,
        recording_duration_ms: Option<i64>,
        session_end_reason: Option<String>,
    },
    /// Any other type: not malformed, stored as is.
    Unknown,
}

impl EventKind {
    pub fn family(&self) -> EventFamily {
        match self {
            EventKind::CallState { .. } => EventFamily::CallState,
            EventKind::ParticipantsUpdated { .. } => EventFamily::ParticipantsUpdated,
            EventKind::DtmfTone { .. } => EventFamily::DtmfTone,
            EventKind::DtmfRecognition { .. } => EventFamily::DtmfRecognition,
            EventKind::Recognize { .. } => EventFamily::Recognize,
            EventKind::Play { .. } => EventFamily::Play,
            EventKind::ParticipantOperation { .. } => EventFamily::ParticipantOperation,
            EventKind::Transfer { .. } => EventFamily::Transfer,
            EventKind::Recording { .. } => EventFamily::Recording,
            EventKind::SendDtmf { .. } => EventFamily::SendDtmf,
            EventKind::OperationFailed { .. } => EventFamily::OperationFailed,
            EventKind::IncomingCall { .. } => EventFamily::IncomingCall,
            EventKind::RecordingFileStatusUpdated { .. } => EventFamily::RecordingFileStatusUpdated,
            EventKind::Unknown => EventFamily::Unknown,
        }
    }
}

/// Which [`EventKind`] an event is, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFamily {
    CallState,
    ParticipantsUpdated,
    DtmfTone,
    DtmfRecognition,
    Recognize,
    Play,
    ParticipantOperation,
    Transfer,
    Recording,
    SendDtmf,
    OperationFailed,
    IncomingCall,
    RecordingFileStatusUpdated,
    Unknown,
}

impl EventFamily {
    /// Every family, in declaration order, so that `family as usize` indexes it.
    pub const ALL: [EventFamily; 14] = [
        EventFamily::CallState,
        EventFamily::ParticipantsUpdated,
        EventFamily::DtmfTone,
        EventFamily::DtmfRecognition,
        EventFamily::Recognize,
        EventFamily::Play,
        EventFamily::ParticipantOperation,
        EventFamily::Transfer,
        EventFamily::Recording,
        EventFamily::SendDtmf,
        EventFamily::OperationFailed,
        EventFamily::IncomingCall,
        EventFamily::RecordingFileStatusUpdated,
        EventFamily::Unknown,
    ];

    /// The family name: the `family` tag of the serialised [`EventKind`], a stored column and a
    /// metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            EventFamily::CallState => "call_state",
            EventFamily::ParticipantsUpdated => "participants_updated",
            EventFamily::DtmfTone => "dtmf_tone",
            EventFamily::DtmfRecognition => "dtmf_recognition",
            EventFamily::Recognize => "recognize",
            EventFamily::Play => "play",
            EventFamily::ParticipantOperation => "participant_operation",
            EventFamily::Transfer => "transfer",
            EventFamily::Recording => "recording",
            EventFamily::SendDtmf => "send_dtmf",
            EventFamily::OperationFailed => "operation_failed",
            EventFamily::IncomingCall => "incoming_call",
            EventFamily::RecordingFileStatusUpdated => "recording_file_status_updated",
            EventFamily::Unknown => "unknown",
        }
    }
}

all_in_declaration_order!(EventFamily);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Started,
    Running,
    NotStarted,
    Completed,
    Succeeded,
    Failed,
    Canceled,
    Accepted,
    Stopped,
}

impl Outcome {
    /// The operation status of the previews: notStarted, running, completed, failed.
    pub(crate) fn from_status(status: &str) -> Option<Outcome> {
        [
            ("notStarted", Outcome::NotStarted),
            ("running", Outcome::Running),
            ("completed", Outcome::Completed),
            ("failed", Outcome::Failed),
        ]
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(status.trim()))
        .map(|(_, outcome)| *outcome)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantOp {
    Add,
    Invite,
    Remove,
    CancelAdd,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParticipantState {
    pub identifier: Identifier,
    pub participant_id: Option<String>,
    pub is_muted: Option<bool>,
    /// GA only.
    pub is_on_hold: Option<bool>,
}

/// A recognised event type, before its data has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnownType {
    CallLegStateChanged,
    CallConnectionStateChanged,
    /// GA events that are a state in themselves.
    CallStateIs(&'static str),
    ParticipantsUpdated,
    DtmfTone,
    DtmfRecognition(Outcome),
    Recognize(Outcome),
    /// A1/A2: the outcome comes from `Status` and the result code.
    PlayAudioResult,
    Play(Outcome),
    /// A1/A2: the outcome comes from `Status` and the result code.
    ParticipantResult(ParticipantOp),
    ParticipantOperation(ParticipantOp, Outcome),
    Transfer(Outcome),
    Recording,
    SendDtmf(Outcome),
    OperationFailed(&'static str),
    IncomingCall,
    RecordingFileStatusUpdated,
}

const TYPE_PREFIX: &str = "Microsoft.Communication.";

/// Matches a type name with or without the `Microsoft.Communication.` prefix,
/// ignoring case. `None` means an unknown type, which is stored as is.
pub(crate) fn known_type(event_type: &str) -> Option<KnownType> {
    use KnownType as K;
    use Outcome as O;
    use ParticipantOp as P;

    let name = event_type.trim();
    let short = match name.get(..TYPE_PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(TYPE_PREFIX) => &name[TYPE_PREFIX.len()..],
        _ => name,
    };
    let known = match short.to_ascii_lowercase().as_str() {
        "calllegstatechanged" => K::CallLegStateChanged,
        "callconnectionstatechanged" => K::CallConnectionStateChanged,
        "callconnected" => K::CallStateIs("connected"),
        "calldisconnected" => K::CallStateIs("disconnected"),
        "participantsupdated" => K::ParticipantsUpdated,
        "dtmfreceived" | "tonereceived" | "continuousdtmfrecognitiontonereceived" => K::DtmfTone,
        "continuousdtmfrecognitiontonefailed" => K::DtmfRecognition(O::Failed),
        "continuousdtmfrecognitionstopped" => K::DtmfRecognition(O::Stopped),
        "recognizecompleted" => K::Recognize(O::Completed),
        "recognizefailed" => K::Recognize(O::Failed),
        "recognizecanceled" | "recognizecancelled" => K::Recognize(O::Canceled),
        "playaudioresult" => K::PlayAudioResult,
        "playstarted" => K::Play(O::Started),
        "playcompleted" => K::Play(O::Completed),
        "playfailed" => K::Play(O::Failed),
        "playcanceled" | "playcancelled" => K::Play(O::Canceled),
        "inviteparticipantresult" => K::ParticipantResult(P::Invite),
        "addparticipantresult" => K::ParticipantResult(P::Add),
        "addparticipantsucceeded" => K::ParticipantOperation(P::Add, O::Succeeded),
        "addparticipantfailed" => K::ParticipantOperation(P::Add, O::Failed),
        "removeparticipantsucceeded" => K::ParticipantOperation(P::Remove, O::Succeeded),
        "removeparticipantfailed" => K::ParticipantOperation(P::Remove, O::Failed),
        "canceladdparticipantsucceeded" => K::ParticipantOperation(P::CancelAdd, O::Succeeded),
        "canceladdparticipantfailed" => K::ParticipantOperation(P::CancelAdd, O::Failed),
        "calltransferaccepted" => K::Transfer(O::Accepted),
        "calltransferfailed" => K::Transfer(O::Failed),
        "callrecordingstatechanged" | "recordingstatechanged" => K::Recording,
        "senddtmftonescompleted" => K::SendDtmf(O::Completed),
        "senddtmftonesfailed" => K::SendDtmf(O::Failed),
        "createcallfailed" => K::OperationFailed("CreateCall"),
        "answerfailed" => K::OperationFailed("Answer"),
        "connectfailed" => K::OperationFailed("Connect"),
        "holdfailed" => K::OperationFailed("Hold"),
        "startrecordingfailed" => K::OperationFailed("StartRecording"),
        "mediastreamingfailed" => K::OperationFailed("MediaStreaming"),
        "transcriptionfailed" => K::OperationFailed("Transcription"),
        "incomingcall" => K::IncomingCall,
        "recordingfilestatusupdated" => K::RecordingFileStatusUpdated,
        _ => return None,
    };
    Some(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One kind of every family, in the order of [`EventFamily::ALL`].
    fn one_kind_per_family() -> Vec<EventKind> {
        let o = Outcome::Completed;
        vec![
            EventKind::CallState {
                state: "connected".into(),
                conversation_id: None,
            },
            EventKind::ParticipantsUpdated {
                participants: vec![],
            },
            EventKind::DtmfTone {
                sequence_id: None,
                tone: String::new(),
                raw_tone: String::new(),
                participant_id: None,
            },
            EventKind::DtmfRecognition { outcome: o },
            EventKind::Recognize {
                outcome: o,
                recognition_type: None,
                tones: vec![],
                choice: None,
                speech: None,
            },
            EventKind::Play {
                outcome: o,
                status: None,
                failed_play_source_index: None,
            },
            EventKind::ParticipantOperation {
                operation: ParticipantOp::Add,
                outcome: o,
                participant: None,
            },
            EventKind::Transfer {
                outcome: o,
                transferee: None,
                target: None,
            },
            EventKind::Recording {
                state: None,
                recording_id: None,
            },
            EventKind::SendDtmf { outcome: o },
            EventKind::OperationFailed {
                operation: "CreateCall".into(),
            },
            EventKind::IncomingCall {
                to: None,
                from: None,
                caller_display_name: None,
            },
            EventKind::RecordingFileStatusUpdated {
                chunk_count: 0,
                recording_start_time: None,
                recording_duration_ms: None,
                session_end_reason: None,
            },
            EventKind::Unknown,
        ]
    }

    #[test]
    fn every_family_is_listed_and_named_as_serialised() {
        let kinds = one_kind_per_family();
        let families: Vec<EventFamily> = kinds.iter().map(EventKind::family).collect();
        assert_eq!(families, EventFamily::ALL);
        for kind in kinds {
            let tag = serde_json::to_value(&kind).unwrap()["family"].clone();
            assert_eq!(tag, kind.family().as_str(), "{kind:?}");
        }
    }

    #[test]
    fn type_names_match_with_or_without_prefix_ignoring_case() {
        assert_eq!(
            known_type("Microsoft.Communication.CallConnected"),
            Some(KnownType::CallStateIs("connected"))
        );
        assert_eq!(
            known_type("microsoft.communication.PLAYFAILED"),
            Some(KnownType::Play(Outcome::Failed))
        );
        assert_eq!(known_type("ToneReceived"), Some(KnownType::DtmfTone));
        assert_eq!(
            known_type("Microsoft.Communication.CreateCallFailed"),
            Some(KnownType::OperationFailed("CreateCall"))
        );
        assert_eq!(
            known_type("Microsoft.Communication.MediaStreamingStarted"),
            None
        );
        assert_eq!(known_type("Microsoft.Other.CallConnected.Extra"), None);
        assert_eq!(known_type(""), None);
    }

    #[test]
    fn preview_statuses() {
        assert_eq!(
            Outcome::from_status("notStarted"),
            Some(Outcome::NotStarted)
        );
        assert_eq!(Outcome::from_status("Running"), Some(Outcome::Running));
        assert_eq!(Outcome::from_status("COMPLETED"), Some(Outcome::Completed));
        assert_eq!(Outcome::from_status("failed"), Some(Outcome::Failed));
        assert_eq!(Outcome::from_status("paused"), None);
    }

    #[test]
    fn serialises_with_family_tag() {
        let kind = EventKind::Play {
            outcome: Outcome::NotStarted,
            status: Some("notStarted".into()),
            failed_play_source_index: None,
        };
        assert_eq!(
            serde_json::to_value(&kind).unwrap(),
            serde_json::json!({"family": "play", "outcome": "not_started",
                               "status": "notStarted", "failed_play_source_index": null})
        );
        assert_eq!(
            serde_json::to_value(EventKind::Unknown).unwrap(),
            serde_json::json!({"family": "unknown"})
        );
    }
}
