//! Reading a stored element again. The event log keeps each element byte for byte with the wire
//! format it arrived in, and the columns a query filters on; the typed event (`details`) is not
//! stored but derived here when it is read, by the same parser that accepted it. Deriving it costs
//! calltrail a parse per event read, which scales out with instances; storing it cost PostgreSQL a
//! `jsonb` parse and its bytes for every event written, which does not.

use crate::events::envelope::Schema;
use crate::events::error::Ctx;
use crate::events::split::each_element;
use crate::events::{parse_event, EventKind, ParseError, ParsedEvent, WireFormat};
use crate::telemetry::Throttle;

impl WireFormat {
    /// The format stored as `as_str()`.
    pub fn from_stored(name: &str) -> Option<WireFormat> {
        WireFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The schema its elements are read in: the first preview and the Event Grid schema are
    /// Event Grid objects, every other format a CloudEvent.
    fn schema(self) -> Schema {
        match self {
            WireFormat::A1 | WireFormat::EventGrid => Schema::EventGrid,
            WireFormat::A2 | WireFormat::CallAutomation | WireFormat::CloudEvent => {
                Schema::CloudEvent
            }
        }
    }
}

/// Parses a stored element (`raw`, one JSON object) as it was parsed when it arrived in `format`.
pub fn reparse(format: WireFormat, raw: &str) -> Result<ParsedEvent, ParseError> {
    let mut parsed = None;
    each_element(raw.as_bytes(), |_, _, raw, obj| {
        parsed = Some(parse_event(
            raw,
            obj,
            format.schema(),
            format,
            Ctx::new(None),
        )?);
        Ok(true)
    })?;
    parsed.ok_or_else(|| ParseError::InvalidJson("a stored element is not one object".to_owned()))
}

/// Stored events that no longer parse are read again at every page that shows them: one warning
/// per minute at most, with how many were read since.
static UNPARSEABLE: Throttle = Throttle::new(60_000);

/// A stored element parsed again: its envelope, common fields and typed event, as on arrival.
/// `None` for an element that no longer parses (stored by a version whose parser was more lenient,
/// or a row edited by hand), with a warning: a read never fails for one odd row, and the caller
/// shows what the row's own columns hold.
pub fn stored_event(format: &str, raw: &str) -> Option<ParsedEvent> {
    let parsed = WireFormat::from_stored(format)
        .ok_or_else(|| ParseError::InvalidJson(format!("unknown stored format `{format}`")))
        .and_then(|format| reparse(format, raw));
    match parsed {
        Ok(event) => Some(event),
        Err(error) => {
            if let Some(reads) = UNPARSEABLE.occurred() {
                tracing::warn!(
                    %error,
                    reads,
                    "stored events no longer parse; their details read as unknown \
                     (reads since the last warning; the error is the latest's)"
                );
            }
            None
        }
    }
}

/// The typed event of a stored element; [`EventKind::Unknown`] when it no longer parses.
pub fn stored_kind(format: &str, raw: &str) -> EventKind {
    stored_event(format, raw).map_or(EventKind::Unknown, |event| event.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{parse_callback_body, parse_eventgrid_body, EventGridDelivery};

    /// Every element of every test body reads back as the event it was parsed into on arrival.
    #[test]
    fn a_stored_element_parses_again_into_the_event_it_was_on_arrival() {
        let bodies = [
            r#"[{"id":"e1","source":"calling/callConnections/c1","type":"Microsoft.Communication.CallConnected","specversion":"1.0","time":"2024-01-01T00:00:00Z","data":{"callConnectionId":"c1","serverCallId":"s1","correlationId":"k1"}},
                {"id":"e2","source":"calling/callConnections/c1","type":"Microsoft.Communication.ContinuousDtmfRecognitionToneReceived","specversion":"1.0","data":{"callConnectionId":"c1","tone":"five","sequenceId":3}}]"#,
            r#"{"id":"e3","source":"calling/callConnections/c2","type":"Microsoft.Communication.PlayCompleted","specversion":"1.0","data":{"callConnectionId":"c2","resultInformation":{"code":200,"subCode":0,"message":"ok"}}}"#,
            r#"{"id":null,"topic":"t","subject":"calling/callConnections/c3","eventType":"Microsoft.Communication.CallDisconnected","eventTime":"2024-01-01T00:00:00Z","data":{"CallConnectionId":"c3"}}"#,
        ];
        for body in bodies {
            for event in parse_callback_body(body.as_bytes()).unwrap() {
                assert_eq!(reparse(event.format, &event.raw).unwrap(), event);
                assert_eq!(stored_kind(event.format.as_str(), &event.raw), event.kind);
            }
        }
        let grid = r#"[{"id":"g1","topic":"t","subject":"s","eventType":"Microsoft.Communication.CallConnected","eventTime":"2024-01-01T00:00:00Z","dataVersion":"1.0","data":{"callConnectionId":"c4"}}]"#;
        let EventGridDelivery::Events(events) = parse_eventgrid_body(grid.as_bytes()).unwrap()
        else {
            panic!("not events")
        };
        assert_eq!(
            reparse(events[0].format, &events[0].raw).unwrap(),
            events[0]
        );
    }

    #[test]
    fn an_element_that_no_longer_parses_reads_as_unknown() {
        assert_eq!(
            stored_kind("call_automation", "not json"),
            EventKind::Unknown
        );
        assert_eq!(stored_kind("nonsense", "{}"), EventKind::Unknown);
    }
}
