//! Deduplication keys. Delivery is at-least-once, so the same event must map
//! to the same key however often, and however formatted, it is re-sent.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Compact JSON with object keys sorted by their bytes, recursively.
///
/// Keys are sorted here rather than relying on `serde_json::Map` iterating in
/// order: that holds only while no crate in the build turns on serde_json's
/// `preserve_order` feature, and a silent change would split every A1
/// duplicate into two stored events.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
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

fn write_object(map: &Map<String, Value>, out: &mut String) {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_scalar(&Value::String(k.clone()), out);
        out.push(':');
        write_canonical(v, out);
    }
    out.push('}');
}

fn write_scalar(v: &Value, out: &mut String) {
    // Serialising a scalar `Value` cannot fail; the fallback is unreachable.
    out.push_str(&serde_json::to_string(v).unwrap_or_default());
}

/// Events with an id are the same event when `(source, id)` match, whatever
/// their bytes (a retry may be re-serialised). Events without one (A1 sends
/// `null` ids) are keyed on their canonical content instead.
pub(crate) fn dedup_key(
    id: Option<&str>,
    source: Option<&str>,
    element: &Map<String, Value>,
) -> [u8; 32] {
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
            let mut canonical = String::new();
            write_object(element, &mut canonical);
            hasher.update(canonical.as_bytes());
        }
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_recursively_and_compact() {
        let v: Value = serde_json::from_str(
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
        let key = dedup_key(Some("abc"), Some("src"), &Map::new());
        let want: [u8; 32] = Sha256::digest(b"id\0src\0abc").into();
        assert_eq!(key, want);
        let no_source = dedup_key(Some("abc"), None, &Map::new());
        let want: [u8; 32] = Sha256::digest(b"id\0\0abc").into();
        assert_eq!(no_source, want);
    }

    #[test]
    fn body_key_is_sha256_of_canonical_json() {
        let v = json!({"b": 1, "a": 2});
        let want: [u8; 32] = Sha256::digest(b"body\0{\"a\":2,\"b\":1}").into();
        assert_eq!(
            dedup_key(None, Some("ignored"), v.as_object().unwrap()),
            want
        );
        assert_eq!(
            hex::encode(dedup_key(None, None, &Map::new())),
            hex::encode(Sha256::digest(b"body\0{}"))
        );
    }
}
