//! Prometheus metrics: names in one place, and the process-wide recorder.

use std::sync::OnceLock;

use metrics::Counter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const EVENTS_RECEIVED: &str = "calltrail_events_received_total";
pub const EVENTS_STORED: &str = "calltrail_events_stored_total";
pub const EVENTS_DUPLICATE: &str = "calltrail_events_duplicate_total";
pub const REQUESTS_REJECTED: &str = "calltrail_requests_rejected_total";
pub const HTTP_REQUEST_SECONDS: &str = "calltrail_http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "calltrail_db_pool_connections";
pub const DB_POOL_MAX: &str = "calltrail_db_pool_max_connections";
pub const INGEST_QUEUE_DEPTH: &str = "calltrail_ingest_queue_depth";
pub const INGEST_BATCH_EVENTS: &str = "calltrail_ingest_batch_events";
pub const INGEST_COMMIT_SECONDS: &str = "calltrail_ingest_commit_duration_seconds";
pub const PROJECTION_LAG_SECONDS: &str = "calltrail_projection_lag_seconds";
pub const PROJECTION_QUEUE_DEPTH: &str = "calltrail_projection_queue_depth";
pub const PROJECTION_CALLS: &str = "calltrail_projection_calls_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use (several apps in one test process share it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let latency = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let batch = [
            1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
        ];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &latency)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(INGEST_BATCH_EVENTS.to_owned()), &batch)
            })
            .expect("bucket lists are non-empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed; ours is then simply not the global one.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The per-event counters of the request path, each registered on first use and kept: a
/// `counter!` with labels hashes its key and looks it up in the registry every time, which is
/// most of what counting an event costs. A series still appears only once something is counted.
pub struct EventCounters {
    received: Vec<OnceLock<Counter>>,
    stored: Vec<OnceLock<Counter>>,
    duplicate: Vec<OnceLock<Counter>>,
}

/// Every family and wire format an event can have (`EventKind::family`, `WireFormat::as_str`); a
/// name missing here is still counted, through the registry.
const FAMILIES: [&str; 14] = [
    "call_state",
    "participants_updated",
    "dtmf_tone",
    "dtmf_recognition",
    "recognize",
    "play",
    "participant_operation",
    "transfer",
    "recording",
    "send_dtmf",
    "operation_failed",
    "incoming_call",
    "recording_file_status_updated",
    "unknown",
];
const FORMATS: [&str; 5] = ["a1", "a2", "call_automation", "event_grid", "cloud_event"];

fn position(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

fn cells(n: usize) -> Vec<OnceLock<Counter>> {
    (0..n).map(|_| OnceLock::new()).collect()
}

impl EventCounters {
    /// The process-wide counters, bound to the process-wide recorder (installed first).
    pub fn get() -> &'static EventCounters {
        static COUNTERS: OnceLock<EventCounters> = OnceLock::new();
        COUNTERS.get_or_init(|| {
            handle();
            EventCounters {
                received: cells(FAMILIES.len() * FORMATS.len()),
                stored: cells(FAMILIES.len()),
                duplicate: cells(FAMILIES.len()),
            }
        })
    }

    pub fn received(&self, family: &'static str, format: &'static str) {
        match (position(&FAMILIES, family), position(&FORMATS, format)) {
            (Some(f), Some(w)) => self.received[f * FORMATS.len() + w]
                .get_or_init(
                    || metrics::counter!(EVENTS_RECEIVED, "family" => family, "format" => format),
                )
                .increment(1),
            _ => metrics::counter!(EVENTS_RECEIVED, "family" => family, "format" => format)
                .increment(1),
        }
    }

    /// One event of `family` stored (`new`) or found already stored.
    pub fn stored(&self, family: &'static str, new: bool) {
        let (cells, name) = if new {
            (&self.stored, EVENTS_STORED)
        } else {
            (&self.duplicate, EVENTS_DUPLICATE)
        };
        match position(&FAMILIES, family) {
            Some(f) => cells[f]
                .get_or_init(|| metrics::counter!(name, "family" => family))
                .increment(1),
            None => metrics::counter!(name, "family" => family).increment(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_and_format_has_a_cell() {
        use crate::events::WireFormat;
        for format in [
            WireFormat::A1,
            WireFormat::A2,
            WireFormat::CallAutomation,
            WireFormat::EventGrid,
            WireFormat::CloudEvent,
        ] {
            assert!(position(&FORMATS, format.as_str()).is_some(), "{format:?}");
        }
        use crate::events::{EventKind as K, Outcome, ParticipantOp};
        let o = Outcome::Completed;
        let kinds = [
            K::CallState {
                state: String::new(),
                conversation_id: None,
            },
            K::ParticipantsUpdated {
                participants: vec![],
            },
            K::DtmfTone {
                sequence_id: None,
                tone: String::new(),
                raw_tone: String::new(),
                participant_id: None,
            },
            K::DtmfRecognition { outcome: o },
            K::Recognize {
                outcome: o,
                recognition_type: None,
                tones: vec![],
                choice: None,
                speech: None,
            },
            K::Play {
                outcome: o,
                status: None,
                failed_play_source_index: None,
            },
            K::ParticipantOperation {
                operation: ParticipantOp::Add,
                outcome: o,
                participant: None,
            },
            K::Transfer {
                outcome: o,
                transferee: None,
                target: None,
            },
            K::Recording {
                state: None,
                recording_id: None,
            },
            K::SendDtmf { outcome: o },
            K::OperationFailed {
                operation: String::new(),
            },
            K::IncomingCall {
                to: None,
                from: None,
                caller_display_name: None,
            },
            K::RecordingFileStatusUpdated {
                chunk_count: 0,
                recording_start_time: None,
                recording_duration_ms: None,
                session_end_reason: None,
            },
            K::Unknown,
        ];
        let families: Vec<&str> = kinds.iter().map(K::family).collect();
        assert_eq!(families, FAMILIES);
    }
}
