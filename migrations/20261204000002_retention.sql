-- Retention: the event log keeps `retention.keep_months` months and drops whole monthly partitions
-- older than that. One partition is dropped per transaction (the drop locks the parent table only
-- for an instant), after queueing its calls to be recomputed from what is left of their log; the
-- dedup keys of dropped events are pruned apart, in batches.

-- The monthly partitions whose whole month ends at or before `cutoff`, oldest first.
CREATE FUNCTION calltrail_expired_event_partitions(cutoff timestamptz)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT c.relname::text
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass
      AND c.relname ~ '^events_y[0-9]{4}m[0-9]{2}$'
      AND (to_date(substr(c.relname, 9, 4) || substr(c.relname, 14, 2), 'YYYYMM')::timestamp
           + interval '1 month') AT TIME ZONE 'UTC' <= cutoff
    ORDER BY c.relname;
$$;

-- Drops one expired partition and queues its calls for recomputation (the projector then rebuilds
-- them from the events that remain, and removes the rows of calls that have none). Returns how many
-- events it held, or NULL when it is already gone: several instances may run retention at once,
-- and the lock that serialises partition creation serialises this too.
CREATE FUNCTION calltrail_drop_event_partition(name text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    held bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('calltrail_ensure_event_partitions'));
    IF name !~ '^events_y[0-9]{4}m[0-9]{2}$' OR to_regclass(name) IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO projection_queue (call_ids) '
        'SELECT array_agg(DISTINCT call_id ORDER BY call_id) FROM %I '
        'WHERE call_id IS NOT NULL HAVING count(*) > 0', name);
    EXECUTE format('SELECT count(*) FROM %I', name) INTO held;
    EXECUTE format('DROP TABLE %I', name);
    RETURN held;
END;
$$;
