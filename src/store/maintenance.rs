//! Housekeeping: the event log's monthly partitions kept ahead of the clock, and those past
//! retention dropped.

use std::time::Duration;

use sqlx::PgPool;

use crate::store::retention;

/// Makes sure the partitions for last month through three months ahead exist.
pub async fn ensure_partitions(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT calltrail_ensure_event_partitions(((now() AT TIME ZONE 'UTC') - interval '1 month')::date, 5)",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs `ensure_partitions`, then retention (`keep_months`, 0: none), at start and every hour for
/// the life of the process; failures are logged and retried at the next tick (the default partition
/// catches rows meanwhile).
pub fn spawn_partition_keeper(pool: PgPool, keep_months: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(error) = ensure_partitions(&pool).await {
                tracing::warn!(%error, "could not create upcoming event partitions");
            }
            if let Err(error) = retention::apply(&pool, keep_months).await {
                tracing::warn!(%error, "could not drop the event partitions past retention");
            }
        }
    })
}
