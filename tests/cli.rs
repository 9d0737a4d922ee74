//! The `calltrail` binary itself: configuration errors at start, migrations, and graceful shutdown.

mod process;

use process::{free_port, fresh_database, wait_ready};

use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

/// A command with a clean calltrail environment: only what the test sets.
fn calltrail(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("DATABASE_URL").env(
        "CALLTRAIL_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
    );
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLTRAIL__") {
            command.env_remove(key);
        }
    }
    command
}

fn stderr_of(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn invalid_configuration_fails_at_start_naming_the_key() {
    let db = "postgres://postgres@127.0.0.1:1/x";
    let cases: [(&str, &str, &str); 8] = [
        ("CALLTRAIL__INGEST__WRITERS", "0", "ingest.writers"),
        (
            "CALLTRAIL__DATABASE__MAX_CONNECTIONS",
            "3",
            "database.max_connections",
        ),
        ("CALLTRAIL__SERVER__PORT", "not-a-port", "server.port"),
        ("CALLTRAIL__SERVER__PORTT", "1", "portt"),
        ("CALLTRAIL__LOG__FORMAT", "xml", "log.format"),
        (
            "CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS",
            "not-whsec",
            "auth.webhook_signature",
        ),
        (
            "CALLTRAIL__METRICS__TOKENS",
            "not-a-hash",
            "metrics.tokens[0]",
        ),
        (
            "CALLTRAIL__DATABASE__READ_URL",
            "mysql://reader:replica-password@127.0.0.1/x",
            "database.read_url",
        ),
    ];
    for (key, value, named) in cases {
        let mut command = calltrail(&["serve"]);
        command
            .env("DATABASE_URL", db)
            .env("CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED", "true")
            .env(key, value);
        let (ok, stderr) = stderr_of(&mut command);
        assert!(!ok, "{key}={value} must fail");
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
        assert!(
            !stderr.contains("replica-password"),
            "a password is never shown: {stderr}"
        );
    }
    let (ok, stderr) = stderr_of(calltrail(&["serve"]).env("CALLTRAIL_ENVIRONMENT", "staging"));
    assert!(!ok && stderr.contains("CALLTRAIL_ENVIRONMENT"), "{stderr}");
    // No database configured at all.
    let (ok, stderr) = stderr_of(&mut calltrail(&["migrate"]));
    assert!(!ok && stderr.contains("database.url"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_without_an_authentication_scheme() {
    let (ok, stderr) = stderr_of(
        calltrail(&["serve"])
            .env("CALLTRAIL_ENVIRONMENT", "production")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x"),
    );
    assert!(!ok);
    assert!(stderr.contains("auth"), "{stderr}");
    assert!(stderr.contains("allow_unauthenticated"), "{stderr}");
}

#[tokio::test]
async fn migrate_applies_the_schema() {
    let url = fresh_database("cli").await;
    let (ok, stderr) = stderr_of(calltrail(&["migrate"]).env("DATABASE_URL", &url));
    assert!(ok, "{stderr}");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE tablename IN ('events', 'event_dedup', 'events_default')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 3);
    let partitions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(
        partitions >= 5,
        "monthly partitions plus the default: {partitions}"
    );
    // Running it again is a no-op.
    assert!(stderr_of(calltrail(&["migrate"]).env("DATABASE_URL", &url)).0);
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let url = fresh_database("cli").await;
    let port = free_port();
    let child = calltrail(&["serve"])
        .env("DATABASE_URL", &url)
        .env("CALLTRAIL_ENVIRONMENT", "production")
        .env("CALLTRAIL__SERVER__PORT", port.to_string())
        .env("CALLTRAIL__SERVER__HOST", "127.0.0.1")
        .env("CALLTRAIL__AUTH__QUERY_SECRET__ENABLED", "true")
        .env(
            "CALLTRAIL__AUTH__QUERY_SECRET__SECRETS",
            "cli-secret-0123456789",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port).await;

    // A request whose body is still arriving when the signal comes.
    let body = r#"[{"id":"sig-1","source":"s","type":"Microsoft.Communication.CallConnected","specversion":"1.0","time":"2024-01-01T00:00:00Z","data":{"callConnectionId":"c-sig"}}]"#;
    let (head, tail) = body.split_at(40);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "POST /api/callbacks?secret=cli-secret-0123456789 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused once the server stops accepting.
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err());
    stream.write_all(tail.as_bytes()).await.unwrap();
    let response = response(&mut stream).await;

    let (status, log) = exit_and_log(child).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}\n{log}");
    assert!(
        status.success(),
        "clean exit after the signal: {status}\n{log}"
    );
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_id = 'sig-1'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// `first` connections served by one HTTP worker and `second` by the other. The service hands new
/// connections to its two workers in turn, so alternate connections go to the same worker; the
/// spare ones are closed at once, so that no idle connection holds up a worker's shutdown.
async fn connections_by_worker(
    port: u16,
    first: usize,
    second: usize,
) -> (Vec<TcpStream>, Vec<TcpStream>) {
    let (mut one, mut other) = (Vec::new(), Vec::new());
    for _ in 0..first.max(second) {
        one.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        other.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    one.truncate(first);
    other.truncate(second);
    (one, other)
}

/// A transaction holding `LOCK TABLE table IN mode MODE` until it is committed.
async fn lock_table(url: &str, table: &str, mode: &str) -> sqlx::PgConnection {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query(&format!("LOCK TABLE {table} IN {mode} MODE"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn unlock(mut conn: sqlx::PgConnection) {
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
}

/// Waits until `count` statements of the service's connections named `application` wait for a lock.
async fn wait_for_lock_waiters(url: &str, application: &str, count: i64) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1 \
               AND wait_event_type = 'Lock'",
        )
        .bind(application)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} statements of {application} never waited for the lock");
}

/// Where requests are held up: a table locked against the service's connections of one pool
/// (`application_name`).
struct Held<'a> {
    url: &'a str,
    table: &'a str,
    application: &'a str,
}

/// Sends `request` on every stream while `held.table` is locked, so that each waits on a database
/// connection of its own, then releases them and expects 200 for each.
async fn held_together_then_answered(held: Held<'_>, streams: &mut [TcpStream], request: &str) {
    let lock = lock_table(held.url, held.table, "ACCESS EXCLUSIVE").await;
    for stream in streams.iter_mut() {
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    wait_for_lock_waiters(held.url, held.application, streams.len() as i64).await;
    unlock(lock).await;
    for stream in streams {
        let answer = response(stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

fn sigterm(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Sends SIGTERM while `held` (a lock) keeps the requests on `streams` waiting, releases them 300 ms
/// later, and checks that each is answered 200 and that the process then exits cleanly.
async fn sigterm_then_release(
    child: std::process::Child,
    held: sqlx::PgConnection,
    streams: &mut [TcpStream],
) {
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    unlock(held).await;
    let mut answers = Vec::new();
    for stream in streams {
        answers.push(response(stream).await);
    }
    let (status, log) = exit_and_log(child).await;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}\n{log}");
    }
    assert!(
        status.success(),
        "clean exit after the signal: {status}\n{log}"
    );
}

async fn response(stream: &mut TcpStream) -> String {
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// Waits for the process to exit; its exit status and its log.
async fn exit_and_log(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut log = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status, log)
    })
    .await
    .unwrap()
}

fn serve_on_two_workers(url: &str, port: u16) -> Command {
    let mut command = calltrail(&["serve"]);
    command
        .env("DATABASE_URL", url)
        .env("CALLTRAIL_ENVIRONMENT", "production")
        .env("CALLTRAIL__SERVER__PORT", port.to_string())
        .env("CALLTRAIL__SERVER__HOST", "127.0.0.1")
        .env("CALLTRAIL__SERVER__WORKERS", "2")
        .env("CALLTRAIL__AUTH__QUERY_SECRET__ENABLED", "true")
        .env(
            "CALLTRAIL__AUTH__QUERY_SECRET__SECRETS",
            "cli-secret-0123456789",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A worker with nothing in flight stops at once on SIGTERM while the other finishes its requests.
/// Database connections opened while that worker served readiness probes must still carry the
/// commits of the other worker's requests.
#[tokio::test]
async fn sigterm_lets_commits_in_progress_finish_whichever_worker_served_the_probes() {
    const PROBES: usize = 10;
    // One writer per delivery, each committing on a connection of its own: more connections than
    // the service opens for itself.
    const DELIVERIES: usize = 4;
    let url = fresh_database("cli").await;
    let port = free_port();
    let child = serve_on_two_workers(&url, port)
        .env("CALLTRAIL__INGEST__WRITERS", DELIVERIES.to_string())
        .env("CALLTRAIL__PROJECTION__ENABLED", "false")
        .spawn()
        .unwrap();
    wait_ready(port).await;
    let (mut probes, mut deliveries) = connections_by_worker(port, PROBES, DELIVERIES).await;

    // Readiness probes held up together: each has a connection opened for it.
    let probe = "GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let held = Held {
        url: &url,
        table: "_sqlx_migrations",
        application: "calltrail",
    };
    held_together_then_answered(held, &mut probes, probe).await;

    // Deliveries on the other worker, each held up in its commit.
    let dedup = lock_table(&url, "event_dedup", "EXCLUSIVE").await;
    for (i, delivery) in deliveries.iter_mut().enumerate() {
        let body = format!(
            r#"[{{"id":"held-{i}","source":"s","type":"Microsoft.Communication.CallConnected","specversion":"1.0","time":"2024-01-01T00:00:00Z","data":{{"callConnectionId":"c-held"}}}}]"#
        );
        let request = format!(
            "POST /api/callbacks?secret=cli-secret-0123456789 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        delivery.write_all(request.as_bytes()).await.unwrap();
        wait_for_lock_waiters(&url, "calltrail", i as i64 + 1).await;
    }
    sigterm_then_release(child, dedup, &mut deliveries).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, DELIVERIES as i64);
}

/// The same for reporting queries: those of the worker that stops first must not have opened the
/// connections of the other worker's queries still running.
#[tokio::test]
async fn sigterm_lets_reporting_queries_in_progress_finish_whichever_worker_ran_the_others() {
    const EARLIER: usize = 4;
    const IN_PROGRESS: usize = 2;
    let token = "cli-api-token-0123456789";
    let url = fresh_database("cli").await;
    let port = free_port();
    let child = serve_on_two_workers(&url, port)
        .env(
            "CALLTRAIL__API__TOKENS",
            calltrail::auth::tokens::hash_token(token),
        )
        .spawn()
        .unwrap();
    wait_ready(port).await;
    let (mut earlier, mut in_progress) = connections_by_worker(port, EARLIER, IN_PROGRESS).await;
    let request = format!(
        "GET /api/v1/calls HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );

    // Queries held up together: each has a connection opened for it.
    let held = Held {
        url: &url,
        table: "calls",
        application: "calltrail-api",
    };
    held_together_then_answered(held, &mut earlier, &request).await;

    let calls = lock_table(&url, "calls", "ACCESS EXCLUSIVE").await;
    for query in &mut in_progress {
        query.write_all(request.as_bytes()).await.unwrap();
    }
    wait_for_lock_waiters(&url, "calltrail-api", IN_PROGRESS as i64).await;
    sigterm_then_release(child, calls, &mut in_progress).await;
}

#[tokio::test]
async fn production_logs_are_json_and_never_contain_the_secret() {
    let url = fresh_database("cli").await;
    let port = free_port();
    let mut child = calltrail(&["serve"])
        .env("DATABASE_URL", &url)
        .env("CALLTRAIL_ENVIRONMENT", "production")
        .env("CALLTRAIL__LOG__LEVEL", "debug")
        .env("CALLTRAIL__SERVER__PORT", port.to_string())
        .env("CALLTRAIL__SERVER__HOST", "127.0.0.1")
        .env("CALLTRAIL__AUTH__QUERY_SECRET__ENABLED", "true")
        .env(
            "CALLTRAIL__AUTH__QUERY_SECRET__SECRETS",
            "log-secret-0123456789",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both pipes are drained as the service writes: at debug level it writes more than a pipe
    // holds (every statement, the migrations' included), and a full pipe would block it.
    let drain = |pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    wait_ready(port).await;
    let client = reqwest::Client::new();
    let body = r#"[{"id":"log-1","source":"s","type":"Microsoft.Communication.ParticipantsUpdated","specversion":"1.0","data":{"callConnectionId":"c","sequenceNumber":1,"participants":[{"identifier":{"rawId":"4:+14255550123"}}]}}]"#;
    for secret in ["log-secret-0123456789", "wrong-guess-secret"] {
        client
            .post(format!(
                "http://127.0.0.1:{port}/api/callbacks?secret={secret}"
            ))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        child.wait().unwrap();
        stdout.join().unwrap() + &stderr.join().unwrap()
    })
    .await
    .unwrap();
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{output}");
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
    assert!(
        output.contains("authentication failed"),
        "the refusal is logged: {output}"
    );
    for secret in ["log-secret-0123456789", "wrong-guess-secret", "14255550123"] {
        assert!(
            !output.contains(secret),
            "{secret} leaked into the log:\n{output}"
        );
    }
}
