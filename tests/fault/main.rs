//! The fault suite: the real `calltrail serve`, under a load that this suite generates and signs
//! itself (it shares no code with the service's request path), through the faults a system of
//! record must survive: `kill -9` under load, a database outage of tens of seconds, SIGTERM under
//! load, duplicate storms across two instances sharing one database, and a stalled or slow
//! database. Each scenario counts what the service acknowledged and checks it against what
//! PostgreSQL holds.
//!
//! `scripts/fault.sh` runs it on a throwaway PostgreSQL; `scripts/fault.sh --long` runs the long
//! form (`CALLTRAIL_FAULT_LONG=1`: more kills, longer outages and stalls, heavier load). The short
//! form is part of `scripts/test.sh`. Scenarios run one at a time, so that one's load does not
//! distort another's latencies; each prints its figures (`--nocapture` shows them).

#[path = "../shared/model_tables.rs"]
mod model_tables;
#[path = "../process/mod.rs"]
mod process;

mod crash;
mod load;
mod model;
mod outage;
mod relay;
mod service;
mod sigterm;
mod stall;
mod storm;

use std::time::Duration;

/// How hard each scenario pushes: the short form (CI) or the long one (on demand).
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub long: bool,
    /// `kill -9` and restart cycles.
    pub kills: usize,
    /// SIGTERM and restart cycles.
    pub sigterms: usize,
    /// How long each database outage lasts.
    pub outage: Duration,
    /// How long the dedup table stays locked.
    pub stall: Duration,
    /// Concurrent senders of the sustained load.
    pub senders: usize,
    /// Calls in the duplicate storm (each delivered three times).
    pub storm_calls: usize,
}

pub fn size() -> Size {
    let long = std::env::var("CALLTRAIL_FAULT_LONG").is_ok_and(|v| v == "1");
    if long {
        Size {
            long,
            kills: 10,
            sigterms: 5,
            outage: Duration::from_secs(30),
            stall: Duration::from_secs(20),
            senders: 32,
            storm_calls: 600,
        }
    } else {
        Size {
            long,
            kills: 3,
            sigterms: 2,
            outage: Duration::from_secs(10),
            stall: Duration::from_secs(5),
            senders: 16,
            storm_calls: 120,
        }
    }
}

/// Held by each scenario for its whole run: they measure latencies, which a concurrent scenario's
/// load on the same cores would distort.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}
