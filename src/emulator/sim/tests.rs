use std::time::Duration;

use super::*;
use crate::emulator::sim::scenario::Answer;

fn sim() -> Simulator {
    Simulator::new(
        SimConfig {
            ring: Duration::from_secs(3),
            no_answer: Duration::from_secs(30),
            audio: Duration::from_secs(5),
            calls_kept: 2,
        },
        Utc::now(),
    )
}

fn secs(s: u64) -> SimTime {
    Duration::from_secs(s)
}

fn id(raw: &str) -> Identifier {
    Identifier::from_raw_id(raw)
}

fn place(sim: &mut Simulator, targets: &[&str], scenario: Option<Scenario>) -> String {
    sim.create_call(
        NewCall {
            source: id("8:acs:app"),
            targets: targets.iter().map(|t| id(t)).collect(),
            subject: None,
            scenario: scenario.map(Arc::new),
            context: None,
            tones: ToneReports::Always,
        },
        secs(0),
    )
    .unwrap()
}

/// A compact trace of the events: `state:Established`, `snap:2:[8:acs:app,4:+1]`, `tone:1:5`, ….
fn trace(events: &[SimEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.kind {
            EventKind::CallState { state, .. } => format!("state:{state:?}"),
            EventKind::CreateFailed { result, .. } => format!("create_failed:{}", result.sub_code),
            EventKind::Participants {
                sequence,
                participants,
            } => {
                let who: Vec<String> = participants
                    .iter()
                    .map(|p| {
                        let mute = if p.is_muted { "(m)" } else { "" };
                        format!("{}{mute}", p.identifier.raw_id)
                    })
                    .collect();
                format!("snap:{sequence}:[{}]", who.join(","))
            }
            EventKind::Tone { sequence, tone, .. } => format!("tone:{sequence}:{tone}"),
            EventKind::Play { context, stage, .. } => {
                format!("play:{}:{stage:?}", context.as_deref().unwrap_or(""))
            }
            EventKind::Invite {
                participant,
                result,
                ..
            } => format!("invite:{}:{}", participant.raw_id, result.code),
            EventKind::Removed { participant, .. } => format!("removed:{}", participant.raw_id),
            EventKind::Recognize {
                stage,
                tones,
                result,
                ..
            } => format!(
                "recognize:{stage:?}:{}:{}",
                tones.iter().collect::<String>(),
                result.sub_code
            ),
            EventKind::DtmfStopped { result, .. } => format!("dtmf_stopped:{}", result.sub_code),
            EventKind::DtmfSent { .. } => "dtmf_sent".into(),
            EventKind::AddCancelled { invitation_id, .. } => {
                format!("add_cancelled:{invitation_id}")
            }
        })
        .collect()
}

#[test]
fn a_call_rings_connects_takes_keys_and_ends() {
    let mut sim = sim();
    let call = place(&mut sim, &["4:+14255550101"], None);
    assert_eq!(trace(&sim.drain()), ["state:Establishing"]);
    sim.advance(secs(2));
    assert!(sim.drain().is_empty(), "still ringing");
    sim.advance(secs(3));
    assert_eq!(
        trace(&sim.drain()),
        ["state:Established", "snap:1:[8:acs:app,4:+14255550101]"]
    );
    sim.press(&call, "4:+14255550101", &['1', '#'], secs(4))
        .unwrap();
    sim.set_muted(&call, "4:+14255550101", true, secs(5))
        .unwrap();
    sim.hang_up(&call, secs(6)).unwrap();
    let events = sim.drain();
    assert_eq!(
        trace(&events),
        [
            "tone:1:1",
            "tone:2:#",
            "snap:2:[8:acs:app,4:+14255550101(m)]",
            "state:Terminating",
            "state:Terminated"
        ]
    );
    assert!(
        events.windows(2).all(|w| w[0].at < w[1].at),
        "times strictly increase"
    );
    assert_eq!(
        sim.press(&call, "4:+14255550101", &['1'], secs(7)),
        Err(SimError::Invalid(format!("call {call} has ended")))
    );
}

