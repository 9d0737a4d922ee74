//! The campaign's senders: a fixed pool of keep-alive connections to the receiver, one task each
//! with one callback in flight, so that at most `connections` callbacks are in flight at once. A
//! call's callbacks always go to the same sender (by call number), so they arrive in the order the
//! simulation produced them; a callback without a 2xx answer is retried after a backoff without
//! holding its sender's queue back.
//!
//! Signing is cheap per callback: a Standard Webhooks HMAC is keyed once; an RS256 JWT binds no
//! body, so each sender signs one and reuses it until a minute before it expires.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use calltrail_http1::Connection;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::emulator::campaign::stats::{Counters, Histogram};
use crate::emulator::config::CallbackAuth;
use crate::emulator::delivery::sign::JwtSigner;

/// Callbacks waiting per sender before the driver waits for room (bounds memory).
const QUEUE: usize = 256;
/// A token is used until this long before it expires (the signer's tokens last 5 minutes).
const TOKEN_REUSE: Duration = Duration::from_secs(240);

/// One callback: a POST body, sent until a 2xx answer or the last attempt.
pub struct Job {
    pub body: Vec<u8>,
    /// Unique within the campaign: the Standard Webhooks message id (kept across retries, so the
    /// receiver can recognise a retry).
    pub seq: u64,
    pub attempt: u32,
}

/// Where and how callbacks are sent, shared by the senders.
pub struct Target {
    /// `host:port`.
    pub authority: String,
    /// Path and query, as the request line carries them.
    pub path: String,
    pub auth: CallbackAuth,
    pub jwt: Arc<JwtSigner>,
    /// The Standard Webhooks key (the bytes after `whsec_`).
    pub webhook_key: Vec<u8>,
    /// A per-campaign prefix of webhook message ids, so two campaigns never share one.
    pub run_id: String,
    pub max_attempts: u32,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub timeout: Duration,
}

pub struct Shared {
    pub target: Target,
    pub counters: Arc<Counters>,
    /// The first attempt that failed, as the report shows it.
    pub first_failure: Mutex<Option<String>>,
}

/// The senders' queues (index by call number) and their tasks, which return their latencies.
pub struct Pool {
    pub queues: Vec<mpsc::Sender<Job>>,
    pub tasks: Vec<tokio::task::JoinHandle<Histogram>>,
}

impl Pool {
    pub fn start(shared: &Arc<Shared>, connections: usize) -> Pool {
        let mut queues = Vec::with_capacity(connections);
        let mut tasks = Vec::with_capacity(connections);
        for _ in 0..connections.max(1) {
            let (tx, rx) = mpsc::channel(QUEUE);
            tasks.push(tokio::spawn(sender(shared.clone(), rx, tx.downgrade())));
            queues.push(tx);
        }
        Pool { queues, tasks }
    }

    /// Closes the queues once nothing is outstanding and gathers the senders' latencies.
    pub async fn finish(self) -> Histogram {
        drop(self.queues);
        let mut all = Histogram::default();
        for task in self.tasks {
            if let Ok(h) = task.await {
                all.merge(&h);
            }
        }
        all
    }
}

