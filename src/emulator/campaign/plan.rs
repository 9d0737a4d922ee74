//! What a campaign does: how many calls, how fast, to which receiver, and the callees' behaviour
//! (the scenario file).
//!
//! ```yaml
//! # Callee behaviour, as relative weights (they need not add up to 100).
//! mix:
//!   confirm: 70      # answers, hears the alert, presses 1
//!   voicemail: 10    # answers and stays silent: the recognition times out
//!   no_answer: 10    # rings until no_answer_seconds (480)
//!   busy: 5          # 486
//!   decline: 5       # 603
//! ring_seconds: 2          # until an answer or a decline (busy answers after 1 s)
//! no_answer_seconds: 10
//! message_seconds: 4       # the alert
//! prompt_seconds: 2        # "press 1 to confirm", the recognition's prompt
//! press_after_seconds: 1   # after the prompt, a confirming callee presses 1
//! silence_seconds: 5       # how long the recognition waits for the key after the prompt
//! message: https://alerts.example.org/wildfire.wav
//! prompt: https://alerts.example.org/press-1.wav
//! source: "8:acs:wildfire-alerts"
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::emulator::config::{CallbackAuth, CallbackFormat};

/// A campaign to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub calls: u64,
    /// Calls placed per second.
    pub rate: f64,
    /// Where callbacks go (plain HTTP; a `secret` query parameter rides along).
    pub callback: String,
    pub format: CallbackFormat,
    /// Never `Auto`: resolved for the format.
    pub auth: CallbackAuth,
    /// Keep-alive connections to the receiver: at most this many callbacks in flight.
    pub connections: usize,
    /// How fast the simulated clock runs (60: a minute of call in a second).
    pub speed: f64,
    pub max_attempts: u32,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub timeout: Duration,
    pub scenario: CampaignScenario,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

/// The scenario file (every key optional; the defaults are those above).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignScenario {
    pub mix: Mix,
    pub ring_seconds: f64,
    pub no_answer_seconds: f64,
    pub message_seconds: f64,
    pub prompt_seconds: f64,
    pub press_after_seconds: f64,
    pub silence_seconds: f64,
    pub message: String,
    pub prompt: String,
    pub source: String,
}

/// Relative weights of the callee behaviours.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub confirm: u32,
    pub voicemail: u32,
    pub no_answer: u32,
    pub busy: u32,
    pub decline: u32,
}

/// What one callee does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Behaviour {
    Confirm,
    Voicemail,
    NoAnswer,
    Busy,
    Decline,
}

impl Behaviour {
    pub const ALL: [Behaviour; 5] = [
        Behaviour::Confirm,
        Behaviour::Voicemail,
        Behaviour::NoAnswer,
        Behaviour::Busy,
        Behaviour::Decline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Confirm => "confirm",
            Behaviour::Voicemail => "voicemail",
            Behaviour::NoAnswer => "no_answer",
            Behaviour::Busy => "busy",
            Behaviour::Decline => "decline",
        }
    }

    /// Whether the call connects (the callee answers).
    pub fn connects(self) -> bool {
        matches!(self, Behaviour::Confirm | Behaviour::Voicemail)
    }

    /// The callee's phone number for call `index`: its last digit makes the simulation's own
    /// rule (`sim::rule_for`) answer, or be busy (7), decline (8) or never answer (9).
    pub fn callee(self, index: u64) -> String {
        let last = match self {
            Behaviour::Confirm | Behaviour::Voicemail => index % 7,
            Behaviour::Busy => 7,
            Behaviour::Decline => 8,
            Behaviour::NoAnswer => 9,
        };
        format!("4:+1425{:06}{last}", index % 1_000_000)
    }
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            confirm: 70,
            voicemail: 10,
            no_answer: 10,
            busy: 5,
            decline: 5,
        }
    }
}

impl Default for CampaignScenario {
    fn default() -> CampaignScenario {
        CampaignScenario {
            mix: Mix::default(),
            ring_seconds: 2.0,
            no_answer_seconds: 10.0,
            message_seconds: 4.0,
            prompt_seconds: 2.0,
            press_after_seconds: 1.0,
            silence_seconds: 5.0,
            message: "https://alerts.example.org/wildfire.wav".into(),
            prompt: "https://alerts.example.org/press-1.wav".into(),
            source: "8:acs:wildfire-alerts".into(),
        }
    }
}

impl Mix {
    fn weight(&self, b: Behaviour) -> u32 {
        match b {
            Behaviour::Confirm => self.confirm,
            Behaviour::Voicemail => self.voicemail,
            Behaviour::NoAnswer => self.no_answer,
            Behaviour::Busy => self.busy,
            Behaviour::Decline => self.decline,
        }
    }

