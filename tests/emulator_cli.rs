//! `calltrail emulator` as a user runs it: no database anywhere in its environment, the connection
//! string printed at start, and `scripts/emulator-request.sh` (the README's signing script)
//! placing a call with a signed request.

mod process;

use process::free_port;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The binary with no database configured at all.
fn emulator(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("emulator")
        .args(args)
        .env_remove("DATABASE_URL")
        .env("CALLTRAIL_CONFIG_DIR", format!("{REPO}/config"))
        .env("RUST_LOG", "warn");
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLTRAIL__") {
            command.env_remove(key);
        }
    }
    command
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the emulator on `port` and returns it with the lines it printed up to the connection
/// string and the signing settings.
fn start(port: u16) -> (Running, Vec<String>) {
    let mut child = emulator(&["--speed", "50"])
        .env("CALLTRAIL__EMULATOR__PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout");
        let done = line.starts_with("Standard Webhooks secret");
        lines.push(line);
        if done {
            break;
        }
    }
    (running, lines)
}

/// Runs the README's signing script; returns (body, status).
fn request(port: u16, key: Option<&str>, method: &str, path: &str, body: &str) -> (String, u16) {
    let mut command = Command::new(format!("{REPO}/scripts/emulator-request.sh"));
    command
        .args([method, path, body])
        .env("EMULATOR_ENDPOINT", format!("http://127.0.0.1:{port}/"));
    if let Some(key) = key {
        command.env("EMULATOR_ACCESS_KEY", key);
    }
    let output = command.output().expect("the script runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text
        .trim_end()
        .rsplit_once("\nHTTP ")
        .expect("a status line");
    (body.to_owned(), status.parse().unwrap())
}

#[test]
fn the_emulator_runs_without_a_database_and_takes_signed_requests() {
    let port = free_port();
    let (_running, banner) = start(port);
    let banner = banner.join("\n");
    assert!(
        banner.contains(&format!(
            "connection string: endpoint=http://127.0.0.1:{port}/;accesskey=9++YlDZi6bE3xvIM2iirXEFZXknu30IJ1JX4mTrZxVM="
        )),
        "{banner}"
    );
    assert!(banner.contains("simulated clock at 50x"), "{banner}");
    assert!(banner.contains("issuer https://acscallautomation.communication.azure.com"));

    let create = r#"{"source": "8:acs:app", "targets": ["4:+14255550123"],
                     "callbackUri": "http://127.0.0.1:9/api/callbacks?secret=s"}"#;
    let (body, status) = request(port, None, "POST", "/calls", create);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let call = answer["callLegId"].as_str().expect("callLegId");

    // It rings for 3 simulated seconds: at 50x, a few hundredths of a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = Command::new("curl")
            .args([
                "-s",
                &format!("http://127.0.0.1:{port}/emulator/calls/{call}"),
            ])
            .output()
            .unwrap();
        let view: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        if view["state"] == "Established" {
            break;
        }
        assert!(Instant::now() < deadline, "never answered: {view}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (body, status) = request(port, None, "POST", &format!("/calls/{call}/Hangup"), "");
    assert_eq!((status, body.as_str()), (202, ""));

    let (body, status) = request(port, Some("d3Jvbmcta2V5"), "POST", "/calls", create);
    assert_eq!(status, 401);
    assert!(body.contains("\"code\":\"Unauthorized\""), "{body}");
}

#[test]
fn a_bad_speed_stops_the_start_naming_the_key() {
    let output = emulator(&["--speed", "0"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("emulator.speed"), "{stderr}");
}
