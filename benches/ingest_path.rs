//! Request-path microbenchmark: what calltrail spends per ingested event between the body being read
//! and the events being handed to the ingest queue, without a server, a database or a network.
//!
//! It takes a fixed set of realistic deliveries from the ingest benchmark's own traffic generator
//! (GA arrays of one to three CloudEvents, public-preview single CloudEvents, private-preview
//! PascalCase objects with null ids; about 1 kB per event), signs each one with Standard Webhooks
//! HMAC-SHA256, then times each stage over every delivery, many times, and prints nanoseconds per
//! event:
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

use calltrail::api::rate_limit::RateLimits;
use calltrail::auth::tokens::ApiTokens;
use calltrail::auth::{sign_webhook, AuthConfig, Authenticator, Credentials, Endpoint};
use calltrail::config::Settings;
use calltrail::error::ApiError;
use calltrail::events::parse_callback_body;
use calltrail::http::body_budget::BodyBudget;
use calltrail::http::edge::Refusal;
use calltrail::http::state::AppState;
use calltrail::http::{edge, request_span};
use calltrail::ingest::{IngestQueue, WriteSummary};
use calltrail::projection::ProjectionFeed;
use calltrail::store::health::DatabaseHealth;
use calltrail::store::pool_runtime::PoolRuntime;

// The load generator's own traffic, so that this measures what the ingest benchmark sends.
use calltrail_traffic::{CallStart, Traffic};

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
) -> HttpResponse {
    handle(req, payload, state)
        .await
        .unwrap_or_else(Refusal::into_response)
}

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Refusal> {
    let (received, mut permit) =
        edge::receive_verified(&state, Endpoint::Callbacks, &req, payload).await?;
    let parsed = parse_callback_body(received.verified.body()).map_err(ApiError::from)?;
    edge::charge_parsed(&state, &mut permit, received.verified.body().len(), &parsed)?;
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
    let (ingest, _writers) = IngestQueue::start(
        pool.clone(),
        &settings.ingest,
        ProjectionFeed::default(),
        DatabaseHealth::default(),
        Duration::from_millis(settings.database.acquire_timeout_ms),
    );
    AppState {
        query_pool: pool.clone(),
        reads: calltrail::store::ReadPools::new(&settings.database, &pool, 0, 1)
            .expect("a valid URL"),
        pool_runtime: PoolRuntime::current(),
        ingest,
        pool,
        auth: Arc::new(authenticator()),
        max_body_bytes: settings.server.max_body_bytes,
        body_timeout: Duration::from_millis(settings.server.body_timeout_ms),
        body_budget: BodyBudget::new(
            settings.server.max_inflight_body_bytes,
            settings.server.max_unverified_body_bytes,
        ),
        database: DatabaseHealth::default(),
        retry_after_seconds: settings.ingest.retry_after_seconds,
        api_tokens: ApiTokens::from_config(&[]),
        api_limits: RateLimits::new(0, 0, 0),
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

/// The load generator's traffic (one sender, its default mix), every call starting ten minutes
/// before `now`.
fn signed_deliveries(count: usize, now: DateTime<Utc>) -> Vec<Signed> {
    let mix = "b=60,a2=20,a1=20".parse().expect("a valid mix");
    let start = (now - chrono::Duration::seconds(600))
        .timestamp_nanos_opt()
        .expect("in range");
    let mut traffic = Traffic::new(0, 0, mix, CallStart::At(start));
    (0..count)
        .map(|_| {
            let d = traffic.next_delivery();
            let webhook_id = String::from_utf8(d.webhook_id.as_bytes().to_vec()).expect("ASCII");
            sign(bytes::Bytes::from(d.body), webhook_id, now, d.tokens.len())
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
    edge::check_content_type(req.headers()).expect("JSON");
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
