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
    /// The family name: the `family` tag of the serialised form, a stored column and a metric label.
    pub fn family(&self) -> &'static str {
        match self {
            EventKind::CallState { .. } => "call_state",
            EventKind::ParticipantsUpdated { .. } => "participants_updated",
            EventKind::DtmfTone { .. } => "dtmf_tone",
            EventKind::DtmfRecognition { .. } => "dtmf_recognition",
            EventKind::Recognize { .. } => "recognize",
            EventKind::Play { .. } => "play",
            EventKind::ParticipantOperation { .. } => "participant_operation",
            EventKind::Transfer { .. } => "transfer",
            EventKind::Recording { .. } => "recording",
            EventKind::SendDtmf { .. } => "send_dtmf",
            EventKind::OperationFailed { .. } => "operation_failed",
            EventKind::IncomingCall { .. } => "incoming_call",
            EventKind::RecordingFileStatusUpdated { .. } => "recording_file_status_updated",
            EventKind::Unknown => "unknown",
        }
    }
}

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

    #[test]
    fn family_is_the_serialised_tag() {
        let kinds = [
            EventKind::CallState {
                state: "connected".into(),
                conversation_id: None,
            },
            EventKind::ParticipantsUpdated {
                participants: vec![],
            },
            EventKind::DtmfRecognition {
                outcome: Outcome::Stopped,
            },
            EventKind::SendDtmf {
                outcome: Outcome::Completed,
            },
            EventKind::OperationFailed {
                operation: "CreateCall".into(),
            },
            EventKind::Recording {
                state: None,
                recording_id: None,
            },
            EventKind::Unknown,
        ];
        for kind in kinds {
            let tag = serde_json::to_value(&kind).unwrap()["family"].clone();
            assert_eq!(tag, kind.family(), "{kind:?}");
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
