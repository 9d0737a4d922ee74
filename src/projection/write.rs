//! Replacing a set of calls' rows in the call-model tables: delete, then one multi-row insert per
//! table, whatever the number of calls.

use sqlx::PgConnection;

use crate::projection::model::{CallProjection, CallRow};

const TABLES: &[&str] = &[
    "calls",
    "call_participants",
    "participant_changes",
    "dtmf_tones",
    "media_operations",
];

/// Removes every row of `call_ids` and inserts `projections` (calls without events have none).
pub(crate) async fn replace(
    conn: &mut PgConnection,
    call_ids: &[String],
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    for table in TABLES {
        sqlx::query(&format!("DELETE FROM {table} WHERE call_id = ANY($1)"))
            .bind(call_ids)
            .execute(&mut *conn)
            .await?;
    }
    if projections.is_empty() {
        return Ok(());
    }
    insert_calls(conn, projections).await?;
    insert_participants(conn, projections).await?;
    insert_changes(conn, projections).await?;
    insert_tones(conn, projections).await?;
    insert_media(conn, projections).await?;
    Ok(())
}

async fn insert_calls(
    conn: &mut PgConnection,
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    let calls: Vec<&CallRow> = projections.iter().map(|p| &p.call).collect();
    sqlx::query(
        "INSERT INTO calls (call_id, server_call_id, correlation_id, state, first_event_at, \
           last_event_at, connected_at, disconnected_at, duration_ms, participant_count, \
           peak_participants, outcome, failure_code, failure_sub_code, failure_message, \
           event_count, dtmf_count, media_total, media_succeeded, last_event_seq) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
           $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::int[], \
           $11::int[], $12::text[], $13::bigint[], $14::bigint[], $15::text[], $16::int[], \
           $17::int[], $18::int[], $19::int[], $20::bigint[])",
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
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = projections
        .iter()
        .flat_map(|p| p.participants.iter().map(move |r| (&p.call, r)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO call_participants (call_id, raw_id, interval_no, kind, display_id, joined_at, \
           left_at, joined_sequence, left_sequence, call_started_at) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], \
           $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::bigint[], $10::timestamptz[])",
    )
    .bind(col(&rows, |(c, _)| c.call_id.as_str()))
    .bind(col(&rows, |(_, r)| r.raw_id.as_str()))
    .bind(col(&rows, |(_, r)| r.interval_no))
    .bind(col(&rows, |(_, r)| r.kind.as_str()))
    .bind(col(&rows, |(_, r)| r.display_id.as_str()))
    .bind(col(&rows, |(_, r)| r.joined_at))
    .bind(col(&rows, |(_, r)| r.left_at))
    .bind(col(&rows, |(_, r)| r.joined_sequence))
    .bind(col(&rows, |(_, r)| r.left_sequence))
    .bind(col(&rows, |(c, _)| c.first_event_at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_changes(
    conn: &mut PgConnection,
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = projections
        .iter()
        .flat_map(|p| p.changes.iter().map(move |r| (&p.call.call_id, r)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO participant_changes (call_id, raw_id, ordinal, at, sequence_number, \
           is_muted, is_on_hold) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], \
           $5::bigint[], $6::boolean[], $7::boolean[])",
    )
    .bind(col(&rows, |(c, _)| c.as_str()))
    .bind(col(&rows, |(_, r)| r.raw_id.as_str()))
    .bind(col(&rows, |(_, r)| r.ordinal))
    .bind(col(&rows, |(_, r)| r.at))
    .bind(col(&rows, |(_, r)| r.sequence_number))
    .bind(col(&rows, |(_, r)| r.is_muted))
    .bind(col(&rows, |(_, r)| r.is_on_hold))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_tones(
    conn: &mut PgConnection,
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = projections
        .iter()
        .flat_map(|p| p.tones.iter().map(move |r| (&p.call.call_id, r)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dtmf_tones (call_id, ordinal, sequence_id, tone, at, participant_id, \
           repeated, missing_before, event_seq) \
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::timestamptz[], \
           $6::text[], $7::boolean[], $8::int[], $9::bigint[])",
    )
    .bind(col(&rows, |(c, _)| c.as_str()))
    .bind(col(&rows, |(_, r)| r.ordinal))
    .bind(col(&rows, |(_, r)| r.sequence_id))
    .bind(col(&rows, |(_, r)| r.tone.as_str()))
    .bind(col(&rows, |(_, r)| r.at))
    .bind(col(&rows, |(_, r)| r.participant_id.as_deref()))
    .bind(col(&rows, |(_, r)| r.repeated))
    .bind(col(&rows, |(_, r)| r.missing_before))
    .bind(col(&rows, |(_, r)| r.event_seq))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_media(
    conn: &mut PgConnection,
    projections: &[CallProjection],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = projections
        .iter()
        .flat_map(|p| p.media.iter().map(move |r| (&p.call.call_id, r)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO media_operations (call_id, operation_context, operation, outcome, \
           result_code, result_sub_code, result_message, started_at, finished_at, duration_ms, \
           event_count) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
           $6::bigint[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], \
           $11::int[])",
    )
    .bind(col(&rows, |(c, _)| c.as_str()))
    .bind(col(&rows, |(_, r)| r.operation_context.as_str()))
    .bind(col(&rows, |(_, r)| r.operation))
    .bind(col(&rows, |(_, r)| r.outcome.as_str()))
    .bind(col(&rows, |(_, r)| r.result_code))
    .bind(col(&rows, |(_, r)| r.result_sub_code))
    .bind(col(&rows, |(_, r)| r.result_message.as_deref()))
    .bind(col(&rows, |(_, r)| r.started_at))
    .bind(col(&rows, |(_, r)| r.finished_at))
    .bind(col(&rows, |(_, r)| r.duration_ms))
    .bind(col(&rows, |(_, r)| r.event_count))
    .execute(conn)
    .await?;
    Ok(())
}
