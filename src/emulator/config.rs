//! The `emulator:` section of the configuration (documented key by key in `config/base.yaml`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorSettings {
    pub host: String,
    pub port: u16,
    pub access_key: String,
    pub speed: f64,
    pub callback_format: CallbackFormat,
    pub callback_auth: CallbackAuth,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_signing_key_file: Option<String>,
    pub webhook_secret: String,
    pub ring_seconds: f64,
    pub no_answer_seconds: f64,
    pub audio_seconds: f64,
    pub calls_kept: usize,
    pub scenario_files: Vec<String>,
    /// Where `POST /emulator/incoming` sends Event Grid `IncomingCall` events.
    #[serde(default)]
    pub event_grid_endpoint: Option<String>,
    pub delivery: DeliverySettings,
    pub faults: Faults,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub max_attempts: u32,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    pub timeout_ms: u64,
    pub history: usize,
}

/// Faults injected into deliveries, globally or for the calls of one scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub duplicate_probability: f64,
    pub reorder_window: usize,
    pub delay_ms: u64,
    pub jitter_ms: u64,
    pub drop_first_attempt: bool,
    pub batch_size: usize,
    pub bad_signature_probability: f64,
    /// How a wrongly signed JWT delivery is wrong.
    pub jwt_fault: JwtFault,
    pub sequence_gap_probability: f64,
    pub snapshot_repeat_probability: f64,
    pub seed: u64,
}

/// What is wrong with a JWT sent by the wrong-signature fault (real applications have failed to
/// check each of these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JwtFault {
    /// Signed over other claims.
    #[default]
    Signature,
    Expired,
    WrongIssuer,
    WrongAudience,
    /// No Authorization header at all.
    Missing,
}

/// The three callback wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackFormat {
    /// The seed's private preview: one Event Grid-like object, PascalCase data.
    A1,
    /// The public preview: one CloudEvent, camelCase data.
    A2,
    /// GA: a JSON array of CloudEvents.
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackAuth {
    /// What the real service of the format's era does: nothing added for A1 and A2, a JWT for B.
    Auto,
    /// Nothing added: the secret rides in the callbackUri's query string.
    QuerySecret,
    Jwt,
    WebhookSignature,
}

impl CallbackAuth {
    /// `auto` resolved for a format.
    pub fn resolve(self, format: CallbackFormat) -> CallbackAuth {
        match (self, format) {
            (CallbackAuth::Auto, CallbackFormat::B) => CallbackAuth::Jwt,
            (CallbackAuth::Auto, _) => CallbackAuth::QuerySecret,
            (chosen, _) => chosen,
        }
    }
}

impl EmulatorSettings {
    /// Checks what serde cannot; each message names its key.
    pub fn validate(&self) -> Result<(), String> {
        use base64::Engine;
        let fail = |key: &str, why: &str| Err(format!("emulator.{key}: {why}"));
        match base64::engine::general_purpose::STANDARD.decode(&self.access_key) {
            Ok(key) if !key.is_empty() => {}
            _ => return fail("access_key", "must be non-empty base64"),
        }
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            return fail("speed", "must be a positive number");
        }
        for (key, value) in [
            ("ring_seconds", self.ring_seconds),
            ("no_answer_seconds", self.no_answer_seconds),
            ("audio_seconds", self.audio_seconds),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return fail(key, "must be zero or more seconds");
            }
        }
        if !self.webhook_secret.starts_with("whsec_") {
            return fail("webhook_secret", "must start with whsec_");
        }
        if self.delivery.max_attempts == 0 {
            return fail("delivery.max_attempts", "must be at least 1");
        }
        if self.delivery.timeout_ms == 0 {
            return fail("delivery.timeout_ms", "must be at least 1");
        }
        self.faults.validate().map_err(|e| format!("emulator.{e}"))
    }
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (key, p) in [
            ("duplicate_probability", self.duplicate_probability),
            ("bad_signature_probability", self.bad_signature_probability),
            ("sequence_gap_probability", self.sequence_gap_probability),
            (
                "snapshot_repeat_probability",
                self.snapshot_repeat_probability,
            ),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("faults.{key}: must be between 0 and 1"));
            }
        }
        Ok(())
    }
}
