//! Deduplication keys. Delivery is at-least-once, so the same event must map
//! to the same key however often, and however formatted, it is re-sent.

use serde_json::{Map, Value as JsonValue};
use sha2::{Digest, Sha256};

use crate::events::dedup_key::DedupKey;
use crate::events::value::{Object, Value};

/// Compact JSON with object keys sorted by their bytes, recursively.
///
/// Keys are sorted here rather than relying on `serde_json::Map` iterating in
/// order: that holds only while no crate in the build turns on serde_json's
/// `preserve_order` feature, and a silent change would split every A1
/// duplicate into two stored events.
pub fn canonical_json(v: &JsonValue) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &JsonValue, out: &mut String) {
    match v {
        JsonValue::Object(map) => write_object(map, out),
        JsonValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_object(map: &Map<String, JsonValue>, out: &mut String) {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_scalar(&JsonValue::String(k.clone()), out);
        out.push(':');
        write_canonical(v, out);
    }
    out.push('}');
}

fn write_scalar(v: &JsonValue, out: &mut String) {
    // Serialising a scalar `Value` cannot fail; the fallback is unreachable.
    out.push_str(&serde_json::to_string(v).unwrap_or_default());
}

/// Events with an id are the same event when `(source, id)` match, whatever
/// their bytes (a retry may be re-serialised). Events without one (A1 sends
/// `null` ids) are keyed on their canonical content instead.
pub(crate) fn dedup_key(id: Option<&str>, source: Option<&str>, element: &Object<'_>) -> DedupKey {
    let mut hasher = Sha256::new();
    match id {
        Some(id) => {
            hasher.update(b"id\0");
            hasher.update(source.unwrap_or("").as_bytes());
            hasher.update(b"\0");
            hasher.update(id.as_bytes());
        }
        None => {
            hasher.update(b"body\0");
            let mut out = HashWriter(&mut hasher);
            write_element_object(element, &mut out);
        }
    }
    DedupKey::from(<[u8; 32]>::from(hasher.finalize()))
}

/// Feeds what is written straight into the hash: the canonical text is never held whole.
struct HashWriter<'h>(&'h mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The canonical form of [`canonical_json`], written from an element's parsed tree.
fn write_element(v: &Value<'_>, out: &mut HashWriter<'_>) {
    match v {
        Value::Object(map) => write_element_object(map, out),
        Value::Array(items) => {
            out.0.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                write_element(item, out);
            }
            out.0.update(b"]");
        }
        Value::Null => out.0.update(b"null"),
        Value::Bool(true) => out.0.update(b"true"),
        Value::Bool(false) => out.0.update(b"false"),
        Value::Number(n) => write_json(n, out),
        Value::String(s) => write_json(s, out),
    }
}

fn write_element_object(map: &Object<'_>, out: &mut HashWriter<'_>) {
    out.0.update(b"{");
    for (i, (k, v)) in map.sorted_entries().into_iter().enumerate() {
        if i > 0 {
            out.0.update(b",");
        }
        write_json(k, out);
        out.0.update(b":");
        write_element(v, out);
    }
    out.0.update(b"}");
}

/// A number or a string, formatted and escaped exactly as `serde_json` writes them.
fn write_json<T: serde::Serialize + ?Sized>(v: &T, out: &mut HashWriter<'_>) {
    // Writing to a hash cannot fail, nor can serialising a number or a string.
    let _ = serde_json::to_writer(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::fields::tests::object;

    #[test]
    fn keys_sorted_recursively_and_compact() {
        let v: JsonValue = serde_json::from_str(
            r#"{ "b": [ {"z": 1, "a": null} ], "a": "x\"y", "C": 1.5, "é": true }"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"C":1.5,"a":"x\"y","b":[{"a":null,"z":1}],"é":true}"#
        );
    }

    #[test]
    fn id_key_is_sha256_of_source_and_id() {
        let key = dedup_key(Some("abc"), Some("src"), object("{}"));
        let want: [u8; 32] = Sha256::digest(b"id\0src\0abc").into();
        assert_eq!(key, want);
        let no_source = dedup_key(Some("abc"), None, object("{}"));
        let want: [u8; 32] = Sha256::digest(b"id\0\0abc").into();
        assert_eq!(no_source, want);
    }

    #[test]
    fn body_key_is_sha256_of_canonical_json() {
        let want: [u8; 32] = Sha256::digest(b"body\0{\"a\":2,\"b\":1}").into();
        assert_eq!(
            dedup_key(None, Some("ignored"), object(r#"{"b": 1, "a": 2}"#)),
            want
        );
        assert_eq!(
            hex::encode(dedup_key(None, None, object("{}"))),
            hex::encode(Sha256::digest(b"body\0{}"))
        );
    }

    /// Keys stored before must still match: the key of an element is the hash of
    /// `canonical_json` of its `serde_json::Value`, whatever the element holds.
    #[test]
    fn body_key_matches_canonical_json_of_the_same_text() {
        let texts = [
            r#"{"id":null,"topic":null,"subject":"callLeg/x/dtmf","data":{"ToneInfo":{"SequenceId":3,"Tone":"Tone1"},"CallLegId":"511f"},"eventType":"Microsoft.Communication.DtmfReceived","eventTime":"2021-05-05T20:09:41.1220417Z","metadataVersion":null,"dataVersion":null}"#,
            r#"{"b": 1, "a": {"y": [1, 2.5, -3, 1e300, 18446744073709551615, 12345678901234567890123], "x": "\u00e9\t\"\\\u0001/"}, "a": [true, false, null, {}, []]}"#,
            r#"{"é": 1, "e": 2, "E": 3, "\ud83d\ude00": "😀", "": 0, " ": -0, "n": 0.1, "m": 1E2, "k": -0.0}"#,
            r#"{"dup": 1, "dup": 2, "Dup": {"z": 1, "z": {"q": null}}}"#,
        ];
        for text in texts {
            let v: JsonValue = serde_json::from_str(text).unwrap();
            let mut want = b"body\0".to_vec();
            want.extend_from_slice(canonical_json(&v).as_bytes());
            let want: [u8; 32] = Sha256::digest(&want).into();
            assert_eq!(dedup_key(None, None, object(text)), want, "{text}");
        }
    }
}
