//! The Event Grid endpoint's parser (`events::parse_eventgrid_body`) on arbitrary bytes.
//!
//! Properties: it never panics; it answers the same twice; every event it accepts is storable;
//! each event, sent again alone, is the same event; a subscription validation's code is never
//! empty of meaning (a string, echoed as given) and the delivery that carries one stores nothing.
#![no_main]

use calltrail::events::{parse_eventgrid_body, EventGridDelivery};
use calltrail_fuzz::{assert_same_event, assert_storable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let first = parse_eventgrid_body(body);
    let second = parse_eventgrid_body(body);
    assert_eq!(first, second, "two parses of one body differ");
    match first {
        Err(_) => {}
        Ok(EventGridDelivery::SubscriptionValidation {
            validation_code, ..
        }) => {
            // The code is echoed back in a JSON answer: it must serialise.
            serde_json::to_string(&validation_code).expect("the validation code serialises");
        }
        Ok(EventGridDelivery::Events(events)) => {
            assert!(!events.is_empty(), "an accepted body carried no event");
            for event in &events {
                assert_storable(body, event);
                let again = parse_eventgrid_body(event.raw.as_bytes())
                    .unwrap_or_else(|e| panic!("an accepted event is refused alone: {e}"));
                let EventGridDelivery::Events(again) = again else {
                    panic!("an event became a subscription validation alone")
                };
                assert_eq!(again.len(), 1);
                assert_eq!(again[0].format, event.format);
                assert_same_event(event, &again[0]);
            }
        }
    }
});