async fn sender(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Job>,
    me: mpsc::WeakSender<Job>,
) -> Histogram {
    let target = &shared.target;
    let counters = &shared.counters;
    let mut latencies = Histogram::default();
    let mut conn: Option<Connection> = None;
    let mut signer = Signer::new(target);
    let mut request = Vec::with_capacity(4096);
    while let Some(mut job) = rx.recv().await {
        signer.request(target, &job, &mut request);
        let started = Instant::now();
        let outcome = match tokio::time::timeout(
            target.timeout,
            attempt(target, &mut conn, &request),
        )
        .await
        {
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
            Ok(Ok(status)) => {
                let body = conn.as_ref().map(|c| c.body()).unwrap_or_default();
                let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                Err(format!("HTTP {status}: {shown}"))
            }
            Ok(Err(e)) => {
                conn = None;
                Err(e)
            }
            Err(_) => {
                conn = None;
                Err(format!(
                    "no answer within {} ms",
                    target.timeout.as_millis()
                ))
            }
        };
        match outcome {
            Ok(()) => {
                latencies.record(started.elapsed());
                Counters::add(&counters.delivered, 1);
            }
            Err(why) => {
                shared
                    .first_failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(why);
                if job.attempt >= target.max_attempts {
                    Counters::add(&counters.failed, 1);
                    continue;
                }
                Counters::add(&counters.retries, 1);
                let factor = 1u32 << (job.attempt - 1).min(20);
                let backoff = target
                    .retry_initial
                    .saturating_mul(factor)
                    .min(target.retry_max);
                job.attempt += 1;
                // The campaign holds its own sender until nothing is outstanding, so this
                // upgrade succeeds while a retry can still be owed.
                if let Some(queue) = me.upgrade() {
                    tokio::spawn(async move {
                        tokio::time::sleep(backoff).await;
                        let _ = queue.send(job).await;
                    });
                }
            }
        }
    }
    latencies
}

async fn attempt(
    target: &Target,
    conn: &mut Option<Connection>,
    request: &[u8],
) -> Result<u16, String> {
    if conn.as_ref().is_some_and(|c| !c.is_reusable()) {
        *conn = None;
    }
    if conn.is_none() {
        *conn = Some(Connection::open(&target.authority).await?);
    }
    conn.as_mut().expect("opened above").exchange(request).await
}

/// Writes each request's bytes, with the campaign's authentication.
struct Signer {
    webhook: Option<Hmac<Sha256>>,
    token: Option<(String, Instant)>,
}

impl Signer {
    fn new(target: &Target) -> Signer {
        let webhook = (target.auth == CallbackAuth::WebhookSignature).then(|| {
            Hmac::<Sha256>::new_from_slice(&target.webhook_key)
                .expect("HMAC takes a key of any length")
        });
        Signer {
            webhook,
            token: None,
        }
    }

    fn request(&mut self, target: &Target, job: &Job, out: &mut Vec<u8>) {
        use std::io::Write;
        out.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            target.path,
            target.authority,
            job.body.len()
        );
        match target.auth {
            CallbackAuth::Jwt => {
                let fresh = self
                    .token
                    .as_ref()
                    .is_some_and(|(_, at)| at.elapsed() < TOKEN_REUSE);
                if !fresh {
                    self.token = Some((target.jwt.token(None), Instant::now()));
                }
                let (token, _) = self.token.as_ref().expect("set above");
                let _ = write!(out, "authorization: Bearer {token}\r\n");
            }
            CallbackAuth::WebhookSignature => {
                let mac = self.webhook.clone().expect("keyed for this scheme");
                let id = format!("msg_{}_{}", target.run_id, job.seq);
                let timestamp = chrono::Utc::now().timestamp();
                let signature = mac
                    .chain_update(format!("{id}.{timestamp}."))
                    .chain_update(&job.body)
                    .finalize()
                    .into_bytes();
                let signature = base64::engine::general_purpose::STANDARD.encode(signature);
                let _ = write!(
                    out,
                    "webhook-id: {id}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: v1,{signature}\r\n"
                );
            }
            CallbackAuth::QuerySecret | CallbackAuth::Auto => {}
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&job.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(auth: CallbackAuth) -> Target {
        Target {
            authority: "127.0.0.1:1".into(),
            path: "/api/callbacks?x=1".into(),
            auth,
            jwt: Arc::new(JwtSigner::new(None, "iss", "aud").unwrap()),
            webhook_key: b"0123456789abcdef0123456789abcdef".to_vec(),
            run_id: "r1".into(),
            max_attempts: 3,
            retry_initial: Duration::from_millis(1),
            retry_max: Duration::from_millis(4),
            timeout: Duration::from_secs(1),
        }
    }

    fn head(request: &[u8]) -> String {
        let text = String::from_utf8(request.to_vec()).unwrap();
        text.split("\r\n\r\n").next().unwrap().to_owned()
    }

    fn header<'a>(head: &'a str, name: &str) -> &'a str {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    }

