-- Each queue row names the process whose writers added it (a random mark per process; NULL for
-- rows added by older versions, by retention and by anything without a projector of its own).
-- A projector takes its own rows and unmarked ones at once, and other processes' rows only once
-- they have waited `projection.foreign_after_ms`: the events of its own rows are still in its
-- memory, where another instance would have to read them back from the event log. Adding a
-- nullable column without a default rewrites nothing.
ALTER TABLE projection_queue ADD COLUMN owner bigint;
