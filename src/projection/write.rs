//! Writing the call-model tables: a recomputed call's rows are replaced (delete, then one
//! multi-row insert per table, whatever the number of calls); a folded call's row is updated in
//! place (an upsert, so unchanged indexed columns allow a HOT update) and only the detail rows its
//! new events created or changed are written.

use std::collections::HashSet;

use sqlx::PgConnection;

use crate::events::CallId;
use crate::projection::fold::Pass;
use crate::projection::model::{
    CallProjection, CallRow, DtmfTone, MediaOperation, ParticipantChange, ParticipantInterval,
};

const TABLES: &[&str] = &[
    "calls",
    "call_participants",
    "participant_changes",
    "dtmf_tones",
    "media_operations",
];

/// A call's fold state, serialised for `calls.fold`.
pub(crate) type FoldJson = String;

/// Rows to insert, from any number of calls: each detail row with its call's row.
#[derive(Default)]
struct Rows<'a> {
    calls: Vec<(&'a CallRow, &'a str)>,
    participants: Vec<(&'a CallRow, &'a ParticipantInterval)>,
    changes: Vec<(&'a CallRow, &'a ParticipantChange)>,
    tones: Vec<(&'a CallRow, &'a DtmfTone)>,
    media: Vec<(&'a CallRow, &'a MediaOperation)>,
}

impl<'a> Rows<'a> {
    /// One call's row with the detail rows to insert for it.
    fn add(
        &mut self,
        call: &'a CallRow,
        fold: &'a str,
        participants: &'a [ParticipantInterval],
        changes: &'a [ParticipantChange],
        tones: &'a [DtmfTone],
        media: impl IntoIterator<Item = &'a MediaOperation>,
    ) {
        self.calls.push((call, fold));
        self.participants
            .extend(participants.iter().map(|r| (call, r)));
        self.changes.extend(changes.iter().map(|r| (call, r)));
        self.tones.extend(tones.iter().map(|r| (call, r)));
        self.media.extend(media.into_iter().map(|r| (call, r)));
    }

    async fn insert(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        insert_calls(conn, &self.calls).await?;
        insert_participants(conn, &self.participants).await?;
        insert_changes(conn, &self.changes).await?;
        insert_tones(conn, &self.tones).await?;
        insert_media(conn, &self.media).await?;
        Ok(())
    }
}

async fn delete(
    conn: &mut PgConnection,
    table: &str,
    call_ids: &[&str],
) -> Result<(), sqlx::Error> {
    if call_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!("DELETE FROM {table} WHERE call_id = ANY($1)"))
        .bind(call_ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes one pass's results. Recomputed calls (`recomputed`, with `projections` for those that
/// still have events) have all their rows deleted and inserted again. Folded calls (`folded`) get
/// their row upserted, the intervals, changes and key presses their new events added, the new ends
/// of intervals stored before, and the media operations those events started or changed. All
/// inserts of a table go in one statement, whatever the number of calls.
pub(crate) async fn write(
    conn: &mut PgConnection,
    recomputed: &[CallId],
    projections: &[(CallProjection, FoldJson)],
    folded: &[(Pass, FoldJson)],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = recomputed.iter().map(CallId::as_str).collect();
    for table in TABLES {
        delete(conn, table, &ids).await?;
    }
    // A call with no event left (retention dropped them) keeps nothing, not even the count of
    // duplicates absorbed, which is not derived from the log and is otherwise left alone. Every
    // projection is of a recomputed call, so there is such a call only when some have none.
    if projections.len() < ids.len() {
        let kept: HashSet<&str> = projections
            .iter()
            .map(|(p, _)| p.call.call_id.as_str())
            .collect();
        let gone: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !kept.contains(id))
            .collect();
        delete(conn, "call_duplicates", &gone).await?;
    }
    end_intervals(conn, folded).await?;
    update_media(conn, folded).await?;

    let mut rows = Rows::default();
    for (p, fold) in projections {
        rows.add(
            &p.call,
            fold,
            &p.participants,
            &p.changes,
            &p.tones,
            &p.media,
        );
    }
    for (p, fold) in folded {
        let d = &p.delta;
        let started = d.media.iter().filter(|m| m.is_new).map(|m| &m.row);
        rows.add(&p.call, fold, &d.opened, &d.changes, &d.tones, started);
    }
    rows.insert(conn).await
}

