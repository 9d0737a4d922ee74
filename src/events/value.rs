//! A JSON value borrowed from the body it was parsed from.
//!
//! Each element is parsed once into this tree and every field is read from it. Strings without
//! escapes point into the body, and an object is a vector of its entries in the order sent (objects
//! here have a dozen keys, so a scan costs less than building a map and every lookup ignores case
//! anyway). Lookups give the answers a `serde_json::Map` would, duplicate keys included: the last
//! value of a repeated key wins, and a case-insensitive match picks the smallest key.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Object<'a>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Value<'a>)>,
}

impl<'a> Value<'a> {
    /// Parses `text`, which must hold one JSON value and nothing else but whitespace.
    #[cfg(test)]
    pub(crate) fn parse(text: &'a str) -> Result<Value<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// An integer that fits `i64`; floats and larger numbers are `None`, as in `serde_json`.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}

impl<'a> Object<'a> {
    /// The entry under `name`: the exact key if present, else the smallest key equal to `name`
    /// ignoring ASCII case. A repeated key yields its last value, as when it is read into a map.
    pub(crate) fn entry(&self, name: &str) -> Option<(&str, &Value<'a>)> {
        let mut exact = None;
        let mut folded: Option<usize> = None;
        for (i, (key, _)) in self.entries.iter().enumerate() {
            if key.len() != name.len() {
                continue;
            }
            if key.as_ref() == name {
                exact = Some(i);
            } else if exact.is_none()
                && key.eq_ignore_ascii_case(name)
                && folded.map_or(true, |f| key.as_ref() <= self.entries[f].0.as_ref())
            {
                folded = Some(i);
            }
        }
        exact
            .or(folded)
            .map(|i| (self.entries[i].0.as_ref(), &self.entries[i].1))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_ref())
    }

    /// The entries in the order sent.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &Value<'a>)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_ref(), value))
    }

    /// The entries sorted by key bytes, each key once with its last value: what a map would hold.
    pub(crate) fn sorted_entries(&self) -> Vec<(&str, &Value<'a>)> {
        let mut sorted: Vec<(&str, &Value<'a>)> =
            self.entries.iter().map(|(k, v)| (k.as_ref(), v)).collect();
        // Stable, so that equal keys stay in the order sent and the last one can be kept.
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted.reverse();
        sorted.dedup_by(|later, earlier| later.0 == earlier.0);
        sorted.reverse();
        sorted
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value<'de>, E> {
        // As `serde_json::Value` does: a non-finite float (which JSON cannot spell) becomes null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        // No room reserved ahead: an empty array (two bytes of text) must not cost a buffer, or a
        // body of many of them would cost fifty times its size to parse.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        // No room reserved ahead, as for arrays: an empty object must not cost a buffer.
        let mut entries = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Value::Object(Object { entries }))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same lookup through `serde_json::Map`, which the tree must agree with.
    fn map_lookup(text: &str, name: &str) -> Option<(String, serde_json::Value)> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        if let Some((k, v)) = map.get_key_value(name) {
            return Some((k.clone(), v.clone()));
        }
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    fn tree_lookup(text: &str, name: &str) -> Option<(String, serde_json::Value)> {
        let value = Value::parse(text).unwrap();
        let object = value.as_object().unwrap();
        object.entry(name).map(|(k, v)| (k.to_owned(), to_json(v)))
    }

    fn to_json(v: &Value<'_>) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
            Value::Object(o) => serde_json::Value::Object(
                o.sorted_entries()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), to_json(v)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn lookups_agree_with_a_map_even_with_repeated_and_case_variant_keys() {
        let texts = [
            r#"{"subCode": 1, "subcode": 2, "CallLegId": "leg"}"#,
            r#"{"subcode": 2, "subCode": 1, "SUBCODE": 3}"#,
            r#"{"a": 1, "a": 2, "A": 3, "A": 4}"#,
            r#"{"Tone": "x", "tone": null, "TONE": "y"}"#,
            r#"{"b": 1}"#,
            r#"{}"#,
        ];
        for text in texts {
            for name in [
                "subcode",
                "subCode",
                "SUBCODE",
                "callLegId",
                "a",
                "A",
                "tone",
                "Tone",
                "b",
                "c",
            ] {
                assert_eq!(
                    tree_lookup(text, name),
                    map_lookup(text, name),
                    "{text} {name}"
                );
            }
        }
    }

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"s": "plain", "e": "tab\tquote\"é\u00e9", "n": [0, -1, 18446744073709551615, 1.5e3, 12345678901234567890123],
                       "k\u0041": {"x": true, "y": false, "z": null}, "dup": 1, "dup": [2]}"#;
        let ours = to_json(&Value::parse(text).unwrap());
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        let value = Value::parse(text).unwrap();
        let object = value.as_object().unwrap();
        assert!(matches!(
            object.entry("s"),
            Some((_, Value::String(Cow::Borrowed("plain"))))
        ));
        assert_eq!(object.entry("kA").map(|(k, _)| k), Some("kA"));
    }

    #[test]
    fn integers_are_those_serde_json_calls_integers() {
        let value = Value::parse(r#"[7, -7, 7.0, "7", 9223372036854775808, 1e2]"#).unwrap();
        let Value::Array(items) = value else {
            panic!("an array")
        };
        let got: Vec<Option<i64>> = items.iter().map(Value::as_i64).collect();
        assert_eq!(got, [Some(7), Some(-7), None, None, None, None]);
    }

    #[test]
    fn invalid_json_fails_as_serde_json_does() {
        for text in [r#"{"a": }"#, r#"{"a": 1,}"#, "[1, 2", "{} x", ""] {
            let ours = Value::parse(text).unwrap_err().to_string();
            let theirs = serde_json::from_str::<serde_json::Value>(text)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
