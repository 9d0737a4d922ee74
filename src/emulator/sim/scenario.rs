//! Scenario files: YAML that scripts the callees of a call (how each answers, then what it does)
//! and, optionally, how that call's callbacks are delivered.
//!
//! ```yaml
//! name: reminder
//! callback_format: b          # optional: a1 | a2 | b
//! callback_auth: jwt          # optional: auto | query_secret | jwt | webhook_signature
//! audio:                      # optional: simulated length (seconds) or `unreachable`, per URI
//!   "https://example.org/reminder.wav": 8
//! callees:
//!   - id: "4:+14255550123"
//!     answer: answer          # answer | decline | busy | no_answer | manual
//!     after_seconds: 3
//!     script:                 # seconds after this callee joined
//!       - { at_seconds: 10, dtmf: "1" }
//!       - { at_seconds: 12, mute: true }
//!       - { at_seconds: 30, hang_up: true }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::emulator::config::{CallbackAuth, CallbackFormat, Faults};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub callback_format: Option<CallbackFormat>,
    #[serde(default)]
    pub callback_auth: Option<CallbackAuth>,
    #[serde(default)]
    pub faults: Option<Faults>,
    #[serde(default)]
    pub audio: BTreeMap<String, AudioFile>,
    #[serde(default)]
    pub callees: Vec<Callee>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AudioFile {
    Seconds(f64),
    Unreachable(Unreachable),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callee {
    /// The raw id (`4:+14255550123`, `8:acs:…`).
    pub id: String,
    #[serde(default)]
    pub answer: Option<Answer>,
    /// When the answer (or decline, or busy signal) comes; default `emulator.ring_seconds`.
    #[serde(default)]
    pub after_seconds: Option<f64>,
    #[serde(default)]
    pub script: Vec<Step>,
}

/// What a rung target does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Answer,
    Decline,
    Busy,
    NoAnswer,
    /// Rings until `POST /emulator/calls/{id}/answer` or `/decline` (or the no-answer timeout).
    Manual,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_seconds: f64,
    /// Keys pressed, one after another (`"1"`, `"12#"`, `"*"`).
    #[serde(default)]
    pub dtmf: Option<String>,
    #[serde(default)]
    pub mute: Option<bool>,
    /// The callee hangs up.
    #[serde(default)]
    pub hang_up: bool,
}

impl Scenario {
    /// Parses and checks a scenario file's text.
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        scenario.check()?;
        Ok(scenario)
    }

    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name: must not be empty".into());
        }
        if let Some(faults) = &self.faults {
            faults.validate()?;
        }
        for (uri, audio) in &self.audio {
            if let AudioFile::Seconds(s) = audio {
                if !(*s >= 0.0 && s.is_finite()) {
                    return Err(format!("audio.{uri}: must be zero or more seconds"));
                }
            }
        }
        for (i, callee) in self.callees.iter().enumerate() {
            if callee.id.trim().is_empty() {
                return Err(format!("callees[{i}].id: must not be empty"));
            }
            if callee
                .after_seconds
                .is_some_and(|s| !(s >= 0.0 && s.is_finite()))
            {
                return Err(format!("callees[{i}].after_seconds: must be zero or more"));
            }
            for (j, step) in callee.script.iter().enumerate() {
                let at = format!("callees[{i}].script[{j}]");
                if !(step.at_seconds >= 0.0 && step.at_seconds.is_finite()) {
                    return Err(format!("{at}.at_seconds: must be zero or more"));
                }
                let actions = usize::from(step.dtmf.is_some())
                    + usize::from(step.mute.is_some())
                    + usize::from(step.hang_up);
                if actions != 1 {
                    return Err(format!("{at}: needs exactly one of dtmf, mute, hang_up"));
                }
                if let Some(tones) = &step.dtmf {
                    if tones.is_empty() || tones.chars().any(|c| tone_of(c).is_none()) {
                        return Err(format!("{at}.dtmf: keys are 0-9, *, #, A-D"));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn callee(&self, raw_id: &str) -> Option<&Callee> {
        self.callees.iter().find(|c| c.id == raw_id)
    }
}

/// A key as written in a script or a control request, in the canonical alphabet.
pub fn tone_of(c: char) -> Option<char> {
    match c.to_ascii_uppercase() {
        k @ ('0'..='9' | '*' | '#' | 'A'..='D') => Some(k),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
name: reminder
callback_format: b
callback_auth: jwt
audio:
  "https://example.org/reminder.wav": 8
  "https://example.org/missing.wav": unreachable
callees:
  - id: "4:+14255550123"
    answer: answer
    after_seconds: 3
    script:
      - { at_seconds: 10, dtmf: "1" }
      - { at_seconds: 12, mute: true }
      - { at_seconds: 30, hang_up: true }
"#;
        let s = Scenario::from_yaml(text).unwrap();
        assert_eq!(s.callback_format, Some(CallbackFormat::B));
        assert_eq!(
            s.audio["https://example.org/missing.wav"],
            AudioFile::Unreachable(Unreachable::Unreachable)
        );
        assert_eq!(s.callee("4:+14255550123").unwrap().script.len(), 3);
    }

    #[test]
    fn mistakes_are_named() {
        let bad = [
            (
                "name: x\ncallees: [{id: a, script: [{at_seconds: 1}]}]",
                "exactly one",
            ),
            (
                "name: x\ncallees: [{id: a, script: [{at_seconds: 1, dtmf: 'x'}]}]",
                "dtmf",
            ),
            ("name: x\nwhat: 1", "unknown field"),
            (
                "name: x\ncallees: [{id: a, answer: maybe}]",
                "unknown variant",
            ),
        ];
        for (text, needle) in bad {
            let err = Scenario::from_yaml(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
