//! The suite's own load: whole GA calls as a Call Automation sender would post them, signed with
//! Standard Webhooks by this file (HMAC-SHA256 over `id.timestamp.body`), sent by concurrent
//! senders that retry until acknowledged, as real senders do. Every answer is kept in a [`Ledger`]
//! so that each scenario can compare what was acknowledged with what the database holds. Nothing
//! here comes from the service's crate: the load must not share a mistake with what it tests.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The key both sides share; the service is given it as `whsec_<base64>`.
const SIGNING_KEY: &[u8] = b"fault-suite signing key, 32 byte";

pub fn webhook_secret() -> String {
    format!("whsec_{}", STANDARD.encode(SIGNING_KEY))
}

/// The `webhook-signature` header of `body` sent as message `id` at `timestamp`.
fn signature(id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_KEY).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// One event of a call, with the id the service deduplicates it by (with its source).
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub json: Value,
}

/// Tones pressed in every generated call.
pub const TONES_PER_CALL: usize = 3;
/// Events of every generated call: connected, two participant snapshots, the tones, a play
/// started and completed, disconnected.
pub const EVENTS_PER_CALL: usize = 6 + TONES_PER_CALL;

/// A whole GA call: connected, a caller joins, presses keys, hears a prompt, leaves, the call ends.
pub fn call(call: &str, number: u64) -> Vec<Event> {
    let start = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
        + chrono::Duration::milliseconds((number % 86_400_000) as i64);
    let at = |s: i64| time(start + chrono::Duration::seconds(s));
    let phone = format!("+1425{:07}", number % 10_000_000);
    let app = json!({"kind": "communicationUser", "rawId": "8:acs:fault-app",
                     "communicationUser": {"id": "8:acs:fault-app"}});
    let caller = json!({"kind": "phoneNumber", "rawId": format!("4:{phone}"),
                        "phoneNumber": {"value": phone}});
    let mut events = Vec::new();
    let mut push = |kind: &str, extra: Value, t: i64| {
        let id = format!("{call}-{}", events.len());
        let mut data = json!({"callConnectionId": call, "serverCallId": format!("srv-{call}"),
                              "correlationId": format!("corr-{call}")});
        for (k, v) in extra.as_object().expect("extra fields are an object") {
            data[k] = v.clone();
        }
        events.push(Event {
            json: json!({"id": id, "source": format!("calling/callConnections/{call}"),
                         "type": format!("Microsoft.Communication.{kind}"),
                         "subject": format!("calling/callConnections/{call}"),
                         "time": at(t), "specversion": "1.0",
                         "datacontenttype": "application/json", "data": data}),
            id,
        });
    };
    let who = |people: &[&Value]| -> Value {
        people
            .iter()
            .map(|p| json!({"identifier": p, "isMuted": false, "isOnHold": false}))
            .collect()
    };
    push("CallConnected", json!({}), 0);
    push(
        "ParticipantsUpdated",
        json!({"sequenceNumber": 1, "participants": who(&[&app, &caller])}),
        1,
    );
    for n in 0..TONES_PER_CALL {
        let tone = ["one", "pound", "seven"][n % 3];
        push(
            "ContinuousDtmfRecognitionToneReceived",
            json!({"sequenceId": n + 1, "tone": tone,
                   "resultInformation": {"code": 200, "subCode": 0, "message": "ok"}}),
            2 + n as i64,
        );
    }
    let t = 2 + TONES_PER_CALL as i64;
    let result = json!({"operationContext": "prompt", "resultInformation":
                        {"code": 200, "subCode": 0, "message": "ok"}});
    push("PlayStarted", result.clone(), t);
    push("PlayCompleted", result, t + 4);
    push(
        "ParticipantsUpdated",
        json!({"sequenceNumber": 2, "participants": who(&[&app])}),
        t + 5,
    );
    push("CallDisconnected", json!({}), t + 6);
    events
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A call's events as POSTs of one to three consecutive events each.
pub fn posts(events: &[Event], random: &mut Random) -> Vec<Vec<Event>> {
    let mut posts = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        let take = (1 + random.below(3)).min(rest.len());
        posts.push(rest[..take].to_vec());
        rest = &rest[take..];
    }
    posts
}

