//! Writing the append-only event log, exactly once.
//!
//! One call to [`append`] is one transaction: a single statement that claims the events' keys in
//! `event_dedup` and inserts the rows whose key it claimed, so a batch costs one round trip and
//! commits (or fails) whole. Deduplication happens in two places: within the batch (the same event
//! delivered twice at once) here in memory, and against everything stored before through
//! `event_dedup`'s primary key (`ON CONFLICT DO NOTHING`). Concurrent transactions inserting the
//! same key serialise on that index, so an event is stored once even when several calltrail
//! instances receive it at the same moment.
//!
//! The same statement queues the calls of the new events for the call model (one queue row naming
//! them all, and the new events themselves), so a committed event always has its call queued and a
//! duplicate queues nothing.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::{Endpoint, Scheme};
use crate::events::CallId;
use crate::events::ParsedEvent;
use crate::store::DedupKey;

/// How a delivery reached us: stored beside each of its events.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub endpoint: Endpoint,
    pub auth_scheme: Scheme,
    pub auth_principal: Option<String>,
    pub request_id: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Whether each input event was new (stored) or already present (duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// What one [`append`] stored.
#[derive(Debug)]
pub struct Appended {
    /// Per delivery and event: whether it was stored or already present.
    pub outcome: Vec<Vec<Stored>>,
    /// Each event stored: where it was in the input, and what only the store knows of it.
    pub new_events: Vec<NewEvent>,
}

#[derive(Debug)]
pub struct NewEvent {
    pub delivery: usize,
    pub event: usize,
    pub event_seq: i64,
    /// The typed event as JSON text, for the call model's projector (the event log does not
    /// store it: it is derived from `raw` when read).
    pub details: String,
}

/// Appends the events of several deliveries in one statement, which is its own transaction: when
/// it returns `Ok` the rows are committed. Says, per delivery and event, whether it was stored.
/// The queue row it adds for the projector carries `owner`, the mark of the projector that should
/// take it first (`ProjectionFeed::owner`).
pub async fn append(
    conn: &mut PgConnection,
    deliveries: &[(&Delivery, &[ParsedEvent])],
    owner: Option<i64>,
) -> Result<Appended, sqlx::Error> {
    let mut outcome: Vec<Vec<Stored>> = deliveries
        .iter()
        .map(|(_, events)| vec![Stored::Duplicate; events.len()])
        .collect();
    let mut batch = Batch::of(deliveries);
    if batch.rows.is_empty() {
        return Ok(Appended {
            outcome,
            new_events: Vec::new(),
        });
    }
    // Sorted keys give every transaction the same lock order on the dedup index: no deadlocks
    // between concurrent batches that share events.
    let mut claims: Vec<(DedupKey, DateTime<Utc>)> = batch
        .rows
        .iter()
        .map(|row| (row.key, row.delivery.received_at))
        .collect();
    claims.sort_unstable_by_key(|c| c.0);
    let keys: Vec<&[u8]> = claims
        .iter()
        .map(|(k, _)| k.as_bytes().as_slice())
        .collect();
    let times: Vec<DateTime<Utc>> = claims.iter().map(|(_, t)| *t).collect();

    let inserted = batch.columns().insert(conn, &keys, &times, owner).await?;
    let mut new_events = Vec::with_capacity(inserted.len());
    for (key, event_seq) in inserted {
        let row = batch.take(key);
        let details =
            serde_json::to_string(&row.event.kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        outcome[row.at.0][row.at.1] = Stored::New;
        new_events.push(NewEvent {
            delivery: row.at.0,
            event: row.at.1,
            event_seq,
            details,
        });
    }
    Ok(Appended {
        outcome,
        new_events,
    })
}

/// The rows one [`append`] inserts: the first occurrence of each dedup key in the batch (later
/// ones are duplicates of it), in delivery order, so `event_seq` follows the order the sender gave
/// them. Each row keeps its place in the input and its key together.
struct Batch<'a> {
    rows: Vec<Row<'a>>,
    /// Each key's row.
    by_key: HashMap<DedupKey, usize>,
}

struct Row<'a> {
    /// (delivery, event) in the input.
    at: (usize, usize),
    delivery: &'a Delivery,
    event: &'a ParsedEvent,
    key: DedupKey,
}

impl<'a> Batch<'a> {
    fn of(deliveries: &[(&'a Delivery, &'a [ParsedEvent])]) -> Self {
        let mut batch = Batch {
            rows: Vec::new(),
            by_key: HashMap::new(),
        };
        for (d, &(delivery, events)) in deliveries.iter().enumerate() {
            for (e, event) in events.iter().enumerate() {
                let key = event.dedup_key;
                if let Entry::Vacant(slot) = batch.by_key.entry(key) {
                    slot.insert(batch.rows.len());
                    batch.rows.push(Row {
                        at: (d, e),
                        delivery,
                        event,
                        key,
                    });
                }
            }
        }
        batch
    }

    fn columns(&self) -> EventColumns<'_> {
        let mut columns = EventColumns::default();
        for row in &self.rows {
            columns.push(row.delivery, row.event);
        }
        columns
    }

    /// The row of a key the statement stored.
    fn take(&mut self, key: DedupKey) -> &Row<'a> {
        // The statement stores only rows it was given, each once.
        let i = self
            .by_key
            .remove(&key)
            .expect("a stored key is one of the batch's, stored once");
        &self.rows[i]
    }
}

