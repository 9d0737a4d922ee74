//! The projector's side of the rollups: each pass turns what its calls contributed before and what
//! they contribute now into one change per affected row, applied with one statement per table
//! (plus a delete of rows that fell to zero, when something was subtracted). A call's
//! contribution is read from its rows before they are written, and computed from what is about to
//! be written, so the change is right whether the call was folded, recomputed or removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{bucket_start, Counts, UNITS, WIDTHS};
use crate::events::CallId;
use crate::projection::fold::Pass;
use crate::projection::model::{CallOutcome, CallProjection, CallRow};
use crate::projection::write::FoldJson;

/// What one call adds to the buckets of its first event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Contribution {
    first_event_at: DateTime<Utc>,
    connected: bool,
    failed: bool,
    duration_ms: Option<i64>,
    dtmf_tones: i64,
    media_total: i64,
    media_succeeded: i64,
}

impl Contribution {
    fn of(row: &CallRow) -> Contribution {
        Contribution {
            first_event_at: row.first_event_at,
            connected: row.connected_at.is_some(),
            failed: row.outcome == CallOutcome::Failed,
            duration_ms: row.duration_ms,
            dtmf_tones: row.dtmf_count.into(),
            media_total: row.media_total.into(),
            media_succeeded: row.media_succeeded.into(),
        }
    }
}

/// A call's distinct participants, keyed as `call_participants` rows count them: by the call
/// start copied into them, and raw id.
type Participants = BTreeSet<(DateTime<Utc>, String)>;

