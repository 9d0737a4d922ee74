//! Request-path microbenchmark: what calltrail spends per ingested event between the body being read
//! and the events being handed to the ingest queue, without a server, a database or a network.
//!
//! It builds a fixed set of realistic deliveries (the ingest benchmark's traffic: GA arrays of one
//! to three CloudEvents, public-preview single CloudEvents, private-preview PascalCase objects with
//! null ids; about 1 kB per event), signs each one with Standard Webhooks HMAC-SHA256, then times
//! each stage over every delivery, many times, and prints nanoseconds per event:
//!
//! - `verify`: the authentication of the raw bytes (`Authenticator::verify`);
//! - `parse`: `parse_callback_body`, bytes to typed events with their dedup keys;
//! - `request`: what the callback handler does per request before the hand-off: the credentials
//!   taken from the request's headers and query, verify, parse, the delivery record and the
//!   per-request metrics (a real Prometheus recorder is installed);
//! - `service`: the same handler run by actix-web in process, behind calltrail's request-span
//!   middleware: routing, reading the body, the checks before parsing, the latency histogram, the
//!   JSON answer. Only the socket and the ingest queue (and what is behind it) are left out. Its
//!   deliveries are signed at the current time, since this handler reads the clock.
//!
//! Everything is generated from fixed seeds with a fixed clock, so runs do the same work and the
//! binary can be run under an instruction-counting profiler. Usage:
//! `cargo bench --bench ingest_path -- [rounds]` (default 200 rounds over 2,000 deliveries);
//! `scripts/bench-ingest-path.sh` runs it, and counts instructions with `--instructions`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::test::TestRequest;
use actix_web::{web, App, HttpRequest, HttpResponse};
use chrono::{DateTime, TimeZone, Utc};
use futures_util::FutureExt;
use secrecy::SecretString;

use calltrail::api::auth::ApiTokens;
use calltrail::auth::{sign_webhook, AuthConfig, Authenticator, Credentials, Endpoint};
use calltrail::config::Settings;
use calltrail::error::ApiError;
use calltrail::events::parse_callback_body;
use calltrail::http::body_budget::BodyBudget;
use calltrail::http::{edge, request_span};
use calltrail::ingest::{IngestQueue, WriteSummary};
use calltrail::projection::Wakeup;
use calltrail::startup::AppState;
use calltrail::store::pool_runtime::PoolRuntime;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DELIVERIES: usize = 2_000;
const DEFAULT_ROUNDS: usize = 200;

fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: then only check that every
    // delivery verifies and parses, and that each stage runs once.
    let measure = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("rounds: a whole number"))
        .unwrap_or(DEFAULT_ROUNDS);
    let rounds = if measure { rounds } else { 0 };

    let now = Utc.with_ymd_and_hms(2024, 3, 12, 9, 0, 0).unwrap();
    let deliveries = signed_deliveries(DELIVERIES, now);
    let events: usize = deliveries.iter().map(|d| d.events).sum();
    let bytes: usize = deliveries.iter().map(|d| d.body.len()).sum();
    let authenticator = authenticator();
    calltrail::metrics::handle();

    // Every delivery must verify and parse into the events it was built with.
    for d in &deliveries {
        let verified = verify(&authenticator, d, now);
        let parsed = parse_callback_body(verified.body()).expect("every delivery parses");
        assert_eq!(parsed.len(), d.events);
    }

    println!(
        "{} deliveries, {events} events ({:.2} per delivery, {} bytes per event on average), {}",
        deliveries.len(),
        events as f64 / deliveries.len() as f64,
        bytes / events,
        if measure {
            format!("{rounds} rounds")
        } else {
            "checked (run with --bench to measure)".to_owned()
        },
    );
    let report = |stage: &str, elapsed: Duration| {
        if measure {
            let ns = elapsed.as_nanos() as f64 / (rounds * events) as f64;
            println!("{stage:<8} {ns:>8.0} ns/event");
        }
    };

    let elapsed = time(rounds, || verify_round(&authenticator, &deliveries, now));
    report("verify", elapsed);
    let elapsed = time(rounds, || parse_round(&deliveries));
    report("parse", elapsed);
    let requests: Vec<_> = deliveries.iter().map(http_request).collect();
    let elapsed = time(rounds, || {
        request_round(&authenticator, &deliveries, &requests, now)
    });
    report("request", elapsed);

    let elapsed = service(rounds, &deliveries);
    report("service", elapsed);
}

