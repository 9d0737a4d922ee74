//! A database outage of tens of seconds under load, the service running on: every request is
//! answered `503` with `Retry-After` within `database.acquire_timeout_ms` and a small margin,
//! `/readyz` says not ready, nothing acknowledged is lost, and service resumes by itself within
//! seconds of the database's return.

use std::time::{Duration, Instant};

use crate::load::{all_200_or_503_with_retry_after, slowest, Ledger, Load, Outcome, Targets, Work};
use crate::relay::{Cut, Relay};
use crate::service::Service;
use crate::{exclusive, model, process, size};

const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The batch window (1 ms), the 250 ms of the answer's own deadline, and room for a loaded
/// machine.
const MARGIN: Duration = Duration::from_millis(1000);
/// How soon after the database's return service must resume.
const RECOVERY: Duration = Duration::from_secs(5);

async fn readyz(client: &reqwest::Client, service: &Service) -> (u16, Duration) {
    let asked = Instant::now();
    let status = client
        .get(format!("{}/readyz", service.base()))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("readyz answers")
        .status()
        .as_u16();
    (status, asked.elapsed())
}

async fn outage_under_load(how: Cut) {
    let _alone = exclusive().await;
    let size = size();
    let database = process::fresh_database("fault").await;
    let relay = Relay::start(&database).await;
    let acquire = ACQUIRE_TIMEOUT.as_millis().to_string();
    let service = Service::start(
        &relay.url,
        &[("CALLTRAIL__DATABASE__ACQUIRE_TIMEOUT_MS", &acquire)],
    )
    .await;
    let targets = Targets::new(vec![service.base()]);
    let ledger = Ledger::new();
    let prefix = format!("outage-{how:?}");
    let load = Load::start(size.senders, Work::Calls { prefix }, &targets, &ledger);
    let client = reqwest::Client::new();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut_at = Instant::now();
    relay.cut(how);
    // Readiness, asked throughout the outage once the first commit has found the database gone:
    // not ready, and said at once.
    tokio::time::sleep(ACQUIRE_TIMEOUT + MARGIN).await;
    let mut slowest_readyz = Duration::ZERO;
    let mut asked = 0;
    while cut_at.elapsed() < size.outage {
        let (status, took) = readyz(&client, &service).await;
        assert_eq!(status, 503, "ready during the outage");
        slowest_readyz = slowest_readyz.max(took);
        asked += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Taken first: no answer ending before it can have been stored after the return.
    let restored_at = Instant::now();
    relay.restore();
    let ready_again = loop {
        if readyz(&client, &service).await.0 == 200 {
            break restored_at.elapsed();
        }
        assert!(
            restored_at.elapsed() < RECOVERY,
            "not ready {RECOVERY:?} after the database returned:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    load.finish(Duration::from_secs(30)).await;

    let answers = ledger.answers();
    let during: Vec<_> = answers
        .iter()
        .filter(|a| a.started > cut_at && a.ended() < restored_at)
        .collect();
    assert!(
        during.len() > size.senders,
        "the outage was felt: {}",
        during.len()
    );
    all_200_or_503_with_retry_after(&answers);
    for answer in &during {
        assert_eq!(answer.outcome, Outcome::Status(503), "{:?}", answer.ids);
    }
    let slowest = slowest(&answers);
    let first_stored_again = answers
        .iter()
        .filter(|a| a.acknowledged() && a.started >= restored_at)
        .map(|a| a.ended().duration_since(restored_at))
        .min()
        .expect("deliveries acknowledged after the database returned");
    assert!(first_stored_again < RECOVERY, "{first_stored_again:?}");
    eprintln!(
        "outage ({how:?}, {:?}): {} POSTs from {} senders, {} answered during it (all 503 + \
         Retry-After); slowest answer {slowest:?} (bound {:?}); /readyz 503 {asked} times, \
         slowest {slowest_readyz:?}; ready {ready_again:?} and storing {first_stored_again:?} \
         after the database returned",
        restored_at.duration_since(cut_at),
        answers.len(),
        size.senders,
        during.len(),
        ACQUIRE_TIMEOUT + MARGIN,
    );
    assert!(
        slowest <= ACQUIRE_TIMEOUT + MARGIN,
        "slowest answer {slowest:?}"
    );
    assert!(slowest_readyz < ACQUIRE_TIMEOUT, "{slowest_readyz:?}");
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
async fn a_database_stopped_for_tens_of_seconds_gets_prompt_503s_loses_nothing_and_service_resumes()
{
    outage_under_load(Cut::Refusing).await;
}

#[tokio::test]
async fn a_database_gone_silent_for_tens_of_seconds_gets_prompt_503s_loses_nothing_and_service_resumes(
) {
    outage_under_load(Cut::Silent).await;
}
