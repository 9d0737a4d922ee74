//! The call page's trust panel: how far the history shown can be relied on, from the stored events
//! themselves. A pure function, tested beside it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::api::calls::{CallSummary, DtmfTone};
use crate::api::events::EventSummary;
use crate::ui::timeline::effective_time;

#[derive(Debug, PartialEq, Eq)]
pub struct Trust {
    /// Events of the call in the log (each stored once, however often it was delivered).
    pub stored: usize,
    /// Events that arrived after one the sender had sent later (by the sender's time, then the
    /// ACS sequence number): the model orders by content, so they changed nothing, but they happened.
    pub out_of_order: usize,
    /// Key presses flagged as repeated (a `sequenceId` seen before), and ids skipped.
    pub dtmf_repeats: usize,
    pub dtmf_missing: i64,
    /// Participant snapshots stored more than once under one ACS sequence number: the sender sent
    /// the same snapshot again as another event (a new id), which deduplication cannot know.
    pub snapshot_repeats: usize,
    /// Event types calltrail has no model for, kept raw, with their counts.
    pub unknown_types: BTreeMap<String, usize>,
    /// How the deliveries were authenticated: (scheme, principal) → events.
    pub auth: BTreeMap<(String, String), usize>,
    /// Events stored after the ones the call model has folded in: the projection lags by these.
    pub unprojected: usize,
    pub projected_at: Option<DateTime<Utc>>,
    /// The newest event's receipt.
    pub last_received: Option<DateTime<Utc>>,
}

pub fn assess(call: Option<&CallSummary>, events: &[EventSummary], dtmf: &[DtmfTone]) -> Trust {
    let mut receipt: Vec<&EventSummary> = events.iter().collect();
    receipt.sort_by_key(|e| e.event_seq);
    let mut latest: Option<(DateTime<Utc>, i64)> = None;
    let mut out_of_order = 0;
    for e in &receipt {
        let key = (effective_time(e), e.sequence_number.unwrap_or(i64::MIN));
        match latest {
            Some(seen) if key < seen => out_of_order += 1,
            _ => latest = Some(key),
        }
    }
    let mut unknown_types = BTreeMap::new();
    let mut auth = BTreeMap::new();
    for e in events {
        if e.family == "unknown" {
            *unknown_types.entry(e.event_type.clone()).or_insert(0) += 1;
        }
        let principal = e.auth_principal.clone().unwrap_or_default();
        *auth.entry((e.auth_scheme.clone(), principal)).or_insert(0) += 1;
    }
    let mut snapshots = std::collections::HashSet::new();
    let snapshot_repeats = events
        .iter()
        .filter(|e| e.family == "participants_updated")
        .filter_map(|e| e.sequence_number)
        .filter(|n| !snapshots.insert(*n))
        .count();
    let folded_up_to = call.map_or(0, |c| c.last_event_seq);
    Trust {
        stored: events.len(),
        out_of_order,
        dtmf_repeats: dtmf.iter().filter(|t| t.repeated).count(),
        dtmf_missing: dtmf.iter().map(|t| i64::from(t.missing_before)).sum(),
        snapshot_repeats,
        unknown_types,
        auth,
        unprojected: events.iter().filter(|e| e.event_seq > folded_up_to).count(),
        projected_at: call.map(|c| c.projected_at),
        last_received: events.iter().map(|e| e.received_at).max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn event(seq: i64, family: &str, time: &str, sequence: Option<i64>) -> EventSummary {
        let at = DateTime::parse_from_rfc3339(time)
            .unwrap()
            .with_timezone(&Utc);
        EventSummary {
            event_seq: seq,
            received_at: at,
            endpoint: "callbacks".into(),
            format: "b".into(),
            auth_scheme: "jwt".into(),
            auth_principal: Some("acs".into()),
            request_id: None,
            event_id: None,
            source: None,
            event_type: if family == "unknown" {
                "Odd".into()
            } else {
                "X".into()
            },
            subject: None,
            event_time: Some(at),
            family: family.into(),
            call_id: Some("c".into()),
            server_call_id: None,
            correlation_id: None,
            operation_context: None,
            result_code: None,
            result_sub_code: None,
            result_message: None,
            sequence_number: sequence,
            details: serde_json::json!({}),
        }
    }

    #[test]
    fn late_arrivals_unknown_types_and_auth_are_counted() {
        let events = [
            event(1, "call_state", "2024-03-12T09:00:00Z", None),
            event(2, "participants_updated", "2024-03-12T09:00:10Z", Some(2)),
            // Sent before the one above, received after it.
            event(3, "participants_updated", "2024-03-12T09:00:05Z", Some(1)),
            event(4, "unknown", "2024-03-12T09:00:20Z", None),
            // The snapshot numbered 2 again, as another event.
            event(5, "participants_updated", "2024-03-12T09:00:21Z", Some(2)),
        ];
        let trust = assess(None, &events, &[]);
        assert_eq!(trust.stored, 5);
        assert_eq!(trust.snapshot_repeats, 1);
        assert_eq!(trust.out_of_order, 1);
        assert_eq!(trust.unknown_types.get("Odd"), Some(&1));
        assert_eq!(trust.auth.get(&("jwt".into(), "acs".into())), Some(&5));
        assert_eq!(trust.unprojected, 5, "no call row: nothing projected");
    }
}
