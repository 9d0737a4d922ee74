-- The append-only event log: every authenticated event exactly as received, beside its normalised
-- columns. Partitioned by month of receipt so that old events can be dropped with DROP TABLE instead of
-- a long DELETE.

-- Deduplication lives in its own table because a unique index on a partitioned table must include the
-- partition key, and two deliveries of one event arrive at different times. One narrow row per event;
-- its key is SHA-256 of (source, id), or of the canonical bytes when the id is null (A1 events).
CREATE TABLE event_dedup (
    dedup_key         bytea PRIMARY KEY,
    first_received_at timestamptz NOT NULL
);
CREATE INDEX event_dedup_first_received_at ON event_dedup (first_received_at);

CREATE SEQUENCE events_event_seq AS bigint;

CREATE TABLE events (
    -- Global insertion order and the event's public id.
    event_seq          bigint      NOT NULL DEFAULT nextval('events_event_seq'),
    received_at        timestamptz NOT NULL,
    dedup_key          bytea       NOT NULL,
    -- Where and how it arrived.
    endpoint           text        NOT NULL,
    format             text        NOT NULL,
    auth_scheme        text        NOT NULL,
    auth_principal     text,
    request_id         text,
    -- The envelope.
    event_id           text,
    source             text,
    event_type         text        NOT NULL,
    subject            text,
    event_time         timestamptz,
    -- Normalised fields shared by every era.
    family             text        NOT NULL,
    call_id            text,
    server_call_id     text,
    correlation_id     text,
    operation_context  text,
    result_code        bigint,
    result_sub_code    bigint,
    result_message     text,
    sequence_number    bigint,
    -- The typed event (family-specific fields) as parsed at ingest.
    details            jsonb       NOT NULL,
    -- The element byte for byte as received: the audit truth everything else can be rebuilt from.
    raw                text        NOT NULL,
    PRIMARY KEY (event_seq, received_at)
) PARTITION BY RANGE (received_at);

ALTER SEQUENCE events_event_seq OWNED BY events.event_seq;

-- Catches rows outside every monthly partition so an insert never fails for want of one.
CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE INDEX events_call_id ON events (call_id, event_seq) WHERE call_id IS NOT NULL;

-- Creates the monthly (UTC) partitions from `first_month` for `months` months; safe to call concurrently
-- from several instances (an advisory lock serialises them) and repeatedly.
CREATE FUNCTION calltrail_ensure_event_partitions(first_month date, months integer)
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
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END;
$$;

SELECT calltrail_ensure_event_partitions(((now() AT TIME ZONE 'UTC') - interval '1 month')::date, 4);