#[test]
fn the_rule_picks_busy_decline_and_no_answer() {
    assert_eq!(rule_for("4:+14255550107"), Answer::Busy);
    assert_eq!(rule_for("4:+14255550108"), Answer::Decline);
    assert_eq!(rule_for("4:+14255550109"), Answer::NoAnswer);
    assert_eq!(rule_for("4:+14255550100"), Answer::Answer);
    assert_eq!(rule_for("8:acs:r_decline_1"), Answer::Decline);
    assert_eq!(rule_for("8:acs:r_agent"), Answer::Answer);

    let mut sim = sim();
    place(&mut sim, &["4:+14255550108", "4:+14255550109"], None);
    sim.advance(secs(3));
    assert_eq!(
        trace(&sim.drain()),
        ["state:Establishing"],
        "one still rings"
    );
    sim.advance(secs(30));
    assert_eq!(
        trace(&sim.drain()),
        [
            "create_failed:560480",
            "state:Terminating",
            "state:Terminated"
        ]
    );
}

#[test]
fn a_scenario_scripts_the_callee() {
    let scenario = Scenario::from_yaml(
        r#"
name: s
callees:
  - id: "4:+14255550108"
    answer: answer
    after_seconds: 1
    script:
      - { at_seconds: 2, dtmf: "12" }
      - { at_seconds: 3, mute: true }
      - { at_seconds: 4, hang_up: true }
"#,
    )
    .unwrap();
    let mut sim = sim();
    place(&mut sim, &["4:+14255550108"], Some(scenario));
    sim.advance(secs(100));
    assert_eq!(
        trace(&sim.drain()),
        [
            "state:Establishing",
            "state:Established",
            "snap:1:[8:acs:app,4:+14255550108]",
            "tone:1:1",
            "tone:2:2",
            "snap:2:[8:acs:app,4:+14255550108(m)]",
            "snap:3:[8:acs:app]",
            "state:Terminating",
            "state:Terminated"
        ]
    );
}

#[test]
fn plays_complete_fail_loop_and_cancel() {
    let mut sim = sim();
    let call = place(&mut sim, &["4:+14255550101"], None);
    sim.advance(secs(3));
    sim.drain();
    let play = |uri: &str, looped: bool, ctx: &str| PlayRequest {
        sources: vec![PlaySource::File(uri.into())],
        looped,
        context: Some(ctx.into()),
        callback: None,
        interrupt: false,
    };
    sim.play(&call, play("https://x.org/a.wav", false, "a"), secs(3))
        .unwrap();
    sim.play(&call, play("https://x.invalid/b.wav", false, "b"), secs(3))
        .unwrap();
    sim.play(&call, play("https://x.org/c.wav", true, "c"), secs(3))
        .unwrap();
    assert_eq!(trace(&sim.drain()), ["play:a:Started"], "the others wait");
    sim.advance(secs(8));
    assert_eq!(
        trace(&sim.drain()),
        ["play:a:Completed", "play:b:Failed", "play:c:Started"]
    );
    sim.advance(secs(1000));
    assert!(sim.drain().is_empty(), "a loop plays on");
    assert_eq!(sim.cancel_media(&call, secs(1000)).unwrap(), 1);
    assert_eq!(trace(&sim.drain()), ["play:c:Canceled"]);
}

#[test]
fn invitations_are_answered_declined_by_hand_and_removal_ends_the_call() {
    let mut sim = sim();
    let call = place(&mut sim, &["4:+14255550101"], None);
    sim.advance(secs(3));
    sim.drain();
    let invite = |raw: &str| vec![id(raw)];
    sim.invite(
        &call,
        invite("8:acs:agent"),
        Some("i".into()),
        None,
        None,
        secs(4),
    )
    .unwrap();
    sim.invite(&call, invite("8:acs:declines"), None, None, None, secs(4))
        .unwrap();
    assert_eq!(
        sim.invite(&call, invite("8:acs:agent"), None, None, None, secs(4))
            .map(|_| ()),
        Err(SimError::Invalid(
            "participants: 8:acs:agent is already in the call or ringing".into()
        ))
    );
    sim.pick_up(&call, "8:acs:declines", false, secs(5))
        .unwrap();
    sim.advance(secs(7));
    sim.remove(&call, "4:+14255550101", None, None, secs(8))
        .unwrap();
    sim.remove(&call, "8:acs:agent", None, None, secs(9))
        .unwrap();
    assert_eq!(
        trace(&sim.drain()),
        [
            "snap:2:[8:acs:app,4:+14255550101]",
            "snap:3:[8:acs:app,4:+14255550101]",
            "invite:8:acs:declines:603",
            "snap:4:[8:acs:app,4:+14255550101,8:acs:agent]",
            "invite:8:acs:agent:200",
            "snap:5:[8:acs:app,8:acs:agent]",
            "removed:4:+14255550101",
            "snap:6:[8:acs:app]",
            "removed:8:acs:agent",
            "state:Terminating",
            "state:Terminated"
        ]
    );
    assert!(matches!(
        sim.remove(&call, "8:acs:agent", None, None, secs(10)),
        Err(SimError::Invalid(_))
    ));
    assert!(matches!(
        sim.hang_up("nope", secs(10)),
        Err(SimError::NotFound(_))
    ));
}