/// A small deterministic generator (splitmix64), so that a failing run can be repeated.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// Refused, reset or closed before an answer: the service was not there to answer.
    NoAnswer,
    /// No answer within [`ANSWER_TIMEOUT`]: a request left hanging.
    TimedOut,
}

/// Longer than any answer may take in any scenario.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// One attempt to deliver one POST.
#[derive(Clone, Debug)]
pub struct Answer {
    pub ids: Arc<[String]>,
    pub outcome: Outcome,
    pub started: Instant,
    pub took: Duration,
    pub retry_after: bool,
    /// From a 2xx body: how many of the POST's events this answer says it stored, and how many
    /// it found already stored.
    pub stored: u64,
    pub duplicates: u64,
}

impl Answer {
    pub fn acknowledged(&self) -> bool {
        matches!(self.outcome, Outcome::Status(s) if (200..300).contains(&s))
    }

    pub fn ended(&self) -> Instant {
        self.started + self.took
    }
}

/// Every answer of a run.
#[derive(Default)]
pub struct Ledger {
    answers: Mutex<Vec<Answer>>,
}

impl Ledger {
    pub fn new() -> Arc<Ledger> {
        Arc::new(Ledger::default())
    }

    fn keep(&self, answer: Answer) {
        self.answers.lock().unwrap().push(answer);
    }

    pub fn answers(&self) -> Vec<Answer> {
        self.answers.lock().unwrap().clone()
    }

    pub fn acknowledged(&self) -> HashSet<String> {
        let answers = self.answers.lock().unwrap();
        answers
            .iter()
            .filter(|a| a.acknowledged())
            .flat_map(|a| a.ids.iter().cloned())
            .collect()
    }

    pub fn sent(&self) -> HashSet<String> {
        let answers = self.answers.lock().unwrap();
        answers.iter().flat_map(|a| a.ids.iter().cloned()).collect()
    }
}

/// Where the senders post: one instance, or several taken in turn; changed when an instance is
/// replaced.
#[derive(Clone, Default)]
pub struct Targets(Arc<RwLock<Vec<String>>>, Arc<AtomicUsize>);

impl Targets {
    pub fn new(bases: Vec<String>) -> Targets {
        let targets = Targets::default();
        targets.set(bases);
        targets
    }

    pub fn set(&self, bases: Vec<String>) {
        *self.0.write().unwrap() = bases;
    }

    fn next(&self) -> String {
        let bases = self.0.read().unwrap();
        bases[self.1.fetch_add(1, Ordering::Relaxed) % bases.len()].clone()
    }
}

/// What the senders deliver.
#[derive(Clone)]
pub enum Work {
    /// New calls, one after another, until the load is stopped; `prefix` names them.
    Calls { prefix: String },
    /// The POSTs in this queue, until it is empty.
    Queue(Arc<Mutex<VecDeque<Vec<Event>>>>),
}

/// Sustained load from `senders` concurrent senders. Each retries a POST until it is acknowledged
/// (after 20 ms, or 50 ms when nobody answered). [`Load::finish`] stops it starting new POSTs and
/// waits for those under way to be acknowledged.
pub struct Load {
    stopping: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(senders: usize, work: Work, targets: &Targets, ledger: &Arc<Ledger>) -> Load {
        let stopping = Arc::new(AtomicBool::new(false));
        let tasks = (0..senders)
            .map(|sender| {
                let (work, targets, ledger, stopping) = (
                    work.clone(),
                    targets.clone(),
                    ledger.clone(),
                    stopping.clone(),
                );
                tokio::spawn(async move {
                    let client = reqwest::Client::builder()
                        .timeout(ANSWER_TIMEOUT)
                        .build()
                        .unwrap();
                    let mut random = Random::new(sender as u64 + 1);
                    let mut own = VecDeque::new();
                    let mut calls = 0u64;
                    loop {
                        let post = match &work {
                            Work::Calls { prefix } => {
                                if stopping.load(Ordering::SeqCst) {
                                    break;
                                }
                                if own.is_empty() {
                                    let id = format!("{prefix}-s{sender}-c{calls}");
                                    let number = sender as u64 * 1_000_000 + calls;
                                    own.extend(posts(&call(&id, number), &mut random));
                                    calls += 1;
                                }
                                own.pop_front().expect("a new call has posts")
                            }
                            Work::Queue(queue) => match queue.lock().unwrap().pop_front() {
                                Some(post) => post,
                                None => break,
                            },
                        };
                        deliver(&client, &targets, &ledger, &post).await;
                    }
                })
            })
            .collect();
        Load { stopping, tasks }
    }

