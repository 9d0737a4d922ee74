//! The call simulation: calls, participants, ringing, media and a timer queue, driven by commands
//! and by the simulated clock. It knows nothing of HTTP or callbacks: every command and every
//! [`Simulator::advance`] appends [`SimEvent`]s that [`Simulator::drain`] hands to whoever delivers
//! them.
//!
//! **What a rung target does**, unless a scenario says otherwise (`rule_for`): a phone number
//! ending in 7 is busy, in 8 declines, in 9 never answers; any other identifier whose raw id
//! contains `busy`, `decline` or `noanswer` does that; everyone else answers after
//! `emulator.ring_seconds`.

pub mod call;
pub mod clock;
mod lifecycle;
pub mod model;
pub mod scenario;
mod timers;

pub use lifecycle::rule_for;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::emulator::sim::call::{Call, CallView, Invitation, Play};
use crate::emulator::sim::clock::SimTime;
use crate::emulator::sim::model::{
    CallState, EventKind, Identifier, PlayStage, SimEvent, CANCELLED, DECLINED, ENDED_BY_APP,
    ENDED_BY_REMOTE, ENDED_BY_REMOVAL,
};
use crate::emulator::sim::scenario::Scenario;
use crate::emulator::sim::timers::Timers;

/// Simulated durations the simulation needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub ring: Duration,
    pub no_answer: Duration,
    pub audio: Duration,
    /// Ended calls kept for lookups; older ones are forgotten.
    pub calls_kept: usize,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// No such call (or participant): 404.
    NotFound(String),
    /// The command does not fit the call's state: 400.
    Invalid(String),
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub source: Identifier,
    pub targets: Vec<Identifier>,
    pub subject: Option<String>,
    pub scenario: Option<Arc<Scenario>>,
}

/// A play request, as the seed's `PlayAudio` gives it.
#[derive(Debug, Clone)]
pub struct PlayRequest {
    pub audio_file_uri: String,
    pub looped: bool,
    pub context: Option<String>,
}

pub struct Simulator {
    config: SimConfig,
    origin: DateTime<Utc>,
    calls: BTreeMap<String, Call>,
    timers: Timers,
    outbox: Vec<SimEvent>,
    next_ring: u64,
    /// Ended calls, oldest first.
    ended: VecDeque<String>,
}

impl Simulator {
    /// `origin` is the wall-clock moment of simulated time zero (event times count from it).
    pub fn new(config: SimConfig, origin: DateTime<Utc>) -> Simulator {
        Simulator {
            config,
            origin,
            calls: BTreeMap::new(),
            timers: Timers::default(),
            outbox: Vec::new(),
            next_ring: 0,
            ended: VecDeque::new(),
        }
    }

