//! The reporting API's query parameters and opaque cursors (`api::events::EventFilter`,
//! `api::pagination::PageRequest` for every list's key, `api::pagination::Page` encoding).
//!
//! Query strings are decoded as the HTTP layer decodes them (`application/x-www-form-urlencoded`
//! into the same parameter types); those the API refuses for a NUL before parsing are skipped.
//!
//! Properties: nothing panics; an accepted filter holds only what its checks promise (times in
//! years 0 to 9999, a closed-set value from its set, a JSON path of identifiers);
//! an accepted page has a limit in bounds and, from a cursor, a key every column can hold (no
//! NUL in a text, a time PostgreSQL can store) that encodes back to a cursor of the same key;
//! and every key a list can produce encodes to a cursor that decodes to that very key.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use calltrail::api::events::{EventFilter, EventFilterParams};
use calltrail::api::pagination::{CursorKey, Order, Page, PageParams, PageRequest, MAX_LIMIT};
use calltrail::api::params::AUTH_SCHEMES;
use calltrail_fuzz::storable_time;
use chrono::{DateTime, Datelike, Utc};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use std::fmt::Debug;

/// The first byte of an input says what the rest is (seeds are written this way):
/// - `q`: a whole query string;
/// - `c`: a cursor's JSON, sent base64url-encoded as a client would forge it, then optionally a
///   newline and `limit`, a newline and `order`;
/// - anything else: a key a list could produce, made of the rest's bytes, encoded and decoded.
#[derive(Arbitrary, Debug)]
struct Key<'a> {
    micros: i64,
    text: &'a str,
    other: &'a str,
    seq: i64,
    ordinal: i32,
    desc: bool,
}

/// What every cursor key must be to be bound to a query.
trait Checked: CursorKey + Serialize + PartialEq + Clone + Debug {
    /// Judged here, independently of the service's own check.
    fn holdable(&self) -> bool;
}

impl Checked for i64 {
    fn holdable(&self) -> bool {
        true
    }
}
impl Checked for i32 {
    fn holdable(&self) -> bool {
        true
    }
}
impl Checked for String {
    fn holdable(&self) -> bool {
        !self.contains('\0')
    }
}
impl Checked for DateTime<Utc> {
    fn holdable(&self) -> bool {
        storable_time(self)
    }
}
impl<A: Checked, B: Checked> Checked for (A, B) {
    fn holdable(&self) -> bool {
        self.0.holdable() && self.1.holdable()
    }
}
impl<A: Checked, B: Checked, C: Checked> Checked for (A, B, C) {
    fn holdable(&self) -> bool {
        self.0.holdable() && self.1.holdable() && self.2.holdable()
    }
}

/// The cursor of the page after a row whose key is `key`.
fn encode<K: Checked>(resource: &'static str, order: Order, key: &K) -> String {
    let request = PageRequest::<K> {
        resource,
        limit: 1,
        order,
        after: None,
    };
    let page = Page::from_rows(vec![key.clone(), key.clone()], &request, Clone::clone);
    page.next_cursor.expect("a second row means a next page")
}

fn cursor_params(cursor: String) -> PageParams {
    PageParams {
        cursor: Some(cursor),
        ..PageParams::default()
    }
}

/// Parses `params` for the list `resource` keyed by `K`, checking what an accepted page holds.
fn page<K: Checked>(resource: &'static str, params: &PageParams) {
    let Ok(request) = PageRequest::<K>::parse(resource, params) else {
        return;
    };
    assert!(
        (1..=MAX_LIMIT).contains(&request.limit),
        "limit {}",
        request.limit
    );
    let Some(key) = request.after else { return };
    assert!(
        key.holdable(),
        "{resource}: a cursor's key cannot be bound: {key:?}"
    );
    let again = PageRequest::<K>::parse(
        resource,
        &cursor_params(encode(resource, request.order, &key)),
    )
    .expect("a re-encoded cursor is accepted");
    assert_eq!(again.after.as_ref(), Some(&key));
    assert_eq!(again.order, request.order);
}