    /// One cycle of behaviours, as long as the weights' sum, each behaviour as often as its
    /// weight and spread evenly (smooth weighted round robin): call `i` behaves as
    /// `cycle[i % len]`, so any stretch of calls has about the mix's proportions and a campaign
    /// of whole cycles has them exactly.
    pub fn cycle(&self) -> Vec<Behaviour> {
        let weights: Vec<(Behaviour, i64)> = Behaviour::ALL
            .iter()
            .map(|&b| (b, i64::from(self.weight(b))))
            .filter(|&(_, w)| w > 0)
            .collect();
        let total: i64 = weights.iter().map(|&(_, w)| w).sum();
        let mut current = vec![0i64; weights.len()];
        let mut cycle = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for _ in 0..total {
            for (c, &(_, w)) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let (pick, _) = current
                .iter()
                .enumerate()
                .max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i)))
                .expect("the check keeps one weight above 0");
            current[pick] -= total;
            cycle.push(weights[pick].0);
        }
        cycle
    }
}

impl CampaignScenario {
    /// Parses and checks a scenario file's text.
    pub fn from_yaml(text: &str) -> Result<CampaignScenario, String> {
        let scenario: CampaignScenario = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        scenario.check()?;
        Ok(scenario)
    }

    pub fn check(&self) -> Result<(), String> {
        if Behaviour::ALL.iter().all(|&b| self.mix.weight(b) == 0) {
            return Err("mix: at least one behaviour needs a weight above 0".into());
        }
        for (key, value) in [
            ("ring_seconds", self.ring_seconds),
            ("no_answer_seconds", self.no_answer_seconds),
            ("message_seconds", self.message_seconds),
            ("prompt_seconds", self.prompt_seconds),
            ("press_after_seconds", self.press_after_seconds),
            ("silence_seconds", self.silence_seconds),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(format!("{key}: must be zero or more seconds"));
            }
        }
        if self.press_after_seconds >= self.silence_seconds {
            return Err(
                "press_after_seconds: must be below silence_seconds, or nobody confirms".into(),
            );
        }
        for (key, uri) in [("message", &self.message), ("prompt", &self.prompt)] {
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(format!("{key}: must be an http(s) URI (the audio to play)"));
            }
        }
        if self.message == self.prompt {
            return Err("prompt: must differ from message (each has its own length)".into());
        }
        if !self.source.contains(':') {
            return Err("source: must be a raw id such as 8:acs:…".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_the_mix_cycles_by_weight() {
        let doc = include_str!("plan.rs");
        let yaml: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```yaml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.strip_prefix("//! ").unwrap_or("").to_owned() + "\n")
            .collect();
        let scenario = CampaignScenario::from_yaml(&yaml).unwrap();
        assert_eq!(scenario, CampaignScenario::default());
        let cycle = scenario.mix.cycle();
        assert_eq!(cycle.len(), 100);
        let count = |b| cycle.iter().filter(|&&c| c == b).count();
        assert_eq!(
            Behaviour::ALL.map(count),
            [70, 10, 10, 5, 5],
            "confirm, voicemail, no answer, busy, decline"
        );
        // Spread out: no ten calls in a row without a failure of some kind.
        assert!(cycle.windows(10).all(|w| w.iter().any(|b| !b.connects())));
    }

    #[test]
    fn callee_numbers_make_the_simulation_behave_as_chosen() {
        use crate::emulator::sim::rule_for;
        use crate::emulator::sim::scenario::Answer;
        for index in [0, 6, 7, 123_456_789] {
            assert_eq!(rule_for(&Behaviour::Confirm.callee(index)), Answer::Answer);
            assert_eq!(
                rule_for(&Behaviour::Voicemail.callee(index)),
                Answer::Answer
            );
            assert_eq!(rule_for(&Behaviour::Busy.callee(index)), Answer::Busy);
            assert_eq!(rule_for(&Behaviour::Decline.callee(index)), Answer::Decline);
            assert_eq!(
                rule_for(&Behaviour::NoAnswer.callee(index)),
                Answer::NoAnswer
            );
        }
        assert_ne!(Behaviour::Confirm.callee(1), Behaviour::Confirm.callee(2));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            (
                "mix: {confirm: 0, voicemail: 0, no_answer: 0, busy: 0, decline: 0}",
                "mix",
            ),
            ("mix: {maybe: 3}", "unknown field"),
            ("ring_seconds: -1", "ring_seconds"),
            ("press_after_seconds: 9", "press_after_seconds"),
            ("source: nobody", "source"),
            ("prompt: press-1.wav", "prompt"),
            ("prompt: https://alerts.example.org/wildfire.wav", "differ"),
            ("colour: red", "unknown field"),
        ] {
            let err = CampaignScenario::from_yaml(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
