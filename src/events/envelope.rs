//! The envelope around `data`: CloudEvents 1.0 (A2, GA Call Automation, and
//! Event Grid's CloudEvents schema) or the Event Grid schema (which the first
//! preview, A1, imitated). Both carry the same facts under different names.

use chrono::{DateTime, Utc};

use crate::events::error::{Ctx, ParseError};
use crate::events::fields::{Node, Path, ROOT};
use crate::events::storable::storable_time;
use crate::events::value::{Object, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// `id`, `source`, `type`, `subject`, `time`, `specversion`, `data`.
    CloudEvent,
    /// `id`, `topic`, `eventType`, `subject`, `eventTime`, `data`.
    EventGrid,
}

impl Schema {
    /// The schema an object claims by its keys: `specversion` is mandatory in
    /// CloudEvents and absent from the Event Grid schema, whose mandatory
    /// `eventType` does not exist in CloudEvents.
    pub(crate) fn detect(obj: &Object<'_>) -> Option<Schema> {
        if obj.entry("specversion").is_some() {
            Some(Schema::CloudEvent)
        } else if obj.entry("eventType").is_some() {
            Some(Schema::EventGrid)
        } else {
            None
        }
    }

    fn keys(self) -> Keys {
        match self {
            Schema::CloudEvent => Keys {
                source: "source",
                event_type: "type",
                time: "time",
            },
            Schema::EventGrid => Keys {
                source: "topic",
                event_type: "eventType",
                time: "eventTime",
            },
        }
    }
}

struct Keys {
    source: &'static str,
    event_type: &'static str,
    time: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Envelope<'a> {
    pub(crate) event_id: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) event_type: String,
    pub(crate) subject: Option<String>,
    pub(crate) event_time: Option<DateTime<Utc>>,
    /// `None` when `data` is absent or `null`.
    pub(crate) data: Option<Node<'a>>,
}

pub(crate) fn read_envelope<'a>(
    obj: &'a Object<'a>,
    schema: Schema,
    ctx: Ctx,
) -> Result<Envelope<'a>, ParseError> {
    let keys = schema.keys();
    let top = Node::new(obj, Path::Root, ctx);
    let event_type = top.req_str(keys.event_type)?;
    // Looked up here rather than through `top`, whose path lives only in this function.
    let data = match obj.entry("data") {
        Some((_, Value::Null)) | None => None,
        Some((key, v)) => Some(Node::of(v, Path::Key(&ROOT, key), ctx)?),
    };
    let event_id = top.opt_str("id")?;
    let source = top.opt_str(keys.source)?;
    let subject = top.opt_str("subject")?;
    let event_time = opt_timestamp(&top, keys.time)?;
    if schema == Schema::CloudEvent {
        // CloudEvents 1.0 requires both, and together they identify the event: without them a
        // redelivery could not be told from a new event.
        for (field, value) in [("id", &event_id), (keys.source, &source)] {
            if !value.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                return Err(ctx.error(
                    field,
                    "is required: a non-empty string, as CloudEvents requires",
                ));
            }
        }
    }
    Ok(Envelope {
        event_id,
        source,
        event_type,
        subject,
        event_time,
        data,
    })
}

/// RFC 3339 with any number of fraction digits (ACS writes seven) and either
/// `Z` or a numeric offset. A time without an offset is read as UTC rather than
/// refused: refusing it would turn every event of such a sender into a 400.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

