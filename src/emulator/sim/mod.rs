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
mod recognize;
pub mod scenario;
mod timers;

pub use lifecycle::rule_for;
pub use recognize::RecognizeRequest;

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
    /// Another operation of the same kind is running (a second recognition).
    Conflict(String),
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub source: Identifier,
    pub targets: Vec<Identifier>,
    pub subject: Option<String>,
    pub scenario: Option<Arc<Scenario>>,
    /// Carried by the call's connection and disconnection events.
    pub context: Option<String>,
    pub tones: ToneReports,
}

/// Which key presses become tone events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToneReports {
    /// Every one (the seed's calls: its service reported all tones).
    Always,
    /// Only those of participants under continuous DTMF recognition (GA calls).
    WhenRecognizing,
}

/// What a play (or a recognition's prompt) plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaySource {
    /// An audio file, fetched by URI.
    File(String),
    /// Text (or SSML) spoken by speech synthesis: never fails to fetch.
    Speech(String),
}

impl PlaySource {
    pub fn describe(&self) -> String {
        match self {
            PlaySource::File(uri) => uri.clone(),
            PlaySource::Speech(text) => format!("speech: {text}"),
        }
    }
}

/// A play request: its sources play one after another.
#[derive(Debug, Clone)]
pub struct PlayRequest {
    pub sources: Vec<PlaySource>,
    pub looped: bool,
    pub context: Option<String>,
    /// Where the play's events go (GA `operationCallbackUri`); `None`: the call's callbackUri.
    pub callback: Option<Arc<str>>,
    /// Cancels what is playing and queued first (GA `interruptCallMediaOperation`).
    pub interrupt: bool,
}