/// Media operations stored by an earlier pass that this one changed.
async fn update_media(
    conn: &mut PgConnection,
    passes: &[(Pass, FoldJson)],
) -> Result<(), sqlx::Error> {
    let rows: Vec<(&CallRow, &MediaOperation)> = passes
        .iter()
        .flat_map(|(p, _)| {
            p.delta
                .media
                .iter()
                .filter(|m| !m.is_new)
                .map(move |m| (&p.call, &m.row))
        })
        .collect();
    execute_media(
        conn,
        &format!(
            "UPDATE media_operations m SET outcome = u.outcome, result_code = u.result_code, \
               result_sub_code = u.result_sub_code, result_message = u.result_message, \
               started_at = u.started_at, finished_at = u.finished_at, \
               duration_ms = u.duration_ms, event_count = u.event_count \
             FROM {MEDIA_ARRAYS} AS u({MEDIA_COLUMNS}) \
             WHERE m.call_id = u.call_id AND m.operation = u.operation \
               AND m.operation_context = u.operation_context"
        ),
        &rows,
    )
    .await
}

/// Intervals stored by an earlier pass that this one ended.
async fn end_intervals(
    conn: &mut PgConnection,
    passes: &[(Pass, FoldJson)],
) -> Result<(), sqlx::Error> {
    let ends: Vec<(&str, &str, i32, _, Option<i64>)> = passes
        .iter()
        .flat_map(|(p, _)| {
            p.delta.ended.iter().map(|((raw_id, no), (at, sequence))| {
                (
                    p.call.call_id.as_str(),
                    raw_id.as_str(),
                    *no,
                    *at,
                    *sequence,
                )
            })
        })
        .collect();
    if ends.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE call_participants p SET left_at = e.left_at, left_sequence = e.left_sequence \
         FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::bigint[]) \
           AS e(call_id, raw_id, interval_no, left_at, left_sequence) \
         WHERE p.call_id = e.call_id AND p.raw_id = e.raw_id AND p.interval_no = e.interval_no",
    )
    .bind(col(&ends, |e| e.0))
    .bind(col(&ends, |e| e.1))
    .bind(col(&ends, |e| e.2))
    .bind(col(&ends, |e| e.3))
    .bind(col(&ends, |e| e.4))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_calls(
    conn: &mut PgConnection,
    rows: &[(&CallRow, &str)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let calls: Vec<&CallRow> = rows.iter().map(|(c, _)| *c).collect();
    sqlx::query(
        "INSERT INTO calls (call_id, server_call_id, correlation_id, state, first_event_at, \
           last_event_at, connected_at, disconnected_at, duration_ms, participant_count, \
           peak_participants, outcome, failure_code, failure_sub_code, failure_message, \
           event_count, dtmf_count, media_total, media_succeeded, last_event_seq, fold) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
           $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::int[], \
           $11::int[], $12::text[], $13::bigint[], $14::bigint[], $15::text[], $16::int[], \
           $17::int[], $18::int[], $19::int[], $20::bigint[], $21::text[]) \
         ON CONFLICT (call_id) DO UPDATE SET server_call_id = EXCLUDED.server_call_id, \
           correlation_id = EXCLUDED.correlation_id, state = EXCLUDED.state, \
           first_event_at = EXCLUDED.first_event_at, last_event_at = EXCLUDED.last_event_at, \
           connected_at = EXCLUDED.connected_at, disconnected_at = EXCLUDED.disconnected_at, \
           duration_ms = EXCLUDED.duration_ms, participant_count = EXCLUDED.participant_count, \
           peak_participants = EXCLUDED.peak_participants, outcome = EXCLUDED.outcome, \
           failure_code = EXCLUDED.failure_code, failure_sub_code = EXCLUDED.failure_sub_code, \
           failure_message = EXCLUDED.failure_message, event_count = EXCLUDED.event_count, \
           dtmf_count = EXCLUDED.dtmf_count, media_total = EXCLUDED.media_total, \
           media_succeeded = EXCLUDED.media_succeeded, last_event_seq = EXCLUDED.last_event_seq, \
           fold = EXCLUDED.fold, projected_at = now()",
    )
    .bind(col(&calls, |c| c.call_id.as_str()))
    .bind(col(&calls, |c| c.server_call_id.as_deref()))
    .bind(col(&calls, |c| c.correlation_id.as_deref()))
    .bind(col(&calls, |c| c.state.as_deref()))
    .bind(col(&calls, |c| c.first_event_at))
    .bind(col(&calls, |c| c.last_event_at))
    .bind(col(&calls, |c| c.connected_at))
    .bind(col(&calls, |c| c.disconnected_at))
    .bind(col(&calls, |c| c.duration_ms))
    .bind(col(&calls, |c| c.participant_count))
    .bind(col(&calls, |c| c.peak_participants))
    .bind(col(&calls, |c| c.outcome.as_str()))
    .bind(col(&calls, |c| c.failure_code))
    .bind(col(&calls, |c| c.failure_sub_code))
    .bind(col(&calls, |c| c.failure_message.as_deref()))
    .bind(col(&calls, |c| c.event_count))
    .bind(col(&calls, |c| c.dtmf_count))
    .bind(col(&calls, |c| c.media_total))
    .bind(col(&calls, |c| c.media_succeeded))
    .bind(col(&calls, |c| c.last_event_seq))
    .bind(col(rows, |(_, fold)| *fold))
    .execute(conn)
    .await?;
    Ok(())
}

