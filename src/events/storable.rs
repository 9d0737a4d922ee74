//! What the event log cannot hold, refused before it gets there, naming the element and field.
//!
//! Every element is kept as its exact text and read back as PostgreSQL `jsonb` by the audit log's
//! JSON-field filter; its typed fields go to `text` columns. Neither can hold everything JSON can
//! spell, and accepting such an event would either store typed columns that differ from the raw
//! text or, worse, make every later query that reads the raw text as `jsonb` fail. So an element is
//! refused (400 `invalid_event`) when it holds:
//!
//! - a NUL character (`\u0000`) in any string or key: no PostgreSQL text type can hold it;
//! - the same key twice in one object, compared without regard to ASCII case as every lookup is:
//!   the typed fields would take one value and a `jsonb` reading of the raw text another;
//! - a number whose magnitude is not zero but too small for a double (below about 2.2e-308):
//!   the typed model would read it as zero, and the smallest are beyond PostgreSQL's `numeric`.
//!
//! Lone surrogates (`\ud800`) and numbers too large for a double are refused by the JSON parser
//! itself, as invalid JSON.
//!
//! Times go to `timestamptz` columns, which end earlier than the times chrono can read: see
//! [`storable_time`].

use chrono::{DateTime, Utc};

use crate::events::error::{Ctx, ParseError};
use crate::events::fields::Path;
use crate::events::value::{Object, Value};

/// The earliest instant PostgreSQL's `timestamptz` holds, in unix seconds: Julian day 0, which is
/// 4714-11-24 BC in the proleptic Gregorian calendar (year -4713 counted astronomically, as chrono
/// counts), at midnight UTC. Its end, 294277 AD, is later than any time chrono represents.
const EARLIEST_STORABLE_UNIX: i64 = -210_866_803_200;

/// Whether a `timestamptz` column can hold `t`. A time it cannot hold fails the whole statement
/// it is bound to: a batch of events, or a reporting query.
pub fn storable_time(t: &DateTime<Utc>) -> bool {
    t.timestamp() >= EARLIEST_STORABLE_UNIX
}

/// Checks one element: `raw` is its exact text and `value` its parse.
pub(crate) fn check_storable(raw: &str, value: &Value<'_>, ctx: Ctx) -> Result<(), ParseError> {
    let mut walk = Walk {
        ctx,
        floats: 0,
        tiny: Vec::new(),
    };
    walk.value(value, &Path::Root)?;
    if walk.tiny.is_empty() {
        return Ok(());
    }
    // Floats that read as zero: only the text says whether the sender wrote a zero.
    for (ordinal, token) in float_tokens(raw).enumerate() {
        if let Some((_, field)) = walk.tiny.iter().find(|(at, _)| *at == ordinal) {
            if mantissa_is_nonzero(token) {
                return Err(ctx.error(
                    field,
                    "is a number too small to store (its magnitude must be zero or at least about 2.2e-308, the smallest a double holds in full)",
                ));
            }
        }
    }
    Ok(())
}

struct Walk {
    ctx: Ctx,
    /// Floats seen so far, in document order.
    floats: usize,
    /// Floats that read as zero or subnormal: their ordinal and path.
    tiny: Vec<(usize, String)>,
}

impl Walk {
    fn value(&mut self, value: &Value<'_>, path: &Path<'_>) -> Result<(), ParseError> {
        match value {
            Value::String(s) => self.text(s, path),
            Value::Number(n) => {
                if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                    if f == 0.0 || f.is_subnormal() {
                        self.tiny.push((self.floats, path.to_string()));
                    }
                    self.floats += 1;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &Path::Index(path, i))?;
                }
                Ok(())
            }
            Value::Object(obj) => self.object(obj, path),
            Value::Null | Value::Bool(_) => Ok(()),
        }
    }

    fn object(&mut self, obj: &Object<'_>, path: &Path<'_>) -> Result<(), ParseError> {
        let keys: Vec<&str> = obj.keys().collect();
        for key in &keys {
            let at = Path::Key(path, key);
            self.text(key, &at)?;
        }
        if let Some(repeated) = repeated_key(&keys) {
            let field = Path::Key(path, repeated).to_string();
            return Err(self.ctx.error(
                &field,
                "appears more than once in its object (keys are compared without regard to case)",
            ));
        }
        for (key, value) in obj.entries() {
            self.value(value, &Path::Key(path, key))?;
        }
        Ok(())
    }

    fn text(&self, s: &str, path: &Path<'_>) -> Result<(), ParseError> {
        if s.contains('\0') {
            return Err(self.ctx.error(
                &path.to_string(),
                "contains a NUL character (\\u0000), which cannot be stored",
            ));
        }
        Ok(())
    }
}