/// A call an application answered: the caller is connected at once.
#[derive(Debug, Clone)]
pub struct Answered {
    pub caller: Identifier,
    /// Who answered: the callee of the incoming call.
    pub callee: Identifier,
    pub context: Option<String>,
    /// The ids the incoming call was announced with, which the call keeps.
    pub server_call_id: String,
    pub correlation_id: String,
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
        call.context = new.context;
        call.tones = new.tones;
        self.open(call, now);
        for target in new.targets {
            self.ring(&id, target, None, None, now);
        }
        Ok(id)
    }

    /// An incoming call answered by the application: established at once, with the callee (the
    /// application's side) and the caller in it.
    pub fn answer_incoming(&mut self, answered: Answered, now: SimTime) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let at = self.origin + chrono::Duration::from_std(now).unwrap_or_default();
        let mut call = Call::new(id.clone(), answered.callee, None, at, None);
        call.context = answered.context;
        call.server_call_id = answered.server_call_id;
        call.correlation_id = answered.correlation_id;
        call.tones = ToneReports::WhenRecognizing;
        self.open(call, now);
        let caller = call::Ringing {
            ring_id: 0,
            identifier: answered.caller,
            answer: scenario::Answer::Answer,
            invitation: None,
        };
        self.join(&id, caller, now);
        id
    }

    /// A new call starts establishing: the first event of every call.
    fn open(&mut self, mut call: Call, now: SimTime) {
        let context = call.context.clone();
        call.emit(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::CallState {
                state: CallState::Establishing,
                result: None,
                context,
            },
        );
        self.calls.insert(call.id.clone(), call);
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
        if request.sources.is_empty() {
            return Err(SimError::Invalid(
                "playSources: at least one source is needed".into(),
            ));
        }
        if request.interrupt {
            self.cancel_plays(call_id, now);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.media.push_back(Play {
            id: id.clone(),
            sources: request.sources,
            looped: request.looped,
            context: request.context,
            callback: request.callback,
            started: false,
        });
        if call.media.len() == 1 {
            self.start_next_play(call_id, now);
        }
        Ok(id)
    }

    /// Cancels every running and queued play and a running recognition; each reports itself
    /// cancelled (400/8508) with its own operation context. Returns how many were cancelled.
    pub fn cancel_media(&mut self, call_id: &str, now: SimTime) -> Result<usize, SimError> {
        self.live_call(call_id)?;
        let plays = self.cancel_plays(call_id, now);
        Ok(plays + usize::from(self.cancel_recognition(call_id, now)))
    }

    fn cancel_plays(&mut self, call_id: &str, now: SimTime) -> usize {
        let call = self.calls.get_mut(call_id).expect("a known call");
        let plays: Vec<Play> = call.media.drain(..).collect();
        for play in &plays {
            call.emit_to(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::Play {
                    context: play.context.clone(),
                    stage: PlayStage::Canceled,
                    result: CANCELLED,
                    failed_source: None,
                },
                play.callback.clone(),
            );
        }
        plays.len()
    }

    /// Invites participants: a snapshot follows, and each invitee rings, for `timeout` at most
    /// when one is given. Each invitation's result goes to `callback` when it is given. Returns the
    /// invitations' ids, in the targets' order.
    pub fn invite(
        &mut self,
        call_id: &str,
        targets: Vec<Identifier>,
        context: Option<String>,
        callback: Option<Arc<str>>,
        timeout: Option<Duration>,
        now: SimTime,
    ) -> Result<Vec<String>, SimError> {
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
        let mut ids = Vec::with_capacity(targets.len());
        for target in targets {
            let invitation = Invitation {
                id: uuid::Uuid::new_v4().to_string(),
                context: context.clone(),
                callback: callback.clone(),
            };
            ids.push(invitation.id.clone());
            self.ring(call_id, target, Some(invitation), timeout, now);
        }
        Ok(ids)
    }

    /// The application withdraws a pending invitation: the invitee stops ringing. The
    /// cancellation's event goes to `callback` when it is given (the cancel request's, not the
    /// invitation's).
    pub fn cancel_invitation(
        &mut self,
        call_id: &str,
        invitation_id: &str,
        context: Option<String>,
        callback: Option<Arc<str>>,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.live_call(call_id)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        let index = call
            .ringing
            .iter()
            .position(|r| r.invitation.as_ref().is_some_and(|i| i.id == invitation_id))
            .ok_or_else(|| {
                SimError::NotFound(format!(
                    "invitation {invitation_id} is not pending in call {call_id}"
                ))
            })?;
        call.ringing.remove(index);
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::AddCancelled {
                context,
                invitation_id: invitation_id.to_owned(),
                result: model::ADD_CANCELLED,
            },
            callback,
        );
        Ok(())
    }

    /// The application removes a participant, named by participant id or raw id. The snapshot is
    /// the call's; the removal's own event goes to `callback` when it is given.
    pub fn remove(
        &mut self,
        call_id: &str,
        who: &str,
        context: Option<String>,
        callback: Option<Arc<str>>,
        now: SimTime,
    ) -> Result<(), SimError> {
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
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::Removed {
                participant: gone.identifier,
                context,
            },
            callback,
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
        let reported = match call.tones {
            ToneReports::Always => Some(call::Operation::default()),
            ToneReports::WhenRecognizing => call.continuous.get(&participant.raw_id).cloned(),
        };
        if let Some(operation) = reported {
            for &tone in tones {
                call.tone_seq += 1;
                let kind = EventKind::Tone {
                    sequence: call.tone_seq,
                    tone,
                    participant: participant.clone(),
                    context: operation.context.clone(),
                };
                let callback = operation.callback.clone();
                call.emit_to(&mut self.outbox, self.origin, now, kind, callback);
            }
        }
        self.recognize_tones(call_id, &participant.raw_id, tones, now);
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

    /// The call's own view of whether it still exists and is live (GA routes check this before
    /// reading a body).
    pub fn check_live(&self, call_id: &str) -> Result<(), SimError> {
        self.live_call(call_id).map(|_| ())
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