pub(crate) fn opt_timestamp(
    node: &Node<'_>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let Some((path, v)) = node.get(name) else {
        return Ok(None);
    };
    let s = v
        .as_str()
        .ok_or_else(|| node.ctx.error(&path.to_string(), "must be a string"))?;
    let t = parse_timestamp(s).ok_or_else(|| {
        node.ctx
            .error(&path.to_string(), "must be an RFC 3339 timestamp")
    })?;
    // A year may be written with a sign and more digits, which reaches back before what
    // `timestamptz` holds: PostgreSQL would refuse to store the event, a `500` retried forever.
    if !storable_time(&t) {
        return Err(node.ctx.error(
            &path.to_string(),
            "is earlier than the earliest time that can be stored (4714-11-24 BC)",
        ));
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::fields::tests::object;
    use chrono::{TimeZone, Timelike};
    use serde_json::json;

    #[test]
    fn seven_digit_fractions_and_offsets() {
        let t = parse_timestamp("2021-05-05T20:09:41.1220417Z").unwrap();
        assert_eq!(t.nanosecond(), 122_041_700);
        assert_eq!(
            t.with_nanosecond(0).unwrap(),
            Utc.with_ymd_and_hms(2021, 5, 5, 20, 9, 41).unwrap()
        );
        let t = parse_timestamp("2024-03-12T09:15:40.43+00:00").unwrap();
        assert_eq!(t.nanosecond(), 430_000_000);
        assert_eq!(t.timestamp(), 1_710_234_940);
        let t = parse_timestamp("2024-03-12T11:15:40+02:00").unwrap();
        assert_eq!(t.timestamp(), 1_710_234_940);
        // No offset: read as UTC.
        let t = parse_timestamp("2024-03-12T09:15:40").unwrap();
        assert_eq!(t.timestamp(), 1_710_234_940);
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn cloud_event_envelope() {
        let v = json!({"id": "e1", "source": "calling/callConnections/c1",
                       "type": "Microsoft.Communication.CallConnected",
                       "subject": "calling/callConnections/c1",
                       "time": "2024-03-12T09:15:40.43+00:00", "specversion": "1.0",
                       "data": {"callConnectionId": "c1"}});
        let obj = object(&v.to_string());
        assert_eq!(Schema::detect(obj), Some(Schema::CloudEvent));
        let env = read_envelope(obj, Schema::CloudEvent, Ctx::new(None)).unwrap();
        assert_eq!(env.event_id.as_deref(), Some("e1"));
        assert_eq!(env.source.as_deref(), Some("calling/callConnections/c1"));
        assert_eq!(env.event_type, "Microsoft.Communication.CallConnected");
        assert_eq!(env.subject.as_deref(), Some("calling/callConnections/c1"));
        assert_eq!(env.event_time.unwrap().timestamp(), 1_710_234_940);
        assert_eq!(env.data.unwrap().path.to_string(), "data");
    }

    #[test]
    fn event_grid_envelope_with_nulls() {
        let v = json!({"id": null, "topic": null, "subject": "callLeg/x/dtmf", "data": null,
                       "EventType": "Microsoft.Communication.DtmfReceived",
                       "eventTime": null, "metadataVersion": null, "dataVersion": null});
        let obj = object(&v.to_string());
        assert_eq!(Schema::detect(obj), Some(Schema::EventGrid));
        let env = read_envelope(obj, Schema::EventGrid, Ctx::new(None)).unwrap();
        assert_eq!(env.event_id, None);
        assert_eq!(env.source, None);
        assert_eq!(env.event_type, "Microsoft.Communication.DtmfReceived");
        assert_eq!(env.event_time, None);
        assert!(env.data.is_none());
    }

    #[test]
    fn envelope_errors_name_the_field() {
        let cases = [
            (json!({"specversion": "1.0"}), "type", "is required"),
            (json!({"type": 7}), "type", "must be a string"),
            (json!({"type": "x", "id": 5}), "id", "must be a string"),
            (
                json!({"type": "x", "source": {}}),
                "source",
                "must be a string",
            ),
            (
                json!({"type": "x", "subject": []}),
                "subject",
                "must be a string",
            ),
            (json!({"type": "x", "time": 1}), "time", "must be a string"),
            (
                json!({"type": "x", "time": "soon"}),
                "time",
                "must be an RFC 3339 timestamp",
            ),
            (
                json!({"type": "x", "data": "text"}),
                "data",
                "must be an object",
            ),
        ];
        for (v, want_field, problem) in cases {
            let err = read_envelope(
                object(&v.to_string()),
                Schema::CloudEvent,
                Ctx::new(Some(1)),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ParseError::InvalidEvent {
                    element: Some(1),
                    field: want_field.into(),
                    message: format!("element 1: field `{want_field}` {problem}"),
                },
                "{v}"
            );
        }
    }
}