/// A timestamp as the event log keeps it: sqlx sends whole microseconds since 2000-01-01, cut
/// towards that epoch (`TimeDelta::num_microseconds`), and PostgreSQL stores them as they come.
/// What is handed on without a read-back must be cut the same way to equal what a read returns.
pub fn as_stored(at: DateTime<Utc>) -> DateTime<Utc> {
    let epoch =
        DateTime::<Utc>::from_timestamp(946_684_800, 0).expect("2000-01-01 is a valid time");
    match (at - epoch).num_microseconds() {
        Some(micros) => epoch + chrono::TimeDelta::microseconds(micros),
        None => at,
    }
}

/// Column arrays for one multi-row `INSERT … SELECT FROM unnest(…)`.
/// The arrays borrow from the parsed events: nothing is copied
/// before the bind buffer.
#[derive(Default)]
struct EventColumns<'a> {
    received_at: Vec<DateTime<Utc>>,
    dedup_key: Vec<&'a [u8]>,
    endpoint: Vec<&'static str>,
    format: Vec<&'static str>,
    auth_scheme: Vec<&'static str>,
    auth_principal: Vec<Option<&'a str>>,
    request_id: Vec<Option<&'a str>>,
    event_id: Vec<Option<&'a str>>,
    event_type: Vec<&'a str>,
    call_id: Vec<Option<&'a str>>,
    correlation_id: Vec<Option<&'a str>>,
    operation_context: Vec<Option<&'a str>>,
    raw: Vec<&'a str>,
}

impl<'a> EventColumns<'a> {
    /// The receipt, the sender's event id, the columns the audit log's filters and the call's
    /// index read, and the raw element. The rest of the envelope, the result and the typed details
    /// are derived from `raw` when read.
    fn push(&mut self, delivery: &'a Delivery, event: &'a ParsedEvent) {
        let c = &event.common;
        self.received_at.push(delivery.received_at);
        self.dedup_key.push(event.dedup_key.as_bytes());
        self.endpoint.push(delivery.endpoint.as_str());
        self.format.push(event.format.as_str());
        self.auth_scheme.push(delivery.auth_scheme.as_str());
        self.auth_principal.push(delivery.auth_principal.as_deref());
        self.request_id.push(delivery.request_id.as_deref());
        self.event_id.push(event.event_id.as_deref());
        self.event_type.push(&event.event_type);
        self.call_id.push(c.call_id.as_ref().map(CallId::as_str));
        self.correlation_id.push(c.correlation_id.as_deref());
        self.operation_context.push(c.operation_context.as_deref());
        self.raw.push(&event.raw);
    }

    /// Claims `keys` in `event_dedup`, inserts the rows whose key was claimed in the order they
    /// were pushed, and queues their calls for the projector; returns the claimed keys with the
    /// `event_seq` each row got.
    async fn insert(
        self,
        conn: &mut PgConnection,
        keys: &[&[u8]],
        times: &[DateTime<Utc>],
        owner: Option<i64>,
    ) -> Result<Vec<(DedupKey, i64)>, sqlx::Error> {
        sqlx::query_as(
            "WITH claimed AS ( \
               INSERT INTO event_dedup (dedup_key, first_received_at) \
               SELECT * FROM unnest($14::bytea[], $15::timestamptz[]) \
               ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key), \
           stored AS ( \
             INSERT INTO events (received_at, dedup_key, endpoint, format, auth_scheme, \
               auth_principal, request_id, event_id, event_type, call_id, correlation_id, \
               operation_context, raw) \
             SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, \
               request_id, event_id, event_type, call_id, correlation_id, operation_context, raw \
             FROM unnest($1::timestamptz[], $2::bytea[], $3::text[], $4::text[], \
               $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
               $11::text[], $12::text[], $13::text[]) WITH ORDINALITY \
               AS e(received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, \
               request_id, event_id, event_type, call_id, correlation_id, operation_context, \
               raw, ord) \
             WHERE dedup_key IN (SELECT dedup_key FROM claimed) \
             ORDER BY ord \
             RETURNING dedup_key, call_id, event_seq), \
           queued AS ( \
             INSERT INTO projection_queue (call_ids, event_seqs, owner) \
             SELECT array_agg(DISTINCT call_id ORDER BY call_id), array_agg(event_seq), $16 \
             FROM stored \
             WHERE call_id IS NOT NULL HAVING count(*) > 0) \
         SELECT dedup_key, event_seq FROM stored",
        )
        .bind(self.received_at)
        .bind(self.dedup_key)
        .bind(self.endpoint)
        .bind(self.format)
        .bind(self.auth_scheme)
        .bind(self.auth_principal)
        .bind(self.request_id)
        .bind(self.event_id)
        .bind(self.event_type)
        .bind(self.call_id)
        .bind(self.correlation_id)
        .bind(self.operation_context)
        .bind(self.raw)
        .bind(keys)
        .bind(times)
        .bind(owner)
        .fetch_all(conn)
        .await
    }
}