    /// Stops new POSTs and waits (up to `within`) for those under way to be acknowledged.
    pub async fn finish(self, within: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let all = futures_util::future::join_all(self.tasks);
        let done = tokio::time::timeout(within, all)
            .await
            .unwrap_or_else(|_| panic!("senders still retrying after {within:?}"));
        for task in done {
            task.expect("a sender panicked");
        }
    }
}

/// Posts `post` until it is acknowledged, as a sender honouring `Retry-After` would, only sooner.
async fn deliver(client: &reqwest::Client, targets: &Targets, ledger: &Ledger, post: &[Event]) {
    let ids: Arc<[String]> = post.iter().map(|e| e.id.clone()).collect();
    let body = Value::Array(post.iter().map(|e| e.json.clone()).collect()).to_string();
    // A retry keeps its message id, as Standard Webhooks asks.
    let message = format!("msg-{}", ids[0]);
    loop {
        let answer = attempt(client, &targets.next(), &message, &body, ids.clone()).await;
        let acknowledged = answer.acknowledged();
        let outcome = answer.outcome;
        ledger.keep(answer);
        if acknowledged {
            return;
        }
        let pause = match outcome {
            Outcome::Status(_) => 20,
            _ => 50,
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn attempt(
    client: &reqwest::Client,
    base: &str,
    message: &str,
    body: &str,
    ids: Arc<[String]>,
) -> Answer {
    let timestamp = Utc::now().timestamp();
    let started = Instant::now();
    let sent = client
        .post(format!("{base}/api/callbacks"))
        .header("content-type", "application/json")
        .header("webhook-id", message)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature(message, timestamp, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await;
    let mut answer = Answer {
        ids,
        outcome: Outcome::NoAnswer,
        started,
        took: Duration::ZERO,
        retry_after: false,
        stored: 0,
        duplicates: 0,
    };
    match sent {
        Ok(response) => {
            answer.outcome = Outcome::Status(response.status().as_u16());
            answer.retry_after = response.headers().contains_key("retry-after");
            let text = response.text().await;
            answer.took = started.elapsed();
            if answer.acknowledged() {
                // An acknowledgement whose body was cut off never happened for the sender.
                let Ok(text) = text else {
                    answer.outcome = Outcome::NoAnswer;
                    return answer;
                };
                let counts: Value = serde_json::from_str(&text).expect("a 2xx body is JSON");
                answer.stored = counts["stored"].as_u64().expect("stored");
                answer.duplicates = counts["duplicates"].as_u64().expect("duplicates");
            }
        }
        Err(error) => {
            answer.took = started.elapsed();
            if error.is_timeout() {
                answer.outcome = Outcome::TimedOut;
            }
        }
    }
    answer
}

/// Every answer was given (none dropped or left hanging) and was `200`, or `503` with
/// `Retry-After`.
pub fn all_200_or_503_with_retry_after(answers: &[Answer]) {
    for answer in answers {
        match answer.outcome {
            Outcome::Status(200) => {}
            Outcome::Status(503) => assert!(answer.retry_after, "503 without Retry-After"),
            other => panic!("{:?}: {other:?} after {:?}", answer.ids, answer.took),
        }
    }
}

/// The slowest answer among `answers` (those the service gave, not connection failures).
pub fn slowest(answers: &[Answer]) -> Duration {
    answers
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Status(_)))
        .map(|a| a.took)
        .max()
        .unwrap_or_default()
}
