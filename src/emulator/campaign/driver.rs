//! The campaign's application and its callees, on the emulator's simulation core: one task owns a
//! [`Simulator`] (no lock: nothing else touches it), places calls on schedule, fires the
//! simulation's timers and its own (a callee pressing 1, the application giving up), reacts to
//! what happened as the alerting application would, and hands each event, rendered in the
//! campaign's callback format, to the senders.
//!
//! Each call: the callee rings; if it answers, the call connects (a participant snapshot), the
//! alert plays, then a DTMF recognition with the prompt "press 1 to confirm" listens for one key
//! for `silence_seconds`; the application hangs up when the recognition ends, with the 1 or
//! without it. A callee that is busy, declines or never answers fails the call.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::emulator::campaign::plan::{Behaviour, Plan};
use crate::emulator::campaign::sender::Job;
use crate::emulator::campaign::stats::Counters;
use crate::emulator::config::CallbackFormat;
use crate::emulator::delivery::format;
use crate::emulator::sim::clock::{SimClock, SimTime};
use crate::emulator::sim::model::{
    CallState, EventKind, Identifier, PlayStage, RecognizeStage, SimEvent,
};
use crate::emulator::sim::scenario::{AudioFile, Scenario};
use crate::emulator::sim::{
    NewCall, PlayRequest, PlaySource, RecognizeRequest, SimConfig, Simulator, ToneReports,
};

/// The operation contexts of the alert and of the confirmation (the application's state, as real
/// applications use them).
const ALERT_CONTEXT: &str = "wildfire-alert";
const CONFIRM_CONTEXT: &str = "wildfire-confirm";

/// The longest the driver sleeps, so that it notices a change of plan promptly.
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// What the driver counted, beyond the shared counters.
#[derive(Debug, Default)]
pub struct Tally {
    pub behaviours: HashMap<Behaviour, u64>,
    pub connected: u64,
    pub confirmed: u64,
    /// When the last call was placed, from the start.
    pub placing: Duration,
}

/// A call in progress, as the application knows it.
struct Live {
    index: u64,
    behaviour: Behaviour,
    callee: String,
    connected: bool,
}

/// What a callee does by itself at a simulated moment: press 1.
struct Press {
    call_id: String,
}

pub struct Driver<'a> {
    plan: &'a Plan,
    sim: Simulator,
    clock: SimClock,
    live: HashMap<String, Live>,
    actions: BTreeMap<(SimTime, u64), Press>,
    /// The lengths of the alert and the prompt, for every call.
    audio: Arc<Scenario>,
    next_action: u64,
    cycle: Vec<Behaviour>,
    queues: &'a [tokio::sync::mpsc::Sender<Job>],
    counters: Arc<Counters>,
    next_job: u64,
    pub tally: Tally,
}