/// A key that appears twice, ignoring ASCII case. Objects here have a dozen keys: compared pairwise
/// when few, sorted when many (so that a hostile object of many keys costs n log n, not n²).
fn repeated_key<'k>(keys: &[&'k str]) -> Option<&'k str> {
    if keys.len() <= 16 {
        for (i, a) in keys.iter().enumerate() {
            if keys[..i].iter().any(|b| a.eq_ignore_ascii_case(b)) {
                return Some(a);
            }
        }
        return None;
    }
    let mut folded: Vec<(String, &str)> =
        keys.iter().map(|k| (k.to_ascii_lowercase(), *k)).collect();
    folded.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    folded
        .windows(2)
        .find(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[1].1)
}

/// The number tokens of `raw` that the JSON parser reads as floats (a fraction, an exponent, or an
/// integer too large for 64 bits), in document order.
fn float_tokens(raw: &str) -> impl Iterator<Item = &str> {
    let bytes = raw.as_bytes();
    let mut at = 0;
    let mut in_string = false;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let b = bytes[at];
            if in_string {
                match b {
                    b'\\' => at += 2,
                    b'"' => {
                        in_string = false;
                        at += 1;
                    }
                    _ => at += 1,
                }
                continue;
            }
            match b {
                b'"' => {
                    in_string = true;
                    at += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let start = at;
                    while at < bytes.len()
                        && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                    {
                        at += 1;
                    }
                    let token = &raw[start..at];
                    let integer = token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok();
                    if !integer {
                        return Some(token);
                    }
                }
                _ => at += 1,
            }
        }
        None
    })
}

fn mantissa_is_nonzero(token: &str) -> bool {
    let mantissa = token.split(['e', 'E']).next().unwrap_or("");
    mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_storable_time_is_postgresql_s() {
        let earliest = chrono::NaiveDate::from_ymd_opt(-4713, 11, 24)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
            .and_utc();
        assert_eq!(earliest.timestamp(), EARLIEST_STORABLE_UNIX);
        assert!(storable_time(&earliest));
        assert!(!storable_time(
            &(earliest - chrono::TimeDelta::microseconds(1))
        ));
        assert!(storable_time(&DateTime::<Utc>::MAX_UTC));
    }

    fn check(text: &str) -> Result<(), String> {
        let value = Value::parse(text).map_err(|e| format!("json: {e}"))?;
        check_storable(text, &value, Ctx::new(Some(0))).map_err(|e| e.to_string())
    }

    #[test]
    fn ordinary_events_pass() {
        for text in [
            r#"{"id":"1","data":{"a":[1,2.5,-0.0,0e10,0.0,1e-300,18446744073709551616],"b":"é\n"}}"#,
            r#"{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}"#,
            r#"{"s":"\\u0000 is only text here"}"#,
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn nul_anywhere_is_refused_naming_the_field() {
        let cases = [
            (r#"{"id":"a\u0000"}"#, "`id`"),
            (
                r#"{"data":{"list":[{"rawId":"4:+1\u0000"}]}}"#,
                "`data.list[0].rawId`",
            ),
            (r#"{"data":{"k\u0000":1}}"#, "`data.k\u{0}`"),
        ];
        for (text, field) in cases {
            let message = check(text).unwrap_err();
            assert!(message.contains("NUL"), "{text}: {message}");
            assert!(
                message.starts_with(&format!("element 0: field {field}")),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn repeated_keys_are_refused_whatever_their_case() {
        for text in [
            r#"{"id":"1","id":"2"}"#,
            r#"{"id":"1","ID":"2"}"#,
            r#"{"data":{"callConnectionId":"a","CallConnectionID":"b"}}"#,
        ] {
            let message = check(text).unwrap_err();
            assert!(
                message.contains("appears more than once"),
                "{text}: {message}"
            );
        }
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":1")).collect();
        let mut with_repeat = many.clone();
        with_repeat.push("\"K7\":2".to_owned());
        assert_eq!(check(&format!("{{{}}}", many.join(","))), Ok(()));
        assert!(check(&format!("{{{}}}", with_repeat.join(",")))
            .unwrap_err()
            .contains("field `K7` appears more than once"));
    }

    #[test]
    fn numbers_too_small_to_hold_are_refused_and_zeros_are_not() {
        assert!(check(r#"{"a":[0.0,1e-20000]}"#)
            .unwrap_err()
            .contains("field `a[1]` is a number too small"));
        assert!(check(r#"{"x":"1e-20000","a":5e-324}"#)
            .unwrap_err()
            .contains("field `a` is a number too small"));
        assert_eq!(check(r#"{"a":[0.000,-0e-5000,0E+3]}"#), Ok(()));
        // Too large for a double: the parser itself refuses it.
        assert!(check(r#"{"a":1e400}"#).unwrap_err().starts_with("json:"));
    }

    #[test]
    fn lone_surrogates_are_invalid_json() {
        assert!(check(r#"{"a":"\ud800"}"#).unwrap_err().starts_with("json:"));
        assert!(check(r#"{"a":"\udc00x"}"#)
            .unwrap_err()
            .starts_with("json:"));
        assert_eq!(check(r#"{"a":"\ud83d\ude00"}"#), Ok(()));
    }
}