// One function per stage, never inlined, so that an instruction-counting profiler can attribute
// each stage's work (inclusive cost of `verify_round`, `parse_round`, `request_round`).

#[inline(never)]
fn verify_round(authenticator: &Authenticator, deliveries: &[Signed], now: DateTime<Utc>) {
    for d in deliveries {
        black_box(verify(authenticator, d, now));
    }
}

#[inline(never)]
fn parse_round(deliveries: &[Signed]) {
    for d in deliveries {
        black_box(parse_callback_body(&d.body).expect("parses"));
    }
}

#[inline(never)]
fn request_round(
    authenticator: &Authenticator,
    deliveries: &[Signed],
    requests: &[actix_web::HttpRequest],
    now: DateTime<Utc>,
) {
    for (d, req) in deliveries.iter().zip(requests) {
        black_box(request(authenticator, d, req, now));
    }
}

/// The `service` stage: each round's requests are built untimed, then sent through the app.
fn service(rounds: usize, deliveries: &[Signed]) -> Duration {
    let now = Utc::now();
    let deliveries: Vec<Signed> = deliveries
        .iter()
        .map(|d| sign(d.body.clone(), d.webhook_id.clone(), now, d.events))
        .collect();
    let runner = actix_web::rt::System::new();
    let app = runner.block_on(async {
        actix_web::test::init_service(
            App::new()
                .wrap(from_fn(request_span::request_span))
                .app_data(web::Data::new(app_state()))
                .route("/api/callbacks", web::post().to(receive)),
        )
        .await
    });
    let mut elapsed = Duration::ZERO;
    // One round unmeasured, as in the other stages.
    for round in 0..=rounds {
        let requests: Vec<_> = deliveries
            .iter()
            .map(|d| http_request_of(d).to_request())
            .collect();
        let started = Instant::now();
        service_round(&runner, &app, requests);
        if round > 0 {
            elapsed += started.elapsed();
        }
    }
    elapsed
}

#[inline(never)]
fn service_round<S, R, B>(runner: &actix_web::rt::SystemRunner, app: &S, requests: Vec<R>)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    runner.block_on(async {
        for request in requests {
            let response = app.call(request).await.expect("answered");
            assert!(response.status().is_success(), "{}", response.status());
            black_box(actix_web::test::read_body(response).await);
        }
    });
}

/// The callback handler up to the hand-off to the ingest queue, whose answer it makes up.
async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (received, _permit) =
        edge::receive_verified(&state, Endpoint::Callbacks, &req, payload).await?;
    let parsed = parse_callback_body(received.verified.body()).map_err(edge::parse_error)?;
    let events = parsed.len();
    let delivery = edge::hand_off(
        Endpoint::Callbacks,
        &req,
        received.verified,
        &parsed,
        received.at,
    );
    black_box((delivery, parsed));
    Ok(HttpResponse::Ok().json(WriteSummary {
        received: events,
        stored: events,
        duplicates: 0,
    }))
}

/// The service's state with its default settings, over a pool that is never connected: nothing
/// reaches the queue, so its writers never ask for a connection.
fn app_state() -> AppState {
    let mut settings = Settings::from_yaml("").expect("built-in defaults");
    settings.database.url = SecretString::from("postgres://calltrail@127.0.0.1:1/unused");
    let pool = calltrail::store::pool(&settings.database).expect("a valid URL");
    let (ingest, _writers) = IngestQueue::start(pool.clone(), &settings.ingest, Wakeup::default());
    AppState {
        query_pool: pool.clone(),
        pool_runtime: PoolRuntime::current(),
        ingest,
        pool,
        auth: Arc::new(authenticator()),
        max_body_bytes: settings.server.max_body_bytes,
        body_budget: BodyBudget::new(settings.server.max_inflight_body_bytes),
        retry_after_seconds: settings.ingest.retry_after_seconds,
        api_tokens: ApiTokens::from_config(&[]),
        metrics_tokens: None,
    }
}

fn time(rounds: usize, mut round: impl FnMut()) -> Duration {
    // One round unmeasured, so that every lazily built structure exists before timing (a profiler
    // counting instructions sees `rounds + 1` calls of each stage).
    round();
    let started = Instant::now();
    for _ in 0..rounds {
        round();
    }
    started.elapsed()
}

