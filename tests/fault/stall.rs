//! A stalled database under heavy load: the dedup table locked by another session for seconds, so
//! that every commit waits. Answers stay bounded in time (`503` with `Retry-After` once a commit
//! takes longer than `database.acquire_timeout_ms`), memory stays bounded, requests do not pile
//! up, and everything acknowledged is stored once; once the lock goes, service resumes by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{slowest, Ledger, Load, Outcome, Targets, Work};
use crate::service::{rss_kib, Service};
use crate::{exclusive, model, process, size};

const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The batch window, the answer's own deadline (250 ms) and room for a loaded machine.
const MARGIN: Duration = Duration::from_millis(1000);
/// Above what the service holds under this load before the stall, the most its memory may grow
/// during it: the in-flight body budget (`server.max_inflight_body_bytes`, 64 MiB by default).
const GROWTH_KIB: u64 = 64 * 1024;

/// Resident memory sampled every 50 ms until `stop` is set: (when, KiB).
fn sample_memory(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<(Instant, u64)>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            samples.push((Instant::now(), rss_kib(pid)));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        samples
    })
}

#[tokio::test]
async fn a_locked_dedup_table_gets_bounded_503s_not_a_pile_up_in_bounded_memory_and_recovers() {
    let _alone = exclusive().await;
    let size = size();
    // Twice the usual senders: the load a stall would pile up if nothing bounded it.
    let senders = 2 * size.senders;
    let database = process::fresh_database("fault").await;
    let acquire = ACQUIRE_TIMEOUT.as_millis().to_string();
    let service = Service::start(
        &database,
        &[("CALLTRAIL__DATABASE__ACQUIRE_TIMEOUT_MS", &acquire)],
    )
    .await;
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let memory = sample_memory(service.pid(), stop_sampling.clone());
    let targets = Targets::new(vec![service.base()]);
    let ledger = Ledger::new();
    let prefix = "stall".to_owned();
    let load = Load::start(senders, Work::Calls { prefix }, &targets, &ledger);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut lock = model::connect(&database).await;
    sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
    sqlx::query("LOCK TABLE event_dedup IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    let locked_at = Instant::now();
    tokio::time::sleep(size.stall).await;
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    let released_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    load.finish(Duration::from_secs(60)).await;
    stop_sampling.store(true, Ordering::SeqCst);
    let memory = memory.await.unwrap();

    let answers = ledger.answers();
    for answer in &answers {
        match answer.outcome {
            Outcome::Status(200) => {}
            Outcome::Status(503) => assert!(answer.retry_after, "503 without Retry-After"),
            other => panic!("{:?}: {other:?} after {:?}", answer.ids, answer.took),
        }
    }
    // Refused, not piled up: senders were answered over and over while the lock was held.
    let refused = answers
        .iter()
        .filter(|a| a.started > locked_at && a.ended() < released_at && !a.acknowledged())
        .count();
    assert!(refused >= senders, "{refused} answers during the stall");
    let slowest = slowest(&answers);
    let before = memory
        .iter()
        .filter(|(at, _)| *at < locked_at)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap();
    let during = memory
        .iter()
        .filter(|(at, _)| *at >= locked_at)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap();
    let recovered = answers
        .iter()
        .filter(|a| a.acknowledged() && a.started >= released_at)
        .map(|a| a.ended().duration_since(released_at))
        .min()
        .expect("deliveries acknowledged after the lock was released");
    eprintln!(
        "stall ({:?} lock on event_dedup, {senders} senders): {} POSTs, {refused} refused during \
         it; slowest answer {slowest:?} (bound {:?}); peak RSS {} MiB before, {} MiB during and \
         after; storing again {recovered:?} after the release",
        size.stall,
        answers.len(),
        ACQUIRE_TIMEOUT + MARGIN,
        before / 1024,
        during / 1024
    );
    assert!(
        slowest <= ACQUIRE_TIMEOUT + MARGIN,
        "slowest answer {slowest:?}"
    );
    assert!(
        during <= before + GROWTH_KIB,
        "memory grew from {before} KiB to {during} KiB"
    );
    assert!(recovered < Duration::from_secs(5), "{recovered:?}");
    let acknowledged = ledger.acknowledged();
    let sent = ledger.sent();
    assert_eq!(
        acknowledged, sent,
        "every sender was acknowledged in the end"
    );
    model::acknowledged_are_stored_once(&database, &acknowledged, &sent).await;
    drop(service);
}
