//! One sender: one keep-alive HTTP/1.1 connection, one request in flight at a time, signed like a
//! Standard Webhooks sender, occasionally re-sending a delivery as a retrying sender would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use calltrail_http1::Connection;

use crate::wire::RequestWriter;
use crate::STARTUP_PATIENCE;
use calltrail_traffic::{CallStart, Delivery, Mix, Rng, Traffic};

/// Where to send: `http://host:port/path` split up.
#[derive(Debug, Clone)]
pub struct Target {
    pub authority: String,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])
            .ok_or_else(|| format!("{url}: only http:// on this machine is supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) {
            return Err(format!("{url}: no host"));
        }
        Ok(Target {
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }

    /// `host:port` to connect to: port 80 when the URL names none.
    pub fn address(&self) -> String {
        let has_port = match self.authority.rfind(':') {
            Some(at) => !self.authority[at..].contains(']'),
            None => false,
        };
        if has_port {
            self.authority.clone()
        } else {
            format!("{}:80", self.authority)
        }
    }
}

/// One server to send to, and its requests' bytes.
pub struct Endpoint {
    pub target: Target,
    pub writer: RequestWriter,
}

pub struct SenderConfig {
    /// Sender `i` sends to endpoint `i % n`, and its re-sends to the next one: with several
    /// instances behind one database, a retry reaches another instance, as through a load
    /// balancer.
    pub endpoints: Vec<Endpoint>,
    pub mix: Mix,
    pub seed: u64,
    pub duplicate_percent: f64,
    pub request_timeout: Duration,
    /// Calls each sender keeps open at once, taking turns.
    pub open_calls: usize,
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

/// `stored` and `duplicates` of a `{"received":…,"stored":…,"duplicates":…}` answer; 0 for what
/// is not there (the bare server answers with an empty body).
fn summary(body: &[u8]) -> (u64, u64) {
    (
        number_after(body, b"\"stored\":"),
        number_after(body, b"\"duplicates\":"),
    )
}

fn number_after(body: &[u8], key: &[u8]) -> u64 {
    let Some(at) = body.windows(key.len()).position(|w| w == key) else {
        return 0;
    };
    body[at + key.len()..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub async fn run(index: u16, config: Arc<SenderConfig>, shared: Arc<Shared>) -> SenderOutcome {
    let mut outcome = SenderOutcome::default();
    let mut traffic = Traffic::new(index, config.seed, config.mix, CallStart::TenMinutesAgo)
        .with_open_calls(config.open_calls);
    let mut rng = Rng::new(config.seed ^ u64::from(index).rotate_left(17) ^ 0xd0_0b1e);
    // This sender's own instance's connection, and the one its re-sends go to (when different).
    let mut conns: [Option<Connection>; 2] = [None, None];
    let mut request = Vec::with_capacity(8 * 1024);
    let deadline = tokio::time::sleep(config.request_timeout);
    tokio::pin!(deadline);
    let mut again: Option<Delivery> = None;
    while !shared.stop.load(Relaxed) {
        let resending = again.is_some();
        let delivery = again.take().unwrap_or_else(|| traffic.next_delivery());
        let slot = usize::from(resending && config.endpoints.len() > 1);
        let endpoint = &config.endpoints[(usize::from(index) + slot) % config.endpoints.len()];
        // Opened at first use, and again after an error or when the server closed it.
        let conn = match &mut conns[slot] {
            Some(conn) => conn,
            empty => match Connection::open_patiently(&endpoint.target.address(), STARTUP_PATIENCE)
                .await
            {
                Ok(conn) => empty.insert(conn),
                Err(e) => {
                    outcome.failures.push(e);
                    return outcome;
                }
            },
        };
        endpoint.writer.write(
            &delivery.body,
            delivery.webhook_id.as_bytes(),
            unix_seconds(),
            &mut request,
        );
        let started = Instant::now();
        // Moving a timer's deadline later is a compare-and-swap; a new timer per request would be
        // an insertion into and removal from the timer wheel.
        deadline.as_mut().reset(tokio::time::Instant::from_std(
            started + config.request_timeout,
        ));
        let status = tokio::select! {
            biased;
            answer = conn.exchange(&request) => answer,
            () = &mut deadline => Err(format!("no answer within {:?}", config.request_timeout)),
        };
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let measuring = shared.measuring.load(Relaxed);
        let w = &shared.window;
        let failed = status.is_err();
        match status {
            Ok(status) if (200..300).contains(&status) => {
                let (stored, duplicates) = summary(conn.body());
                outcome.stored += stored;
                outcome.duplicates += duplicates;
                let tokens = delivery.tokens.as_slice();
                outcome.acked.extend_from_slice(tokens);
                if resending {
                    outcome.resent += 1;
                }
                if measuring {
                    w.ok_requests.fetch_add(1, Relaxed);
                    w.ok_events.fetch_add(tokens.len() as u64, Relaxed);
                    outcome.ok_latency_us.push(micros);
                    if outcome.event_bytes.len() < 2_000 {
                        outcome
                            .event_bytes
                            .push((delivery.body.len() / tokens.len()) as u32);
                    }
                }
            }
            Ok(503) => {
                let overloaded = conn.body().windows(10).any(|w| w == b"overloaded");
                if measuring {
                    if overloaded {
                        w.overloaded.fetch_add(1, Relaxed);
                    } else {
                        w.unavailable.fetch_add(1, Relaxed);
                    }
                    outcome.rejected_latency_us.push(micros);
                }
            }
            Ok(status) => {
                if measuring {
                    w.other_status.fetch_add(1, Relaxed);
                }
                if outcome.failures.len() < 3 {
                    let body = conn.body();
                    outcome.failures.push(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            Err(reason) => {
                if measuring {
                    w.io_errors.fetch_add(1, Relaxed);
                }
                if outcome.failures.len() < 3 {
                    outcome.failures.push(reason);
                }
            }
        }
        // After an error the connection's state is unknown: start a new one, as after the server
        // said it closes this one.
        if failed || !conn.is_reusable() {
            conns[slot] = None;
        }
        if !resending && rng.chance(config.duplicate_percent) {
            again = Some(delivery);
        } else {
            traffic.recycle(delivery);
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_split_into_authority_and_path() {
        let t = Target::parse("http://127.0.0.1:8080/api/callbacks").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8080", "/api/callbacks")
        );
        assert_eq!(t.address(), "127.0.0.1:8080");
        let t = Target::parse("HTTP://[::1]").unwrap();
        assert_eq!((t.authority.as_str(), t.path.as_str()), ("[::1]", "/"));
        assert_eq!(t.address(), "[::1]:80");
        assert!(Target::parse("https://127.0.0.1/").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    #[test]
    fn the_summary_is_read_from_the_answer() {
        let answer = serde_json::to_vec(&calltrail::ingest::WriteSummary {
            received: 3,
            stored: 2,
            duplicates: 1,
        })
        .unwrap();
        assert_eq!(summary(&answer), (2, 1));
        assert_eq!(
            summary(b"{\"received\": 12, \"stored\": 10, \"duplicates\": 2}"),
            (10, 2)
        );
        assert_eq!(summary(b""), (0, 0));
    }
}
