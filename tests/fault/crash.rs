//! `kill -9` under sustained load, several times, restarting each time: every acknowledged event
//! is stored exactly once, and the call model equals `calltrail rebuild`'s. With one instance, and
//! with two sharing the database, killed in turn while the other serves (and projects what the
//! killed one had committed but not projected).

use std::time::{Duration, Instant};

use crate::load::{Ledger, Load, Outcome, Targets, Work};
use crate::service::Service;
use crate::{exclusive, model, process, size};

async fn crash_under_load(instances: usize) {
    let _alone = exclusive().await;
    let size = size();
    let database = process::fresh_database("fault").await;
    let mut services = Vec::new();
    for _ in 0..instances {
        services.push(Service::start(&database, &[]).await);
    }
    // Restarts keep their port, so the senders' targets never change: a sender whose attempt
    // found no one retries on the next instance, as behind a load balancer.
    let targets = Targets::new(services.iter().map(Service::base).collect());
    let ledger = Ledger::new();
    let prefix = format!("crash-{instances}");
    let load = Load::start(size.senders, Work::Calls { prefix }, &targets, &ledger);

    let started = Instant::now();
    let mut acknowledged_before_each_kill = Vec::new();
    for kill in 0..size.kills {
        // A different moment in each cycle: somewhere in a batch, a commit or a projection.
        tokio::time::sleep(Duration::from_millis(1500 + 370 * (kill as u64 % 4))).await;
        acknowledged_before_each_kill.push(ledger.acknowledged().len());
        services[kill % instances].kill_and_restart().await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.finish(Duration::from_secs(60)).await;
    let elapsed = started.elapsed();

    let answers = ledger.answers();
    let acknowledged = ledger.acknowledged();
    let sent = ledger.sent();
    // The load ran throughout: something was acknowledged between every two kills, and every
    // kill was felt by a sender.
    let mut previous = 0;
    for (kill, &count) in acknowledged_before_each_kill.iter().enumerate() {
        assert!(count > previous, "nothing acknowledged before kill {kill}");
        previous = count;
    }
    let unanswered = answers
        .iter()
        .filter(|a| a.outcome == Outcome::NoAnswer)
        .count();
    assert!(unanswered > 0, "no request was cut off by a kill");
    let hung: Vec<_> = answers
        .iter()
        .filter(|a| a.outcome == Outcome::TimedOut)
        .collect();
    assert!(hung.is_empty(), "requests left hanging: {}", hung.len());
    // Every sender retried until acknowledged, so everything sent was acknowledged in the end.
    assert_eq!(acknowledged, sent);
    let stored = model::acknowledged_are_stored_once(&database, &acknowledged, &sent).await;
    assert_eq!(stored, acknowledged.len());
    let calls = model::equals_rebuild(&database).await;
    eprintln!(
        "crash ({instances} instance(s)): {} kill -9 under load from {} senders in {elapsed:.1?}; \
         {} POSTs, {} cut off by a kill; {stored} events acknowledged, each stored once; {calls} \
         calls, the model equal to the rebuild's",
        size.kills,
        size.senders,
        answers.len(),
        unanswered
    );
    drop(services);
}

#[tokio::test]
async fn kill_9_under_load_loses_no_acknowledged_event_stores_none_twice_and_the_model_equals_a_rebuild(
) {
    crash_under_load(1).await;
}

#[tokio::test]
async fn kill_9_of_either_of_two_instances_under_load_loses_nothing_and_the_model_equals_a_rebuild()
{
    crash_under_load(2).await;
}
