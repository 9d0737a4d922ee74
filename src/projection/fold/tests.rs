use chrono::{DateTime, Duration, Utc};

use crate::events::{EventKind, Identifier, Outcome, ParticipantState};
use crate::projection::fold;
use crate::projection::model::*;
use crate::store::DedupKey;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-12T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::seconds(secs)
}

/// An event at `secs` past the hour; its dedup key (its identity) is `key`.
fn ev(key: u8, secs: i64, kind: EventKind) -> CallEvent {
    CallEvent {
        event_seq: i64::from(key),
        received_at: t(1000 + i64::from(key)),
        event_time: Some(t(secs)),
        details: serde_json::to_string(&kind).unwrap(),
        sequence_number: None,
        result_code: None,
        result_sub_code: None,
        result_message: None,
        operation_context: None,
        server_call_id: None,
        correlation_id: None,
        dedup_key: DedupKey::from([key; 32]),
    }
}

fn seq(mut e: CallEvent, n: i64) -> CallEvent {
    e.sequence_number = Some(n);
    e
}

fn ctx(mut e: CallEvent, context: &str) -> CallEvent {
    e.operation_context = Some(context.to_owned());
    e
}

fn result(mut e: CallEvent, code: i64, sub: i64, message: &str) -> CallEvent {
    e.result_code = Some(code);
    e.result_sub_code = Some(sub);
    e.result_message = Some(message.to_owned());
    e
}

fn state(s: &str) -> EventKind {
    EventKind::CallState {
        state: s.to_owned(),
        conversation_id: None,
    }
}

/// (raw id, muted, on hold)
fn snapshot(who: &[(&str, Option<bool>, Option<bool>)]) -> EventKind {
    EventKind::ParticipantsUpdated {
        participants: who
            .iter()
            .map(|(raw, muted, hold)| ParticipantState {
                identifier: Identifier::from_raw_id(raw),
                participant_id: None,
                is_muted: *muted,
                is_on_hold: *hold,
            })
            .collect(),
    }
}

fn present(raws: &[&str]) -> EventKind {
    let who: Vec<(&str, Option<bool>, Option<bool>)> =
        raws.iter().map(|r| (*r, Some(false), None)).collect();
    snapshot(&who)
}

fn tone(sequence_id: Option<i64>, tone: &str) -> EventKind {
    EventKind::DtmfTone {
        sequence_id,
        tone: tone.to_owned(),
        raw_tone: tone.to_owned(),
        participant_id: Some("p-1".to_owned()),
    }
}

fn play(outcome: Outcome) -> EventKind {
    EventKind::Play {
        outcome,
        status: None,
        failed_play_source_index: None,
    }
}

fn recognize(outcome: Outcome) -> EventKind {
    EventKind::Recognize {
        outcome,
        recognition_type: Some("dtmf".to_owned()),
        tones: vec![],
        choice: None,
        speech: None,
    }
}

fn failed(operation: &str) -> EventKind {
    EventKind::OperationFailed {
        operation: operation.to_owned(),
    }
}

/// The call model: one call's rows as a function of its events.
fn project(call_id: &str, events: &[CallEvent]) -> Option<CallProjection> {
    fold::full(&call_id.into(), events).map(|(_, projection)| projection)
}

fn run(events: &[CallEvent]) -> CallProjection {
    project("call-1", events).expect("a call with events has a projection")
}

/// Every rotation and the reversal of `events` projects the same as `events`, whether the call is
/// recomputed whole or its events are folded in over several passes, in any of those orders.
fn assert_order_independent(events: &[CallEvent]) {
    let expected = run(events);
    let mut orders = vec![("as given".to_owned(), events.to_vec())];
    let mut reversed = events.to_vec();
    reversed.reverse();
    orders.push(("reversed".to_owned(), reversed));
    for k in 1..events.len() {
        let mut rotated = events.to_vec();
        rotated.rotate_left(k);
        orders.push((format!("rotated by {k}"), rotated));
    }
    let mut doubled = events.to_vec();
    doubled.extend(events.iter().cloned());
    orders.push(("every event twice".to_owned(), doubled));
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| (e.effective_time(), e.sequence_number, e.dedup_key));
    orders.push(("in the model's order".to_owned(), sorted));

    for (name, order) in &orders {
        assert_eq!(run(order), expected, "{name}");
        let one_by_one: Vec<&[CallEvent]> = order.chunks(1).collect();
        assert_eq!(
            project_in_passes(&one_by_one).0,
            expected,
            "{name}, one event per pass"
        );
        for k in 1..order.len() {
            let (before, after) = order.split_at(k);
            assert_eq!(
                project_in_passes(&[before, after]).0,
                expected,
                "{name}, passes split after {k}"
            );
        }
    }
}

