//! The callback delivery engine: each simulated event is rendered in its call's format, signed the
//! call's way and POSTed to the call's callbackUri, or to the `operationCallbackUri` of the
//! operation whose event it is when that operation gave one; an attempt without a 2xx answer is
//! retried with exponential backoff, and after the last attempt the delivery is recorded as
//! dropped.
//!
//! One task per call sends that call's deliveries in order (unless a fault reorders them), so a
//! receiver sees the order the simulation produced, whichever URLs they go to; a delivery whose
//! first attempt fails is retried by a task of its own, so one failing delivery does not hold the
//! call's later ones back. A batch (format B) holds events for one URL only.

pub mod event_grid;
pub mod format;
pub mod records;
mod rng;
pub mod sign;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::emulator::config::{CallbackAuth, CallbackFormat, DeliverySettings, Faults, JwtFault};
use crate::emulator::delivery::format::Rendered;
use crate::emulator::delivery::records::{redact, Attempt, DeliveryRecord, DeliveryState, Records};
use crate::emulator::delivery::rng::Rng;
use crate::emulator::delivery::sign::JwtSigner;
use crate::emulator::sim::model::{CallState, EventKind, SimEvent};

/// How long a call's task waits for the rest of a burst of events when a fault reorders or
/// batches them (real time).
const GATHER_WAIT: Duration = Duration::from_millis(30);

/// How one call's callbacks are delivered.
#[derive(Debug, Clone)]
pub struct Profile {
    pub callback_uri: String,
    pub format: CallbackFormat,
    /// Never `Auto`: resolved for the format when the call is placed.
    pub auth: CallbackAuth,
    pub faults: Faults,
}

#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    settings: DeliverySettings,
    jwt: JwtSigner,
    webhook_secret: String,
    runtime: Handle,
    records: Mutex<Records>,
    /// Events handed to a call's task and not yet in a delivery record.
    queued: AtomicUsize,
    queues: Mutex<HashMap<String, Queue>>,
    rng: Mutex<Rng>,
}

struct Queue {
    profile: Arc<Profile>,
    tx: mpsc::UnboundedSender<Rendered>,
}

/// One POST body ready to send.
struct Outgoing {
    call_id: String,
    profile: Arc<Profile>,
    /// The operation's callback URI when the body's events go there; `None`: the call's.
    destination: Option<Arc<str>>,
    body: Vec<u8>,
    record: u64,
}

impl Profile {
    /// Where a delivery goes: its operation's callback URI when it has one, else the call's.
    fn url<'a>(&'a self, destination: Option<&'a str>) -> &'a str {
        destination.unwrap_or(&self.callback_uri)
    }
}

impl Outgoing {
    fn url(&self) -> &str {
        self.profile.url(self.destination.as_deref())
    }
}

impl Delivery {
    /// Tasks are spawned on `runtime`, which must outlive the emulator.
    pub fn new(
        settings: DeliverySettings,
        jwt: JwtSigner,
        webhook_secret: String,
        seed: u64,
        runtime: Handle,
    ) -> Delivery {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .expect("an HTTP client with a timeout builds");
        Delivery {
            inner: Arc::new(Inner {
                client,
                records: Mutex::new(Records::new(settings.history)),
                settings,
                jwt,
                webhook_secret,
                runtime,
                queued: AtomicUsize::new(0),
                queues: Mutex::new(HashMap::new()),
                rng: Mutex::new(Rng::new(seed)),
            }),
        }
    }

    pub fn jwt(&self) -> &JwtSigner {
        &self.inner.jwt
    }

    /// Starts the call's delivery task. Must come before the call's first events are dispatched.
    pub fn register(&self, call_id: &str, profile: Profile) {
        let (tx, rx) = mpsc::unbounded_channel();
        let profile = Arc::new(profile);
        self.inner.runtime.spawn(call_task(
            self.inner.clone(),
            call_id.to_owned(),
            profile.clone(),
            rx,
        ));
        lock(&self.inner.queues).insert(call_id.to_owned(), Queue { profile, tx });
    }

    /// Hands events to their calls' tasks, in order. Called with the simulation locked, so that
    /// the order of two commands' events is the order of the commands.
    pub fn dispatch(&self, events: Vec<SimEvent>) {
        let mut queues = lock(&self.inner.queues);
        for event in events {
            let Some(queue) = queues.get(&event.call_id) else {
                continue;
            };
            if let Some(rendered) = format::render(&event, queue.profile.format) {
                self.inner.queued.fetch_add(1, Ordering::SeqCst);
                // The task ends only when its sender is dropped, so this cannot fail.
                let _ = queue.tx.send(rendered);
            }
            // Nothing follows a call's end: dropping the sender lets its task finish.
            if let EventKind::CallState {
                state: CallState::Terminated,
                ..
            } = event.kind
            {
                queues.remove(&event.call_id);
            }
        }
    }

