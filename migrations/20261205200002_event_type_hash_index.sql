-- The audit log's `type` filter reads an index keyed by a 4-byte hash of the type (`hashtext`, the
-- function PostgreSQL's own hash indexes use) instead of the type itself, and checks the type on
-- each row it finds. A type is about 40 bytes ("Microsoft.Communication.ParticipantsUpdated"), so
-- its entries were the widest of the event log's indexes: the ingest benchmark's WAL showed 194
-- bytes per event for it against 75 for the `received_at` index, which has the same number of
-- entries. A 4-byte key also compares as an integer instead of by the database's collation.
-- The order within one type stays (received_at, event_seq), so a filtered page is still one index
-- range read in order.
--
-- Building the index on a large event log takes a while and holds off inserts meanwhile, like any
-- index built by a migration: upgrade a large deployment at a quiet time.
DROP INDEX events_event_type;
CREATE INDEX events_event_type_hash ON events (hashtext(event_type), received_at, event_seq);