/// One column of a multi-row insert.
fn col<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

async fn insert_participants(
    conn: &mut PgConnection,
    rows: &[(&CallRow, &ParticipantInterval)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO call_participants (call_id, raw_id, interval_no, kind, display_id, joined_at, \
           left_at, joined_sequence, left_sequence, call_started_at) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], \
           $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::bigint[], $10::timestamptz[])",
    )
    .bind(col(rows, |(c, _)| c.call_id.as_str()))
    .bind(col(rows, |(_, r)| r.raw_id.as_str()))
    .bind(col(rows, |(_, r)| r.interval_no))
    .bind(col(rows, |(_, r)| r.kind.as_str()))
    .bind(col(rows, |(_, r)| r.display_id.as_str()))
    .bind(col(rows, |(_, r)| r.joined_at))
    .bind(col(rows, |(_, r)| r.left_at))
    .bind(col(rows, |(_, r)| r.joined_sequence))
    .bind(col(rows, |(_, r)| r.left_sequence))
    .bind(col(rows, |(c, _)| c.first_event_at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_changes(
    conn: &mut PgConnection,
    rows: &[(&CallRow, &ParticipantChange)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO participant_changes (call_id, raw_id, ordinal, at, sequence_number, \
           is_muted, is_on_hold) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], \
           $5::bigint[], $6::boolean[], $7::boolean[])",
    )
    .bind(col(rows, |(c, _)| c.call_id.as_str()))
    .bind(col(rows, |(_, r)| r.raw_id.as_str()))
    .bind(col(rows, |(_, r)| r.ordinal))
    .bind(col(rows, |(_, r)| r.at))
    .bind(col(rows, |(_, r)| r.sequence_number))
    .bind(col(rows, |(_, r)| r.is_muted))
    .bind(col(rows, |(_, r)| r.is_on_hold))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_tones(
    conn: &mut PgConnection,
    rows: &[(&CallRow, &DtmfTone)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dtmf_tones (call_id, ordinal, sequence_id, tone, at, participant_id, \
           repeated, missing_before, event_seq) \
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::timestamptz[], \
           $6::text[], $7::boolean[], $8::int[], $9::bigint[])",
    )
    .bind(col(rows, |(c, _)| c.call_id.as_str()))
    .bind(col(rows, |(_, r)| r.ordinal))
    .bind(col(rows, |(_, r)| r.sequence_id))
    .bind(col(rows, |(_, r)| r.tone.as_str()))
    .bind(col(rows, |(_, r)| r.at))
    .bind(col(rows, |(_, r)| r.participant_id.as_deref()))
    .bind(col(rows, |(_, r)| r.repeated))
    .bind(col(rows, |(_, r)| r.missing_before))
    .bind(col(rows, |(_, r)| r.event_seq))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_media(
    conn: &mut PgConnection,
    rows: &[(&CallRow, &MediaOperation)],
) -> Result<(), sqlx::Error> {
    execute_media(
        conn,
        &format!("INSERT INTO media_operations ({MEDIA_COLUMNS}) SELECT * FROM {MEDIA_ARRAYS}"),
        rows,
    )
    .await
}

/// The columns of a media operation row, in the order [`execute_media`] binds them.
const MEDIA_COLUMNS: &str = "call_id, operation_context, operation, outcome, result_code, \
    result_sub_code, result_message, started_at, finished_at, duration_ms, event_count";
const MEDIA_ARRAYS: &str = "unnest($1::text[], $2::text[], $3::text[], $4::text[], \
    $5::bigint[], $6::bigint[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], \
    $11::int[])";

/// Runs `sql` (an insert or an update reading [`MEDIA_ARRAYS`]) with `rows` bound as its arrays.
async fn execute_media(
    conn: &mut PgConnection,
    sql: &str,
    rows: &[(&CallRow, &MediaOperation)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(sql)
        .bind(col(rows, |(c, _)| c.call_id.as_str()))
        .bind(col(rows, |(_, r)| r.operation_context.as_str()))
        .bind(col(rows, |(_, r)| r.operation.as_str()))
        .bind(col(rows, |(_, r)| r.outcome.as_str()))
        .bind(col(rows, |(_, r)| r.result_code))
        .bind(col(rows, |(_, r)| r.result_sub_code))
        .bind(col(rows, |(_, r)| r.result_message.as_deref()))
        .bind(col(rows, |(_, r)| r.started_at))
        .bind(col(rows, |(_, r)| r.finished_at))
        .bind(col(rows, |(_, r)| r.duration_ms))
        .bind(col(rows, |(_, r)| r.event_count))
        .execute(conn)
        .await?;
    Ok(())
}