/// Each event of the trace with where it goes: `@op` for an operation's callback URI
/// `http://op.test/…`, nothing for the call's callbackUri.
fn routed(events: &[SimEvent]) -> Vec<String> {
    trace(events)
        .into_iter()
        .zip(events)
        .map(|(line, e)| match e.callback_uri.as_deref() {
            Some(uri) => format!("{line}@{}", uri.trim_start_matches("http://op.test/")),
            None => line,
        })
        .collect()
}

fn op(name: &str) -> Option<Arc<str>> {
    Some(Arc::from(format!("http://op.test/{name}")))
}

/// A GA call to one phone that has answered, with nothing left to drain.
fn ga_call(sim: &mut Simulator) -> String {
    let call = sim
        .create_call(
            NewCall {
                source: id("8:acs:app"),
                targets: vec![id("4:+14255550101")],
                subject: None,
                scenario: None,
                context: None,
                tones: ToneReports::WhenRecognizing,
            },
            secs(0),
        )
        .unwrap();
    sim.advance(secs(3));
    sim.drain();
    call
}

#[test]
fn a_plays_events_go_where_the_play_said_even_when_cancelled() {
    let mut sim = sim();
    let call = ga_call(&mut sim);
    let play = |uri: &str, looped: bool, ctx: &str, callback| PlayRequest {
        sources: vec![PlaySource::File(uri.into())],
        looped,
        context: Some(ctx.into()),
        callback,
        interrupt: false,
    };
    let file = "https://x.org/a.wav";
    sim.play(&call, play(file, false, "a", op("a")), secs(3))
        .unwrap();
    sim.play(
        &call,
        play("https://x.invalid/b", false, "b", op("b")),
        secs(3),
    )
    .unwrap();
    sim.play(&call, play(file, true, "c", None), secs(3))
        .unwrap();
    sim.play(&call, play(file, false, "d", op("d")), secs(3))
        .unwrap();
    sim.advance(secs(8));
    assert_eq!(sim.cancel_media(&call, secs(9)).unwrap(), 2);
    sim.hang_up(&call, secs(10)).unwrap();
    assert_eq!(
        routed(&sim.drain()),
        [
            "play:a:Started@a",
            "play:a:Completed@a",
            "play:b:Failed@b",
            "play:c:Started",
            "play:c:Canceled",
            "play:d:Canceled@d",
            "state:Terminating",
            "state:Terminated"
        ]
    );
}

#[test]
fn recognitions_and_sent_tones_report_where_they_were_asked_to() {
    let mut sim = sim();
    let call = ga_call(&mut sim);
    let recognize = |callback| RecognizeRequest {
        target: "4:+14255550101".into(),
        prompt: Vec::new(),
        max_tones: 2,
        stop_tones: Vec::new(),
        initial_silence: Duration::from_secs(5),
        inter_tone: Duration::from_secs(5),
        context: None,
        callback,
        interrupt: false,
    };
    sim.recognize(&call, recognize(op("r1")), secs(3)).unwrap();
    sim.press(&call, "4:+14255550101", &['1', '2'], secs(4))
        .unwrap();
    sim.recognize(&call, recognize(op("r2")), secs(5)).unwrap();
    sim.cancel_media(&call, secs(6)).unwrap();
    sim.recognize(&call, recognize(None), secs(7)).unwrap();
    sim.advance(secs(12));
    sim.send_dtmf(&call, "4:+14255550101", None, op("send"), secs(13))
        .unwrap();
    sim.send_dtmf(&call, "4:+14255550101", None, None, secs(14))
        .unwrap();
    assert_eq!(
        routed(&sim.drain()),
        [
            "recognize:Completed:12:8531@r1",
            "recognize:Canceled::8508@r2",
            "recognize:Failed::8510",
            "dtmf_sent@send",
            "dtmf_sent"
        ]
    );
}