/// Projects a call whose events arrive in `passes` as the projector does: each pass folds its
/// events into the state stored with the call (kept here as JSON, as in the database; empty before
/// the first pass), or recomputes the call from everything so far when the fold declines. The
/// rows, and how many passes were folded in.
fn project_in_passes(passes: &[&[CallEvent]]) -> (CallProjection, usize) {
    let mut delivered: Vec<CallEvent> = Vec::new();
    let mut stored: Option<(String, CallProjection)> = None;
    let mut folded = 0;
    for pass in passes {
        delivered.extend(pass.iter().cloned());
        let recomputed = |delivered: &[CallEvent]| {
            let (fold, rows) =
                fold::full(&"call-1".into(), delivered).expect("events were delivered");
            (serde_json::to_string(&fold).unwrap(), rows)
        };
        // A call never projected starts from an empty state and no rows.
        let (state, mut rows) = stored.take().unwrap_or_else(|| {
            let empty = CallProjection {
                call: run(pass).call,
                participants: vec![],
                changes: vec![],
                tones: vec![],
                media: vec![],
            };
            (
                serde_json::to_string(&fold::Fold::default()).unwrap(),
                empty,
            )
        });
        let mut fold: fold::Fold = serde_json::from_str(&state).unwrap();
        stored = Some(match fold.extend(&"call-1".into(), pass) {
            Ok(changes) => {
                folded += 1;
                apply(&mut rows, changes);
                (serde_json::to_string(&fold).unwrap(), rows)
            }
            Err(fold::OutOfOrder) => recomputed(&delivered),
        });
    }
    (stored.expect("at least one pass").1, folded)
}

/// What the projector's writer does with a pass, on rows held in memory.
fn apply(rows: &mut CallProjection, pass: fold::Pass) {
    rows.call = pass.call;
    rows.participants.extend(pass.delta.opened);
    for ((raw_id, interval_no), (left_at, left_sequence)) in pass.delta.ended {
        let interval = rows
            .participants
            .iter_mut()
            .find(|i| i.raw_id == raw_id && i.interval_no == interval_no)
            .expect("an interval ended in a later pass was stored before");
        interval.left_at = Some(left_at);
        interval.left_sequence = left_sequence;
    }
    rows.participants
        .sort_by(|a, b| (&a.raw_id, a.interval_no).cmp(&(&b.raw_id, b.interval_no)));
    rows.changes.extend(pass.delta.changes);
    rows.changes
        .sort_by(|a, b| (&a.raw_id, a.ordinal).cmp(&(&b.raw_id, b.ordinal)));
    rows.tones.extend(pass.delta.tones);
    for change in pass.delta.media {
        let row = change.row;
        match rows.media.iter_mut().find(|m| {
            (&m.operation_context, m.operation) == (&row.operation_context, row.operation)
        }) {
            Some(stored) => {
                assert!(!change.is_new, "an update of a stored operation");
                *stored = row;
            }
            None => {
                assert!(change.is_new, "an insert of a new operation");
                rows.media.push(row);
            }
        }
    }
    rows.media.sort_by(|a, b| {
        (&a.operation_context, a.operation).cmp(&(&b.operation_context, b.operation))
    });
}

#[test]
fn a_call_without_events_has_no_projection() {
    assert_eq!(project("call-1", &[]), None);
}

