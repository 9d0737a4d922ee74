//! What the ingest writers of this process hand to its projector: a ring when they committed new
//! events, so those are projected at once instead of at the next poll, and the committed events
//! themselves, so the projector folds them in without reading back rows this process has just
//! written (that read was the projector's largest statement).
//!
//! The events handed over are only a shortcut. The queue row in the database stays the record of
//! what is to be projected: a pass takes from here the events it finds and reads the others from
//! the event log: those another instance wrote, those not kept for want of room or because they
//! waited too long, and those of a pass that failed (a pass takes its events out, so its retry
//! reads them all). A handed-over event carries exactly what the event log returns for it, to the
//! microsecond, so the call model is the same whichever way an event reaches the projector.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::events::CallId;
use crate::events::ParsedEvent;
use crate::projection::model::CallEvent;
use crate::store::event_log::Delivery;

/// An event not taken within this long was most likely projected by another instance (which read
/// it from the event log): it is dropped. Projection lag is well under a second at full load.
const MAX_AGE: Duration = Duration::from_secs(10);

/// Cheap to clone; every clone is the same feed. `Default` rings only and keeps no events.
#[derive(Clone, Default)]
pub struct ProjectionFeed(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// This process's mark on the queue rows its writers add, so that its projector takes those
    /// first (see `load::claim`); `None` when no projector runs here.
    owner: Option<i64>,
    ring: Notify,
    /// How many events may wait at once: a bound on the memory this takes.
    capacity: usize,
    /// How long an event may wait before it is dropped.
    max_age: Duration,
    waiting: Mutex<BTreeMap<i64, Handed>>,
}

struct Handed {
    call_id: CallId,
    event: CallEvent,
    since: Instant,
}

/// The events a pass found in the feed, by call, and the sequence numbers it must read instead.
pub(crate) struct Taken {
    pub found: BTreeMap<CallId, Vec<CallEvent>>,
    pub missing: Vec<i64>,
}

impl ProjectionFeed {
    /// A feed that keeps up to `capacity` committed events for the projector (0: none).
    pub fn new(capacity: usize) -> ProjectionFeed {
        ProjectionFeed::with_max_age(capacity, MAX_AGE)
    }

    fn with_max_age(capacity: usize, max_age: Duration) -> ProjectionFeed {
        ProjectionFeed(Arc::new(Inner {
            owner: Some(uuid::Uuid::new_v4().as_u64_pair().0 as i64),
            capacity,
            max_age,
            ..Inner::default()
        }))
    }

    /// The mark this process's writers put on the queue rows they add, and its projector prefers
    /// (`None`: no projector here, so any instance's projector takes them at once). Random per
    /// process: a restarted instance's rows are taken by whoever is next, once they have waited.
    pub fn owner(&self) -> Option<i64> {
        self.0.owner
    }

    /// New events were committed.
    pub fn ring(&self) {
        // Stores a permit when the projector is busy, so a commit during a pass is not missed.
        self.0.ring.notify_one();
    }

    pub(crate) async fn rung(&self) {
        self.0.ring.notified().await
    }

    /// Whether committed events are wanted at all (no projector in this process: no).
    fn keeps_events(&self) -> bool {
        self.0.capacity > 0
    }

    /// Hands over committed events, each with its call id. Events beyond the capacity are not
    /// kept: the projector reads those from the event log.
    pub fn offer(&self, events: impl IntoIterator<Item = (CallId, CallEvent)>) {
        if !self.keeps_events() {
            return;
        }
        let now = Instant::now();
        let mut waiting = self.0.waiting.lock().expect("feed lock poisoned");
        // Sequence numbers grow with time, so the oldest events are first.
        while waiting
            .first_key_value()
            .is_some_and(|(_, h)| now.duration_since(h.since) > self.0.max_age)
        {
            waiting.pop_first();
        }
        for (call_id, event) in events {
            if waiting.len() >= self.0.capacity {
                break;
            }
            waiting.insert(
                event.event_seq,
                Handed {
                    call_id,
                    event,
                    since: now,
                },
            );
        }
    }

