//! How calls move on by themselves: targets ring and answer or not, timers fire, scripts run,
//! audio plays to its end, calls end.

use std::time::Duration;

use crate::emulator::sim::call::{Invitation, Present, Ringing};
use crate::emulator::sim::clock::SimTime;
use crate::emulator::sim::model::{
    CallState, EventKind, Identifier, PlayStage, ResultInfo, BUSY, DECLINED, DOWNLOAD_FAILED,
    DTMF_STOPPED_BY_END, NO_ANSWER, SUCCESS,
};
use crate::emulator::sim::scenario::{self, Answer, AudioFile, Scenario};
use crate::emulator::sim::timers::Timer;
use crate::emulator::sim::{PlaySource, Simulator};

impl Simulator {
    /// Starts ringing `target`; a timer decides what it does. An invitation's `timeout` ends its
    /// ringing unanswered if nothing happened before.
    pub(super) fn ring(
        &mut self,
        call_id: &str,
        target: Identifier,
        invitation: Option<Invitation>,
        timeout: Option<Duration>,
        now: SimTime,
    ) {
        let call = self.calls.get_mut(call_id).expect("ringing a known call");
        let callee = call
            .scenario
            .as_ref()
            .and_then(|s| s.callee(&target.raw_id).cloned());
        let answer = callee
            .as_ref()
            .and_then(|c| c.answer)
            .unwrap_or_else(|| rule_for(&target.raw_id));
        let after = callee
            .as_ref()
            .and_then(|c| c.after_seconds)
            .map(Duration::from_secs_f64);
        let mut answer = answer;
        let mut delay = match answer {
            Answer::Answer | Answer::Decline => after.unwrap_or(self.config.ring),
            Answer::Busy => after.unwrap_or(Duration::from_secs(1)),
            Answer::NoAnswer | Answer::Manual => timeout.unwrap_or(self.config.no_answer),
        };
        if let Some(timeout) = timeout.filter(|t| *t < delay) {
            answer = Answer::NoAnswer;
            delay = timeout;
        }
        self.next_ring += 1;
        let ring_id = self.next_ring;
        call.ringing.push(Ringing {
            ring_id,
            identifier: target,
            answer,
            invitation,
        });
        self.timers.schedule(
            now + delay,
            Timer::Ring {
                call_id: call_id.to_owned(),
                ring_id,
            },
        );
    }

