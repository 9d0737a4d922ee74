//! The real `calltrail serve` as a child process: started with the suite's signing secret and
//! reporting token, killed, stopped by signal, restarted on the same port, its memory read from
//! `/proc`. Its log goes to a file, shown when a check fails.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::load::webhook_secret;
use crate::process;

pub const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
/// The reporting API's bearer token in every instance the suite starts.
pub const API_TOKEN: &str = "fault-suite-reporting-token-5b0e";

/// A command with a clean calltrail environment: only what the suite sets.
pub fn calltrail(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("DATABASE_URL").env(
        "CALLTRAIL_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
    );
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLTRAIL__") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

pub struct Service {
    child: Child,
    pub port: u16,
    database: String,
    settings: Vec<(String, String)>,
    log: tempfile::NamedTempFile,
}

impl Service {
    /// Starts an instance on `database` (a URL) with `settings` (`CALLTRAIL__…` variables on top
    /// of the suite's) and waits until it is ready.
    pub async fn start(database: &str, settings: &[(&str, &str)]) -> Service {
        let settings = settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Service::start_on(database, process::free_port(), settings).await
    }

    async fn start_on(database: &str, port: u16, settings: Vec<(String, String)>) -> Service {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = calltrail(&["serve"]);
        command
            .env("DATABASE_URL", database)
            .env("CALLTRAIL_ENVIRONMENT", "production")
            .env("CALLTRAIL__SERVER__HOST", "127.0.0.1")
            .env("CALLTRAIL__SERVER__PORT", port.to_string())
            .env("CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED", "true")
            .env(
                "CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS",
                webhook_secret(),
            )
            .env("CALLTRAIL__API__TOKENS", token_hash(API_TOKEN))
            .env("CALLTRAIL__API__RATE_LIMIT_PER_SECOND", "0");
        for (key, value) in &settings {
            command.env(key, value);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut service = Service {
            child,
            port,
            database: database.to_owned(),
            settings,
            log,
        };
        service.wait_ready().await;
        service
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("calltrail exited at start ({status}):\n{}", self.log());
            }
            let asked = client
                .get(format!("{}/readyz", self.base()))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if asked.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("calltrail not ready within 30 s:\n{}", self.log());
    }

    /// `kill -9`, then a new instance on the same port and database, with the same settings.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
        let (database, port, settings) = (self.database.clone(), self.port, self.settings.clone());
        *self = Service::start_on(&database, port, settings).await;
    }

    pub async fn restart_after_exit(self) -> Service {
        let (database, port, settings) = (self.database.clone(), self.port, self.settings.clone());
        drop(self);
        Service::start_on(&database, port, settings).await
    }

    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits (up to `within`) for the process to exit after a signal.
    pub async fn exited(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {within:?} after the signal:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the service has logged so far (its last 20,000 characters).
    pub fn log(&self) -> String {
        let mut text = String::new();
        let _ = self.log.reopen().unwrap().read_to_string(&mut text);
        let cut = text.len().saturating_sub(20_000);
        let cut = (cut..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[cut..].to_owned()
    }
}

impl Drop for Service {
    /// A failed check must not leave the process behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, sampled every 50 ms until stopped.
pub struct Memory {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(Instant, u64)>>,
}

impl Memory {
    pub fn sample(pid: u32) -> Memory {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                samples.push((Instant::now(), rss_kib(pid)));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        });
        Memory { stop, task }
    }

    pub async fn stop(self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        Samples(self.task.await.unwrap())
    }
}

/// (when, KiB)
pub struct Samples(Vec<(Instant, u64)>);

impl Samples {
    /// The peak resident memory, in KiB, before `at` and from `at` on.
    pub fn peak_before_and_after(&self, at: Instant) -> (u64, u64) {
        let peak = |before: bool| {
            self.0
                .iter()
                .filter(|(when, _)| (*when < at) == before)
                .map(|(_, kib)| *kib)
                .max()
                .expect("samples on both sides")
        };
        (peak(true), peak(false))
    }
}

/// Resident memory of process `pid`, in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// `calltrail rebuild` on `database`: what it printed.
pub fn rebuild(database: &str) -> String {
    let output = calltrail(&["rebuild"])
        .env("DATABASE_URL", database)
        .env("CALLTRAIL_ENVIRONMENT", "production")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "rebuild failed: {printed}");
    printed
}

/// `api.tokens` holds tokens as the hex SHA-256 of each.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