    /// Events produced since the last drain, in the order they happened.
    pub fn drain(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.outbox)
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.timers.next_due()
    }

    /// Fires every timer due at `now`.
    pub fn advance(&mut self, now: SimTime) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            self.fire(at, timer);
        }
    }

    pub fn view(&self, call_id: &str) -> Option<CallView> {
        self.calls.get(call_id).map(Call::view)
    }

    pub fn views(&self) -> Vec<CallView> {
        let mut views: Vec<CallView> = self.calls.values().map(Call::view).collect();
        views.sort_by(|a, b| (a.created_at, &a.call_id).cmp(&(b.created_at, &b.call_id)));
        views
    }

    /// Places a call: the call is Establishing and every target rings.
    pub fn create_call(&mut self, new: NewCall, now: SimTime) -> Result<String, SimError> {
        if new.targets.is_empty() {
            return Err(SimError::Invalid(
                "targets: at least one target is needed".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let at = self.origin + chrono::Duration::from_std(now).unwrap_or_default();
        let mut call = Call::new(id.clone(), new.source, new.subject, at, new.scenario);
        call.emit(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::CallState {
                state: CallState::Establishing,
                result: None,
            },
        );
        self.calls.insert(id.clone(), call);
        for target in new.targets {
            self.ring(&id, target, None, now);
        }
        Ok(id)
    }

    /// The application hangs up: the call ends for everyone.
    pub fn hang_up(&mut self, call_id: &str, now: SimTime) -> Result<(), SimError> {
        self.live_call(call_id)?;
        self.end_call(call_id, ENDED_BY_APP, now);
        Ok(())
    }

    /// Queues audio; it starts at once when nothing else is playing. Returns the operation id.
    pub fn play(
        &mut self,
        call_id: &str,
        request: PlayRequest,
        now: SimTime,
    ) -> Result<String, SimError> {
        self.established_call(call_id)?;
        let id = uuid::Uuid::new_v4().to_string();
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.media.push_back(Play {
            id: id.clone(),
            uri: request.audio_file_uri,
            looped: request.looped,
            context: request.context,
            started: false,
        });
        if call.media.len() == 1 {
            self.start_next_play(call_id, now);
        }
        Ok(id)
    }

    /// Cancels every running and queued play; each reports itself cancelled (400/8508) with its
    /// own operation context. Returns how many were cancelled.
    pub fn cancel_media(&mut self, call_id: &str, now: SimTime) -> Result<usize, SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let plays: Vec<Play> = call.media.drain(..).collect();
        for play in &plays {
            call.emit(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::Play {
                    context: play.context.clone(),
                    stage: PlayStage::Canceled,
                    result: CANCELLED,
                },
            );
        }
        Ok(plays.len())
    }

    /// Invites participants: a snapshot follows, and each invitee rings.
    pub fn invite(
        &mut self,
        call_id: &str,
        targets: Vec<Identifier>,
        context: Option<String>,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.established_call(call_id)?;
        if targets.is_empty() {
            return Err(SimError::Invalid(
                "participants: at least one participant is needed".into(),
            ));
        }
        let call = self.calls.get_mut(call_id).expect("checked above");
        for target in &targets {
            if call.find_present(&target.raw_id).is_some()
                || call.find_ringing(&target.raw_id).is_some()
            {
                return Err(SimError::Invalid(format!(
                    "participants: {} is already in the call or ringing",
                    target.raw_id
                )));
            }
        }
        let snapshot = call.snapshot();
        call.emit(&mut self.outbox, self.origin, now, snapshot);
        for target in targets {
            let invitation = Invitation {
                context: context.clone(),
            };
            self.ring(call_id, target, Some(invitation), now);
        }
        Ok(())
    }

    /// The application removes a participant, named by participant id or raw id.
    pub fn remove(&mut self, call_id: &str, who: &str, now: SimTime) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call.find_present(who).ok_or_else(|| {
            SimError::NotFound(format!("participant {who} is not in call {call_id}"))
        })?;
        if call.present[index].participant_id == call.source_participant_id {
            return Err(SimError::Invalid(
                "the call's own source cannot be removed: hang up instead".into(),
            ));
        }
        let gone = call.present.remove(index);
        let snapshot = call.snapshot();
        call.emit(&mut self.outbox, self.origin, now, snapshot);
        call.emit(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::Removed {
                participant: gone.identifier,
            },
        );
        if !call.has_remote_party() {
            self.end_call(call_id, ENDED_BY_REMOVAL, now);
        }
        Ok(())
    }

    /// A participant presses keys (canonical tones: `0`–`9`, `*`, `#`, `A`–`D`).
    pub fn press(
        &mut self,
        call_id: &str,
        who: &str,
        tones: &[char],
        now: SimTime,
    ) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call.find_present(who).ok_or_else(|| {
            SimError::NotFound(format!("participant {who} is not in call {call_id}"))
        })?;
        let participant = call.present[index].identifier.clone();
        for &tone in tones {
            call.tone_seq += 1;
            let kind = EventKind::Tone {
                sequence: call.tone_seq,
                tone,
                participant: participant.clone(),
            };
            call.emit(&mut self.outbox, self.origin, now, kind);
        }
        Ok(())
    }

    /// Mutes or unmutes a participant; a snapshot follows.
    pub fn set_muted(
        &mut self,
        call_id: &str,
        who: &str,
        muted: bool,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call.find_present(who).ok_or_else(|| {
            SimError::NotFound(format!("participant {who} is not in call {call_id}"))
        })?;
        call.present[index].is_muted = muted;
        let snapshot = call.snapshot();
        call.emit(&mut self.outbox, self.origin, now, snapshot);
        Ok(())
    }

    /// The remote side hangs up: one participant (`Some`), or everyone (`None`). The call ends
    /// when nobody but its source is left.
    pub fn remote_hang_up(
        &mut self,
        call_id: &str,
        who: Option<&str>,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let Some(who) = who else {
            self.end_call(call_id, ENDED_BY_REMOTE, now);
            return Ok(());
        };
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call.find_present(who).ok_or_else(|| {
            SimError::NotFound(format!("participant {who} is not in call {call_id}"))
        })?;
        if call.present[index].participant_id == call.source_participant_id {
            self.end_call(call_id, ENDED_BY_APP, now);
            return Ok(());
        }
        call.present.remove(index);
        let snapshot = call.snapshot();
        call.emit(&mut self.outbox, self.origin, now, snapshot);
        if !call.has_remote_party() {
            self.end_call(call_id, ENDED_BY_REMOTE, now);
        }
        Ok(())
    }

    /// A ringing target answers (`true`) or declines now.
    pub fn pick_up(
        &mut self,
        call_id: &str,
        raw_id: &str,
        answer: bool,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call.find_ringing(raw_id).ok_or_else(|| {
            SimError::NotFound(format!("{raw_id} is not ringing in call {call_id}"))
        })?;
        let ringing = call.ringing.remove(index);
        if answer {
            self.join(call_id, ringing, now);
        } else {
            self.ring_failed(call_id, ringing, DECLINED, now);
        }
        Ok(())
    }

    fn live_call(&self, call_id: &str) -> Result<&Call, SimError> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SimError::NotFound(format!("call {call_id} does not exist")))?;
        if call.is_over() {
            return Err(SimError::Invalid(format!("call {call_id} has ended")));
        }
        Ok(call)
    }

    fn established_call(&self, call_id: &str) -> Result<&Call, SimError> {
        let call = self.live_call(call_id)?;
        if call.state != CallState::Established {
            return Err(SimError::Invalid(format!(
                "call {call_id} is not established yet (it is {:?})",
                call.state
            )));
        }
        Ok(call)
    }
}

#[cfg(test)]
mod tests;
