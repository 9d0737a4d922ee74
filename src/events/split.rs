//! Walking a body's elements, each with the exact text the sender wrote (what is stored) and its
//! parsed value (what is read), in one pass over the bytes.
//!
//! Elements are handed over one at a time, each parsed just before and dropped just after: the
//! parsed tree of an element costs many times its text (an empty object `{}` is two bytes of text
//! and a few hundred of tree), so trees are never held for a whole body at once.
//!
//! The usual body, an object or an array of objects, is parsed element by element where it lies:
//! each element's text ends where its parse ended. At the first thing that is not that (invalid
//! JSON, an empty array, an element that is not an object, a value nested too deep), the whole body
//! is validated before anything is said about an element, and so is it whenever an element is
//! refused: a body that is not JSON is always refused as such, whatever its elements hold.

use serde::de::IgnoredAny;

use crate::events::error::{Ctx, ParseError};
use crate::events::storable::check_storable;
use crate::events::value::{Object, Value};

/// The most events one body may carry: Event Grid's own largest batch. Each is parsed, held and
/// written as a row of its own, so a body of many tiny elements must not be unbounded.
pub const MAX_EVENTS_PER_BODY: usize = 5000;

/// What the body is: one object, or an array of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Object,
    Array,
}

/// Calls `each` with every element in order: its index (`None` for a single-object body), its exact
/// text and its parsed object, which has passed [`check_storable`]. `each` returns `false` to stop
/// early. Refusals, first that applies: the body is not UTF-8 or not JSON, it is not an object or a
/// non-empty array of objects, it holds too many elements, an element is not an object or cannot be
/// stored, or `each` refuses it.
pub(crate) fn each_element<'a>(
    body: &'a [u8],
    mut each: impl FnMut(Shape, Option<usize>, &'a str, &Object<'_>) -> Result<bool, ParseError>,
) -> Result<(), ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError::InvalidJson(e.to_string()))?;
    if text.starts_with('\u{feff}') {
        // RFC 8259 forbids it; accepting it would store bytes the sender's signature did not
        // cover as JSON.
        return Err(ParseError::InvalidJson(
            "the body starts with a byte order mark (U+FEFF), which JSON does not allow".to_owned(),
        ));
    }
    let result = walk(text, &mut each);
    // A refusal of an element is only given for a body that is JSON; otherwise the body's own
    // refusal is the one said.
    match result {
        Err(ParseError::InvalidEvent { .. }) | Err(ParseError::InvalidJson(_)) => {
            validate_whole(text)?;
            result
        }
        Ok(()) => Ok(()),
    }
}

fn walk<'a>(
    text: &'a str,
    each: &mut impl FnMut(Shape, Option<usize>, &'a str, &Object<'_>) -> Result<bool, ParseError>,
) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let start = skip_whitespace(bytes, 0);
    match bytes.get(start) {
        Some(b'{') => {
            let (raw, value, end) = element_at(text, start, None)?;
            if skip_whitespace(bytes, end) != bytes.len() {
                return Err(not_json());
            }
            let ctx = Ctx::new(None);
            let obj = checked_object(raw, &value, ctx)?;
            each(Shape::Object, None, raw, obj)?;
            Ok(())
        }
        Some(b'[') => {
            let mut at = skip_whitespace(bytes, start + 1);
            if bytes.get(at) == Some(&b']') {
                if skip_whitespace(bytes, at + 1) == bytes.len() {
                    return Err(ParseError::body("no events: the body is an empty array"));
                }
                return Err(not_json());
            }
            for index in 0.. {
                if index == MAX_EVENTS_PER_BODY {
                    return Err(ParseError::body(format!(
                        "too many events: a body may hold at most {MAX_EVENTS_PER_BODY}"
                    )));
                }
                let (raw, value, end) = element_at(text, at, Some(index))?;
                let ctx = Ctx::new(Some(index));
                let obj = checked_object(raw, &value, ctx)?;
                if !each(Shape::Array, Some(index), raw, obj)? {
                    // Stopped early (an Event Grid handshake): the rest must still be JSON.
                    return validate_whole(text);
                }
                drop(value);
                at = skip_whitespace(bytes, end);
                match bytes.get(at) {
                    Some(b',') => at = skip_whitespace(bytes, at + 1),
                    Some(b']') if skip_whitespace(bytes, at + 1) == bytes.len() => break,
                    _ => return Err(not_json()),
                }
            }
            Ok(())
        }
        _ => Err(ParseError::body(
            "body must be a JSON object or an array of objects",
        )),
    }
}

