//! The audit log's per-call filter keys (`call_filter_keys`): for each call a pass reaches, a key
//! for each distinct correlation id and operation context among the events it folds or recomputes
//! (`store::filter_key`). Written in the pass's transaction, the transaction that removes the
//! calls' queue rows, so an event is always findable by its values: through its call's keys once
//! projected, through the queue before.
//!
//! Keys are only ever added here. One whose value no event of the call still carries (its events
//! were dropped by retention) only makes a filter look at one call more; retention deletes the
//! keys of calls that are gone.

use sqlx::PgConnection;

use crate::events::CallId;
use crate::projection::model::CallEvent;
use crate::store::filter_key::{filter_key, FilterKind};

/// The keys gathered in one pass.
#[derive(Default)]
pub(crate) struct FilterKeys {
    keys: Vec<(i64, CallId)>,
}

impl FilterKeys {
    /// The keys of `events`, all of `call`. A call's events mostly repeat its correlation id:
    /// each value is hashed, but the call gets one row per distinct key.
    pub(crate) fn add(&mut self, call: &CallId, events: &[CallEvent]) {
        let mut keys: Vec<i64> = events
            .iter()
            .flat_map(|e| {
                let correlation = e.correlation_id.as_deref();
                let context = e.operation_context.as_deref();
                [
                    correlation.map(|v| filter_key(FilterKind::CorrelationId, v)),
                    context.map(|v| filter_key(FilterKind::OperationContext, v)),
                ]
            })
            .flatten()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        self.keys
            .extend(keys.into_iter().map(|key| (key, call.clone())));
    }

    /// Inserts the keys not already stored, sorted, so that concurrent passes touch the index in
    /// the same order.
    pub(crate) async fn write(mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.keys.is_empty() {
            return Ok(());
        }
        self.keys.sort_unstable();
        self.keys.dedup();
        let (keys, calls): (Vec<i64>, Vec<CallId>) = self.keys.into_iter().unzip();
        sqlx::query(
            "INSERT INTO call_filter_keys (key, call_id) \
             SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(keys)
        .bind(calls)
        .execute(conn)
        .await?;
        Ok(())
    }
}
