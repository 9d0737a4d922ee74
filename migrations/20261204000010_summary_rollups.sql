-- Summary rollups: what the summary report (/api/v1/reports/summary) shows of each UTC hour and day
-- of calls' first event, kept by the projector in the transaction that writes the calls, so the
-- report reads one row per bucket instead of aggregating every call of its range. Each table holds
-- both widths (`bucket` 'hour' or 'day'): the distinct participants of a day are not the sum of its
-- hours', so days are kept, not summed.
--
-- Exact, not estimated: counts and sums are those of the calls; the distinct participants are
-- reference counts; the duration percentiles are read from a histogram of every duration to the
-- millisecond (see src/projection/rollup/). `calltrail rebuild` recomputes all three tables from
-- the call model with calltrail_recompute_summary_rollups().

CREATE TABLE summary_buckets (
    bucket          text        NOT NULL CHECK (bucket IN ('hour', 'day')),
    start           timestamptz NOT NULL,
    calls           bigint      NOT NULL,
    -- Calls with a connected_at.
    connected       bigint      NOT NULL,
    -- Calls whose outcome is 'failed'.
    failed          bigint      NOT NULL,
    -- Calls with a duration: how many values summary_durations holds at each unit.
    durations       bigint      NOT NULL,
    dtmf_tones      bigint      NOT NULL,
    media_total     bigint      NOT NULL,
    media_succeeded bigint      NOT NULL,
    -- Rows of summary_participants for this bucket: its distinct participants.
    participants    bigint      NOT NULL,
    PRIMARY KEY (bucket, start)
);

-- How many calls of each bucket had each duration, at three resolutions (`unit` milliseconds per
-- step: 60000, 1000 and 1; `value` is floor(duration_ms / unit)). A percentile is found by going
-- down: the minute holding the wanted rank, then its second, then its millisecond, so a report reads
-- a few dozen rows per bucket, not one per call. Keyed by unit first: the minutes of a range of
-- buckets are one index range.
CREATE TABLE summary_durations (
    bucket text        NOT NULL CHECK (bucket IN ('hour', 'day')),
    unit   integer     NOT NULL CHECK (unit IN (1, 1000, 60000)),
    start  timestamptz NOT NULL,
    value  bigint      NOT NULL,
    calls  bigint      NOT NULL,
    PRIMARY KEY (bucket, unit, start, value)
);

-- How many calls of each bucket each participant (raw id) was in: a participant counts in
-- summary_buckets.participants while this is above zero. Keyed as call_participants counts them:
-- by the call start copied there.
CREATE TABLE summary_participants (
    bucket text        NOT NULL CHECK (bucket IN ('hour', 'day')),
    start  timestamptz NOT NULL,
    raw_id text        NOT NULL,
    calls  bigint      NOT NULL,
    PRIMARY KEY (bucket, start, raw_id)
);

-- The rollups from scratch, from calls and call_participants. The EXCLUSIVE lock waits for every
-- projecting transaction that changed the rollups to commit (they take ROW EXCLUSIVE) and holds
-- off new ones until this one commits, while readers go on; a projecting transaction that has
-- read a call's old contribution but not yet written its change is not visible here and adds its
-- change afterwards, to these totals. The tables are locked in the order a pass writes them, so
-- that neither waits for the other while holding what the other needs. DELETE, not TRUNCATE, so
-- that reports keep being answered.
CREATE FUNCTION calltrail_recompute_summary_rollups() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE summary_participants, summary_durations, summary_buckets IN EXCLUSIVE MODE;
    DELETE FROM summary_participants;
    DELETE FROM summary_durations;
    DELETE FROM summary_buckets;
    INSERT INTO summary_participants (bucket, start, raw_id, calls)
    SELECT w.bucket, date_trunc(w.bucket, p.call_started_at, 'UTC'), p.raw_id,
           count(DISTINCT p.call_id)
    FROM call_participants p CROSS JOIN (VALUES ('hour'), ('day')) AS w(bucket)
    GROUP BY 1, 2, 3;
    INSERT INTO summary_durations (bucket, unit, start, value, calls)
    SELECT w.bucket, u.unit, date_trunc(w.bucket, c.first_event_at, 'UTC'),
           floor(c.duration_ms::numeric / u.unit)::bigint, count(*)
    FROM calls c CROSS JOIN (VALUES ('hour'), ('day')) AS w(bucket)
         CROSS JOIN (VALUES (1), (1000), (60000)) AS u(unit)
    WHERE c.duration_ms IS NOT NULL
    GROUP BY 1, 2, 3, 4;
    INSERT INTO summary_buckets (bucket, start, calls, connected, failed, durations, dtmf_tones,
                                 media_total, media_succeeded, participants)
    SELECT coalesce(a.bucket, p.bucket), coalesce(a.start, p.start), coalesce(a.calls, 0),
           coalesce(a.connected, 0), coalesce(a.failed, 0), coalesce(a.durations, 0),
           coalesce(a.dtmf_tones, 0), coalesce(a.media_total, 0), coalesce(a.media_succeeded, 0),
           coalesce(p.participants, 0)
    FROM (SELECT w.bucket, date_trunc(w.bucket, c.first_event_at, 'UTC') AS start,
                 count(*) AS calls, count(c.connected_at) AS connected,
                 count(*) FILTER (WHERE c.outcome = 'failed') AS failed,
                 count(c.duration_ms) AS durations, sum(c.dtmf_count) AS dtmf_tones,
                 sum(c.media_total) AS media_total, sum(c.media_succeeded) AS media_succeeded
          FROM calls c CROSS JOIN (VALUES ('hour'), ('day')) AS w(bucket)
          GROUP BY 1, 2) a
    FULL JOIN (SELECT bucket, start, count(*) AS participants FROM summary_participants
               GROUP BY 1, 2) p ON p.bucket = a.bucket AND p.start = a.start;
END;
$$;

-- The calls already projected.
SELECT calltrail_recompute_summary_rollups();