#[test]
fn whole_call_with_join_leave_rejoin_and_mute_hold_changes() {
    let u1 = "8:acs:user-1";
    let u2 = "4:+14255550123";
    let events = vec![
        ev(1, 0, state("connected")),
        seq(ev(2, 1, snapshot(&[(u1, Some(false), Some(false))])), 1),
        seq(
            ev(
                3,
                5,
                snapshot(&[
                    (u1, Some(false), Some(false)),
                    (u2, Some(false), Some(false)),
                ]),
            ),
            2,
        ),
        // u1 is muted, u2 put on hold.
        seq(
            ev(
                4,
                10,
                snapshot(&[(u1, Some(true), Some(false)), (u2, Some(false), Some(true))]),
            ),
            3,
        ),
        // u2 leaves and comes back, unchanged.
        seq(ev(5, 20, snapshot(&[(u1, Some(true), Some(false))])), 4),
        seq(
            ev(
                6,
                30,
                snapshot(&[(u1, Some(true), Some(false)), (u2, Some(false), Some(true))]),
            ),
            5,
        ),
        ev(7, 60, state("disconnected")),
    ];
    let p = run(&events);
    assert_eq!(p.call.outcome, CallOutcome::Completed);
    assert_eq!(p.call.state.as_deref(), Some("disconnected"));
    assert_eq!(p.call.connected_at, Some(t(0)));
    assert_eq!(p.call.disconnected_at, Some(t(60)));
    assert_eq!(p.call.duration_ms, Some(60_000));
    assert_eq!(p.call.participant_count, 2);
    assert_eq!(p.call.peak_participants, 2);
    assert_eq!(p.call.event_count, 7);
    assert_eq!((p.call.first_event_at, p.call.last_event_at), (t(0), t(60)));
    assert_eq!(p.call.last_event_seq, 7);

    let intervals: Vec<_> = p
        .participants
        .iter()
        .map(|i| {
            (
                i.raw_id.as_str(),
                i.interval_no,
                i.joined_at,
                i.left_at,
                i.joined_sequence,
                i.left_sequence,
            )
        })
        .collect();
    assert_eq!(
        intervals,
        [
            (u2, 0, t(5), Some(t(20)), Some(2), Some(4)),
            (u2, 1, t(30), Some(t(60)), Some(5), None),
            (u1, 0, t(1), Some(t(60)), Some(1), None),
        ]
    );
    assert_eq!(p.participants[0].kind, "phone_number");
    assert_eq!(p.participants[0].display_id, "4:+1********23");
    assert_eq!(p.participants[2].kind, "communication_user");
    assert_eq!(p.participants[2].display_id, u1);

    let changes: Vec<_> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.raw_id.as_str(),
                c.ordinal,
                c.at,
                c.sequence_number,
                c.is_muted,
                c.is_on_hold,
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (u2, 0, t(5), Some(2), Some(false), Some(false)),
            (u2, 1, t(10), Some(3), Some(false), Some(true)),
            (u1, 0, t(1), Some(1), Some(false), Some(false)),
            (u1, 1, t(10), Some(3), Some(true), Some(false)),
        ]
    );
    assert_order_independent(&events);
}

#[test]
fn a_stale_snapshot_arriving_late_is_ordered_by_its_sequence_number() {
    // Snapshot 2 (u2 joined) was sent after snapshot 1 but arrives last and, by its clock, even
    // carries an earlier time: the sequence number decides.
    let in_order = vec![
        ev(1, 0, state("connected")),
        seq(ev(2, 10, present(&["8:acs:u1"])), 1),
        seq(ev(3, 9, present(&["8:acs:u1", "8:acs:u2"])), 2),
        seq(ev(4, 20, present(&["8:acs:u1"])), 3),
    ];
    let p = run(&in_order);
    let u2: Vec<_> = p
        .participants
        .iter()
        .filter(|i| i.raw_id == "8:acs:u2")
        .map(|i| (i.joined_sequence, i.left_sequence, i.left_at))
        .collect();
    assert_eq!(u2, [(Some(2), Some(3), Some(t(20)))]);
    assert_eq!(p.call.outcome, CallOutcome::InProgress);
    // u1 is still there: the call has not ended.
    assert!(p
        .participants
        .iter()
        .any(|i| i.raw_id == "8:acs:u1" && i.left_at.is_none()));
    assert_order_independent(&in_order);
}

