//! Parsing of Azure Communication Services callbacks and Event Grid
//! deliveries into one typed model, whatever the era they were sent in.
//!
//! Pure: bytes in, events out. Three callback eras are accepted on the
//! callback endpoint (the first preview's Event Grid-like object, the public
//! preview's single CloudEvent, and GA Call Automation's array of
//! CloudEvents), and both Event Grid schemas on the Event Grid endpoint.
//! Each event keeps the exact bytes it arrived as, because those are what
//! gets stored and what any later re-interpretation must start from.

/// Checks at compile time that `$ty::ALL` lists every variant in declaration order, so that
/// `value as usize` is its index there (the metrics keep one counter per value in such arrays).
macro_rules! all_in_declaration_order {
    ($ty:ident) => {
        const _: () = {
            let mut i = 0;
            while i < $ty::ALL.len() {
                assert!(
                    $ty::ALL[i] as usize == i,
                    concat!(stringify!($ty), "::ALL out of order")
                );
                i += 1;
            }
        };
    };
}

mod call_id;
mod canonical;
mod common;
mod data;
mod dedup_key;
mod envelope;
mod error;
mod fields;
mod identifier;
mod kind;
mod split;
mod storable;
mod stored;
mod tone;
mod value;

#[cfg(test)]
mod tests;

use crate::events::common::{extract_common, Strictness};
use crate::events::envelope::{read_envelope, Envelope, Schema};
use crate::events::error::Ctx;
use crate::events::kind::known_type;
use crate::events::split::{each_element, Shape};
use crate::events::value::Object;

pub use crate::events::call_id::CallId;
pub use crate::events::canonical::canonical_json;
pub use crate::events::common::{CommonFields, ResultInfo};
pub use crate::events::dedup_key::DedupKey;
pub use crate::events::error::ParseError;
pub use crate::events::identifier::{Identifier, IdentifierKind};
pub use crate::events::kind::{EventFamily, EventKind, Outcome, ParticipantOp, ParticipantState};
pub use crate::events::split::MAX_EVENTS_PER_BODY;
pub use crate::events::storable::storable_time;
pub use crate::events::stored::{reparse, stored_event, stored_kind};
pub use crate::events::tone::normalize_tone;

/// Which wire format an event arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WireFormat {
    /// First preview: one Event Grid-like object, PascalCase data.
    A1,
    /// Public preview: one CloudEvent object.
    A2,
    /// GA Call Automation: a CloudEvent inside a JSON array.
    CallAutomation,
    /// Event Grid schema.
    EventGrid,
    /// CloudEvents delivered by Event Grid.
    CloudEvent,
}

impl WireFormat {
    /// Every format, in declaration order, so that `format as usize` indexes it.
    pub const ALL: [WireFormat; 5] = [
        WireFormat::A1,
        WireFormat::A2,
        WireFormat::CallAutomation,
        WireFormat::EventGrid,
        WireFormat::CloudEvent,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            WireFormat::A1 => "a1",
            WireFormat::A2 => "a2",
            WireFormat::CallAutomation => "call_automation",
            WireFormat::EventGrid => "event_grid",
            WireFormat::CloudEvent => "cloud_event",
        }
    }
}

all_in_declaration_order!(WireFormat);

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParsedEvent {
    pub format: WireFormat,
    /// The element exactly as received, byte for byte.
    pub raw: String,
    /// CloudEvent `id` / Event Grid `id`; `None` in A1, which sends `null`.
    pub event_id: Option<String>,
    /// CloudEvent `source` / Event Grid `topic`.
    pub source: Option<String>,
    /// As received, e.g. "Microsoft.Communication.CallConnected".
    pub event_type: String,
    pub subject: Option<String>,
    pub event_time: Option<chrono::DateTime<chrono::Utc>>,
    /// SHA-256 identifying the event across redeliveries.
    pub dedup_key: DedupKey,
    pub common: CommonFields,
    pub kind: EventKind,
}

impl ParsedEvent {
    /// At least what this event holds on the heap beyond its own struct: its copy of the element,
    /// the texts read from it (together never longer than the element), an allocation's overhead
    /// for each, and the entries of its lists. With the structs themselves, counted against the
    /// body budget while the event waits for its commit; `tests/parse_memory.rs` checks it against
    /// the allocator's own count.
    pub fn heap_estimate(&self) -> usize {
        use std::mem::size_of;
        /// What the allocator adds to each text.
        const TEXT: usize = 32;
        let listed = match &self.kind {
            EventKind::ParticipantsUpdated { participants } => {
                participants.len() * (size_of::<ParticipantState>() + 3 * TEXT)
            }
            EventKind::Recognize { tones, .. } => tones.len() * (size_of::<String>() + TEXT),
            _ => 0,
        };
        2 * self.raw.len() + listed + 16 * TEXT
    }
}

/// What an Event Grid delivery asks of us.
#[derive(Debug, Clone, PartialEq)]
pub enum EventGridDelivery {
    /// A `Microsoft.EventGrid.SubscriptionValidationEvent` is present: answer
    /// `{"validationResponse": code}`. Nothing is stored.
    SubscriptionValidation {
        validation_code: String,
        validation_url: Option<String>,
    },
    Events(Vec<ParsedEvent>),
}

const SUBSCRIPTION_VALIDATION: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";

