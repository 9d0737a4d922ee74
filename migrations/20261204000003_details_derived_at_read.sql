-- The typed event (`details`) is no longer stored: calltrail derives it from `raw` and `format`
-- when it reads an event, with the parser that accepted it (`events::stored_kind`). Storing it cost
-- PostgreSQL a jsonb parse and a few hundred bytes of heap and WAL for every event written; reading
-- it costs calltrail a parse per event read, and calltrail scales out where the database does not.
-- Dropping the column is a catalogue change: existing rows are not rewritten, their space is
-- reclaimed as they are vacuumed away or their partitions dropped.
ALTER TABLE events DROP COLUMN details;

-- The function that creates partitions set `details`' statistics target on each; it now sets only
-- `raw`'s (as before, safe to call concurrently and repeatedly).
CREATE OR REPLACE FUNCTION calltrail_ensure_event_partitions(first_month date, months integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m     date := date_trunc('month', first_month::timestamp)::date;
    name  text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('calltrail_ensure_event_partitions'));
    FOR i IN 0 .. months - 1 LOOP
        name := format('events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
            EXECUTE format('ALTER TABLE %I ALTER COLUMN raw SET STATISTICS 0', name);
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END;
$$;