/// The value starting at `at`, its exact text, and where that text ends.
fn element_at(
    text: &str,
    at: usize,
    index: Option<usize>,
) -> Result<(&str, Value<'_>, usize), ParseError> {
    let rest = &text[at..];
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value<'_>>();
    match values.next() {
        Some(Ok(value)) => {
            let end = at + values.byte_offset();
            Ok((&text[at..end], value, end))
        }
        // Reported as such only if the whole body is JSON (see `each_element`).
        Some(Err(error)) => Err(ParseError::InvalidJson(error.to_string())),
        None => Err(Ctx::new(index).error("", "must be a JSON object")),
    }
}

fn checked_object<'v, 'a>(
    raw: &str,
    value: &'v Value<'a>,
    ctx: Ctx,
) -> Result<&'v Object<'a>, ParseError> {
    let Value::Object(obj) = value else {
        return Err(ctx.error("", "must be a JSON object"));
    };
    check_storable(raw, value, ctx)?;
    Ok(obj)
}

/// Whether the whole body is JSON: its refusal if not. Validation only, no tree is built.
fn validate_whole(text: &str) -> Result<(), ParseError> {
    serde_json::from_str::<IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| ParseError::InvalidJson(e.to_string()))
}

/// Where the walk found something that is not JSON: the body's own refusal, which `each_element`
/// makes precise. (Valid JSON is never refused here: the walk follows every object and array.)
fn not_json() -> ParseError {
    ParseError::InvalidJson("unexpected text after a value".to_owned())
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws(text: &str) -> Result<Vec<String>, ParseError> {
        let mut raws = Vec::new();
        each_element(text.as_bytes(), |_, _, raw, _| {
            raws.push(raw.to_owned());
            Ok(true)
        })?;
        Ok(raws)
    }

    #[test]
    fn elements_keep_their_exact_text() {
        let text = " \r\n[ {\"a\": \"]}\\\"\" } ,\n\t{}\n,{\"b\":[{\"c\":{}}]}] \n";
        assert_eq!(
            raws(text).unwrap(),
            ["{\"a\": \"]}\\\"\" }", "{}", "{\"b\":[{\"c\":{}}]}"]
        );
        assert_eq!(raws("  {\"x\": 1}  ").unwrap(), ["{\"x\": 1}"]);
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_as_such_whatever_its_elements() {
        for text in [
            r#"[{"a":1},]"#,
            r#"[{"a":1} {"b":2}]"#,
            r#"[{"a":1}] x"#,
            r#"{"a":1} {"b":2}"#,
            r#"[{"a":1}"#,
            r#"{"a":}"#,
            r#"[1, {"a":}]"#,
            r#"[{"a":"\u0000"}, x]"#,
            "",
            "   ",
            "\u{feff}{\"x\": 1}",
        ] {
            assert!(
                matches!(raws(text), Err(ParseError::InvalidJson(_))),
                "{text}: {:?}",
                raws(text)
            );
        }
    }

    #[test]
    fn json_of_the_wrong_shape_is_refused_naming_the_element() {
        let cases = [
            ("[]", "no events: the body is an empty array"),
            ("[ ]", "no events: the body is an empty array"),
            ("null", "body must be a JSON object or an array of objects"),
            ("[{}, 1]", "element 1: must be a JSON object"),
        ];
        for (text, message) in cases {
            assert_eq!(raws(text).unwrap_err().to_string(), message, "{text}");
        }
    }

    #[test]
    fn elements_are_handed_over_until_told_to_stop() {
        let mut seen = 0;
        each_element(b"[{}, {}, {}]", |shape, index, _, _| {
            assert_eq!(shape, Shape::Array);
            assert_eq!(index, Some(seen));
            seen += 1;
            Ok(seen < 2)
        })
        .unwrap();
        assert_eq!(seen, 2);
        // Stopping early does not excuse the rest of the body from being JSON.
        let stopped = each_element(b"[{}, {}, {", |_, _, _, _| Ok(false));
        assert!(
            matches!(stopped, Err(ParseError::InvalidJson(_))),
            "{stopped:?}"
        );
    }

    #[test]
    fn a_body_may_hold_at_most_the_largest_event_grid_batch() {
        let body = |n: usize| format!("[{}]", vec!["{}"; n].join(","));
        assert_eq!(
            raws(&body(MAX_EVENTS_PER_BODY)).unwrap().len(),
            MAX_EVENTS_PER_BODY
        );
        assert_eq!(
            raws(&body(MAX_EVENTS_PER_BODY + 1))
                .unwrap_err()
                .to_string(),
            format!("too many events: a body may hold at most {MAX_EVENTS_PER_BODY}")
        );
    }
}
