//! The summary report's buckets read from the rollups, with the duration percentiles found in the
//! duration histogram exactly as PostgreSQL's `percentile_cont` finds them in the sorted durations.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Counts, UNITS};

/// The percentiles the report shows, as `percentile_cont(ARRAY[0.5, 0.95])` takes them.
pub const PERCENTILES: [f64; 2] = [0.5, 0.95];

/// One bucket's row with its percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct RolledBucket {
    pub start: DateTime<Utc>,
    /// The bucket's stored totals.
    pub counts: Counts,
    /// `PERCENTILES` of the durations; `None` when no call of the bucket has one.
    pub percentiles: [Option<f64>; 2],
}

/// Values at one unit with how many calls had each, in order.
type Histogram = Vec<(i64, i64)>;

#[derive(sqlx::FromRow)]
struct Row {
    start: DateTime<Utc>,
    #[sqlx(flatten)]
    counts: Counts,
}

/// Where `percentile_cont` looks for percentile `p` among `n` sorted values: the 0-based ranks
/// of the two values it interpolates between, and how far between them. The same arithmetic as
/// PostgreSQL's (`setup_pct_info`), in the same floating point, so the result is the same number.
fn positions(p: f64, n: i64) -> (i64, i64, f64) {
    let at = p * (n - 1) as f64;
    (at.floor() as i64, at.ceil() as i64, at - at.floor())
}

/// `float8_lerp`: PostgreSQL's interpolation between two values.
fn lerp(low: f64, high: f64, proportion: f64) -> f64 {
    low + proportion * (high - low)
}

/// The buckets of width `bucket` (`"hour"` or `"day"`) starting in `[from, until)` that hold
/// calls or participants, in order. Run it in a repeatable-read transaction: the rows of the three
/// tables must be of one moment.
pub async fn buckets(
    conn: &mut PgConnection,
    bucket: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<RolledBucket>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT start, calls, connected, failed, durations, dtmf_tones, media_total, \
           media_succeeded, participants \
         FROM summary_buckets WHERE bucket = $1 AND start >= $2 AND start < $3 ORDER BY start",
    )
    .bind(bucket)
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;

    // Every rank a percentile needs, per bucket: (bucket index, rank) → duration.
    let mut wanted: BTreeSet<(usize, i64)> = BTreeSet::new();
    for (i, row) in rows.iter().enumerate() {
        if row.counts.durations > 0 {
            for p in PERCENTILES {
                let (low, high, _) = positions(p, row.counts.durations);
                wanted.insert((i, low));
                wanted.insert((i, high));
            }
        }
    }
    let found = if wanted.is_empty() {
        HashMap::new()
    } else {
        ranks(conn, bucket, from, until, &rows, &wanted).await?
    };

    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, row)| RolledBucket {
            start: row.start,
            counts: row.counts,
            percentiles: PERCENTILES.map(|p| {
                (row.counts.durations > 0).then(|| {
                    let (low, high, proportion) = positions(p, row.counts.durations);
                    let (a, b) = (found[&(i, low)] as f64, found[&(i, high)] as f64);
                    if high > low {
                        lerp(a, b, proportion)
                    } else {
                        a
                    }
                })
            }),
        })
        .collect())
}

