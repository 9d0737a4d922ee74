//! The write path after verification and parsing: a bounded queue in front of writer tasks that
//! gather the events of concurrent requests into shared transactions (group commit). A request is
//! answered only after the transaction holding its events has committed.

mod group_commit;

pub use group_commit::{IngestQueue, IngestWriters, SubmitError, WriteSummary};
