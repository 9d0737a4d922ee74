//! SIGTERM under load, several times, restarting each time: the service drains what is in flight
//! and commits it before it exits, so a request under way gets either `2xx` with its events stored
//! or a refusal or closed connection (and its sender retries), never `2xx` and lost.

use std::time::{Duration, Instant};

use crate::load::{Ledger, Load, Outcome, Targets, Work};
use crate::service::Service;
use crate::{exclusive, model, process, size};

/// A transaction holding the dedup table locked, so that commits are surely under way when the
/// signal comes; released by committing it.
async fn hold_commits(database: &str) -> sqlx::PgConnection {
    let mut conn = model::connect(database).await;
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("LOCK TABLE event_dedup IN ACCESS EXCLUSIVE MODE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// Waits until a statement of the service's ingestion (the only one that touches the dedup table)
/// waits for the lock.
async fn commits_waiting(database: &str) {
    let mut conn = model::connect(database).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'calltrail' AND wait_event_type = 'Lock' \
             AND query LIKE '%event_dedup%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no commit waited for the lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sigterm_under_load_commits_everything_in_flight_and_acknowledges_nothing_it_loses() {
    let _alone = exclusive().await;
    let size = size();
    let database = process::fresh_database("fault").await;
    let mut service = Service::start(&database, &[]).await;
    let targets = Targets::new(vec![service.base()]);
    let ledger = Ledger::new();
    let prefix = "sigterm".to_owned();
    let load = Load::start(size.senders, Work::Calls { prefix }, &targets, &ledger);

    let mut signals = Vec::new();
    for _ in 0..size.sigterms {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let lock = hold_commits(&database).await;
        commits_waiting(&database).await;
        let signalled = Instant::now();
        service.sigterm();
        // Less than the commit timeout (database.acquire_timeout_ms, 2 s): these commits succeed.
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("COMMIT").execute(&mut { lock }).await.unwrap();
        let status = service.exited(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "exit after SIGTERM: {status}\n{}",
            service.log()
        );
        signals.push((signalled, signalled.elapsed()));
        service = service.restart_after_exit().await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.finish(Duration::from_secs(60)).await;

    let answers = ledger.answers();
    let hung = answers
        .iter()
        .filter(|a| a.outcome == Outcome::TimedOut)
        .count();
    assert_eq!(hung, 0, "requests left hanging");
    // The requests under way at each signal: waiting for their commit when it came, answered
    // after it. Each signal found some, and every one of them was answered 200.
    for (n, (signalled, exit_took)) in signals.iter().enumerate() {
        let in_flight: Vec<_> = answers
            .iter()
            .filter(|a| a.started < *signalled && a.ended() > *signalled)
            .collect();
        let drained = in_flight.iter().filter(|a| a.acknowledged()).count();
        assert!(drained > 0, "signal {n}: no request drained");
        let other: Vec<_> = in_flight
            .iter()
            .filter(|a| !a.acknowledged())
            .map(|a| a.outcome)
            .collect();
        eprintln!(
            "sigterm {n}: {} requests in flight, {drained} answered 200 after the signal, \
             others {other:?}; exited {exit_took:.1?} after it",
            in_flight.len()
        );
    }
    let acknowledged = ledger.acknowledged();
    let sent = ledger.sent();
    assert_eq!(
        acknowledged, sent,
        "every sender was acknowledged in the end"
    );
    let stored = model::acknowledged_are_stored_once(&database, &acknowledged, &sent).await;
    let calls = model::equals_rebuild(&database).await;
    eprintln!(
        "sigterm: {} signals under load from {} senders; {} POSTs; {stored} events acknowledged, \
         each stored once; {calls} calls, the model equal to the rebuild's",
        size.sigterms,
        size.senders,
        answers.len()
    );
    drop(service);
}