impl<'a> Driver<'a> {
    pub fn new(
        plan: &'a Plan,
        queues: &'a [tokio::sync::mpsc::Sender<Job>],
        counters: Arc<Counters>,
    ) -> Driver<'a> {
        let secs = Duration::from_secs_f64;
        let clock = SimClock::start(plan.speed);
        let scenario = &plan.scenario;
        let sim = Simulator::new(
            SimConfig {
                ring: secs(scenario.ring_seconds),
                no_answer: secs(scenario.no_answer_seconds),
                audio: secs(scenario.message_seconds),
                // Ended calls are of no further use to the campaign: forget them at once.
                calls_kept: 1,
            },
            clock.wall_origin(),
        );
        let seconds = |s: f64| AudioFile::Seconds(s);
        let audio = Arc::new(Scenario {
            name: "campaign".into(),
            callback_format: None,
            callback_auth: None,
            faults: None,
            audio: [
                (scenario.message.clone(), seconds(scenario.message_seconds)),
                (scenario.prompt.clone(), seconds(scenario.prompt_seconds)),
            ]
            .into_iter()
            .collect(),
            callees: Vec::new(),
        });
        Driver {
            plan,
            sim,
            audio,
            clock,
            live: HashMap::new(),
            actions: BTreeMap::new(),
            next_action: 0,
            cycle: scenario.mix.cycle(),
            queues,
            counters,
            next_job: 0,
            tally: Tally::default(),
        }
    }

    /// Places every call on schedule and runs until the last one has ended.
    pub async fn run(&mut self) {
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / self.plan.rate);
        let mut placed = 0u64;
        loop {
            while placed < self.plan.calls
                && start + interval.mul_f64(placed as f64) <= Instant::now()
            {
                self.place(placed);
                placed += 1;
                if placed == self.plan.calls {
                    self.tally.placing = start.elapsed();
                }
            }
            let now = self.clock.now();
            self.sim.advance(now);
            while let Some(entry) = self.actions.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let press = entry.remove();
                self.press(press, now);
            }
            self.flush(now).await;
            let open = self.live.len() as u64;
            self.counters
                .open
                .store(open, std::sync::atomic::Ordering::Relaxed);
            self.counters
                .peak_open
                .fetch_max(open, std::sync::atomic::Ordering::Relaxed);
            if placed == self.plan.calls && self.live.is_empty() {
                return;
            }
            // Sleep until the next call is due, or the next timer of either kind.
            let mut wake = Instant::now() + MAX_SLEEP;
            if placed < self.plan.calls {
                wake = wake.min(start + interval.mul_f64(placed as f64));
            }
            let next_sim = self.sim.next_deadline();
            let next_own = self.actions.first_key_value().map(|((at, _), _)| *at);
            for at in [next_sim, next_own].into_iter().flatten() {
                wake = wake.min(Instant::now() + self.clock.real_until(at));
            }
            tokio::time::sleep_until(wake.into()).await;
        }
    }

    fn place(&mut self, index: u64) {
        let behaviour = self.cycle[(index % self.cycle.len() as u64) as usize];
        let callee = behaviour.callee(index);
        let new = NewCall {
            source: Identifier::from_raw_id(&self.plan.scenario.source),
            targets: vec![Identifier::from_raw_id(&callee)],
            subject: Some("Wildfire alert".into()),
            scenario: Some(self.audio.clone()),
            context: None,
            // A GA call: keys go to the recognition, not to tone events.
            tones: ToneReports::WhenRecognizing,
        };
        let now = self.clock.now();
        let call_id = self
            .sim
            .create_call(new, now)
            .expect("a call with one target is always placed");
        *self.tally.behaviours.entry(behaviour).or_default() += 1;
        Counters::add(&self.counters.placed, 1);
        self.live.insert(
            call_id,
            Live {
                index,
                behaviour,
                callee,
                connected: false,
            },
        );
    }

    fn press(&mut self, press: Press, now: SimTime) {
        if let Some(live) = self.live.get(&press.call_id) {
            let callee = live.callee.clone();
            // The call may have ended meanwhile: nothing to press then.
            let _ = self.sim.press(&press.call_id, &callee, &['1'], now);
        }
    }

    fn schedule(&mut self, at: SimTime, press: Press) {
        self.next_action += 1;
        self.actions.insert((at, self.next_action), press);
    }

    /// Sends what the simulation produced and reacts to it, until a reaction produces nothing
    /// more.
    async fn flush(&mut self, now: SimTime) {
        loop {
            let events = self.sim.drain();
            if events.is_empty() {
                return;
            }
            for event in events {
                self.send(&event).await;
                self.react(event, now);
            }
        }
    }

    /// What the alerting application does on each event.
    fn react(&mut self, event: SimEvent, now: SimTime) {
        let call_id = event.call_id;
        let Some(live) = self.live.get_mut(&call_id) else {
            return;
        };
        match event.kind {
            EventKind::CallState {
                state: CallState::Established,
                ..
            } => {
                live.connected = true;
                self.tally.connected += 1;
                let play = PlayRequest {
                    sources: vec![PlaySource::File(self.plan.scenario.message.clone())],
                    looped: false,
                    context: Some(ALERT_CONTEXT.into()),
                    callback: None,
                    interrupt: false,
                };
                // Established a moment ago, so the play is accepted.
                let _ = self.sim.play(&call_id, play, now);
            }
            EventKind::Play {
                stage: PlayStage::Completed,
                ..
            } => {
                let scenario = &self.plan.scenario;
                let recognize = RecognizeRequest {
                    target: live.callee.clone(),
                    prompt: vec![PlaySource::File(scenario.prompt.clone())],
                    max_tones: 1,
                    stop_tones: Vec::new(),
                    initial_silence: Duration::from_secs_f64(scenario.silence_seconds),
                    inter_tone: Duration::from_secs_f64(scenario.silence_seconds),
                    context: Some(CONFIRM_CONTEXT.into()),
                    callback: None,
                    interrupt: false,
                };
                let press = (live.behaviour == Behaviour::Confirm).then(|| {
                    now + Duration::from_secs_f64(
                        scenario.prompt_seconds + scenario.press_after_seconds,
                    )
                });
                // The call is established and nothing else recognizes: the request is accepted.
                let _ = self.sim.recognize(&call_id, recognize, now);
                if let Some(at) = press {
                    self.schedule(at, Press { call_id });
                }
            }
            EventKind::Recognize { stage, tones, .. } => {
                if stage == RecognizeStage::Completed && tones == ['1'] {
                    self.tally.confirmed += 1;
                }
                let _ = self.sim.hang_up(&call_id, now);
            }
            EventKind::CallState {
                state: CallState::Terminated,
                ..
            } => {
                debug_assert!(live.connected == live.behaviour.connects());
                self.live.remove(&call_id);
                Counters::add(&self.counters.ended, 1);
            }
            _ => {}
        }
    }

    /// Renders the event in the campaign's format and queues it to its call's sender (waiting for
    /// room: a receiver slower than the campaign slows the campaign, not its memory).
    async fn send(&mut self, event: &SimEvent) {
        let Some(live) = self.live.get(&event.call_id) else {
            return;
        };
        let Some(rendered) = format::render(event, self.plan.format) else {
            return;
        };
        let body = match self.plan.format {
            CallbackFormat::B => serde_json::to_vec(&[&rendered.body]),
            CallbackFormat::A1 | CallbackFormat::A2 => serde_json::to_vec(&rendered.body),
        }
        .expect("JSON values serialise");
        self.next_job += 1;
        let job = Job {
            body,
            seq: self.next_job,
            attempt: 1,
        };
        let queue = &self.queues[(live.index % self.queues.len() as u64) as usize];
        Counters::add(&self.counters.queued, 1);
        // The campaign keeps its senders' queues open until it ends.
        let _ = queue.send(job).await;
    }
}
