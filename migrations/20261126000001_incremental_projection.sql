-- The projector folds a batch's new events into the state stored with each call, instead of
-- reading the call's whole log back and rewriting all of its rows at every pass.

-- The fold's state (see src/projection/fold.rs): what later events of the call need to know.
-- NULL (calls projected before this migration, or by an older version) makes the next pass
-- recompute the call from its log, which stores the state.
ALTER TABLE calls ADD COLUMN fold jsonb;

-- The events each queued batch added (those with a call id), so a pass reads exactly its new
-- events. NULL (rows queued before this migration, or by an older version) makes the projector
-- recompute the calls the row names.
ALTER TABLE projection_queue ADD COLUMN event_seqs bigint[];

-- A fold holds a call's participants, so a conference's can pass the 2 kB threshold where values
-- are compressed; lz4, as for the other large columns.
DO $$
BEGIN
    ALTER TABLE calls ALTER COLUMN fold SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: calls.fold keeps pglz compression';
END;
$$;