#[test]
fn snapshots_without_sequence_numbers_are_ordered_by_time() {
    let mut later = ev(1, 30, present(&["8:acs:u1"]));
    // Arrived first: receipt order must not matter.
    later.received_at = t(31);
    let mut earlier = ev(2, 10, present(&["8:acs:u1", "8:acs:u2"]));
    earlier.received_at = t(40);
    let events = vec![later, earlier];
    let p = run(&events);
    let rows: Vec<_> = p
        .participants
        .iter()
        .map(|i| (i.raw_id.as_str(), i.joined_at, i.left_at, i.joined_sequence))
        .collect();
    assert_eq!(
        rows,
        [
            ("8:acs:u1", t(10), None, None),
            ("8:acs:u2", t(10), Some(t(30)), None),
        ]
    );
    assert_order_independent(&events);
}

#[test]
fn a_participant_declining_an_invite_appears_then_vanishes() {
    let events = vec![
        ev(1, 0, state("connected")),
        seq(ev(2, 1, present(&["8:acs:caller"])), 1),
        // Being rung: the invitee shows up in a snapshot, then declines and vanishes with no
        // failure event at all.
        seq(ev(3, 5, present(&["8:acs:caller", "4:+442071838750"])), 2),
        seq(ev(4, 12, present(&["8:acs:caller"])), 3),
        ev(5, 40, state("disconnected")),
    ];
    let p = run(&events);
    assert_eq!(p.call.participant_count, 2);
    assert_eq!(p.call.peak_participants, 2);
    let invitee: Vec<_> = p
        .participants
        .iter()
        .filter(|i| i.kind == "phone_number")
        .map(|i| (i.display_id.as_str(), i.joined_at, i.left_at))
        .collect();
    assert_eq!(invitee, [("4:+44********50", t(5), Some(t(12)))]);
    assert_eq!(p.call.outcome, CallOutcome::Completed);
    assert_order_independent(&events);
}

#[test]
fn snapshots_after_the_disconnect_do_not_reopen_the_call() {
    let events = vec![
        ev(1, 0, state("connected")),
        seq(ev(2, 1, present(&["8:acs:u1"])), 1),
        ev(3, 10, state("disconnected")),
        seq(ev(4, 11, present(&["8:acs:u1", "8:acs:late"])), 2),
    ];
    let p = run(&events);
    assert_eq!(p.participants.len(), 1);
    assert_eq!(p.participants[0].left_at, Some(t(10)));
    assert_eq!(p.call.participant_count, 1);
    assert_eq!(p.call.event_count, 4);
    assert_eq!(p.call.last_event_at, t(11));
}

#[test]
fn duplicate_events_count_once() {
    let events = vec![
        ev(1, 0, state("connected")),
        ev(2, 1, tone(Some(1), "5")),
        ev(2, 1, tone(Some(1), "5")),
    ];
    let p = run(&events);
    assert_eq!(p.call.event_count, 2);
    assert_eq!(p.tones.len(), 1);
}

