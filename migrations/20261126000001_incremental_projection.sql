-- The projector folds a batch's new events into the state stored with each call, instead of
-- reading the call's whole log back and rewriting all of its rows at every pass.

-- The fold's state (see src/projection/fold.rs): what later events of the call need to know, as
-- JSON. Text, not jsonb: the database only stores and returns it, and parsing jsonb on every write
-- of every call would be work for nothing. NULL (calls projected before this migration, or by an
-- older version) makes the next pass recompute the call from its log, which stores the state.
ALTER TABLE calls ADD COLUMN fold text;

-- The events each queued batch added (those with a call id), so a pass reads exactly its new
-- events. NULL (rows queued before this migration, or by an older version) makes the projector
-- recompute the calls the row names.
ALTER TABLE projection_queue ADD COLUMN event_seqs bigint[];

-- A call's row, its open intervals and its media operations are now updated in place as its events
-- arrive. Room left on each page lets PostgreSQL keep the new version on the same page without new
-- index entries (a HOT update) when no indexed column changed, which is most passes. Applies to
-- pages written from now on.
ALTER TABLE calls SET (fillfactor = 80);
ALTER TABLE call_participants SET (fillfactor = 80);
ALTER TABLE media_operations SET (fillfactor = 80);
