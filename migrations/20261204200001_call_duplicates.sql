-- Duplicate deliveries absorbed, by call: how many times an event already stored was delivered
-- again (a sender's retry, a redelivery), for the dashboard's trust panel ("events received vs
-- stored"). A duplicate itself writes nothing to the event log; this count is added by the writer
-- after it has answered, and only for batches that held duplicates, so ordinary traffic pays
-- nothing for it. It is not derived from the log, so `calltrail rebuild` leaves it as it is.
CREATE TABLE call_duplicates (
    call_id    text   PRIMARY KEY,
    duplicates bigint NOT NULL
);