    /// Takes out the events among `event_seqs` that were handed over; says which were not.
    /// Each call's events come in `event_seq` order.
    pub(crate) fn take(&self, event_seqs: &[i64]) -> Taken {
        let mut taken = Taken {
            found: BTreeMap::new(),
            missing: Vec::new(),
        };
        let mut waiting = self.0.waiting.lock().expect("feed lock poisoned");
        for seq in event_seqs {
            match waiting.remove(seq) {
                Some(h) => taken.found.entry(h.call_id).or_default().push(h.event),
                None => taken.missing.push(*seq),
            }
        }
        drop(waiting);
        for events in taken.found.values_mut() {
            events.sort_unstable_by_key(|e| e.event_seq);
        }
        taken
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.0.waiting.lock().unwrap().len()
    }
}

/// A just-committed event with a call id, as the event log would return it, with its call id.
pub fn committed(
    delivery: &Delivery,
    event: &ParsedEvent,
    event_seq: i64,
    details: String,
) -> Option<(CallId, CallEvent)> {
    let call_id = event.common.call_id.clone()?;
    Some((
        call_id,
        CallEvent::of(event, event_seq, delivery.received_at, details),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DedupKey;

    fn event(seq: i64) -> CallEvent {
        let mut key = [0; 32];
        key[..8].copy_from_slice(&seq.to_be_bytes());
        CallEvent {
            event_seq: seq,
            received_at: chrono::Utc::now(),
            event_time: None,
            details: "{}".to_owned(),
            sequence_number: None,
            result_code: None,
            result_sub_code: None,
            result_message: None,
            operation_context: None,
            server_call_id: None,
            correlation_id: None,
            dedup_key: DedupKey::from(key),
        }
    }

    #[test]
    fn a_pass_takes_what_was_handed_over_by_call_in_order_and_names_the_rest() {
        let feed = ProjectionFeed::new(10);
        feed.offer([
            ("b".into(), event(5)),
            ("a".into(), event(3)),
            ("b".into(), event(4)),
        ]);
        let taken = feed.take(&[5, 4, 3, 9]);
        let seqs =
            |call: &str| -> Vec<i64> { taken.found[call].iter().map(|e| e.event_seq).collect() };
        assert_eq!(seqs("a"), vec![3]);
        assert_eq!(seqs("b"), vec![4, 5]);
        assert_eq!(taken.missing, vec![9]);
        // Taken out: a retried pass reads them from the event log.
        assert_eq!(feed.take(&[3]).missing, vec![3]);
        assert_eq!(feed.waiting(), 0);
    }

    #[test]
    fn events_beyond_the_capacity_are_not_kept() {
        let feed = ProjectionFeed::new(2);
        feed.offer((1..=3).map(|s| ("c".into(), event(s))));
        let taken = feed.take(&[1, 2, 3]);
        assert_eq!(taken.found["c"].len(), 2);
        assert_eq!(taken.missing, vec![3]);
    }

    #[test]
    fn events_left_waiting_too_long_are_dropped_at_the_next_offer() {
        let feed = ProjectionFeed::with_max_age(10, Duration::from_millis(20));
        feed.offer([("c".into(), event(1))]);
        std::thread::sleep(Duration::from_millis(40));
        feed.offer([("c".into(), event(2))]);
        assert_eq!(feed.waiting(), 1);
        assert_eq!(feed.take(&[1, 2]).missing, vec![1]);
    }

    #[test]
    fn a_feed_without_capacity_keeps_nothing() {
        let feed = ProjectionFeed::default();
        assert!(!feed.keeps_events());
        feed.offer([("c".into(), event(1))]);
        assert_eq!(feed.take(&[1]).missing, vec![1]);
    }
}