    /// Events waiting to become deliveries (held back by a delay or a batching window).
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::SeqCst)
    }

    /// Deliveries, oldest first, optionally of one call only.
    pub fn records(&self, call_id: Option<&str>) -> Vec<DeliveryRecord> {
        lock(&self.inner.records)
            .iter()
            .filter(|r| call_id.map_or(true, |c| r.call_id == c))
            .cloned()
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (each update is one step).
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

async fn call_task(
    inner: Arc<Inner>,
    call_id: String,
    profile: Arc<Profile>,
    mut rx: mpsc::UnboundedReceiver<Rendered>,
) {
    let faults = &profile.faults;
    let batch = if profile.format == CallbackFormat::B {
        faults.batch_size.max(1)
    } else {
        1
    };
    let gather = faults.reorder_window.max(batch).max(1);
    // How far this call's snapshot numbers have skipped ahead (the gap fault).
    let mut skipped = 0;
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        if gather > 1 {
            let deadline = tokio::time::Instant::now() + GATHER_WAIT;
            while group.len() < gather {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(next)) => group.push(next),
                    _ => break,
                }
            }
        }
        // Numbered in the simulation's order, before any reordering.
        let mut group = number_snapshots(group, faults, &inner, &mut skipped);
        if faults.reorder_window > 1 {
            lock(&inner.rng).shuffle(&mut group);
        }
        for chunk in batches(&group, batch) {
            let (body, types) = post_body(chunk, profile.format);
            let delay = faults.delay_ms
                + match faults.jitter_ms {
                    0 => 0,
                    j => lock(&inner.rng).below(j + 1),
                };
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let copies = if lock(&inner.rng).chance(faults.duplicate_probability) {
                2
            } else {
                1
            };
            // One URL for the whole chunk (`batches`).
            let destination = &chunk[0].callback_uri;
            let url = profile.url(destination.as_deref());
            for copy in 0..copies {
                let record = lock(&inner.records).add(DeliveryRecord {
                    id: 0,
                    call_id: call_id.clone(),
                    callback_uri: redact(url),
                    format: profile.format,
                    auth: profile.auth,
                    event_types: types.clone(),
                    duplicate: copy == 1,
                    state: DeliveryState::Pending,
                    attempts: Vec::new(),
                    body: body.clone(),
                });
                if copy == 0 {
                    let events = chunk.iter().filter(|r| !r.repeat).count();
                    inner.queued.fetch_sub(events, Ordering::SeqCst);
                }
                let outgoing = Outgoing {
                    call_id: call_id.clone(),
                    profile: profile.clone(),
                    destination: destination.clone(),
                    body: serde_json::to_vec(&body).expect("JSON values serialise"),
                    record,
                };
                if !attempt(&inner, &outgoing, 1).await {
                    inner.runtime.spawn(retry(inner.clone(), outgoing));
                }
            }
        }
    }
}

/// GA snapshots numbered as recorded service traffic numbers them: with gaps, and some sent
/// twice, as two events with one number. Other events, and other formats (whose
/// snapshots carry no number), pass unchanged.
fn number_snapshots(
    group: Vec<Rendered>,
    faults: &Faults,
    inner: &Inner,
    skipped: &mut u64,
) -> Vec<Rendered> {
    let mut out = Vec::with_capacity(group.len());
    for mut rendered in group {
        let Some(sequence) = rendered.body["data"]["sequenceNumber"].as_u64() else {
            out.push(rendered);
            continue;
        };
        let mut rng = lock(&inner.rng);
        if rng.chance(faults.sequence_gap_probability) {
            *skipped += 1 + rng.below(2);
        }
        rendered.body["data"]["sequenceNumber"] = (sequence + *skipped).into();
        let repeat = rng.chance(faults.snapshot_repeat_probability);
        drop(rng);
        if repeat {
            let mut again = rendered.clone();
            again.body["id"] = uuid::Uuid::new_v4().to_string().into();
            again.repeat = true;
            out.push(rendered);
            out.push(again);
        } else {
            out.push(rendered);
        }
    }
    out
}

/// A gathered group as POST bodies, in order: consecutive events for the same URL share one, up
/// to `batch` of them; events for different URLs never do.
fn batches(group: &[Rendered], batch: usize) -> impl Iterator<Item = &[Rendered]> {
    group
        .chunk_by(|a, b| a.callback_uri == b.callback_uri)
        .flat_map(move |run| run.chunks(batch))
}

