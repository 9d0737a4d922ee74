//! A stalled or slow database under heavy load: the dedup table locked by another session for
//! seconds, so that every commit waits; or every answer of PostgreSQL arriving late, as from a slow
//! disk or network. Answers stay bounded in time (`503` with `Retry-After` once a commit takes
//! longer than `database.acquire_timeout_ms`), memory stays bounded, requests do not pile up, and
//! everything acknowledged is stored once; once the fault goes, service resumes by itself.

use std::time::{Duration, Instant};

use crate::load::{all_200_or_503_with_retry_after, slowest, Ledger, Load, Targets, Work};
use crate::relay::Relay;
use crate::service::{Memory, Service};
use crate::{exclusive, model, process, size};

const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The batch window, the answer's own deadline (250 ms) and room for a loaded machine.
const MARGIN: Duration = Duration::from_millis(1000);
/// Above what the service holds under this load before the fault, the most its memory may grow
/// during it: the in-flight body budget (`server.max_inflight_body_bytes`, 64 MiB by default).
const GROWTH_KIB: u64 = 64 * 1024;
/// How late PostgreSQL's answers arrive in the slow case. A commit takes two round trips (the
/// pool's check of the connection, the statement), so about 600 ms: within the commit timeout,
/// the service keeps storing, slowly, with senders queueing behind the writers.
const LATE_BY: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `LOCK TABLE event_dedup IN ACCESS EXCLUSIVE MODE`, held by another session.
    Locked,
    /// Every byte PostgreSQL sends delivered [`LATE_BY`] late.
    Late,
}

async fn lock_dedup(database: &str) -> sqlx::PgConnection {
    let mut lock = model::connect(database).await;
    sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
    sqlx::query("LOCK TABLE event_dedup IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    lock
}

async fn under_load(fault: Fault) {
    let _alone = exclusive().await;
    let size = size();
    // Twice the usual senders: the load a stall would pile up if nothing bounded it.
    let senders = 2 * size.senders;
    let database = process::fresh_database("fault").await;
    let relay = Relay::start(&database).await;
    let acquire = ACQUIRE_TIMEOUT.as_millis().to_string();
    let service = Service::start(
        &relay.url,
        &[("CALLTRAIL__DATABASE__ACQUIRE_TIMEOUT_MS", &acquire)],
    )
    .await;
    let memory = Memory::sample(service.pid());
    let targets = Targets::new(vec![service.base()]);
    let ledger = Ledger::new();
    let prefix = format!("stall-{fault:?}");
    let load = Load::start(senders, Work::Calls { prefix }, &targets, &ledger);

    tokio::time::sleep(Duration::from_secs(3)).await;
    // From the moment the fault is in place until just before it is lifted.
    let (began, ended) = match fault {
        Fault::Locked => {
            let lock = lock_dedup(&database).await;
            let began = Instant::now();
            tokio::time::sleep(size.stall).await;
            let ended = Instant::now();
            sqlx::query("COMMIT").execute(&mut { lock }).await.unwrap();
            (began, ended)
        }
        Fault::Late => {
            relay.slow_down(LATE_BY);
            let began = Instant::now();
            tokio::time::sleep(size.stall).await;
            let ended = Instant::now();
            relay.slow_down(Duration::ZERO);
            (began, ended)
        }
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    load.finish(Duration::from_secs(60)).await;
    let memory = memory.stop().await;

    let answers = ledger.answers();
    all_200_or_503_with_retry_after(&answers);
    let during: Vec<_> = answers
        .iter()
        .filter(|a| a.started > began && a.ended() < ended)
        .collect();
    let refused = during.iter().filter(|a| !a.acknowledged()).count();
    let stored = during.len() - refused;
    // Answered, not piled up: senders got answers over and over while it lasted.
    assert!(during.len() >= 2 * senders, "{} answers", during.len());
    let slowest = slowest(&answers);
    let (before, peak) = memory.peak_before_and_after(began);
    let recovered = answers
        .iter()
        .filter(|a| a.acknowledged() && a.started >= ended)
        .map(|a| a.ended().duration_since(ended))
        .min()
        .expect("deliveries acknowledged after the fault ended");
    eprintln!(
        "{fault:?} database for {:?}, {senders} senders: {} POSTs; during it {stored} \
         acknowledged, {refused} refused; slowest answer {slowest:?} (bound {:?}); peak RSS {} \
         MiB before, {} MiB during and after; storing again {recovered:?} after it ended",
        size.stall,
        answers.len(),
        ACQUIRE_TIMEOUT + MARGIN,
        before / 1024,
        peak / 1024
    );
    assert!(
        slowest <= ACQUIRE_TIMEOUT + MARGIN,
        "slowest answer {slowest:?}"
    );
    assert!(
        peak <= before + GROWTH_KIB,
        "memory grew from {before} KiB to {peak} KiB"
    );
    assert!(recovered < Duration::from_secs(5), "{recovered:?}");
    match fault {
        // No commit can succeed while the lock is held.
        Fault::Locked => assert_eq!(stored, 0, "acknowledged while the table was locked"),
        // A slow database still stores.
        Fault::Late => assert!(stored > 0, "nothing stored while the database was slow"),
    }
    let acknowledged = ledger.acknowledged();
    let sent = ledger.sent();
    assert_eq!(
        acknowledged, sent,
        "every sender was acknowledged in the end"
    );
    model::acknowledged_are_stored_once(&database, &acknowledged, &sent).await;
    drop(service);
}

#[tokio::test]
async fn a_locked_dedup_table_gets_bounded_503s_not_a_pile_up_in_bounded_memory_and_recovers() {
    under_load(Fault::Locked).await;
}

#[tokio::test]
async fn a_database_answering_late_gets_bounded_answers_not_a_pile_up_in_bounded_memory() {
    under_load(Fault::Late).await;
}
