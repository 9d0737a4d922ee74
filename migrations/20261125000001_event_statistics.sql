-- No planner statistics for the two large columns of the event log. ANALYZE samples 30,000 rows
-- of each partition and, for every column, decompresses and sorts the sampled values: for `raw`
-- (the element as received) and `details` (its jsonb) that is half of the whole ANALYZE (1.1 s
-- against 0.6 s on a 130,000-event partition), and autovacuum repeats it as a partition grows,
-- on the database's CPU that ingest needs. No query filters on either column through an operator
-- the planner could estimate from them (the audit log's `json_path` filter compares a path taken
-- from `raw` cast to jsonb, an expression the planner estimates without them), so they were never
-- used. The columns that the audit log and the call model filter on keep theirs.
ALTER TABLE events ALTER COLUMN raw SET STATISTICS 0, ALTER COLUMN details SET STATISTICS 0;

-- A partition created later does not take the setting from the parent, so the function that
-- creates them sets it on each (as before, safe to call concurrently and repeatedly).
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
            EXECUTE format(
                'ALTER TABLE %I ALTER COLUMN raw SET STATISTICS 0, ALTER COLUMN details SET STATISTICS 0',
                name);
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END;
$$;