/// Parses the body of a callback POST: an A1 object, an A2 CloudEvent object,
/// or a GA array of CloudEvents (every element, not just the first). One
/// malformed element rejects the whole body, so nothing is half stored.
pub fn parse_callback_body(body: &[u8]) -> Result<Vec<ParsedEvent>, ParseError> {
    let mut events = Vec::new();
    each_element(body, |shape, index, raw, obj| {
        let ctx = Ctx::new(index);
        let (schema, format) = match shape {
            Shape::Array => (Schema::CloudEvent, WireFormat::CallAutomation),
            Shape::Object => match detect(obj, ctx)? {
                Schema::CloudEvent => (Schema::CloudEvent, WireFormat::A2),
                Schema::EventGrid => (Schema::EventGrid, WireFormat::A1),
            },
        };
        events.push(parse_event(raw, obj, schema, format, ctx)?);
        Ok(true)
    })?;
    Ok(events)
}

/// Parses the body of an Event Grid POST, in the Event Grid schema or the
/// CloudEvents schema, as an array or a single object.
pub fn parse_eventgrid_body(body: &[u8]) -> Result<EventGridDelivery, ParseError> {
    let mut events = Vec::new();
    let mut validation = None;
    each_element(body, |_, index, raw, obj| {
        let ctx = Ctx::new(index);
        let (schema, format) = match detect(obj, ctx)? {
            Schema::CloudEvent => (Schema::CloudEvent, WireFormat::CloudEvent),
            Schema::EventGrid => (Schema::EventGrid, WireFormat::EventGrid),
        };
        let envelope = read_envelope(obj, schema, ctx)?;
        if envelope
            .event_type
            .eq_ignore_ascii_case(SUBSCRIPTION_VALIDATION)
        {
            validation = Some(subscription_validation(&envelope, ctx)?);
            return Ok(false);
        }
        events.push(build_event(raw, obj, envelope, format, ctx)?);
        Ok(true)
    })?;
    Ok(validation.unwrap_or(EventGridDelivery::Events(events)))
}

fn detect(obj: &Object<'_>, ctx: Ctx) -> Result<Schema, ParseError> {
    Schema::detect(obj).ok_or_else(|| ctx.error("", "has neither `specversion` nor `eventType`"))
}

fn parse_event(
    raw: &str,
    obj: &Object<'_>,
    schema: Schema,
    format: WireFormat,
    ctx: Ctx,
) -> Result<ParsedEvent, ParseError> {
    let envelope = read_envelope(obj, schema, ctx)?;
    build_event(raw, obj, envelope, format, ctx)
}

fn build_event(
    raw: &str,
    obj: &Object<'_>,
    envelope: Envelope<'_>,
    format: WireFormat,
    ctx: Ctx,
) -> Result<ParsedEvent, ParseError> {
    let (common, kind) = match known_type(&envelope.event_type) {
        None => (
            extract_common(envelope.data.as_ref(), Strictness::Lenient)?,
            EventKind::Unknown,
        ),
        Some(known) => {
            let data = envelope
                .data
                .as_ref()
                .ok_or_else(|| ctx.error("data", "must be an object"))?;
            let common = extract_common(Some(data), Strictness::Strict)?;
            let kind = data::parse_kind(known, data, &common)?;
            (common, kind)
        }
    };
    check_key_lengths(&envelope.event_type, &common, &kind, format, ctx)?;
    // An empty id would make every such event from a source one duplicate.
    let id_for_dedup = envelope
        .event_id
        .as_deref()
        .filter(|id| !id.trim().is_empty());
    let dedup_key = canonical::dedup_key(id_for_dedup, envelope.source.as_deref(), obj);
    Ok(ParsedEvent {
        format,
        raw: raw.to_owned(),
        event_id: envelope.event_id,
        source: envelope.source,
        event_type: envelope.event_type,
        subject: envelope.subject,
        event_time: envelope.event_time,
        dedup_key,
        common,
        kind,
    })
}

/// The longest type name, call or correlation id, call state and participant raw id accepted. These fields are keys of B-tree
/// indexes, whose entries cannot exceed about 2.7 kB: a longer value could never be stored, and its
/// sender would retry forever. Real ones are far shorter (type names under 100 characters, ids
/// GUIDs); operation contexts, which applications fill with their own state, have no such limit.
pub const MAX_KEY_CHARS: usize = 1024;

fn check_key_lengths(
    event_type: &str,
    common: &CommonFields,
    kind: &EventKind,
    format: WireFormat,
    ctx: Ctx,
) -> Result<(), ParseError> {
    // The call model indexes a call's last state too.
    let state = match kind {
        EventKind::CallState { state, .. } => Some(state.as_str()),
        _ => None,
    };
    let state_field = match format {
        WireFormat::A1 => "data.callState",
        _ => "data.callConnectionState",
    };
    let keys = [
        ("type", Some(event_type)),
        (
            "data.callConnectionId",
            common.call_id.as_ref().map(CallId::as_str),
        ),
        ("data.correlationId", common.correlation_id.as_deref()),
        (state_field, state),
    ];
    // Participants are keyed by raw id in the call model.
    let participants = match kind {
        EventKind::ParticipantsUpdated { participants } => participants.as_slice(),
        _ => &[],
    };
    let raw_ids = participants.iter().map(|p| {
        (
            "data.participants.identifier.rawId",
            Some(p.identifier.raw_id.as_str()),
        )
    });
    for (field, value) in keys.into_iter().chain(raw_ids) {
        // A character is at least one byte: only a long text needs counting.
        if value.is_some_and(|v| v.len() > MAX_KEY_CHARS && v.chars().count() > MAX_KEY_CHARS) {
            return Err(ctx.error(
                field,
                &format!("must be at most {MAX_KEY_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

fn subscription_validation(
    envelope: &Envelope<'_>,
    ctx: Ctx,
) -> Result<EventGridDelivery, ParseError> {
    let data = envelope
        .data
        .as_ref()
        .ok_or_else(|| ctx.error("data", "must be an object"))?;
    Ok(EventGridDelivery::SubscriptionValidation {
        validation_code: data.req_str("validationCode")?,
        validation_url: data.opt_str("validationUrl")?,
    })
}