#[test]
fn tones_follow_sequence_ids_with_gaps_and_repeats_flagged() {
    let events = vec![
        // Arrival and clock order disagree with the sequence ids.
        ev(1, 5, tone(Some(4), "2")),
        ev(2, 1, tone(Some(3), "1")),
        // The same key press sent again under another event id.
        ev(3, 6, tone(Some(4), "2")),
        ev(4, 9, tone(Some(7), "#")),
        ev(5, 2, tone(None, "9")),
    ];
    let p = run(&events);
    let rows: Vec<_> = p
        .tones
        .iter()
        .map(|d| {
            (
                d.ordinal,
                d.sequence_id,
                d.tone.as_str(),
                d.repeated,
                d.missing_before,
                d.event_seq,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (0, Some(3), "1", false, 2, 2),
            (1, Some(4), "2", false, 0, 1),
            (2, Some(4), "2", true, 0, 3),
            (3, Some(7), "#", false, 2, 4),
            (4, None, "9", false, 0, 5),
        ]
    );
    assert_eq!(p.tones[0].participant_id.as_deref(), Some("p-1"));
    assert_eq!(p.call.dtmf_count, 5);
    assert_order_independent(&events);
}

#[test]
fn media_operations_take_the_terminal_outcome() {
    let events = vec![
        ctx(ev(1, 0, play(Outcome::Started)), "welcome"),
        result(
            ctx(ev(2, 4, play(Outcome::Completed)), "welcome"),
            200,
            0,
            "ok",
        ),
        // A1: a cancellation is a "failed" play result with 400/8508, parsed as canceled.
        result(
            ctx(ev(3, 7, play(Outcome::Canceled)), "hold-music"),
            400,
            8508,
            "cancelled",
        ),
        ctx(ev(4, 8, recognize(Outcome::Failed)), "menu"),
        ev(5, 9, play(Outcome::Running)),
        ev(6, 10, play(Outcome::NotStarted)),
    ];
    let p = run(&events);
    let rows: Vec<_> = p
        .media
        .iter()
        .map(|m| {
            (
                m.operation_context.as_str(),
                m.operation.as_str(),
                m.outcome.as_str(),
                m.result_sub_code,
                m.started_at,
                m.finished_at,
                m.duration_ms,
                m.event_count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("", "play", "not_started", None, Some(t(9)), None, None, 2),
            (
                "hold-music",
                "play",
                "canceled",
                Some(8508),
                Some(t(7)),
                Some(t(7)),
                Some(0),
                1
            ),
            (
                "menu",
                "recognize",
                "failed",
                None,
                Some(t(8)),
                Some(t(8)),
                Some(0),
                1
            ),
            (
                "welcome",
                "play",
                "completed",
                Some(0),
                Some(t(0)),
                Some(t(4)),
                Some(4000),
                2
            ),
        ]
    );
    assert_eq!((p.call.media_total, p.call.media_succeeded), (3, 1));
    assert_order_independent(&events);
}

#[test]
fn a_create_call_failure_fails_the_call() {
    let mut failure = result(ev(1, 3, failed("CreateCall")), 500, 8501, "no route");
    failure.server_call_id = Some("srv".to_owned());
    let events = vec![failure, ev(2, 4, state("disconnected"))];
    let p = run(&events);
    assert_eq!(p.call.outcome, CallOutcome::Failed);
    assert_eq!(
        (
            p.call.failure_code,
            p.call.failure_sub_code,
            p.call.failure_message.as_deref()
        ),
        (Some(500), Some(8501), Some("no route"))
    );
    assert_eq!(p.call.connected_at, None);
    assert_eq!(p.call.server_call_id.as_deref(), Some("srv"));
}

#[test]
fn outcomes_without_a_call_failure() {
    let never = run(&[
        ev(1, 0, state("establishing")),
        ev(2, 5, state("terminated")),
    ]);
    assert_eq!(never.call.outcome, CallOutcome::NeverConnected);
    assert_eq!(never.call.duration_ms, None);

    // A hold failing during the call is not the call failing.
    let completed = run(&[
        ev(1, 0, state("established")),
        result(ev(2, 3, failed("Hold")), 400, 1, "x"),
        ev(3, 5, state("terminated")),
    ]);
    assert_eq!(completed.call.outcome, CallOutcome::Completed);
    assert_eq!(completed.call.failure_code, None);

    // Any failure before the call connected is.
    let early = run(&[
        result(ev(1, 0, failed("StartRecording")), 400, 2, "y"),
        ev(2, 3, state("connected")),
    ]);
    assert_eq!(early.call.outcome, CallOutcome::Failed);
    assert_eq!(early.call.failure_sub_code, Some(2));

    let in_progress = run(&[ev(1, 0, state("connected"))]);
    assert_eq!(in_progress.call.outcome, CallOutcome::InProgress);
    assert_eq!(in_progress.call.state.as_deref(), Some("connected"));
}

#[test]
fn events_without_a_sender_time_use_their_receipt_time() {
    let mut e = ev(1, 0, state("connected"));
    e.event_time = None;
    let p = run(&[e]);
    assert_eq!(p.call.first_event_at, t(1001));
}

#[test]
fn unreadable_details_still_count_as_events() {
    let mut odd = ev(1, 0, state("connected"));
    odd.details = serde_json::json!({"family": "play"}).to_string();
    let p = run(&[odd, ev(2, 1, EventKind::Unknown)]);
    assert_eq!(p.call.event_count, 2);
    assert!(p.media.is_empty());
}

/// A call's events in the order they happened, each in its own pass: every pass is folded into the
/// stored call, none recomputes it, and the rows are those of a recompute.
#[test]
fn events_arriving_in_order_are_folded_in_without_recomputing() {
    let u1 = "8:acs:user-1";
    let u2 = "4:+14255550123";
    let events = vec![
        ev(1, 0, state("connected")),
        seq(ev(2, 1, present(&[u1])), 1),
        ctx(ev(3, 2, play(Outcome::Started)), "welcome"),
        seq(ev(4, 3, present(&[u1, u2])), 2),
        result(
            ctx(ev(5, 4, play(Outcome::Completed)), "welcome"),
            200,
            0,
            "ok",
        ),
        ev(6, 5, tone(Some(1), "1")),
        ev(7, 6, tone(Some(3), "2")),
        seq(
            ev(
                8,
                7,
                snapshot(&[(u1, Some(true), Some(false)), (u2, Some(false), None)]),
            ),
            3,
        ),
        seq(ev(9, 8, present(&[u1])), 4),
        ctx(ev(10, 9, recognize(Outcome::Failed)), "menu"),
        seq(ev(11, 10, present(&[u1, u2])), 5),
        ev(12, 20, state("disconnected")),
        // Sent at the moment of the hang-up: u2's leave is still recorded with its sequence.
        seq(ev(13, 20, present(&[u1])), 6),
    ];
    let passes: Vec<&[CallEvent]> = events.chunks(1).collect();
    let (rows, folded) = project_in_passes(&passes);
    assert_eq!(folded, events.len());
    assert_eq!(rows, run(&events));
    let u2_intervals: Vec<_> = rows
        .participants
        .iter()
        .filter(|i| i.raw_id == u2)
        .map(|i| (i.joined_at, i.left_at, i.left_sequence))
        .collect();
    assert_eq!(
        u2_intervals,
        [(t(3), Some(t(8)), Some(4)), (t(10), Some(t(20)), Some(6))]
    );
    let u1_interval = rows.participants.iter().find(|i| i.raw_id == u1).unwrap();
    assert_eq!(u1_interval.left_at, Some(t(20)), "u1 left with the call");
    assert_order_independent(&events);
}

/// Folding declines an event that belongs before what it already holds, and one folded in
/// already: the call is then recomputed, never double-counted.
#[test]
fn a_late_or_repeated_event_makes_the_fold_decline() {
    let events = [
        ev(1, 0, state("connected")),
        ev(2, 5, tone(Some(2), "5")),
        ev(3, 9, state("disconnected")),
    ];
    let (mut fold, _) = fold::full(&"call-1".into(), &events[1..]).unwrap();
    assert!(
        fold.extend(&"call-1".into(), &events[..1]).is_err(),
        "a late event"
    );
    let (mut fold, _) = fold::full(&"call-1".into(), &events).unwrap();
    assert!(
        fold.extend(&"call-1".into(), &events[2..]).is_err(),
        "a repeat"
    );
    let (mut fold, _) = fold::full(&"call-1".into(), &events[..2]).unwrap();
    assert!(
        fold.extend(&"call-1".into(), &[ev(4, 6, tone(Some(1), "4"))])
            .is_err(),
        "a lower sequence id after a higher one"
    );
    let (rows, folded) = project_in_passes(&[&events[1..], &events[..1]]);
    assert_eq!((rows, folded), (run(&events), 1));
}
