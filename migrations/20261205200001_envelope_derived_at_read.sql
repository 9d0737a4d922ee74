-- The envelope and result columns are no longer stored: calltrail derives them from `raw` and
-- `format` when it reads an event, with the parser that accepted it, as it already derives the
-- typed details (…20261204000003). They were copies of what `raw` holds, and no query filters on
-- them; together about a fifth of an event row (the server call id alone is about 110 bytes), and
-- written to the heap and the WAL for every event. The event log keeps what it must have of its
-- own: the receipt (time, route, format, authentication, request id), the dedup key, `raw`, the
-- columns the audit log's filters and the call's index read (type, call id, correlation id,
-- operation context), and the sender's event id, by which an operator looks an event up.
--
-- Dropping columns is a catalogue change: existing rows are not rewritten. A stored element that
-- no longer parses (edited by hand, or stored by a more lenient version) reads with these fields
-- empty and its family `unknown`; its raw text is unchanged.
ALTER TABLE events
    DROP COLUMN source,
    DROP COLUMN subject,
    DROP COLUMN event_time,
    DROP COLUMN family,
    DROP COLUMN server_call_id,
    DROP COLUMN result_code,
    DROP COLUMN result_sub_code,
    DROP COLUMN result_message,
    DROP COLUMN sequence_number;
