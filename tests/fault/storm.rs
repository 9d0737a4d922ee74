//! A duplicate storm: every event delivered three times, in differently grouped POSTs, interleaved
//! and out of order, by concurrent senders to two instances sharing one database. Each event is
//! stored once, said to be stored by exactly one answer, reported once by the reporting API of
//! either instance, and counted once in the call model.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::load::{
    call, posts, Event, Ledger, Load, Random, Targets, Work, EVENTS_PER_CALL, TONES_PER_CALL,
};
use crate::service::{Service, API_TOKEN};
use crate::{exclusive, model, process, size};

/// Every POST of the storm, shuffled: three copies of each call, the first in order, the second
/// reversed, the third shuffled, each grouped into POSTs of its own.
fn storm(calls: usize, random: &mut Random) -> (Vec<Vec<Event>>, usize) {
    let mut all = Vec::new();
    let mut events = 0;
    for n in 0..calls {
        let original = call(&format!("storm-c{n}"), 7_000_000 + n as u64);
        events += original.len();
        let mut reversed = original.clone();
        reversed.reverse();
        let mut shuffled = original.clone();
        random.shuffle(&mut shuffled);
        for copy in [original, reversed, shuffled] {
            all.extend(posts(&copy, random));
        }
    }
    random.shuffle(&mut all);
    (all, events)
}

/// Every event the reporting API of `base` lists, page by page: how often each id appears.
async fn reported(base: &str) -> HashMap<String, usize> {
    let client = reqwest::Client::new();
    let mut seen = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "500".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: Value = client
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(API_TOKEN)
            .query(&query)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            let id = item["event_id"].as_str().unwrap().to_owned();
            *seen.entry(id).or_insert(0) += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn a_duplicate_storm_across_two_instances_is_stored_once_and_reported_once() {
    let _alone = exclusive().await;
    let size = size();
    let database = process::fresh_database("fault").await;
    let one = Service::start(&database, &[]).await;
    let two = Service::start(&database, &[]).await;
    let (posts, events) = storm(size.storm_calls, &mut Random::new(17));
    let post_count = posts.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(posts)));
    let targets = Targets::new(vec![one.base(), two.base()]);
    let ledger = Ledger::new();
    let load = Load::start(size.senders, Work::Queue(queue), &targets, &ledger);
    load.finish(std::time::Duration::from_secs(120)).await;

    // Nothing went wrong, so every POST was acknowledged at its first attempt, and across all of
    // them each event was said to be stored exactly once and a duplicate twice.
    let answers = ledger.answers();
    assert_eq!(answers.len(), post_count, "a POST was refused and retried");
    assert!(answers.iter().all(|a| a.acknowledged()));
    let stored: u64 = answers.iter().map(|a| a.stored).sum();
    let duplicates: u64 = answers.iter().map(|a| a.duplicates).sum();
    assert_eq!(stored, events as u64, "events said to be stored");
    assert_eq!(
        duplicates,
        2 * events as u64,
        "events said to be duplicates"
    );

    let acknowledged = ledger.acknowledged();
    assert_eq!(acknowledged.len(), events);
    let in_database =
        model::acknowledged_are_stored_once(&database, &acknowledged, &ledger.sent()).await;
    assert_eq!(in_database, events);
    for service in [&one, &two] {
        let listed = reported(&service.base()).await;
        assert_eq!(listed.len(), events, "events the reporting API lists");
        assert!(listed.values().all(|&n| n == 1), "an event listed twice");
    }
    let calls = model::equals_rebuild(&database).await;
    assert_eq!(calls, size.storm_calls);
    for (id, outcome, event_count, dtmf_count) in model::calls(&database).await {
        assert_eq!(
            (outcome.as_str(), event_count, dtmf_count),
            ("completed", EVENTS_PER_CALL as i32, TONES_PER_CALL as i32),
            "{id}"
        );
    }
    eprintln!(
        "duplicate storm: {events} events of {calls} calls, each delivered 3 times in {post_count} \
         POSTs by {} senders to two instances; each stored once, reported once, counted once",
        size.senders
    );
}
