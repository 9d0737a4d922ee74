//! Reads the `data` object of each known event type into an [`EventKind`].
//!
//! Field names are looked up in camelCase; the case-insensitive lookup makes
//! the same code read the PascalCase of the first preview. Missing optional
//! fields are fine; a known field with the wrong JSON type is not.

use crate::events::common::{CommonFields, ResultInfo};
use crate::events::envelope::opt_timestamp;
use crate::events::error::ParseError;
use crate::events::fields::{as_str, Node, Path};
use crate::events::identifier::{opt_identifier, parse_identifier};
use crate::events::kind::{EventKind, KnownType, Outcome, ParticipantState};
use crate::events::tone::normalize_tone;
use crate::events::value::Value;

pub(crate) fn parse_kind(
    known: KnownType,
    data: &Node<'_>,
    common: &CommonFields,
) -> Result<EventKind, ParseError> {
    use KnownType as K;
    Ok(match known {
        K::CallLegStateChanged => EventKind::CallState {
            state: data.req_str("callState")?.to_lowercase(),
            conversation_id: data.opt_str("conversationId")?,
        },
        K::CallConnectionStateChanged => EventKind::CallState {
            state: data.req_str("callConnectionState")?.to_lowercase(),
            conversation_id: None,
        },
        K::CallStateIs(state) => EventKind::CallState {
            state: state.to_string(),
            conversation_id: None,
        },
        K::ParticipantsUpdated => EventKind::ParticipantsUpdated {
            participants: participants(data)?,
        },
        K::DtmfTone => dtmf_tone(data)?,
        K::DtmfRecognition(outcome) => EventKind::DtmfRecognition { outcome },
        K::Recognize(outcome) => recognize(data, outcome)?,
        K::PlayAudioResult => {
            let status = data.opt_str("status")?;
            // CancelMediaProcessing has no event of its own in the previews:
            // it shows up as a failed play with this result code.
            let outcome = if common
                .result
                .as_ref()
                .is_some_and(ResultInfo::is_cancellation)
            {
                Outcome::Canceled
            } else {
                status_outcome(data, status.as_deref(), common.result.as_ref())?
            };
            EventKind::Play {
                outcome,
                status,
                failed_play_source_index: None,
            }
        }
        K::Play(outcome) => EventKind::Play {
            outcome,
            status: None,
            failed_play_source_index: data.opt_i64("failedPlaySourceIndex")?,
        },
        K::ParticipantResult(operation) => {
            let status = data.opt_str("status")?;
            EventKind::ParticipantOperation {
                operation,
                outcome: status_outcome(data, status.as_deref(), common.result.as_ref())?,
                participant: opt_identifier(data, "participant")?,
            }
        }
        K::ParticipantOperation(operation, outcome) => EventKind::ParticipantOperation {
            operation,
            outcome,
            participant: opt_identifier(data, "participant")?,
        },
        K::Transfer(outcome) => EventKind::Transfer {
            outcome,
            transferee: opt_identifier(data, "transferee")?,
            target: opt_identifier(data, "transferTarget")?,
        },
        K::Recording => EventKind::Recording {
            state: data.opt_str("state")?.map(|s| s.to_lowercase()),
            recording_id: data.opt_str("recordingId")?,
        },
        K::SendDtmf(outcome) => EventKind::SendDtmf { outcome },
        K::OperationFailed(operation) => EventKind::OperationFailed {
            operation: operation.to_string(),
        },
        K::IncomingCall => EventKind::IncomingCall {
            to: opt_identifier(data, "to")?,
            from: opt_identifier(data, "from")?,
            caller_display_name: data.opt_str("callerDisplayName")?,
        },
        K::RecordingFileStatusUpdated => recording_file_status(data)?,
    })
}