fn authenticator() -> Authenticator {
    let mut cfg = AuthConfig::default();
    cfg.webhook_signature.enabled = true;
    cfg.webhook_signature.secrets = vec![SecretString::from(SECRET)];
    Authenticator::from_config(&cfg)
        .now_or_never()
        .expect("building a webhook verifier does not wait")
        .expect("a valid configuration")
}

struct Signed {
    body: bytes::Bytes,
    webhook_id: String,
    timestamp: String,
    signature: String,
    events: usize,
}

fn signed_deliveries(count: usize, now: DateTime<Utc>) -> Vec<Signed> {
    let mut traffic = Traffic::new(now);
    let mut rng = Rng::new(99);
    (0..count)
        .map(|_| {
            let (body, events) = traffic.next_post();
            let mut webhook_id = String::from("msg_");
            rng.push_b64(24, &mut webhook_id);
            sign(bytes::Bytes::from(body), webhook_id, now, events)
        })
        .collect()
}

fn sign(body: bytes::Bytes, webhook_id: String, at: DateTime<Utc>, events: usize) -> Signed {
    let timestamp = at.timestamp();
    let signature = sign_webhook(SECRET, &webhook_id, timestamp, &body).expect("signs");
    Signed {
        body,
        webhook_id,
        timestamp: timestamp.to_string(),
        signature,
        events,
    }
}

fn verify(
    authenticator: &Authenticator,
    d: &Signed,
    now: DateTime<Utc>,
) -> calltrail::auth::Verified<bytes::Bytes> {
    let credentials = Credentials {
        webhook_id: Some(&d.webhook_id),
        webhook_timestamp: Some(&d.timestamp),
        webhook_signature: Some(&d.signature),
        ..Credentials::default()
    };
    authenticator
        .verify(Endpoint::Callbacks, &credentials, d.body.clone(), now)
        .now_or_never()
        .expect("a webhook signature is checked without waiting")
        .expect("verifies")
}

fn http_request(d: &Signed) -> actix_web::HttpRequest {
    http_request_of(d).to_http_request()
}

/// The request as the load generator sends it.
fn http_request_of(d: &Signed) -> TestRequest {
    TestRequest::post()
        .uri("/api/callbacks")
        .insert_header(("host", "127.0.0.1:8080"))
        .insert_header(("content-type", "application/json"))
        .insert_header(("content-length", d.body.len().to_string()))
        .insert_header(("webhook-id", d.webhook_id.as_str()))
        .insert_header(("webhook-timestamp", d.timestamp.as_str()))
        .insert_header(("webhook-signature", d.signature.as_str()))
        .set_payload(d.body.clone())
}

/// The callback handler's work for one request, up to the hand-off to the ingest queue.
fn request(
    authenticator: &Authenticator,
    d: &Signed,
    req: &actix_web::HttpRequest,
    now: DateTime<Utc>,
) -> usize {
    edge::check_content_type(req).expect("JSON");
    let verified =
        edge::verify_request(authenticator, Endpoint::Callbacks, req, d.body.clone(), now)
            .now_or_never()
            .expect("a webhook signature is checked without waiting")
            .expect("verifies");
    let parsed = parse_callback_body(verified.body()).expect("parses");
    let delivery = edge::hand_off(Endpoint::Callbacks, req, verified, &parsed, now);
    black_box(&delivery);
    parsed.len()
}

// ---- Traffic: the ingest benchmark's generator, with a fixed clock ----

/// xorshift64*: reproducible ids and padding.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn push_b64(&mut self, n: usize, out: &mut String) {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut left = n;
        while left > 0 {
            let mut bits = self.next_u64();
            for _ in 0..left.min(10) {
                out.push(ALPHABET[(bits & 63) as usize] as char);
                bits >>= 6;
            }
            left -= left.min(10);
        }
    }

    fn b64(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_b64(n, &mut s);
        s
    }
}

/// Whole calls, 60 % GA, 20 % public preview, 20 % private preview, one POST at a time.
struct Traffic {
    rng: Rng,
    resource: String,
    clock: DateTime<Utc>,
    pending: std::collections::VecDeque<(String, usize)>,
}

impl Traffic {
    fn new(clock: DateTime<Utc>) -> Traffic {
        let mut rng = Rng::new(0x5eed);
        let resource = rng.uuid();
        Traffic {
            rng,
            resource,
            clock: clock - chrono::Duration::seconds(600),
            pending: Default::default(),
        }
    }

