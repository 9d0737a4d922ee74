-- Fewer index entries per ingested event: the ingest statement's cost is PostgreSQL's work per row,
-- and these two structures were written for every event but read rarely.

-- The projection queue gets one row per committed batch naming its calls (sorted, distinct),
-- instead of one row per call with an index on the call id: a batch of 50 events touched about 30
-- queue rows and 60 index entries, then as many deletions; now one row and one key. The projector
-- takes rows oldest first and recomputes each named call from its whole log, so a call named in
-- several rows is still right, whichever row it is projected for.
CREATE TEMP TABLE pending_calls ON COMMIT DROP AS
    SELECT call_id, min(enqueued_at) AS enqueued_at FROM projection_queue GROUP BY call_id;
DROP TABLE projection_queue;
CREATE TABLE projection_queue (
    id          bigserial   PRIMARY KEY,
    call_ids    text[]      NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projection_queue (call_ids, enqueued_at)
    SELECT array_agg(call_id ORDER BY call_id), min(enqueued_at) FROM pending_calls HAVING count(*) > 0;

-- event_dedup's time index only serves the pruning of old keys (a range delete): a BRIN index,
-- a few pages for the whole table, does that since keys are appended in time order, and costs an
-- insert nothing like a B-tree entry.
DROP INDEX event_dedup_first_received_at;
CREATE INDEX event_dedup_first_received_at ON event_dedup USING brin (first_received_at);
