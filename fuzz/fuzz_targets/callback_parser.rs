//! The callback endpoint's parser (`events::parse_callback_body`) on arbitrary bytes.
//!
//! Properties: it never panics; it answers the same twice; every event it accepts is storable
//! (see `calltrail_fuzz::assert_storable`); and each event, sent again alone, is accepted as the
//! same event with the same dedup key.
#![no_main]

use calltrail::events::parse_callback_body;
use calltrail_fuzz::{assert_same_event, assert_storable, callback_body_alone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let first = parse_callback_body(body);
    let second = parse_callback_body(body);
    assert_eq!(first, second, "two parses of one body differ");
    let Ok(events) = first else { return };
    assert!(!events.is_empty(), "an accepted body carried no event");
    for event in &events {
        assert_storable(body, event);
        let alone = callback_body_alone(event);
        let again = parse_callback_body(alone.as_bytes())
            .unwrap_or_else(|e| panic!("an accepted event is refused alone: {e}"));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].format, event.format);
        assert_same_event(event, &again[0]);
    }
});
