//! Owns the simulation and its clock: every command runs with the simulation locked, after the
//! timers due by then have fired, and hands the events it produced to the delivery engine; a task
//! fires timers as they fall due.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::emulator::config::{CallbackAuth, CallbackFormat, EmulatorSettings};
use crate::emulator::delivery::sign::JwtSigner;
use crate::emulator::delivery::{Delivery, Profile};
use crate::emulator::sim::clock::{SimClock, SimTime};
use crate::emulator::sim::scenario::Scenario;
use crate::emulator::sim::{Answered, NewCall, SimConfig, SimError, Simulator};

pub struct Emulator {
    sim: Mutex<Simulator>,
    clock: SimClock,
    delivery: Delivery,
    wake: Notify,
    scenarios: RwLock<BTreeMap<String, Arc<Scenario>>>,
    pub settings: EmulatorSettings,
}

/// Per-call choices a request may make (headers of `POST /calls`).
#[derive(Debug, Default)]
pub struct CallChoices {
    pub scenario: Option<String>,
    pub format: Option<CallbackFormat>,
    pub auth: Option<CallbackAuth>,
    /// The format when neither the request nor a scenario chooses one (the route's era: GA
    /// routes give their calls format B); `None`: `emulator.callback_format`.
    pub default_format: Option<CallbackFormat>,
}

