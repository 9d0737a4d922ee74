//! Prometheus metrics: names in one place, and the process-wide recorder.

use std::sync::OnceLock;

use metrics::Counter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::events::{EventFamily, WireFormat};

pub const EVENTS_RECEIVED: &str = "calltrail_events_received_total";
pub const EVENTS_STORED: &str = "calltrail_events_stored_total";
pub const EVENTS_DUPLICATE: &str = "calltrail_events_duplicate_total";
pub const REQUESTS_REJECTED: &str = "calltrail_requests_rejected_total";
pub const HTTP_REQUEST_SECONDS: &str = "calltrail_http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "calltrail_db_pool_connections";
pub const DB_POOL_MAX: &str = "calltrail_db_pool_max_connections";
pub const INGEST_QUEUE_DEPTH: &str = "calltrail_ingest_queue_depth";
pub const INGEST_BATCH_EVENTS: &str = "calltrail_ingest_batch_events";
pub const INGEST_COMMIT_SECONDS: &str = "calltrail_ingest_commit_duration_seconds";
pub const PROJECTION_LAG_SECONDS: &str = "calltrail_projection_lag_seconds";
pub const PROJECTION_QUEUE_DEPTH: &str = "calltrail_projection_queue_depth";
pub const PROJECTION_CALLS: &str = "calltrail_projection_calls_total";
pub const PROJECTION_EVENTS: &str = "calltrail_projection_events_total";
/// 1 while the database answers, 0 while it is marked down (deliveries refused at once).
pub const DATABASE_UP: &str = "calltrail_database_up";
/// The read replica (`database.read_url`), sampled at each scrape and readiness check: 1 while it
/// answers; how long ago the newest transaction it has replayed was committed (0 once it has
/// replayed all it received); the primary's WAL it has not replayed, in bytes.
pub const REPLICA_UP: &str = "calltrail_replica_up";
pub const REPLICA_REPLAY_LAG_SECONDS: &str = "calltrail_replica_replay_lag_seconds";
pub const REPLICA_LAG_BYTES: &str = "calltrail_replica_lag_bytes";
/// Retention (`retention.keep_months`): event partitions dropped, the events they held, and the
/// dedup keys pruned with them.
pub const RETENTION_PARTITIONS_DROPPED: &str = "calltrail_retention_partitions_dropped_total";
pub const RETENTION_EVENTS_DROPPED: &str = "calltrail_retention_events_dropped_total";
pub const RETENTION_DEDUP_KEYS_PRUNED: &str = "calltrail_retention_dedup_keys_pruned_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use (several apps in one test process share it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let latency = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let batch = [
            1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
        ];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &latency)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(INGEST_BATCH_EVENTS.to_owned()), &batch)
            })
            .expect("bucket lists are non-empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed; ours is then simply not the global one.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The per-event counters of the request path, each registered on first use and kept: a
/// `counter!` with labels hashes its key and looks it up in the registry every time, which is
/// most of what counting an event costs. A series still appears only once something is counted.
pub struct EventCounters {
    received: [[OnceLock<Counter>; WireFormat::ALL.len()]; EventFamily::ALL.len()],
    stored: [OnceLock<Counter>; EventFamily::ALL.len()],
    duplicate: [OnceLock<Counter>; EventFamily::ALL.len()],
}

impl EventCounters {
    /// The process-wide counters, bound to the process-wide recorder (installed first).
    pub fn get() -> &'static EventCounters {
        static COUNTERS: OnceLock<EventCounters> = OnceLock::new();
        COUNTERS.get_or_init(|| {
            handle();
            EventCounters {
                received: [const { [const { OnceLock::new() }; WireFormat::ALL.len()] };
                    EventFamily::ALL.len()],
                stored: [const { OnceLock::new() }; EventFamily::ALL.len()],
                duplicate: [const { OnceLock::new() }; EventFamily::ALL.len()],
            }
        })
    }

    pub fn received(&self, family: EventFamily, format: WireFormat) {
        self.received[family as usize][format as usize]
            .get_or_init(|| {
                metrics::counter!(EVENTS_RECEIVED,
                    "family" => family.as_str(), "format" => format.as_str())
            })
            .increment(1);
    }

    /// One event of `family` stored (`new`) or found already stored.
    pub fn stored(&self, family: EventFamily, new: bool) {
        let (cells, name) = if new {
            (&self.stored, EVENTS_STORED)
        } else {
            (&self.duplicate, EVENTS_DUPLICATE)
        };
        cells[family as usize]
            .get_or_init(|| metrics::counter!(name, "family" => family.as_str()))
            .increment(1);
    }
}
