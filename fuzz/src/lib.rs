//! The properties the fuzz targets hold the service to, shared by the targets.
//!
//! A target that only waits for a panic proves little: each also checks that what the code
//! accepted is what the rest of the service relies on, and panics (a finding) when it is not.

use calltrail::events::{ParsedEvent, WireFormat, MAX_KEY_CHARS};
use serde_json::Value;

/// Fails when any string or key in `value` holds a NUL, which no PostgreSQL text type can hold.
pub fn assert_no_nul(value: &Value, what: &str) {
    match value {
        Value::String(s) => assert!(!s.contains('\0'), "{what}: a string holds NUL: {s:?}"),
        Value::Array(items) => items.iter().for_each(|v| assert_no_nul(v, what)),
        Value::Object(map) => {
            for (k, v) in map {
                assert!(!k.contains('\0'), "{what}: a key holds NUL: {k:?}");
                assert_no_nul(v, what);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// What every accepted event must be, whatever body it came from: its stored text is a piece of
/// the body, is one JSON object and holds no NUL; the typed event re-serialises without NUL; the
/// indexed keys fit their index.
pub fn assert_storable(body: &[u8], event: &ParsedEvent) {
    let raw = event.raw.as_bytes();
    assert!(
        body.windows(raw.len().max(1)).any(|w| w == raw),
        "the stored text is not a piece of the body"
    );
    let parsed: Value = serde_json::from_str(&event.raw).expect("the stored text re-parses");
    assert!(parsed.is_object(), "the stored text is not an object");
    assert_no_nul(&parsed, "stored text");
    let typed = serde_json::to_value(event).expect("the typed event re-serialises");
    assert_no_nul(&typed, "typed event");
    if let Some(t) = &event.event_time {
        assert!(
            storable_time(t),
            "an event time PostgreSQL cannot hold was accepted: {t:?}"
        );
    }
    for key in [
        Some(event.event_type.as_str()),
        event.common.call_id.as_deref(),
        event.common.correlation_id.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            key.chars().count() <= MAX_KEY_CHARS,
            "an indexed key of {} characters was accepted",
            key.chars().count()
        );
    }
}

/// Whether PostgreSQL's `timestamptz` can hold `t`: it spans Julian day 0 (4714-11-24 BC, proleptic
/// Gregorian) to 294276 AD, and chrono's own range ends before the latter. Written here from PostgreSQL's documentation, not from the
/// service's code, so that the two are checked against each other.
pub fn storable_time(t: &chrono::DateTime<chrono::Utc>) -> bool {
    // 4714 BC is year -4713 counted astronomically, as chrono counts.
    let min = chrono::NaiveDate::from_ymd_opt(-4713, 11, 24)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
        .and_utc();
    *t >= min
}

/// The same event must be the same whatever body carried it: `again`, parsed from the element's own
/// text alone, equals `first` in everything but the wire format it names.
pub fn assert_same_event(first: &ParsedEvent, again: &ParsedEvent) {
    assert_eq!(first.raw, again.raw);
    assert_eq!(
        first.dedup_key, again.dedup_key,
        "one event, two dedup keys"
    );
    assert_eq!(first.event_id, again.event_id);
    assert_eq!(first.source, again.source);
    assert_eq!(first.event_type, again.event_type);
    assert_eq!(first.subject, again.subject);
    assert_eq!(first.event_time, again.event_time);
    assert_eq!(first.common, again.common);
    assert_eq!(first.kind, again.kind);
}

/// The body that carries `event` alone on the callback endpoint in the format it came in.
pub fn callback_body_alone(event: &ParsedEvent) -> String {
    match event.format {
        WireFormat::CallAutomation => format!("[{}]", event.raw),
        _ => event.raw.clone(),
    }
}

/// Runs a future that never waits on anything outside itself (the verifiers here read no network),
/// failing loudly if it does.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use futures_util::FutureExt;
    future
        .now_or_never()
        .expect("the future completed without waiting")
}

/// The instant the verifiers are asked about: fixed, so that a second passing during a run cannot
/// move a timestamp across the tolerance.
pub const NOW: chrono::DateTime<chrono::Utc> =
    match chrono::DateTime::from_timestamp(1_700_000_000, 0) {
        Some(t) => t,
        None => panic!("a valid instant"),
    };