    #[test]
    fn webhook_signatures_verify_with_the_standard_webhooks_signer() {
        let t = target(CallbackAuth::WebhookSignature);
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(&t.webhook_key)
        );
        let mut signer = Signer::new(&t);
        let job = Job {
            body: br#"[{"id":"e1"}]"#.to_vec(),
            seq: 7,
            attempt: 1,
        };
        let mut out = Vec::new();
        signer.request(&t, &job, &mut out);
        let head = head(&out);
        assert!(head.starts_with("POST /api/callbacks?x=1 HTTP/1.1\r\nhost: 127.0.0.1:1\r\n"));
        assert_eq!(header(&head, "content-length"), "13");
        assert!(out.ends_with(&job.body));
        let id = header(&head, "webhook-id");
        assert_eq!(id, "msg_r1_7");
        let timestamp: i64 = header(&head, "webhook-timestamp").parse().unwrap();
        let expected =
            crate::auth::webhook_signature::sign_webhook(&secret, id, timestamp, &job.body)
                .unwrap();
        assert_eq!(header(&head, "webhook-signature"), expected);
    }

    #[test]
    fn one_jwt_serves_many_callbacks() {
        let t = target(CallbackAuth::Jwt);
        let mut signer = Signer::new(&t);
        let job = Job {
            body: b"[]".to_vec(),
            seq: 1,
            attempt: 1,
        };
        let mut first = Vec::new();
        let mut second = Vec::new();
        signer.request(&t, &job, &mut first);
        signer.request(&t, &job, &mut second);
        let token = header(&head(&first), "authorization").to_owned();
        assert!(token.starts_with("Bearer ey"));
        assert_eq!(header(&head(&second), "authorization"), token);
        // Past its reuse window a new one is signed.
        signer.token.as_mut().unwrap().1 -= TOKEN_REUSE;
        let mut third = Vec::new();
        signer.request(&t, &job, &mut third);
        assert_ne!(header(&head(&third), "authorization"), token);
        let plain_target = target(CallbackAuth::QuerySecret);
        let mut plain = Vec::new();
        Signer::new(&plain_target).request(&plain_target, &job, &mut plain);
        assert!(!head(&plain).contains("authorization"));
    }

    /// A receiver answering each request with the next of `statuses`, on one connection at a
    /// time (a new connection continues the list).
    async fn receiver(statuses: Vec<u16>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let mut statuses = statuses.into_iter();
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut seen = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else {
                        break;
                    };
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                    // Each test body is `[]`: a request ends two bytes after its head.
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        if seen.len() < end + 6 {
                            break;
                        }
                        seen.drain(..end + 6);
                        let status = statuses.next().unwrap_or(202);
                        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nno");
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        authority
    }

    async fn settle(counters: &Counters) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while counters.outstanding() > 0 {
            assert!(Instant::now() < deadline, "{counters:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_callback_without_a_2xx_is_retried_until_its_last_attempt() {
        let mut t = target(CallbackAuth::QuerySecret);
        // First callback: 503, then 202 (one retry). Second: 500 three times (dropped).
        t.authority = receiver(vec![503, 202, 500, 500, 500]).await;
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            target: t,
            counters: counters.clone(),
            first_failure: Mutex::new(None),
        });
        let pool = Pool::start(&shared, 1);
        for seq in 1..=2 {
            Counters::add(&counters.queued, 1);
            let job = Job {
                body: b"[]".to_vec(),
                seq,
                attempt: 1,
            };
            pool.queues[0].send(job).await.unwrap();
            settle(&counters).await;
        }
        let latencies = pool.finish().await;
        assert_eq!(Counters::get(&counters.delivered), 1);
        assert_eq!(Counters::get(&counters.retries), 3);
        assert_eq!(Counters::get(&counters.failed), 1);
        assert!(latencies.max_ms() > 0.0);
        let first = shared.first_failure.lock().unwrap().clone();
        assert_eq!(first.as_deref(), Some("HTTP 503: no"));
    }
}