    pub(super) fn fire(&mut self, now: SimTime, timer: Timer) {
        match timer {
            Timer::Ring { call_id, ring_id } => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                let Some(index) = call.ringing.iter().position(|r| r.ring_id == ring_id) else {
                    return; // answered or declined by hand, or the call ended
                };
                let ringing = call.ringing.remove(index);
                match ringing.answer {
                    Answer::Answer => self.join(&call_id, ringing, now),
                    Answer::Decline => self.ring_failed(&call_id, ringing, DECLINED, now),
                    Answer::Busy => self.ring_failed(&call_id, ringing, BUSY, now),
                    Answer::NoAnswer | Answer::Manual => {
                        self.ring_failed(&call_id, ringing, NO_ANSWER, now)
                    }
                }
            }
            Timer::Step {
                call_id,
                participant_id,
                step,
            } => self.scripted(&call_id, &participant_id, step, now),
            Timer::PromptDone { call_id, recognize } => self.prompt_done(&call_id, recognize, now),
            Timer::RecognizeTimeout {
                call_id,
                recognize,
                generation,
            } => self.recognize_timeout(&call_id, recognize, generation, now),
            Timer::PlayDone { call_id, play_id } => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                if call.media.front().map_or(true, |p| p.id != play_id) || call.is_over() {
                    return; // cancelled meanwhile
                }
                let play = call.media.pop_front().expect("checked above");
                call.emit_to(
                    &mut self.outbox,
                    self.origin,
                    now,
                    EventKind::Play {
                        context: play.context,
                        stage: PlayStage::Completed,
                        result: SUCCESS,
                        failed_source: None,
                    },
                    play.callback,
                );
                self.start_next_play(&call_id, now);
            }
        }
    }

    /// A scenario step of a participant still in the call.
    pub(super) fn scripted(
        &mut self,
        call_id: &str,
        participant_id: &str,
        step: usize,
        now: SimTime,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(index) = call.find_present(participant_id) else {
            return; // left meanwhile
        };
        if call.is_over() {
            return;
        }
        let raw_id = call.present[index].identifier.raw_id.clone();
        let Some(step) = call
            .scenario
            .as_ref()
            .and_then(|s| s.callee(&raw_id))
            .and_then(|c| c.script.get(step))
            .cloned()
        else {
            return;
        };
        // The steps were checked when the scenario was loaded, so none of these can fail.
        if let Some(keys) = &step.dtmf {
            let tones: Vec<char> = keys.chars().filter_map(scenario::tone_of).collect();
            let _ = self.press(call_id, participant_id, &tones, now);
        } else if let Some(muted) = step.mute {
            let _ = self.set_muted(call_id, participant_id, muted, now);
        } else if step.hang_up {
            let _ = self.remote_hang_up(call_id, Some(participant_id), now);
        }
    }

    pub(super) fn join(&mut self, call_id: &str, ringing: Ringing, now: SimTime) {
        let call = self.calls.get_mut(call_id).expect("joining a known call");
        if call.state == CallState::Establishing {
            call.state = CallState::Established;
            call.emit(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::CallState {
                    state: CallState::Established,
                    result: None,
                    context: call.context.clone(),
                },
            );
            call.present.push(Present {
                identifier: call.source.clone(),
                participant_id: call.source_participant_id.clone(),
                is_muted: false,
            });
        }
        let participant_id = uuid::Uuid::new_v4().to_string();
        call.present.push(Present {
            identifier: ringing.identifier.clone(),
            participant_id: participant_id.clone(),
            is_muted: false,
        });
        let snapshot = call.snapshot();
        call.emit(&mut self.outbox, self.origin, now, snapshot);
        if let Some(invitation) = ringing.invitation {
            call.emit_to(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::Invite {
                    context: invitation.context,
                    participant: ringing.identifier.clone(),
                    result: SUCCESS,
                },
                invitation.callback,
            );
        }
        let steps: Vec<f64> = call
            .scenario
            .as_ref()
            .and_then(|s| s.callee(&ringing.identifier.raw_id))
            .map(|c| c.script.iter().map(|s| s.at_seconds).collect())
            .unwrap_or_default();
        for (step, at) in steps.into_iter().enumerate() {
            self.timers.schedule(
                now + Duration::from_secs_f64(at),
                Timer::Step {
                    call_id: call_id.to_owned(),
                    participant_id: participant_id.clone(),
                    step,
                },
            );
        }
    }

    /// A target that did not answer: an invitee's invitation fails; a call nobody answered fails.
    pub(super) fn ring_failed(
        &mut self,
        call_id: &str,
        ringing: Ringing,
        why: ResultInfo,
        now: SimTime,
    ) {
        let call = self.calls.get_mut(call_id).expect("a known call");
        if let Some(invitation) = ringing.invitation {
            call.emit_to(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::Invite {
                    context: invitation.context,
                    participant: ringing.identifier,
                    result: why,
                },
                invitation.callback,
            );
            return;
        }
        if call.state == CallState::Establishing && call.ringing.is_empty() {
            call.emit(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::CreateFailed {
                    result: why.clone(),
                    context: call.context.clone(),
                },
            );
            self.end_call(call_id, why, now);
        }
    }

    pub(super) fn start_next_play(&mut self, call_id: &str, now: SimTime) {
        let call = self.calls.get_mut(call_id).expect("a known call");
        let Some(play) = call.media.front_mut() else {
            return;
        };
        let length = play_length(call.scenario.as_deref(), &play.sources, self.config.audio);
        let length = match length {
            Ok(length) => length,
            Err(failed) => {
                let play = call.media.pop_front().expect("checked above");
                call.emit_to(
                    &mut self.outbox,
                    self.origin,
                    now,
                    EventKind::Play {
                        context: play.context,
                        stage: PlayStage::Failed,
                        result: DOWNLOAD_FAILED,
                        failed_source: Some(failed),
                    },
                    play.callback,
                );
                return self.start_next_play(call_id, now);
            }
        };
        play.started = true;
        let (id, looped, context) = (play.id.clone(), play.looped, play.context.clone());
        let callback = play.callback.clone();
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::Play {
                context,
                stage: PlayStage::Started,
                result: SUCCESS,
                failed_source: None,
            },
            callback,
        );
        // A looped play runs until it is cancelled or the call ends.
        if !looped {
            self.timers.schedule(
                now + length,
                Timer::PlayDone {
                    call_id: call_id.to_owned(),
                    play_id: id,
                },
            );
        }
    }

    /// Terminating, then Terminated: ringing stops, media stops, everyone leaves.
    pub(super) fn end_call(&mut self, call_id: &str, why: ResultInfo, now: SimTime) {
        let call = self.calls.get_mut(call_id).expect("a known call");
        if call.is_over() {
            return;
        }
        // Continuous recognition reports that it stopped with the call (as recorded traffic
        // shows), where the start request said its events go.
        for (_, operation) in std::mem::take(&mut call.continuous) {
            call.emit_to(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::DtmfStopped {
                    context: operation.context,
                    result: DTMF_STOPPED_BY_END,
                },
                operation.callback,
            );
        }
        for state in [CallState::Terminating, CallState::Terminated] {
            call.state = state;
            let result = (state == CallState::Terminated).then(|| why.clone());
            let context = call.context.clone();
            call.emit(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::CallState {
                    state,
                    result,
                    context,
                },
            );
        }
        call.recognizing = None;
        call.ringing.clear();
        call.media.clear();
        call.present.clear();
        // Ended calls stay visible for a while, not forever: memory stays bounded however many
        // calls are placed.
        self.ended.push_back(call_id.to_owned());
        while self.ended.len() > self.config.calls_kept.max(1) {
            if let Some(oldest) = self.ended.pop_front() {
                self.calls.remove(&oldest);
            }
        }
    }
}