impl Emulator {
    /// Loads the signing key and the scenario files, and starts the timer task on `runtime`.
    pub fn start(settings: EmulatorSettings, runtime: Handle) -> anyhow::Result<Arc<Emulator>> {
        let pem = match &settings.jwt_signing_key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("emulator.jwt_signing_key_file: {path}: {e}"))?,
            ),
            None => None,
        };
        let jwt = JwtSigner::new(pem.as_deref(), &settings.jwt_issuer, &settings.jwt_audience)
            .map_err(|e| anyhow::anyhow!("emulator.jwt_signing_key_file: {e}"))?;
        let mut scenarios = BTreeMap::new();
        for path in &settings.scenario_files {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("emulator.scenario_files: {path}: {e}"))?;
            let scenario = Scenario::from_yaml(&text)
                .map_err(|e| anyhow::anyhow!("emulator.scenario_files: {path}: {e}"))?;
            scenarios.insert(scenario.name.clone(), Arc::new(scenario));
        }
        let clock = SimClock::start(settings.speed);
        let secs = Duration::from_secs_f64;
        let sim = Simulator::new(
            SimConfig {
                ring: secs(settings.ring_seconds),
                no_answer: secs(settings.no_answer_seconds),
                audio: secs(settings.audio_seconds),
                calls_kept: settings.calls_kept,
            },
            clock.wall_origin(),
        );
        let delivery = Delivery::new(
            settings.delivery.clone(),
            jwt,
            settings.webhook_secret.clone(),
            settings.faults.seed,
            runtime.clone(),
        );
        let emulator = Arc::new(Emulator {
            sim: Mutex::new(sim),
            clock,
            delivery,
            wake: Notify::new(),
            scenarios: RwLock::new(scenarios),
            settings,
        });
        runtime.spawn(fire_timers(Arc::downgrade(&emulator)));
        Ok(emulator)
    }

    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// Runs `command` on the simulation at the current simulated time and delivers what it
    /// produced.
    pub fn run<R>(&self, command: impl FnOnce(&mut Simulator, SimTime) -> R) -> R {
        let result = self.step(command);
        // A command may have set an earlier timer than the one the timer task sleeps for.
        self.wake.notify_one();
        result
    }

    fn step<R>(&self, command: impl FnOnce(&mut Simulator, SimTime) -> R) -> R {
        let mut sim = self.sim.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        sim.advance(now);
        let result = command(&mut sim, now);
        self.delivery.dispatch(sim.drain());
        result
    }

    /// Places a call whose callbacks go to `callback_uri`, delivered as `choices` and its scenario
    /// say, else as configured.
    pub fn place_call(
        &self,
        mut new: NewCall,
        callback_uri: String,
        choices: CallChoices,
    ) -> Result<String, SimError> {
        let scenario = self.scenario_for(choices.scenario.as_deref(), &new)?;
        let profile = self.profile(callback_uri, &choices, scenario.as_deref());
        new.scenario = scenario;
        self.run(|sim, now| {
            let id = sim.create_call(new, now)?;
            // Before the call's first events are dispatched, when `run` returns.
            self.delivery.register(&id, profile);
            Ok(id)
        })
    }

    /// Connects an incoming call the application answered; its callbacks go to `callback_uri`.
    pub fn answer_incoming(
        &self,
        answered: Answered,
        callback_uri: String,
        choices: CallChoices,
    ) -> Result<String, SimError> {
        let scenario = match choices.scenario.as_deref() {
            Some(name) => Some(self.named_scenario(name)?),
            None => None,
        };
        let profile = self.profile(callback_uri, &choices, scenario.as_deref());
        Ok(self.run(|sim, now| {
            let id = sim.answer_incoming(answered, now);
            // The events of the answer are still in the outbox: registered before they are
            // dispatched.
            self.delivery.register(&id, profile);
            id
        }))
    }

    /// How a call's callbacks are delivered: the request's choices, else its scenario's, else the
    /// route's default format, else the configuration.
    fn profile(
        &self,
        callback_uri: String,
        choices: &CallChoices,
        scenario: Option<&Scenario>,
    ) -> Profile {
        let format = choices
            .format
            .or(scenario.and_then(|s| s.callback_format))
            .or(choices.default_format)
            .unwrap_or(self.settings.callback_format);
        let auth = choices
            .auth
            .or(scenario.and_then(|s| s.callback_auth))
            .unwrap_or(self.settings.callback_auth)
            .resolve(format);
        let faults = scenario
            .and_then(|s| s.faults.clone())
            .unwrap_or_else(|| self.settings.faults.clone());
        Profile {
            callback_uri,
            format,
            auth,
            faults,
        }
    }

    /// The named scenario, else the first one (by name) that scripts one of the call's targets.
    fn scenario_for(
        &self,
        name: Option<&str>,
        new: &NewCall,
    ) -> Result<Option<Arc<Scenario>>, SimError> {
        if let Some(name) = name {
            return self.named_scenario(name).map(Some);
        }
        let scenarios = self.scenarios.read().unwrap_or_else(|e| e.into_inner());
        Ok(scenarios
            .values()
            .find(|s| new.targets.iter().any(|t| s.callee(&t.raw_id).is_some()))
            .cloned())
    }

    fn named_scenario(&self, name: &str) -> Result<Arc<Scenario>, SimError> {
        let scenarios = self.scenarios.read().unwrap_or_else(|e| e.into_inner());
        scenarios
            .get(name)
            .cloned()
            .ok_or_else(|| SimError::Invalid(format!("no scenario is named {name}")))
    }

    pub fn add_scenario(&self, scenario: Scenario) {
        self.scenarios
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(scenario.name.clone(), Arc::new(scenario));
    }

    pub fn scenarios(&self) -> Vec<Arc<Scenario>> {
        let scenarios = self.scenarios.read().unwrap_or_else(|e| e.into_inner());
        scenarios.values().cloned().collect()
    }
}

/// Sleeps until the next timer is due (or a command changed the timers), then fires what is due.
/// Ends once nothing else holds the emulator (it holds it only while it waits, a second at most).
async fn fire_timers(emulator: std::sync::Weak<Emulator>) {
    loop {
        let Some(em) = emulator.upgrade() else {
            return;
        };
        let next = em
            .sim
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_deadline();
        // Wake now and then even with nothing scheduled, to notice the emulator is gone.
        let wait = next.map_or(Duration::from_secs(1), |at| {
            em.clock.real_until(at).min(Duration::from_secs(1))
        });
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = em.wake.notified() => {}
        }
        em.step(|_, _| ());
    }
}
