//! Splitting a body into its elements, each with the exact text the sender wrote (what is stored)
//! and its parsed value (what is read), in one pass over the bytes.
//!
//! The usual body, an object or an array of objects, is parsed element by element where it lies:
//! each element's text ends where its parse ended. Anything else (invalid JSON, an empty array, an
//! element that is not an object, a value nested too deep) goes the careful way, which validates
//! the whole body before looking at any element, so every refusal is the one it always was.

use serde_json::value::RawValue;

use crate::events::error::{Ctx, ParseError};
use crate::events::value::{Object, Value};

pub(crate) enum Body<'a> {
    Array(Vec<Element<'a>>),
    Object(Element<'a>),
}

pub(crate) struct Element<'a> {
    /// The element exactly as received.
    pub(crate) raw: &'a str,
    /// Its value, or why it could not be read (reported when its turn comes, so that an earlier
    /// element's error is reported first).
    value: Result<Value<'a>, String>,
}

impl<'a> Element<'a> {
    pub(crate) fn object(&self, ctx: Ctx) -> Result<&Object<'a>, ParseError> {
        match &self.value {
            Ok(Value::Object(obj)) => Ok(obj),
            Ok(_) => Err(ctx.error("", "must be a JSON object")),
            Err(message) => Err(ParseError::InvalidJson(message.clone())),
        }
    }
}

pub(crate) fn split_body(body: &[u8]) -> Result<Body<'_>, ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError::InvalidJson(e.to_string()))?;
    // Some HTTP stacks prepend a byte order mark; it is not JSON but it is
    // not the sender's data either.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match split_in_place(text) {
        Some(body) => Ok(body),
        None => split_checked(text),
    }
}

/// One pass: `None` as soon as the body is anything but an object or a non-empty array of
/// objects, each of which parses.
fn split_in_place(text: &str) -> Option<Body<'_>> {
    let bytes = text.as_bytes();
    let start = skip_whitespace(bytes, 0);
    match bytes.get(start)? {
        b'{' => {
            let (element, end) = object_at(text, start)?;
            (skip_whitespace(bytes, end) == bytes.len()).then_some(Body::Object(element))
        }
        b'[' => {
            let mut elements = Vec::new();
            let mut at = skip_whitespace(bytes, start + 1);
            loop {
                let (element, end) = object_at(text, at)?;
                elements.push(element);
                at = skip_whitespace(bytes, end);
                match bytes.get(at)? {
                    b',' => at = skip_whitespace(bytes, at + 1),
                    b']' => break,
                    _ => return None,
                }
            }
            (skip_whitespace(bytes, at + 1) == bytes.len()).then_some(Body::Array(elements))
        }
        _ => None,
    }
}

/// The object starting at `at`, and where its text ends.
fn object_at(text: &str, at: usize) -> Option<(Element<'_>, usize)> {
    if text.as_bytes().get(at) != Some(&b'{') {
        return None;
    }
    let rest = &text[at..];
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value<'_>>();
    let value = values.next()?.ok()?;
    let end = at + values.byte_offset();
    Some((
        Element {
            raw: &text[at..end],
            value: Ok(value),
        },
        end,
    ))
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The whole body validated first, then each element parsed from its text.
fn split_checked(text: &str) -> Result<Body<'_>, ParseError> {
    let whole: &RawValue =
        serde_json::from_str(text).map_err(|e| ParseError::InvalidJson(e.to_string()))?;
    match whole.get().as_bytes().first() {
        Some(b'[') => {
            let raws: Vec<&RawValue> = serde_json::from_str(whole.get())
                .map_err(|e| ParseError::InvalidJson(e.to_string()))?;
            if raws.is_empty() {
                return Err(ParseError::body("no events: the body is an empty array"));
            }
            Ok(Body::Array(raws.into_iter().map(element).collect()))
        }
        Some(b'{') => Ok(Body::Object(element(whole))),
        _ => Err(ParseError::body(
            "body must be a JSON object or an array of objects",
        )),
    }
}

fn element(raw: &RawValue) -> Element<'_> {
    Element {
        raw: raw.get(),
        value: Value::parse(raw.get()).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws(text: &str) -> Vec<&str> {
        match split_body(text.as_bytes()).unwrap() {
            Body::Array(elements) => elements.iter().map(|e| e.raw).collect(),
            Body::Object(element) => vec![element.raw],
        }
    }

    #[test]
    fn elements_keep_their_exact_text() {
        let text = " \r\n[ {\"a\": \"]}\\\"\" } ,\n\t{}\n,{\"b\":[{\"c\":{}}]}] \n";
        assert_eq!(
            raws(text),
            ["{\"a\": \"]}\\\"\" }", "{}", "{\"b\":[{\"c\":{}}]}"]
        );
        assert!(split_in_place(text).is_some());
        assert_eq!(raws("\u{feff}{\"x\": 1}  "), ["{\"x\": 1}"]);
    }

    #[test]
    fn both_ways_agree_on_what_they_both_accept() {
        for text in [
            r#"[{"a":1},{"b":[1,2,{"c":null}]}]"#,
            r#"  {"type": "T", "data": {"x": "y\u00e9"}}  "#,
            r#"[{}]"#,
        ] {
            let fast: Vec<&str> = match split_in_place(text).unwrap() {
                Body::Array(e) => e.iter().map(|e| e.raw).collect(),
                Body::Object(e) => vec![e.raw],
            };
            let checked: Vec<&str> = match split_checked(text).unwrap() {
                Body::Array(e) => e.iter().map(|e| e.raw).collect(),
                Body::Object(e) => vec![e.raw],
            };
            assert_eq!(fast, checked, "{text}");
        }
    }

    #[test]
    fn anything_unusual_goes_the_checked_way() {
        for text in [
            "[]",
            "[ ]",
            "[1]",
            r#"[{"a":1},]"#,
            r#"[{"a":1} {"b":2}]"#,
            r#"[{"a":1}] x"#,
            r#"{"a":1} {"b":2}"#,
            r#"[{"a":1}"#,
            r#"{"a":}"#,
            "null",
            "",
            "   ",
        ] {
            assert!(split_in_place(text).is_none(), "{text}");
        }
    }
}
