//! One sender: one keep-alive HTTP/1.1 connection, one request in flight at a time, signed like a
//! Standard Webhooks sender, occasionally re-sending a delivery as a retrying sender would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::traffic::{Delivery, Mix, Rng, Traffic};

/// Where to send: `http://host:port/path` split up.
#[derive(Debug, Clone)]
pub struct Target {
    pub authority: String,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{url}: only http:// on this machine is supported"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url}: no host"))?
            .to_string();
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Target { authority, path })
    }
}

pub struct SenderConfig {
    pub target: Target,
    pub secret: Option<String>,
    pub mix: Mix,
    pub seed: u64,
    pub duplicate_percent: f64,
    pub request_timeout: Duration,
}

/// Counted only while the measurement window is open, so warm-up and the drain at the end do not
/// dilute the rates.
#[derive(Default)]
pub struct Window {
    pub ok_requests: AtomicU64,
    pub ok_events: AtomicU64,
    pub overloaded: AtomicU64,
    pub unavailable: AtomicU64,
    pub other_status: AtomicU64,
    pub io_errors: AtomicU64,
}

#[derive(Default)]
pub struct Shared {
    pub measuring: AtomicBool,
    pub stop: AtomicBool,
    pub window: Window,
}

/// What one sender saw over the whole run (latencies: the window only).
#[derive(Default)]
pub struct SenderOutcome {
    pub ok_latency_us: Vec<u32>,
    pub rejected_latency_us: Vec<u32>,
    /// Tokens of every event in a 2xx answer, re-sends included.
    pub acked: Vec<u64>,
    pub event_bytes: Vec<u32>,
    pub stored: u64,
    pub duplicates: u64,
    pub resent: u64,
    pub failures: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
struct Summary {
    #[serde(default)]
    stored: u64,
    #[serde(default)]
    duplicates: u64,
}

type Connection = http1::SendRequest<Full<Bytes>>;

async fn connect(target: &Target) -> Result<Connection, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let stream = loop {
        match TcpStream::connect(&target.authority).await {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => {
                return Err(format!("connect {}: {e}", target.authority))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

enum Answer {
    Status(StatusCode, Bytes),
    Failed(String),
}

async fn send(conn: &mut Connection, request: hyper::Request<Full<Bytes>>) -> Answer {
    if let Err(e) = conn.ready().await {
        return Answer::Failed(format!("connection: {e}"));
    }
    match conn.send_request(request).await {
        Ok(response) => {
            let status = response.status();
            match response.into_body().collect().await {
                Ok(body) => Answer::Status(status, body.to_bytes()),
                Err(e) => Answer::Failed(format!("reading the answer: {e}")),
            }
        }
        Err(e) => Answer::Failed(format!("request: {e}")),
    }
}

fn request(
    config: &SenderConfig,
    delivery: &Delivery,
) -> Result<hyper::Request<Full<Bytes>>, String> {
    let mut builder = hyper::Request::post(config.target.path.as_str())
        .header(HOST, config.target.authority.as_str())
        .header(CONTENT_TYPE, "application/json");
    if let Some(secret) = &config.secret {
        let timestamp = chrono::Utc::now().timestamp();
        let webhook_id = std::str::from_utf8(delivery.webhook_id.as_bytes()).unwrap_or_default();
        let signature =
            calltrail::auth::testing::sign_webhook(secret, webhook_id, timestamp, &delivery.body)
                .map_err(|e| format!("signing: {e}"))?;
        builder = builder
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature);
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(&delivery.body)))
        .map_err(|e| e.to_string())
}

pub async fn run(index: u16, config: Arc<SenderConfig>, shared: Arc<Shared>) -> SenderOutcome {
    let mut outcome = SenderOutcome::default();
    let mut traffic = Traffic::new(index, config.seed, config.mix);
    let mut rng = Rng::new(config.seed ^ u64::from(index).rotate_left(17) ^ 0xd0_0b1e);
    let mut conn = match connect(&config.target).await {
        Ok(c) => c,
        Err(e) => {
            outcome.failures.push(e);
            return outcome;
        }
    };
    let mut again: Option<Delivery> = None;
    while !shared.stop.load(Relaxed) {
        let resending = again.is_some();
        let delivery = again.take().unwrap_or_else(|| traffic.next_delivery());
        let req = match request(&config, &delivery) {
            Ok(r) => r,
            Err(e) => {
                outcome.failures.push(e);
                return outcome;
            }
        };
        let started = Instant::now();
        let answer = match tokio::time::timeout(config.request_timeout, send(&mut conn, req)).await
        {
            Ok(answer) => answer,
            Err(_) => Answer::Failed(format!("no answer within {:?}", config.request_timeout)),
        };
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let measuring = shared.measuring.load(Relaxed);
        let w = &shared.window;
        match answer {
            Answer::Status(status, body) if status.is_success() => {
                let summary: Summary = serde_json::from_slice(&body).unwrap_or_default();
                outcome.stored += summary.stored;
                outcome.duplicates += summary.duplicates;
                outcome.acked.extend_from_slice(delivery.tokens.as_slice());
                if resending {
                    outcome.resent += 1;
                }
                if measuring {
                    w.ok_requests.fetch_add(1, Relaxed);
                    w.ok_events.fetch_add(delivery.tokens.len() as u64, Relaxed);
                    outcome.ok_latency_us.push(micros);
                    if outcome.event_bytes.len() < 2_000 {
                        outcome
                            .event_bytes
                            .push((delivery.body.len() / delivery.tokens.len()) as u32);
                    }
                }
            }
            Answer::Status(status, body) if status == StatusCode::SERVICE_UNAVAILABLE => {
                let overloaded = body.windows(10).any(|w| w == b"overloaded");
                if measuring {
                    if overloaded {
                        w.overloaded.fetch_add(1, Relaxed);
                    } else {
                        w.unavailable.fetch_add(1, Relaxed);
                    }
                    outcome.rejected_latency_us.push(micros);
                }
            }
            Answer::Status(status, body) => {
                if measuring {
                    w.other_status.fetch_add(1, Relaxed);
                }
                if outcome.failures.len() < 3 {
                    outcome.failures.push(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            Answer::Failed(reason) => {
                if measuring {
                    w.io_errors.fetch_add(1, Relaxed);
                }
                if outcome.failures.len() < 3 {
                    outcome.failures.push(reason);
                }
                // The connection's state is unknown: start a new one.
                conn = match connect(&config.target).await {
                    Ok(c) => c,
                    Err(e) => {
                        outcome.failures.push(e);
                        return outcome;
                    }
                };
            }
        }
        if !resending && rng.chance(config.duplicate_percent) {
            again = Some(delivery);
        } else {
            traffic.recycle(delivery);
        }
    }
    outcome
}
