//! The swimlane's layout, stated on small calls.

use chrono::{DateTime, Utc};

use super::*;
use crate::api::calls::{
    CallSummary, DtmfTone, MediaOperation, ParticipantChange, ParticipantInterval,
};
use crate::api::events::EventSummary;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2024-03-12T09:{s}Z"))
        .unwrap()
        .with_timezone(&Utc)
}

fn call() -> CallSummary {
    CallSummary {
        call_id: "c".into(),
        server_call_id: None,
        correlation_id: None,
        state: Some("disconnected".into()),
        first_event_at: t("00:00"),
        last_event_at: t("01:00"),
        connected_at: Some(t("00:00")),
        disconnected_at: Some(t("01:00")),
        duration_ms: Some(60_000),
        participant_count: 2,
        peak_participants: 2,
        outcome: "completed".into(),
        failure_code: None,
        failure_sub_code: None,
        failure_message: None,
        event_count: 7,
        dtmf_count: 1,
        media_total: 1,
        media_succeeded: 1,
        last_event_seq: 7,
        projected_at: t("01:01"),
    }
}

fn event(
    seq: i64,
    family: &str,
    at: &str,
    sequence: Option<i64>,
    context: Option<&str>,
) -> EventSummary {
    EventSummary {
        event_seq: seq,
        received_at: t(at),
        endpoint: "callbacks".into(),
        format: "b".into(),
        auth_scheme: "query_secret".into(),
        auth_principal: None,
        request_id: None,
        event_id: None,
        source: None,
        event_type: family.into(),
        subject: None,
        event_time: Some(t(at)),
        family: family.into(),
        call_id: Some("c".into()),
        server_call_id: None,
        correlation_id: None,
        operation_context: context.map(str::to_owned),
        result_code: None,
        result_sub_code: None,
        result_message: None,
        sequence_number: sequence,
        details: serde_json::json!({}),
    }
}

fn change(raw: &str, ordinal: i32, at: &str, sequence: i64, muted: bool) -> ParticipantChange {
    ParticipantChange {
        raw_id: raw.into(),
        ordinal,
        at: t(at),
        sequence_number: Some(sequence),
        is_muted: Some(muted),
        is_on_hold: Some(false),
    }
}

fn interval(
    raw: &str,
    joined: &str,
    left: Option<&str>,
    seqs: (i64, Option<i64>),
) -> ParticipantInterval {
    ParticipantInterval {
        raw_id: raw.into(),
        interval_no: 0,
        kind: "phone_number".into(),
        display_id: format!("masked-{raw}"),
        joined_at: t(joined),
        left_at: left.map(t),
        joined_sequence: Some(seqs.0),
        left_sequence: seqs.1,
        changes: Vec::new(),
    }
}

#[test]
fn every_mark_names_the_event_behind_it_in_time_order() {
    let call = call();
    let events = vec![
        event(1, "call_state", "00:00", None, None),
        event(2, "participants_updated", "00:01", Some(1), None),
        event(3, "participants_updated", "00:10", Some(2), None),
        event(4, "participants_updated", "00:20", Some(3), None),
        event(5, "dtmf_tone", "00:30", None, None),
        event(6, "play", "00:02", None, Some("announce")),
        event(7, "play", "00:07", None, Some("announce")),
        event(8, "call_state", "01:00", None, None),
    ];
    let mut caller = interval("4:+1", "00:01", None, (1, None));
    caller.changes = vec![
        change("4:+1", 0, "00:01", 1, false),
        change("4:+1", 1, "00:20", 3, true),
    ];
    let intervals = vec![
        caller,
        interval("8:acs:a", "00:10", Some("00:20"), (2, Some(3))),
    ];
    let dtmf = vec![DtmfTone {
        ordinal: 0,
        sequence_id: Some(1),
        tone: "5".into(),
        at: t("00:30"),
        participant_id: Some("8:acs:a".into()),
        repeated: false,
        missing_before: 0,
        event_seq: 5,
    }];
    let media = vec![MediaOperation {
        operation_context: "announce".into(),
        operation: "play".into(),
        outcome: "completed".into(),
        result_code: Some(200),
        result_sub_code: Some(0),
        result_message: None,
        started_at: Some(t("00:02")),
        finished_at: Some(t("00:07")),
        duration_ms: Some(5000),
        event_count: 2,
    }];
    let input = Input {
        call: &call,
        intervals: &intervals,
        dtmf: &dtmf,
        media: &media,
        events: &events,
    };
    let layout = layout(&input, 1000.0, 1);

    let kinds: Vec<&LaneKind> = layout.lanes.iter().map(|l| &l.kind).collect();
    assert_eq!(kinds.len(), 4, "call, two participants, media");
    assert_eq!(kinds[0], &LaneKind::Call);
    assert_eq!(kinds[3], &LaneKind::Media);
    let seqs: Vec<(MarkKind, Option<i64>)> =
        layout.marks.iter().map(|m| (m.kind, m.event_seq)).collect();
    assert_eq!(
        seqs,
        [
            (MarkKind::State, Some(1)),
            (MarkKind::Join, Some(2)),
            (MarkKind::MediaStart, Some(6)),
            (MarkKind::MediaEnd, Some(7)),
            (MarkKind::Join, Some(3)),
            (MarkKind::Muted, Some(4)),
            (MarkKind::Leave, Some(4)),
            (MarkKind::Dtmf, Some(5)),
            (MarkKind::State, Some(8)),
        ]
    );
    let dtmf_mark = layout
        .marks
        .iter()
        .find(|m| m.kind == MarkKind::Dtmf)
        .unwrap();
    assert_eq!(dtmf_mark.lane, 2, "on the presser's lane");
    let muted: Vec<&Bar> = layout
        .bars
        .iter()
        .filter(|b| b.style == BarStyle::Muted)
        .collect();
    assert_eq!(muted.len(), 1, "muted from 00:20 to the end");
    assert!(muted[0].open && (muted[0].x2 - (1000.0 - 30.0)).abs() < 0.01);
    assert!(layout.marks.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(layout.marks.iter().all(|m| m.x >= LEFT && m.x <= 1000.0));
}

#[test]
fn a_big_call_is_paged_by_lanes() {
    let call = call();
    let intervals: Vec<ParticipantInterval> = (0..45)
        .map(|n| interval(&format!("8:acs:{n:02}"), "00:01", None, (1, None)))
        .collect();
    let input = Input {
        call: &call,
        intervals: &intervals,
        dtmf: &[],
        media: &[],
        events: &[],
    };
    let first = layout(&input, 1000.0, 1);
    assert_eq!(
        (first.pages, first.participants, first.lanes.len()),
        (2, 45, 42)
    );
    let second = layout(&input, 1000.0, 2);
    assert_eq!(second.lanes.len(), 7, "call, five participants, media");
    assert_eq!(second.lanes[1].label, "masked-8:acs:40");
    assert_eq!(
        layout(&input, 1000.0, 99).page,
        2,
        "past the end: the last page"
    );
    assert!(
        first.marks.iter().all(|m| m.event_seq.is_none()),
        "no events: nothing to link"
    );
}