/// Every list of the API with its key type, as the handlers parse them.
fn every_list(params: &PageParams) {
    page::<(DateTime<Utc>, String)>("calls", params);
    page::<(DateTime<Utc>, String, i32)>("call_participants", params);
    page::<i64>("call_events", params);
    page::<i32>("call_dtmf", params);
    page::<(String, String)>("call_media", params);
    page::<(DateTime<Utc>, String)>("participant_calls", params);
    page::<(DateTime<Utc>, i64)>("events", params);
}

/// A key of list `resource` survives encoding exactly when it can be stored at all.
fn round_trip<K: Checked>(resource: &'static str, order: Order, key: K) {
    let parsed = PageRequest::<K>::parse(resource, &cursor_params(encode(resource, order, &key)));
    if key.holdable() {
        let parsed = parsed.expect("a list's own cursor is accepted");
        assert_eq!(parsed.after, Some(key));
        assert_eq!(parsed.order, order);
    } else {
        assert!(
            parsed.is_err(),
            "{resource}: an unstorable key was accepted: {key:?}"
        );
    }
}

fn filter(query: &str) {
    let Ok(params) = serde_urlencoded::from_str::<EventFilterParams>(query) else {
        return;
    };
    let Ok(f) = EventFilter::parse(&params) else {
        return;
    };
    // Any RFC 3339 time is accepted, as the nearest instant UTC writes in four digits.
    for t in [f.range.from, f.range.to].into_iter().flatten() {
        assert!(storable_time(&t) && (0..=9999).contains(&t.year()), "{t:?}");
    }
    for text in [
        &f.event_type,
        &f.call_id,
        &f.correlation_id,
        &f.operation_context,
    ] {
        assert!(
            text.as_ref().is_none_or(|t| !t.is_empty()),
            "an empty filter is absent"
        );
    }
    if let Some(scheme) = &f.auth_scheme {
        assert!(AUTH_SCHEMES.contains(&scheme.as_str()));
    }
    assert_eq!(f.json_path.is_some(), f.json_value.is_some());
    if let Some(path) = &f.json_path {
        assert!(!path.is_empty() && path.len() <= 16);
        for segment in path {
            let mut chars = segment.chars();
            assert!(chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'));
            assert!(
                chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{segment:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        b'q' => {
            let Ok(query) = std::str::from_utf8(rest) else {
                return;
            };
            // The API refuses any parameter holding a NUL before a handler sees it.
            if form_urlencoded::parse(rest).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
                return;
            }
            filter(query);
            if let Ok(params) = serde_urlencoded::from_str::<PageParams>(query) {
                every_list(&params);
            }
        }
        b'c' => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let mut lines = text.splitn(3, '\n');
            let json = lines.next().unwrap_or_default();
            let limit = lines.next().map(str::to_owned);
            let order = lines.next().map(str::to_owned);
            if [&limit, &order]
                .into_iter()
                .flatten()
                .any(|v| v.contains('\0'))
            {
                return;
            }
            every_list(&PageParams {
                limit,
                cursor: Some(URL_SAFE_NO_PAD.encode(json)),
                order,
            });
        }
        _ => {
            let Ok(key) = Key::arbitrary_take_rest(arbitrary::Unstructured::new(rest)) else {
                return;
            };
            // Rows come from PostgreSQL: times to the microsecond.
            let Some(time) = DateTime::from_timestamp_micros(key.micros) else {
                return;
            };
            let order = if key.desc { Order::Desc } else { Order::Asc };
            let text = key.text.to_owned();
            round_trip("calls", order, (time, text.clone()));
            round_trip(
                "call_participants",
                order,
                (time, text.clone(), key.ordinal),
            );
            round_trip("call_events", order, key.seq);
            round_trip("call_dtmf", order, key.ordinal);
            round_trip("call_media", order, (text.clone(), key.other.to_owned()));
            round_trip("participant_calls", order, (time, text));
            round_trip("events", order, (time, key.seq));
        }
    }
});