#[test]
fn continuous_tones_go_to_the_starts_uri_and_a_stop_to_its_own() {
    let mut sim = sim();
    let call = ga_call(&mut sim);
    let who = "4:+14255550101";
    sim.start_continuous_dtmf(&call, who, Some("k".into()), op("start"))
        .unwrap();
    sim.press(&call, who, &['1', '2'], secs(4)).unwrap();
    sim.stop_continuous_dtmf(&call, who, None, op("stop"), secs(5))
        .unwrap();
    sim.press(&call, who, &['3'], secs(6)).unwrap();
    // Started again: a stop without a URI reports to the call; then the call's end stops it.
    sim.start_continuous_dtmf(&call, who, None, op("again"))
        .unwrap();
    sim.stop_continuous_dtmf(&call, who, None, None, secs(7))
        .unwrap();
    sim.start_continuous_dtmf(&call, who, None, op("last"))
        .unwrap();
    sim.press(&call, who, &['#'], secs(8)).unwrap();
    sim.hang_up(&call, secs(9)).unwrap();
    let events = sim.drain();
    assert_eq!(
        routed(&events),
        [
            "tone:1:1@start",
            "tone:2:2@start",
            "dtmf_stopped:0@stop",
            "dtmf_stopped:0",
            "tone:3:#@last",
            "dtmf_stopped:7000@last",
            "state:Terminating",
            "state:Terminated"
        ]
    );
    assert!(matches!(&events[0].kind, EventKind::Tone { context: Some(c), .. } if c == "k"));
}

#[test]
fn an_invitations_result_goes_to_the_add_uri_and_snapshots_to_the_call() {
    let mut sim = sim();
    let call = ga_call(&mut sim);
    let invite = |sim: &mut Simulator, raw: &str, callback| {
        sim.invite(&call, vec![id(raw)], None, callback, None, secs(4))
            .unwrap()
            .remove(0)
    };
    invite(&mut sim, "8:acs:agent", op("add"));
    invite(&mut sim, "8:acs:r_decline", op("add-declined"));
    let pending = invite(&mut sim, "8:acs:r_noanswer", op("add-pending"));
    sim.advance(secs(7));
    sim.cancel_invitation(&call, &pending, None, op("cancel"), secs(8))
        .unwrap();
    sim.remove(&call, "8:acs:agent", None, op("remove"), secs(9))
        .unwrap();
    assert_eq!(
        routed(&sim.drain()),
        [
            "snap:2:[8:acs:app,4:+14255550101]",
            "snap:3:[8:acs:app,4:+14255550101]",
            "snap:4:[8:acs:app,4:+14255550101]",
            "snap:5:[8:acs:app,4:+14255550101,8:acs:agent]",
            "invite:8:acs:agent:200@add",
            "invite:8:acs:r_decline:603@add-declined",
            format!("add_cancelled:{pending}@cancel").as_str(),
            "snap:6:[8:acs:app,4:+14255550101]",
            "removed:8:acs:agent@remove"
        ]
    );
}

#[test]
fn only_the_latest_ended_calls_are_kept() {
    let mut sim = sim();
    let ids: Vec<String> = (0..3)
        .map(|_| place(&mut sim, &["4:+14255550101"], None))
        .collect();
    for id in &ids {
        sim.hang_up(id, secs(1)).unwrap();
    }
    assert!(sim.view(&ids[0]).is_none(), "forgotten");
    assert!(sim.view(&ids[1]).is_some() && sim.view(&ids[2]).is_some());
    let live = place(&mut sim, &["4:+14255550101"], None);
    assert!(sim.view(&live).is_some());
}