/// Changes to the three tables, by key; the maps keep keys sorted, so concurrent passes lock rows
/// in one order.
#[derive(Debug, Default)]
struct Changes {
    buckets: BTreeMap<(&'static str, DateTime<Utc>), Counts>,
    durations: BTreeMap<(&'static str, i64, DateTime<Utc>, i64), i64>,
    participants: BTreeMap<(&'static str, DateTime<Utc>, String), i64>,
}

impl Changes {
    /// Adds (`sign` 1) or subtracts (-1) a call's contribution.
    fn call(&mut self, c: &Contribution, sign: i64) {
        for (bucket, width) in WIDTHS {
            let start = bucket_start(c.first_event_at, width);
            let row = self.buckets.entry((bucket, start)).or_default();
            row.calls += sign;
            row.connected += sign * i64::from(c.connected);
            row.failed += sign * i64::from(c.failed);
            row.dtmf_tones += sign * c.dtmf_tones;
            row.media_total += sign * c.media_total;
            row.media_succeeded += sign * c.media_succeeded;
            if let Some(ms) = c.duration_ms {
                row.durations += sign;
                for unit in UNITS {
                    *self
                        .durations
                        .entry((bucket, unit, start, ms.div_euclid(unit)))
                        .or_default() += sign;
                }
            }
        }
    }

    fn participants(&mut self, set: &Participants, sign: i64) {
        for (started, raw_id) in set {
            for (bucket, width) in WIDTHS {
                let key = (bucket, bucket_start(*started, width), raw_id.clone());
                *self.participants.entry(key).or_default() += sign;
            }
        }
    }

    /// Drops what cancelled out: a pass that changed nothing the report shows writes nothing.
    fn prune(&mut self) {
        self.buckets.retain(|_, c| *c != Counts::default());
        self.durations.retain(|_, n| *n != 0);
        self.participants.retain(|_, n| *n != 0);
    }

    fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.durations.is_empty() && self.participants.is_empty()
    }
}

/// Applies to the rollups what this pass changes: `recomputed` calls (with `projections` for those
/// that still have events; the others are removed) and `folded` ones. Runs before the pass's rows
/// are written, in its transaction, with its calls locked.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    recomputed: &[CallId],
    projections: &[(CallProjection, FoldJson)],
    folded: &[(Pass, FoldJson)],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = recomputed
        .iter()
        .map(CallId::as_str)
        .chain(folded.iter().map(|(p, _)| p.call.call_id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut changes = Changes::default();
    let before: Vec<Contribution> = sqlx::query_as(
        "SELECT first_event_at, connected_at IS NOT NULL AS connected, \
           outcome = 'failed' AS failed, duration_ms, dtmf_count::int8 AS dtmf_tones, \
           media_total::int8 AS media_total, media_succeeded::int8 AS media_succeeded \
         FROM calls WHERE call_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for c in &before {
        changes.call(c, -1);
    }
    for (p, _) in projections {
        changes.call(&Contribution::of(&p.call), 1);
    }
    for (p, _) in folded {
        changes.call(&Contribution::of(&p.call), 1);
    }

    // Participants change only where intervals are replaced (recomputed calls) or added (folded
    // calls that opened one); the others' rows are read for nothing, so they are not read.
    let mut readers: Vec<&str> = recomputed.iter().map(CallId::as_str).collect();
    readers.extend(
        folded
            .iter()
            .filter(|(p, _)| !p.delta.opened.is_empty())
            .map(|(p, _)| p.call.call_id.as_str()),
    );
    let mut had: HashMap<String, Participants> = HashMap::new();
    if !readers.is_empty() {
        let rows: Vec<(String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT DISTINCT call_id, call_started_at, raw_id FROM call_participants \
             WHERE call_id = ANY($1)",
        )
        .bind(&readers)
        .fetch_all(&mut *conn)
        .await?;
        for (call_id, started, raw_id) in rows {
            had.entry(call_id).or_default().insert((started, raw_id));
        }
    }
    let none = Participants::new();
    for id in recomputed {
        changes.participants(had.get(id.as_str()).unwrap_or(&none), -1);
    }
    for (p, _) in projections {
        let now: Participants = p
            .participants
            .iter()
            .map(|i| (p.call.first_event_at, i.raw_id.clone()))
            .collect();
        changes.participants(&now, 1);
    }
    for (p, _) in folded {
        let old = had.get(p.call.call_id.as_str()).unwrap_or(&none);
        let added: Participants = p
            .delta
            .opened
            .iter()
            .map(|i| (p.call.first_event_at, i.raw_id.clone()))
            .filter(|key| !old.contains(key))
            .collect();
        changes.participants(&added, 1);
    }

    changes.prune();
    if changes.is_empty() {
        return Ok(());
    }
    write(conn, changes).await
}

/// Writes participants, then durations, then buckets: the order in which the recomputation locks
/// the tables (see the migration), so the two cannot deadlock.
async fn write(conn: &mut PgConnection, mut changes: Changes) -> Result<(), sqlx::Error> {
    if !changes.participants.is_empty() {
        let keys: Vec<_> = changes.participants.iter().collect();
        // Each row's count after the change, against the change, says whether the participant
        // entered (0 → more) or left (more → 0) the bucket's distinct count. The change is looked
        // up here rather than joined back to the returned rows in SQL: work calltrail does more
        // cheaply than the database, which is what limits a deployment.
        let after: Vec<(String, DateTime<Utc>, String, i64)> = sqlx::query_as(
            "INSERT INTO summary_participants AS s (bucket, start, raw_id, calls) \
             SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::int8[]) \
               AS d(bucket, start, raw_id, delta) ORDER BY bucket, start, raw_id \
             ON CONFLICT (bucket, start, raw_id) DO UPDATE SET calls = s.calls + EXCLUDED.calls \
             RETURNING s.bucket, s.start, s.raw_id, s.calls",
        )
        .bind(keys.iter().map(|((b, _, _), _)| *b).collect::<Vec<_>>())
        .bind(keys.iter().map(|((_, s, _), _)| *s).collect::<Vec<_>>())
        .bind(
            keys.iter()
                .map(|((_, _, r), _)| r.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(keys.iter().map(|(_, n)| **n).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        for (bucket, start, raw_id, calls) in after {
            // The names read back are the ones just written: each is one of `WIDTHS`.
            let Some(&(bucket, _)) = WIDTHS.iter().find(|(b, _)| *b == bucket) else {
                continue;
            };
            let Some(&delta) = changes.participants.get(&(bucket, start, raw_id)) else {
                continue;
            };
            let entered = match (calls > 0, calls - delta > 0) {
                (true, false) => 1,
                (false, true) => -1,
                _ => 0,
            };
            if entered != 0 {
                changes
                    .buckets
                    .entry((bucket, start))
                    .or_default()
                    .participants += entered;
            }
        }
        let left: Vec<_> = keys.iter().filter(|(_, n)| **n < 0).collect();
        if !left.is_empty() {
            sqlx::query(
                "DELETE FROM summary_participants s \
                 USING unnest($1::text[], $2::timestamptz[], $3::text[]) AS d(bucket, start, raw_id) \
                 WHERE s.bucket = d.bucket AND s.start = d.start AND s.raw_id = d.raw_id \
                   AND s.calls = 0",
            )
            .bind(left.iter().map(|((b, _, _), _)| *b).collect::<Vec<_>>())
            .bind(left.iter().map(|((_, s, _), _)| *s).collect::<Vec<_>>())
            .bind(left.iter().map(|((_, _, r), _)| r.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
    }
    write_durations(conn, &changes.durations).await?;
    changes.buckets.retain(|_, c| *c != Counts::default());
    write_buckets(conn, &changes.buckets).await
}

async fn write_durations(
    conn: &mut PgConnection,
    durations: &BTreeMap<(&'static str, i64, DateTime<Utc>, i64), i64>,
) -> Result<(), sqlx::Error> {
    if durations.is_empty() {
        return Ok(());
    }
    let keys: Vec<_> = durations.iter().collect();
    sqlx::query(
        "INSERT INTO summary_durations AS s (bucket, unit, start, value, calls) \
         SELECT * FROM unnest($1::text[], $2::int4[], $3::timestamptz[], $4::int8[], $5::int8[]) \
           AS d(bucket, unit, start, value, calls) \
         ORDER BY bucket, unit, start, value \
         ON CONFLICT (bucket, unit, start, value) DO UPDATE SET calls = s.calls + EXCLUDED.calls",
    )
    .bind(keys.iter().map(|((b, ..), _)| *b).collect::<Vec<_>>())
    .bind(
        keys.iter()
            .map(|((_, u, ..), _)| *u as i32)
            .collect::<Vec<_>>(),
    )
    .bind(keys.iter().map(|((_, _, s, _), _)| *s).collect::<Vec<_>>())
    .bind(keys.iter().map(|((.., v), _)| *v).collect::<Vec<_>>())
    .bind(keys.iter().map(|(_, n)| **n).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let left: Vec<_> = keys.iter().filter(|(_, n)| **n < 0).collect();
    if !left.is_empty() {
        sqlx::query(
            "DELETE FROM summary_durations s \
             USING unnest($1::text[], $2::int4[], $3::timestamptz[], $4::int8[]) \
               AS d(bucket, unit, start, value) \
             WHERE s.bucket = d.bucket AND s.unit = d.unit AND s.start = d.start \
               AND s.value = d.value AND s.calls = 0",
        )
        .bind(left.iter().map(|((b, ..), _)| *b).collect::<Vec<_>>())
        .bind(
            left.iter()
                .map(|((_, u, ..), _)| *u as i32)
                .collect::<Vec<_>>(),
        )
        .bind(left.iter().map(|((_, _, s, _), _)| *s).collect::<Vec<_>>())
        .bind(left.iter().map(|((.., v), _)| *v).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_buckets(
    conn: &mut PgConnection,
    buckets: &BTreeMap<(&'static str, DateTime<Utc>), Counts>,
) -> Result<(), sqlx::Error> {
    if buckets.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = buckets.iter().collect();
    let column = |f: fn(&Counts) -> i64| rows.iter().map(|(_, c)| f(c)).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO summary_buckets AS s (bucket, start, calls, connected, failed, durations, \
           dtmf_tones, media_total, media_succeeded, participants) \
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[], \
           $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[]) \
           AS d(bucket, start, calls, connected, failed, durations, dtmf_tones, media_total, \
                media_succeeded, participants) \
         ORDER BY bucket, start \
         ON CONFLICT (bucket, start) DO UPDATE SET calls = s.calls + EXCLUDED.calls, \
           connected = s.connected + EXCLUDED.connected, failed = s.failed + EXCLUDED.failed, \
           durations = s.durations + EXCLUDED.durations, \
           dtmf_tones = s.dtmf_tones + EXCLUDED.dtmf_tones, \
           media_total = s.media_total + EXCLUDED.media_total, \
           media_succeeded = s.media_succeeded + EXCLUDED.media_succeeded, \
           participants = s.participants + EXCLUDED.participants",
    )
    .bind(rows.iter().map(|((b, _), _)| *b).collect::<Vec<_>>())
    .bind(rows.iter().map(|((_, s), _)| *s).collect::<Vec<_>>())
    .bind(column(|c| c.calls))
    .bind(column(|c| c.connected))
    .bind(column(|c| c.failed))
    .bind(column(|c| c.durations))
    .bind(column(|c| c.dtmf_tones))
    .bind(column(|c| c.media_total))
    .bind(column(|c| c.media_succeeded))
    .bind(column(|c| c.participants))
    .execute(&mut *conn)
    .await?;
    let shrunk: Vec<_> = rows
        .iter()
        .filter(|(_, c)| c.calls < 0 || c.participants < 0)
        .collect();
    if !shrunk.is_empty() {
        // An empty bucket reads as no row; removing it keeps dropped months from leaving rows.
        sqlx::query(
            "DELETE FROM summary_buckets s \
             USING unnest($1::text[], $2::timestamptz[]) AS d(bucket, start) \
             WHERE s.bucket = d.bucket AND s.start = d.start AND s.calls = 0 \
               AND s.participants = 0",
        )
        .bind(shrunk.iter().map(|((b, _), _)| *b).collect::<Vec<_>>())
        .bind(shrunk.iter().map(|((_, s), _)| *s).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at: &str, duration_ms: Option<i64>) -> Contribution {
        Contribution {
            first_event_at: at.parse().expect("a time"),
            connected: true,
            failed: false,
            duration_ms,
            dtmf_tones: 2,
            media_total: 1,
            media_succeeded: 1,
        }
    }

    #[test]
    fn a_call_projected_again_unchanged_changes_nothing() {
        let mut changes = Changes::default();
        let c = call("2024-03-01T10:15:00Z", Some(61_500));
        changes.call(&c, -1);
        changes.call(&c, 1);
        let who: Participants = [(c.first_event_at, "4:+1".to_owned())].into();
        changes.participants(&who, -1);
        changes.participants(&who, 1);
        changes.prune();
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_call_that_moved_earlier_leaves_its_buckets_and_joins_the_new_ones() {
        let mut changes = Changes::default();
        changes.call(&call("2024-03-01T00:05:00Z", Some(61_500)), -1);
        changes.call(&call("2024-02-29T23:55:00Z", Some(61_500)), 1);
        changes.prune();
        let starts: Vec<(&str, String, i64)> = changes
            .buckets
            .iter()
            .map(|((b, s), c)| (*b, s.to_rfc3339(), c.calls))
            .collect();
        assert_eq!(
            starts,
            [
                ("day", "2024-02-29T00:00:00+00:00".to_owned(), 1),
                ("day", "2024-03-01T00:00:00+00:00".to_owned(), -1),
                ("hour", "2024-02-29T23:00:00+00:00".to_owned(), 1),
                ("hour", "2024-03-01T00:00:00+00:00".to_owned(), -1),
            ]
        );
        // Minute 1, second 61, millisecond 61,500, at both widths, out of one bucket and into another.
        assert_eq!(changes.durations.len(), 12);
        assert!(changes
            .durations
            .keys()
            .any(|(b, unit, _, value)| (*b, *unit, *value) == ("hour", 1_000, 61)));
    }
}
