//! The Call Automation emulator, end to end: the emulator and calltrail both real, on real ports,
//! calltrail on the test PostgreSQL; calls placed through the seed's signed API, callbacks
//! delivered for real, and the outcome read back from calltrail's reporting API.

mod calls;
mod control;
mod errors;
mod faults;
mod ga;
mod ga_errors;
mod ga_incoming;
mod ga_operation_callbacks;
mod sdk;

use std::time::{Duration, Instant};

use calltrail::config::Settings;
use calltrail::emulator::api::hmac::sign;
use calltrail::emulator::api::EmulatorServer;
use calltrail::emulator::config::EmulatorSettings;
use serde_json::{json, Value};

use crate::helpers::{TestApp, SECRET};
use crate::reporting::API_TOKEN;

/// The emulator's settings for tests: a fast clock, short rings, quick retries.
pub fn emulator_settings() -> EmulatorSettings {
    let mut settings = Settings::from_yaml("").expect("defaults").emulator;
    settings.port = 0;
    settings.speed = 20.0;
    settings.ring_seconds = 1.0;
    settings.no_answer_seconds = 5.0;
    settings.audio_seconds = 2.0;
    settings.delivery.max_attempts = 4;
    settings.delivery.retry_initial_ms = 50;
    settings.delivery.retry_max_ms = 200;
    settings
}

pub struct Emu {
    pub address: String,
    pub host: String,
    key: Vec<u8>,
    pub client: reqwest::Client,
}

impl Emu {
    pub fn spawn() -> Emu {
        Self::spawn_with(|_| {})
    }

    pub fn spawn_with(configure: impl FnOnce(&mut EmulatorSettings)) -> Emu {
        let mut settings = emulator_settings();
        configure(&mut settings);
        settings.validate().expect("valid emulator settings");
        let key = base64_decode(&settings.access_key);
        let server = EmulatorServer::build(settings).expect("emulator starts");
        let host = format!("127.0.0.1:{}", server.port());
        tokio::spawn(server.run_until_stopped());
        Emu {
            address: format!("http://{host}"),
            host,
            key,
            client: reqwest::Client::new(),
        }
    }

    /// A request signed as the SDKs sign it.
    pub fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.address))
            .body(body.to_vec());
        for (name, value) in sign(
            &self.key,
            method.as_str(),
            path,
            &self.host,
            body,
            chrono::Utc::now(),
        ) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        request
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).unwrap();
        self.signed(reqwest::Method::POST, path, &bytes)
            .send()
            .await
            .expect("request sent")
    }

    /// Places a call; `headers` are the emulator's per-call choices.
    pub async fn create_call(&self, body: &Value, headers: &[(&str, &str)]) -> String {
        let bytes = serde_json::to_vec(body).unwrap();
        let mut request = self.signed(reqwest::Method::POST, "/calls", &bytes);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON answer");
        assert_eq!(status, 200, "create call: {body}");
        body["callLegId"].as_str().expect("callLegId").to_owned()
    }

    /// An emulator control request (unsigned); must answer 2xx.
    pub async fn control(&self, path: &str, body: &Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            response.text().await.unwrap()
        );
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn call(&self, id: &str) -> Value {
        self.get(&format!("/emulator/calls/{id}")).await
    }

    /// Polls the call's view until `ready` holds (10 s at most).
    pub async fn wait_for(&self, id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let view = self.call(id).await;
            if ready(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "waiting for {what}: {view:#}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until no delivery is pending; returns `/emulator/deliveries`.
    pub async fn settled_deliveries(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.get("/emulator/deliveries").await;
            if all["pending"] == 0
                && all["queued"] == 0
                && all["items"].as_array().is_some_and(|i| !i.is_empty())
            {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "deliveries still pending: {all:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// calltrail accepting all three schemes the way the emulator signs: the test query secret, JWTs
/// under the emulator's key set, and the emulator's Standard Webhooks secret.
pub async fn spawn_calltrail(emu: &Emu) -> TestApp {
    let settings = emulator_settings();
    let jwks_url = format!("{}/calling/keys", emu.address);
    TestApp::spawn_with(|s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        s.auth.jwt.enabled = true;
        s.auth.jwt.audiences = vec![settings.jwt_audience.clone()];
        s.auth.jwt.jwks_url = Some(jwks_url);
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![settings.webhook_secret.clone().into()];
    })
    .await
}

/// The callbackUri for a scheme: the query secret rides in the URI, the others sign.
pub fn callback_uri(app: &TestApp, auth: &str) -> String {
    match auth {
        "query_secret" => app.url(&format!("/api/callbacks?secret={SECRET}")),
        _ => app.url("/api/callbacks"),
    }
}

pub fn create_body(callee: &str, callback_uri: &str) -> Value {
    json!({
        "source": {"communicationUser": {"id": "8:acs:app"}},
        "targets": [{"phoneNumber": {"value": callee.trim_start_matches("4:")}}],
        "subject": "emulator test",
        "callbackUri": callback_uri,
        "requestedModalities": ["audio"],
        "requestedCallEvents": ["participantsUpdated", "dtmfReceived"],
    })
}

/// GET from calltrail's reporting API; must answer 200.
pub async fn report(app: &TestApp, path: &str) -> Value {
    crate::reporting::get_ok(app, path).await
}

/// The call's media operations as calltrail reports them: (operation context, operation, outcome),
/// sorted.
pub async fn media_outcomes(app: &TestApp, call_id: &str) -> Vec<(String, String, String)> {
    let media = report(app, &format!("/api/v1/calls/{call_id}/media")).await;
    let field = |m: &Value, name: &str| m[name].as_str().unwrap_or_default().to_owned();
    let mut ops: Vec<_> = media["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                field(m, "operation_context"),
                field(m, "operation"),
                field(m, "outcome"),
            )
        })
        .collect();
    ops.sort_unstable();
    ops
}

/// Owned triples for comparing with [`media_outcomes`].
pub fn ops(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(c, o, r)| (c.to_string(), o.to_string(), r.to_string()))
        .collect()
}