    fn next_post(&mut self) -> (String, usize) {
        loop {
            if let Some(post) = self.pending.pop_front() {
                return post;
            }
            let pick = self.rng.below(10);
            let mut call = Call::new(&mut self.rng, &self.resource, self.clock);
            let posts = match pick {
                0..=5 => call.script_b(&mut self.rng),
                6 | 7 => call.script_a2(&mut self.rng),
                _ => call.script_a1(&mut self.rng),
            };
            self.pending.extend(posts);
        }
    }
}

#[derive(Clone)]
struct Party {
    raw_id: String,
    phone: Option<String>,
    participant_id: String,
}

struct Call {
    id: String,
    server_call_id: String,
    correlation_id: String,
    clock: DateTime<Utc>,
    bot: Party,
    caller: Party,
    agent: Party,
    context_prefix: String,
}

type Post = (String, usize);

impl Call {
    fn new(rng: &mut Rng, resource: &str, clock: DateTime<Utc>) -> Call {
        let id = rng.uuid();
        let server_call_id = format!(
            "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzZWEyLTAxLXByb2QtYWtzLmNvbnYuc2t5cGUuY29tL2NvbnYv{}",
            rng.b64(22)
        );
        let acs = |rng: &mut Rng| Party {
            raw_id: format!("8:acs:{resource}_{}", rng.uuid()),
            phone: None,
            participant_id: rng.uuid(),
        };
        let number = format!("+1425555{:04}", rng.below(10_000));
        let caller = Party {
            raw_id: format!("4:{number}"),
            phone: Some(number),
            participant_id: rng.uuid(),
        };
        let bot = acs(rng);
        let agent = acs(rng);
        let campaign = rng.below(40);
        Call {
            id,
            server_call_id,
            correlation_id: rng.uuid(),
            clock,
            bot,
            caller,
            agent,
            context_prefix: format!(
                "tenant=contoso-emergency;campaign=wildfire-alert-2024-{campaign:02};region=westus2;flow=evacuation-notice;locale=en-US;state="
            ),
        }
    }

    fn tick(&mut self, rng: &mut Rng, zone: &str) -> String {
        use chrono::Timelike;
        self.clock += chrono::Duration::milliseconds(50 + rng.below(3000) as i64);
        format!(
            "{}.{:07}{zone}",
            self.clock.format("%Y-%m-%dT%H:%M:%S"),
            self.clock.nanosecond() / 100
        )
    }

    fn context(&self, rng: &mut Rng, step: &str) -> String {
        let mut s = String::with_capacity(self.context_prefix.len() + 500);
        s.push_str(&self.context_prefix);
        s.push_str(step);
        s.push('.');
        let n = 80 + rng.below(200) as usize;
        rng.push_b64(n, &mut s);
        s
    }

    // GA: arrays of CloudEvents, camelCase.

    fn b_event(&mut self, rng: &mut Rng, event_type: &str, extra: &str) -> String {
        let id = rng.uuid();
        let time = self.tick(rng, "+00:00");
        let cid = &self.id;
        format!(
            r#"{{"id":"{id}","source":"calling/callConnections/{cid}","type":"Microsoft.Communication.{event_type}","data":{{"callConnectionId":"{cid}","serverCallId":"{}","correlationId":"{}"{extra}}},"time":"{time}","specversion":"1.0","datacontenttype":"application/json","subject":"calling/callConnections/{cid}"}}"#,
            self.server_call_id, self.correlation_id
        )
    }

    fn b_result(
        &mut self,
        rng: &mut Rng,
        event_type: &str,
        step: &str,
        code: u32,
        sub: u32,
        message: &str,
    ) -> String {
        let ctx = self.context(rng, step);
        let extra = format!(
            r#","operationContext":"{ctx}","resultInformation":{{"code":{code},"subCode":{sub},"message":"{message}"}}"#
        );
        self.b_event(rng, event_type, &extra)
    }

    fn b_participants(&mut self, rng: &mut Rng, seq: u32, who: &[(&Party, bool, bool)]) -> String {
        let mut list = String::new();
        for (i, (p, muted, hold)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let identifier = match &p.phone {
                None => format!(
                    r#"{{"kind":"communicationUser","rawId":"{0}","communicationUser":{{"id":"{0}"}}}}"#,
                    p.raw_id
                ),
                Some(n) => format!(
                    r#"{{"kind":"phoneNumber","rawId":"{}","phoneNumber":{{"value":"{n}"}}}}"#,
                    p.raw_id
                ),
            };
            let _ = write!(
                list,
                r#"{{"identifier":{identifier},"isMuted":{muted},"isOnHold":{hold}}}"#
            );
        }
        let extra = format!(
            r#","sequenceNumber":{seq},"participants":[{list}],"resultInformation":{{"code":200,"subCode":0,"message":"ok"}}"#
        );
        self.b_event(rng, "ParticipantsUpdated", &extra)
    }

