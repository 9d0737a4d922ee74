//! The tables the projector writes (the call model and the summary rollups), each with the query
//! that reads it whole, in key order, as one JSON value per row: what the test suites compare when
//! they check that two databases, or a database and its rebuild, hold the same model. One list, so
//! a table added to the model is compared everywhere.

/// `(table, query)` for every table. `portable` leaves out what depends on where and when the
/// events were inserted (`event_seq`, `last_event_seq`, the fold state, which holds event_seq
/// values), so two databases fed the same events in different orders compare equal; a tone row's
/// event is then named by its dedup key. `projected_at`, the time of the projection itself, is
/// always left out.
pub fn queries(portable: bool) -> [(&'static str, &'static str); 8] {
    let calls = if portable {
        "SELECT to_jsonb(t) - 'projected_at' - 'last_event_seq' - 'fold' FROM calls t ORDER BY call_id"
    } else {
        "SELECT to_jsonb(t) - 'projected_at' FROM calls t ORDER BY call_id"
    };
    let tones = if portable {
        "SELECT to_jsonb(t) - 'event_seq' || jsonb_build_object('event', encode(e.dedup_key, 'hex')) \
         FROM dtmf_tones t JOIN events e ON e.event_seq = t.event_seq ORDER BY t.call_id, t.ordinal"
    } else {
        "SELECT to_jsonb(t) FROM dtmf_tones t ORDER BY call_id, ordinal"
    };
    [
        ("calls", calls),
        (
            "call_participants",
            "SELECT to_jsonb(t) FROM call_participants t ORDER BY call_id, raw_id, interval_no",
        ),
        (
            "participant_changes",
            "SELECT to_jsonb(t) FROM participant_changes t ORDER BY call_id, raw_id, ordinal",
        ),
        ("dtmf_tones", tones),
        (
            "media_operations",
            "SELECT to_jsonb(t) FROM media_operations t \
             ORDER BY call_id, operation_context, operation",
        ),
        // The summary rollups, kept by the same transactions (rebuild recomputes them).
        (
            "summary_buckets",
            "SELECT to_jsonb(t) FROM summary_buckets t ORDER BY bucket, start",
        ),
        (
            "summary_durations",
            "SELECT to_jsonb(t) FROM summary_durations t ORDER BY bucket, unit, start, value",
        ),
        (
            "summary_participants",
            "SELECT to_jsonb(t) FROM summary_participants t ORDER BY bucket, start, raw_id",
        ),
    ]
}