/// The POST body of a group of events: a B array, or one A1/A2 object.
fn post_body(chunk: &[Rendered], format: CallbackFormat) -> (Value, Vec<String>) {
    let types = chunk.iter().map(|r| r.event_type.clone()).collect();
    let body = match format {
        CallbackFormat::B => Value::Array(chunk.iter().map(|r| r.body.clone()).collect()),
        CallbackFormat::A1 | CallbackFormat::A2 => chunk[0].body.clone(),
    };
    (body, types)
}

async fn retry(inner: Arc<Inner>, outgoing: Outgoing) {
    let settings = &inner.settings;
    for n in 2..=settings.max_attempts {
        let factor = 1u64 << (n - 2).min(30);
        let backoff = settings
            .retry_initial_ms
            .saturating_mul(factor)
            .min(settings.retry_max_ms);
        tokio::time::sleep(Duration::from_millis(backoff)).await;
        if attempt(&inner, &outgoing, n).await {
            return;
        }
    }
    if let Some(record) = lock(&inner.records).get_mut(outgoing.record) {
        record.state = DeliveryState::Dropped;
    }
    tracing::warn!(
        call_id = %outgoing.call_id,
        attempts = settings.max_attempts,
        "callback dropped after its last attempt"
    );
}

/// One attempt; true when the receiver answered 2xx (the delivery is then done).
async fn attempt(inner: &Inner, outgoing: &Outgoing, n: u32) -> bool {
    let profile = &outgoing.profile;
    let faults = &profile.faults;
    let last = n >= inner.settings.max_attempts;
    let (status, error, fault) = if faults.drop_first_attempt && n == 1 {
        (None, None, Some("drop_first_attempt: not sent"))
    } else {
        let tampered = lock(&inner.rng).chance(faults.bad_signature_probability);
        let fault = tampered.then_some("bad_signature");
        match send(inner, outgoing, tampered).await {
            Ok(status) => (Some(status), None, fault),
            Err(e) => (None, Some(e), fault),
        }
    };
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let mut records = lock(&inner.records);
    if let Some(record) = records.get_mut(outgoing.record) {
        record.attempts.push(Attempt {
            at: chrono::Utc::now(),
            status,
            error,
            fault,
        });
        if ok {
            record.state = DeliveryState::Delivered;
        } else if last {
            record.state = DeliveryState::Dropped;
        }
    }
    ok
}

async fn send(inner: &Inner, outgoing: &Outgoing, tampered: bool) -> Result<u16, String> {
    let profile = &outgoing.profile;
    let mut url = outgoing.url().to_owned();
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    match profile.auth {
        CallbackAuth::QuerySecret | CallbackAuth::Auto => {
            if tampered {
                url = sign::tamper_query_secret(&url);
            }
        }
        CallbackAuth::Jwt => {
            let fault = tampered.then_some(profile.faults.jwt_fault);
            if fault != Some(JwtFault::Missing) {
                let token = inner.jwt.token(fault);
                headers.push(("authorization", format!("Bearer {token}")));
            }
        }
        CallbackAuth::WebhookSignature => {
            headers = sign::webhook_headers(&inner.webhook_secret, &outgoing.body, tampered);
        }
    }
    let mut request = inner
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(outgoing.body.clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(to: Option<&str>) -> Rendered {
        Rendered {
            event_type: "e".into(),
            body: Value::Null,
            repeat: false,
            callback_uri: to.map(Arc::from),
        }
    }

    #[test]
    fn a_batch_holds_consecutive_events_for_one_url_only() {
        let (op, other) = (Some("http://op.test/a"), Some("http://op.test/b"));
        let group: Vec<Rendered> = [None, None, op, op, op, None, other, None]
            .into_iter()
            .map(rendered)
            .collect();
        let sizes = |batch| -> Vec<(usize, Option<String>)> {
            batches(&group, batch)
                .map(|c| (c.len(), c[0].callback_uri.as_deref().map(str::to_owned)))
                .collect()
        };
        let to = |s: Option<&str>| s.map(str::to_owned);
        assert_eq!(
            sizes(10),
            [(2, None), (3, to(op)), (1, None), (1, to(other)), (1, None)]
        );
        assert_eq!(
            sizes(2),
            [
                (2, None),
                (2, to(op)),
                (1, to(op)),
                (1, None),
                (1, to(other)),
                (1, None)
            ]
        );
        assert_eq!(batches(&group, 1).count(), group.len());
    }
}