    fn b_tone(&mut self, rng: &mut Rng, seq: u32) -> String {
        const TONES: [&str; 12] = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "asterisk", "pound",
        ];
        let tone = TONES[rng.below(12) as usize];
        let ctx = self.context(rng, "dtmf");
        let extra = format!(
            r#","sequenceId":{seq},"tone":"{tone}","operationContext":"{ctx}","resultInformation":{{"code":200,"subCode":0,"message":"DTMF tone received successfully."}}"#
        );
        self.b_event(rng, "ContinuousDtmfRecognitionToneReceived", &extra)
    }

    /// 14 events in 7 POSTs of one to three events.
    fn script_b(&mut self, rng: &mut Rng) -> Vec<Post> {
        fn post(events: Vec<String>) -> Post {
            (format!("[{}]", events.join(",")), events.len())
        }
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let ok = "Action completed successfully.";
        let mut posts = Vec::with_capacity(7);
        let e = self.b_result(rng, "CallConnected", "answer", 200, 0, "ok");
        let p = self.b_participants(rng, 1, &[(&bot, false, false), (&caller, false, false)]);
        posts.push(post(vec![e, p]));
        posts.push(post(vec![self.b_result(
            rng,
            "PlayStarted",
            "prompt",
            200,
            0,
            ok,
        )]));
        let e = self.b_result(rng, "PlayCompleted", "prompt", 200, 0, ok);
        let everyone = [
            (&bot, false, false),
            (&caller, false, false),
            (&agent, false, false),
        ];
        let p = self.b_participants(rng, 2, &everyone);
        posts.push(post(vec![e, p]));
        let tones = (1..=3).map(|s| self.b_tone(rng, s)).collect();
        posts.push(post(tones));
        let p = self.b_participants(
            rng,
            3,
            &[
                (&bot, false, false),
                (&caller, false, true),
                (&agent, true, false),
            ],
        );
        let e = self.b_result(rng, "PlayStarted", "hold-music", 200, 0, ok);
        posts.push(post(vec![p, e]));
        let e = self.b_result(
            rng,
            "PlayCanceled",
            "hold-music",
            400,
            8508,
            "Action falied, the operation was cancelled.",
        );
        let p = self.b_participants(rng, 4, &everyone);
        posts.push(post(vec![e, p]));
        let p = self.b_participants(rng, 5, &[(&bot, false, false), (&agent, false, false)]);
        let e = self.b_result(rng, "CallDisconnected", "hangup", 200, 0, "ok");
        posts.push(post(vec![p, e]));
        posts
    }

    // Public preview: one CloudEvent per POST, camelCase.

    fn a2_event(&mut self, rng: &mut Rng, event_type: &str, data: &str) -> Post {
        let id = rng.uuid();
        let time = self.tick(rng, "+00:00");
        let cid = &self.id;
        (
            format!(
                r#"{{"id":"{id}","source":"callConnection/{cid}","type":"Microsoft.Communication.{event_type}","subject":"callConnection/{cid}","time":"{time}","specversion":"1.0","datacontenttype":"application/json","data":{{{data},"callConnectionId":"{cid}"}}}}"#
            ),
            1,
        )
    }

    fn a2_participants(&mut self, rng: &mut Rng, who: &[(&Party, bool)]) -> Post {
        let mut list = String::new();
        for (i, (p, muted)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let identifier = match &p.phone {
                None => format!(
                    r#"{{"rawId":"{0}","communicationUser":{{"id":"{0}"}}}}"#,
                    p.raw_id
                ),
                Some(n) => format!(
                    r#"{{"rawId":"{}","phoneNumber":{{"value":"{n}"}}}}"#,
                    p.raw_id
                ),
            };
            let _ = write!(
                list,
                r#"{{"identifier":{identifier},"participantId":"{}","isMuted":{muted}}}"#,
                p.participant_id
            );
        }
        self.a2_event(
            rng,
            "ParticipantsUpdated",
            &format!(r#""participants":[{list}]"#),
        )
    }

    fn a2_state(&mut self, rng: &mut Rng, state: &str) -> Post {
        let ctx = self.context(rng, state);
        let data = format!(
            r#""serverCallId":"{}","callConnectionState":"{state}","operationContext":"{ctx}""#,
            self.server_call_id
        );
        self.a2_event(rng, "CallConnectionStateChanged", &data)
    }

    /// 7 POSTs of one event each.
    fn script_a2(&mut self, rng: &mut Rng) -> Vec<Post> {
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let mut posts = Vec::with_capacity(7);
        posts.push(self.a2_state(rng, "connected"));
        posts.push(self.a2_participants(rng, &[(&bot, false), (&caller, false)]));
        for seq in 1..=2 {
            let ctx = self.context(rng, "menu");
            let tone = format!("tone{}", rng.below(10));
            let data = format!(
                r#""toneInfo":{{"sequenceId":{seq},"tone":"{tone}"}},"operationContext":"{ctx}""#
            );
            posts.push(self.a2_event(rng, "ToneReceived", &data));
        }
        let ctx = self.context(rng, "prompt");
        let data = format!(
            r#""resultInfo":{{"code":200,"subcode":0,"message":"Action completed successfully."}},"operationContext":"{ctx}","status":"completed""#
        );
        posts.push(self.a2_event(rng, "PlayAudioResult", &data));
        posts.push(self.a2_participants(rng, &[(&bot, false), (&caller, true), (&agent, false)]));
        posts.push(self.a2_state(rng, "disconnected"));
        posts
    }

    // Private preview: one Event Grid-like object per POST, PascalCase data, null id.

    fn a1_event(&mut self, rng: &mut Rng, event_type: &str, what: &str, data: &str) -> Post {
        let time = self.tick(rng, "Z");
        let leg = &self.id;
        let nonce = rng.next_u64();
        (
            format!(
                r#"{{"id":null,"topic":null,"subject":"callLeg/{leg}/{what}-{nonce:016x}","data":{{{data},"CallLegId":"{leg}"}},"eventType":"Microsoft.Communication.{event_type}","eventTime":"{time}","metadataVersion":null,"dataVersion":null}}"#
            ),
            1,
        )
    }

    fn a1_participants(&mut self, rng: &mut Rng, who: &[(&Party, bool)]) -> Post {
        let mut list = String::new();
        for (i, (p, muted)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let _ = write!(
                list,
                r#"{{"Identifier":{{"RawId":"{}"}},"ParticipantId":"{}","IsMuted":{muted}}}"#,
                p.raw_id, p.participant_id
            );
        }
        self.a1_event(
            rng,
            "ParticipantsUpdated",
            "participants",
            &format!(r#""Participants":[{list}]"#),
        )
    }

    fn a1_state(&mut self, rng: &mut Rng, state: &str) -> Post {
        let ctx = self.context(rng, state);
        let data = format!(
            r#""ConversationId":"{}","CallState":"{state}","OperationContext":"{ctx}""#,
            self.correlation_id
        );
        self.a1_event(rng, "CallLegStateChanged", "callState", &data)
    }

    /// 7 POSTs of one event each.
    fn script_a1(&mut self, rng: &mut Rng) -> Vec<Post> {
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let mut posts = Vec::with_capacity(7);
        posts.push(self.a1_state(rng, "Established"));
        posts.push(self.a1_participants(rng, &[(&bot, false), (&caller, false)]));
        for seq in 1..=2 {
            let ctx = self.context(rng, "menu");
            let tone = format!("Tone{}", rng.below(10));
            let data = format!(
                r#""ToneInfo":{{"SequenceId":{seq},"Tone":"{tone}"}},"OperationContext":"{ctx}""#
            );
            posts.push(self.a1_event(rng, "DtmfReceived", "dtmf", &data));
        }
        let ctx = self.context(rng, "prompt");
        let data = format!(
            r#""ResultInfo":{{"Code":200,"Subcode":0,"Message":"Action completed successfully."}},"OperationContext":"{ctx}","Status":"completed""#
        );
        posts.push(self.a1_event(rng, "PlayAudioResult", "playAudio", &data));
        posts.push(self.a1_participants(rng, &[(&bot, false), (&caller, true), (&agent, false)]));
        posts.push(self.a1_state(rng, "Terminated"));
        posts
    }
}