/// The preview status, or failing that the result code: a result without a
/// status still says whether the operation worked.
fn status_outcome(
    data: &Node<'_>,
    status: Option<&str>,
    result: Option<&ResultInfo>,
) -> Result<Outcome, ParseError> {
    if let Some(outcome) = status.and_then(Outcome::from_status) {
        return Ok(outcome);
    }
    match result.and_then(|r| r.code) {
        Some(code) if (200..300).contains(&code) => Ok(Outcome::Completed),
        Some(_) => Ok(Outcome::Failed),
        None if status.is_some() => Err(data.ctx.error(
            &data.path_of("status"),
            "must be one of notStarted, running, completed, failed",
        )),
        None => Err(data.missing("status")),
    }
}

fn participants(data: &Node<'_>) -> Result<Vec<ParticipantState>, ParseError> {
    // Required: the event is a full snapshot, and reading a missing list as
    // "nobody is in the call" would rewrite history.
    let (path, items) = data
        .opt_array("participants")?
        .ok_or_else(|| data.missing("participants"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let node = Node::of(item, Path::Index(&path, i), data.ctx)?;
            let (id_path, id_value) = node
                .get("identifier")
                .ok_or_else(|| node.missing("identifier"))?;
            Ok(ParticipantState {
                identifier: parse_identifier(id_value, id_path, node.ctx)?,
                participant_id: node.opt_str("participantId")?,
                is_muted: node.opt_bool("isMuted")?,
                is_on_hold: node.opt_bool("isOnHold")?,
            })
        })
        .collect()
}

/// The previews nest the tone in `toneInfo`, GA has it flat in `data`, and a
/// 2023 preview of GA nested it again: whichever is present is read.
fn dtmf_tone(data: &Node<'_>) -> Result<EventKind, ParseError> {
    let source = match data.opt_obj("toneInfo")? {
        Some(info) => info,
        None => data.clone(),
    };
    let raw_tone = source.req_str("tone")?;
    let tone = normalize_tone(&raw_tone)
        .ok_or_else(|| data.ctx.error(&source.path_of("tone"), "must not be empty"))?;
    let participant_id = match source.opt_str("participantId")? {
        Some(p) => Some(p),
        None => data.opt_str("participantId")?,
    };
    Ok(EventKind::DtmfTone {
        sequence_id: source.opt_i64("sequenceId")?,
        tone,
        raw_tone,
        participant_id,
    })
}

fn recognize(data: &Node<'_>, outcome: Outcome) -> Result<EventKind, ParseError> {
    let mut tones = Vec::new();
    // `collectTonesResult` is the older name of `dtmfResult`.
    for container in ["dtmfResult", "collectTonesResult"] {
        let Some(result) = data.opt_obj(container)? else {
            continue;
        };
        if let Some((path, items)) = result.opt_array("tones")? {
            tones = recognized_tones(data, &path, items)?;
            break;
        }
    }
    let choice = match data.opt_obj("choiceResult")? {
        Some(c) => c.opt_str("label")?,
        None => None,
    };
    let speech = match data.opt_obj("speechResult")? {
        Some(s) => s.opt_str("speech")?,
        None => None,
    };
    Ok(EventKind::Recognize {
        outcome,
        recognition_type: data.opt_str("recognitionType")?.map(|t| t.to_lowercase()),
        tones,
        choice,
        speech,
    })
}

fn recognized_tones(
    data: &Node<'_>,
    path: &Path<'_>,
    items: &[Value<'_>],
) -> Result<Vec<String>, ParseError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let item_path = Path::Index(path, i);
            let raw = as_str(v, &item_path, data.ctx)?;
            normalize_tone(&raw)
                .ok_or_else(|| data.ctx.error(&item_path.to_string(), "must not be empty"))
        })
        .collect()
}

fn recording_file_status(data: &Node<'_>) -> Result<EventKind, ParseError> {
    let chunk_count = match data.opt_obj("recordingStorageInfo")? {
        Some(info) => info
            .opt_array("recordingChunks")?
            .map_or(0, |(_, chunks)| chunks.len()),
        None => 0,
    };
    Ok(EventKind::RecordingFileStatusUpdated {
        chunk_count,
        recording_start_time: opt_timestamp(data, "recordingStartTime")?,
        recording_duration_ms: data.opt_i64("recordingDurationMs")?,
        session_end_reason: data.opt_str("sessionEndReason")?,
    })
}
