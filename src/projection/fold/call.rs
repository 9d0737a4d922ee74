//! The call itself: when it started, connected and ended, how it ended, and its row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::order::Event;
use super::{count, Fold};
use crate::events::CallId;
use crate::projection::model::{
    CallEvent, CallOutcome, CallRow, Details, CALL_FAILURES, CONNECTED_STATES, DISCONNECTED_STATES,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct CallState {
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    server_call_id: Option<String>,
    correlation_id: Option<String>,
    state: Option<String>,
    connected_at: Option<DateTime<Utc>>,
    pub(super) disconnected_at: Option<DateTime<Utc>>,
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

impl CallState {
    /// The call-level part of an event, in content order: times, ids, state, failure, counts.
    /// Says when this event disconnected the call.
    pub(super) fn fold(&mut self, e: &Event<'_>) -> Option<DateTime<Utc>> {
        let at = e.at();
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        self.event_count = self.event_count.saturating_add(1);
        if self.server_call_id.is_none() {
            self.server_call_id.clone_from(&e.stored.server_call_id);
        }
        if self.correlation_id.is_none() {
            self.correlation_id.clone_from(&e.stored.correlation_id);
        }
        let mut disconnected = None;
        match &e.details {
            Details::CallState { state } => {
                if self.connected_at.is_none() && CONNECTED_STATES.contains(&state.as_str()) {
                    self.connected_at = Some(at);
                }
                if self.disconnected_at.is_none() && DISCONNECTED_STATES.contains(&state.as_str()) {
                    self.disconnected_at = Some(at);
                    disconnected = Some(at);
                }
                self.state = Some(state.clone());
            }
            // A call-level operation failing fails the call whenever it happens; any other
            // failure does only before the call connected.
            Details::OperationFailed { operation }
                if self.failure.is_none()
                    && (CALL_FAILURES.contains(&operation.as_str())
                        || self.connected_at.is_none()) =>
            {
                self.failure = Some(Failure {
                    code: e.stored.result_code,
                    sub_code: e.stored.result_sub_code,
                    message: e.stored.result_message.clone(),
                });
            }
            _ => {}
        }
        disconnected
    }

    /// The newest log row seen, by insertion: the highest `event_seq` so far.
    pub(super) fn saw(&mut self, stored: &[CallEvent]) {
        self.last_event_seq = stored
            .iter()
            .map(|e| e.event_seq)
            .fold(self.last_event_seq, i64::max);
    }

    pub(super) fn has_events(&self) -> bool {
        self.event_count > 0
    }

    /// Times run forward: the call connects and ends between its first and last event.
    pub(super) fn check(&self) {
        let within = |t: Option<DateTime<Utc>>| {
            t.map_or(true, |t| {
                self.first_at.is_some_and(|first| first <= t)
                    && self.last_at.is_some_and(|last| t <= last)
            })
        };
        debug_assert!(
            within(self.connected_at) && within(self.disconnected_at),
            "a call connects and ends between its first and last event"
        );
        debug_assert_eq!(
            self.first_at.is_some(),
            self.event_count > 0,
            "a call with events has a first one"
        );
    }
}

impl Fold {
    pub(super) fn call_row(&self, call_id: &CallId) -> CallRow {
        let c = &self.call;
        let first_event_at = c.first_at.unwrap_or_default();
        let outcome = match (&c.failure, c.connected_at, c.disconnected_at) {
            (Some(_), _, _) => CallOutcome::Failed,
            (None, Some(_), Some(_)) => CallOutcome::Completed,
            (None, None, Some(_)) => CallOutcome::NeverConnected,
            (None, _, None) => CallOutcome::InProgress,
        };
        let terminal = self.media.terminals();
        CallRow {
            call_id: call_id.clone(),
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
}