/// What a target does when nothing scripts it (the rule in the module's documentation).
pub fn rule_for(raw_id: &str) -> Answer {
    if let Some(number) = raw_id.strip_prefix("4:") {
        return match number.chars().last() {
            Some('7') => Answer::Busy,
            Some('8') => Answer::Decline,
            Some('9') => Answer::NoAnswer,
            _ => Answer::Answer,
        };
    }
    let lower = raw_id.to_ascii_lowercase();
    if lower.contains("busy") {
        Answer::Busy
    } else if lower.contains("decline") {
        Answer::Decline
    } else if lower.contains("noanswer") {
        Answer::NoAnswer
    } else {
        Answer::Answer
    }
}

/// How long a play's sources play together; `Err` with the index of the first that cannot be
/// fetched. Speech is as long as an audio file of unknown length.
pub(super) fn play_length(
    scenario: Option<&Scenario>,
    sources: &[PlaySource],
    default: Duration,
) -> Result<Duration, usize> {
    let mut total = Duration::ZERO;
    for (index, source) in sources.iter().enumerate() {
        total += match source {
            PlaySource::File(uri) => audio_length(scenario, uri, default).ok_or(index)?,
            PlaySource::Speech(_) => default,
        };
    }
    Ok(total)
}

/// How long an audio file plays; `None` when it cannot be fetched: the scenario says so, or the
/// URI is not http(s), or its host is under `.invalid` (RFC 2606) or is `unreachable`.
fn audio_length(scenario: Option<&Scenario>, uri: &str, default: Duration) -> Option<Duration> {
    if let Some(audio) = scenario.and_then(|s| s.audio.get(uri)) {
        return match audio {
            AudioFile::Seconds(s) => Some(Duration::from_secs_f64(*s)),
            AudioFile::Unreachable(_) => None,
        };
    }
    let url = url::Url::parse(uri).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let reachable = matches!(url.scheme(), "http" | "https")
        && host != "unreachable"
        && !host.ends_with(".invalid")
        && host != "invalid";
    reachable.then_some(default)
}