/// The durations at `wanted` ranks, found by going down the histogram: the minutes of every bucket
/// of the range (one index range), then only the seconds of the minutes that hold a wanted rank,
/// then only the milliseconds of those seconds.
async fn ranks(
    conn: &mut PgConnection,
    bucket: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    rows: &[Row],
    wanted: &BTreeSet<(usize, i64)>,
) -> Result<HashMap<(usize, i64), i64>, sqlx::Error> {
    let index: HashMap<DateTime<Utc>, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.start, i)).collect();
    // Per wanted rank: the range of values it lies in at the current unit (None: the whole
    // bucket) and its rank among the values of that range.
    let mut at: Vec<((usize, i64), Option<i64>, i64)> = wanted
        .iter()
        .map(|&(i, rank)| ((i, rank), None, rank))
        .collect();
    for (level, unit) in UNITS.into_iter().enumerate() {
        // (bucket index, first value of the range) → the range's (value, calls), in order.
        let mut histogram: HashMap<(usize, Option<i64>), Histogram> = HashMap::new();
        let found: Vec<(DateTime<Utc>, Option<i64>, i64, i64)> = if level == 0 {
            sqlx::query_as(
                "SELECT start, NULL::int8, value, calls FROM summary_durations \
                 WHERE bucket = $1 AND unit = $2 AND start >= $3 AND start < $4 \
                 ORDER BY start, value",
            )
            .bind(bucket)
            .bind(unit as i32)
            .bind(from)
            .bind(until)
            .fetch_all(&mut *conn)
            .await?
        } else {
            let parent = UNITS[level - 1] / unit;
            let ranges: BTreeSet<(usize, i64)> = at
                .iter()
                .map(|((i, _), low, _)| (*i, low.expect("set by the level above")))
                .collect();
            sqlx::query_as(
                "SELECT r.start, r.low, d.value, d.calls \
                 FROM unnest($3::timestamptz[], $4::int8[]) AS r(start, low) \
                 CROSS JOIN LATERAL (SELECT value, calls FROM summary_durations \
                   WHERE bucket = $1 AND unit = $2 AND start = r.start \
                     AND value >= r.low AND value < r.low + $5) d \
                 ORDER BY r.start, r.low, d.value",
            )
            .bind(bucket)
            .bind(unit as i32)
            .bind(
                ranges
                    .iter()
                    .map(|(i, _)| rows[*i].start)
                    .collect::<Vec<_>>(),
            )
            .bind(ranges.iter().map(|(_, low)| *low).collect::<Vec<_>>())
            .bind(parent)
            .fetch_all(&mut *conn)
            .await?
        };
        for (start, low, value, calls) in found {
            if let Some(&i) = index.get(&start) {
                histogram.entry((i, low)).or_default().push((value, calls));
            }
        }
        for ((i, _), low, rank) in &mut at {
            let values = histogram.get(&(*i, *low)).map_or(&[][..], Vec::as_slice);
            let (value, within) = locate(values, *rank).ok_or_else(inconsistent)?;
            // The next unit's values under this one start at value × (this unit / next unit).
            *low = Some(match UNITS.get(level + 1) {
                Some(next) => value * (unit / next),
                None => value,
            });
            *rank = within;
        }
    }
    Ok(at
        .into_iter()
        .map(|(key, value, _)| (key, value.expect("every level sets it")))
        .collect())
}

/// The value holding `rank` (0-based) among `values` ((value, calls) in order), and the rank
/// within it.
fn locate(values: &[(i64, i64)], mut rank: i64) -> Option<(i64, i64)> {
    for &(value, calls) in values {
        if rank < calls {
            return Some((value, rank));
        }
        rank -= calls;
    }
    None
}

fn inconsistent() -> sqlx::Error {
    sqlx::Error::Protocol(
        "the summary rollups disagree with themselves (a duration rank is missing): \
         run `calltrail rebuild`"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_postgresql_s() {
        // Three values, 95th percentile: rank 1.9, between the 2nd and 3rd (0-based 1 and 2).
        let (low, high, proportion) = positions(0.95, 3);
        assert_eq!((low, high), (1, 2));
        assert_eq!(lerp(2000.0, 3000.0, proportion), 2900.0);
        assert_eq!(positions(0.5, 1), (0, 0, 0.0));
        assert_eq!(positions(0.5, 4).0, 1);
    }

    #[test]
    fn a_rank_is_located_through_repeated_values() {
        let values = [(10, 2), (11, 1), (15, 3)];
        assert_eq!(locate(&values, 0), Some((10, 0)));
        assert_eq!(locate(&values, 1), Some((10, 1)));
        assert_eq!(locate(&values, 2), Some((11, 0)));
        assert_eq!(locate(&values, 5), Some((15, 2)));
        assert_eq!(locate(&values, 6), None);
    }
}
