//! Case-insensitive, type-checked access to JSON objects.
//!
//! The same logical field is `CallLegId` in one era and `callConnectionId` in
//! another, `Subcode` here and `subCode` there, so every lookup ignores ASCII
//! case. Each getter also knows its JSON path, so a wrongly typed field turns
//! into an error that names it. JSON `null` counts as absent throughout: the
//! senders write `null` for fields they have nothing for.

use serde_json::{Map, Value};

use crate::events::error::{Ctx, ParseError};

/// Looks `name` up in `obj`, exact key first, then ignoring ASCII case.
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    entry(obj, name).map(|(_, v)| v)
}

/// Like [`field`], also returning the key as the sender spelled it, so error
/// paths show what is actually in the payload.
fn entry<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<(&'a str, &'a Value)> {
    if let Some((k, v)) = obj.get_key_value(name) {
        return Some((k.as_str(), v));
    }
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

/// PostgreSQL `text` cannot hold NUL, and one stray NUL must not make an event
/// unstorable (the sender would retry it forever).
pub(crate) fn sanitize(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_string()
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn as_str(v: &Value, path: &str, ctx: Ctx) -> Result<String, ParseError> {
    v.as_str()
        .map(sanitize)
        .ok_or_else(|| ctx.error(path, "must be a string"))
}

/// Integers only: a float or a numeric string in an integer field means the
/// sender is not what we think it is, and guessing would corrupt ordering.
pub(crate) fn as_i64(v: &Value, path: &str, ctx: Ctx) -> Result<i64, ParseError> {
    v.as_i64()
        .ok_or_else(|| ctx.error(path, "must be an integer"))
}

pub(crate) fn as_bool(v: &Value, path: &str, ctx: Ctx) -> Result<bool, ParseError> {
    v.as_bool()
        .ok_or_else(|| ctx.error(path, "must be a boolean"))
}

/// A JSON object together with its path in the element.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: String,
    pub(crate) ctx: Ctx,
}

impl<'a> Node<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: impl Into<String>, ctx: Ctx) -> Self {
        Node {
            map,
            path: path.into(),
            ctx,
        }
    }

    /// Wraps `v` as an object node, or reports that `path` must be an object.
    pub(crate) fn of(v: &'a Value, path: String, ctx: Ctx) -> Result<Self, ParseError> {
        match v.as_object() {
            Some(map) => Ok(Node::new(map, path, ctx)),
            None => Err(ctx.error(&path, "must be an object")),
        }
    }

    /// Path for `name`: the sender's spelling when present, ours otherwise.
    pub(crate) fn path_of(&self, name: &str) -> String {
        let key = entry(self.map, name).map_or(name, |(k, _)| k);
        join(&self.path, key)
    }

    /// The value and its path, `null` treated as absent.
    pub(crate) fn get(&self, name: &str) -> Option<(String, &'a Value)> {
        match entry(self.map, name) {
            Some((_, Value::Null)) | None => None,
            Some((k, v)) => Some((join(&self.path, k), v)),
        }
    }

    pub(crate) fn missing(&self, name: &str) -> ParseError {
        self.ctx.error(&self.path_of(name), "is required")
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<String>, ParseError> {
        self.get(name)
            .map(|(p, v)| as_str(v, &p, self.ctx))
            .transpose()
    }

    pub(crate) fn req_str(&self, name: &str) -> Result<String, ParseError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_i64(&self, name: &str) -> Result<Option<i64>, ParseError> {
        self.get(name)
            .map(|(p, v)| as_i64(v, &p, self.ctx))
            .transpose()
    }

    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>, ParseError> {
        self.get(name)
            .map(|(p, v)| as_bool(v, &p, self.ctx))
            .transpose()
    }

    pub(crate) fn opt_obj(&self, name: &str) -> Result<Option<Node<'a>>, ParseError> {
        self.get(name)
            .map(|(p, v)| Node::of(v, p, self.ctx))
            .transpose()
    }

    /// The array and its path, so elements can be reported as `path[i]`.
    pub(crate) fn opt_array(
        &self,
        name: &str,
    ) -> Result<Option<(String, &'a Vec<Value>)>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some((p, Value::Array(items))) => Ok(Some((p, items))),
            Some((p, _)) => Err(self.ctx.error(&p, "must be an array")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: &Value) -> &Map<String, Value> {
        v.as_object().unwrap()
    }

    #[test]
    fn field_prefers_exact_key_then_ignores_case() {
        let v = json!({"subCode": 1, "subcode": 2, "CallLegId": "leg"});
        assert_eq!(field(obj(&v), "subcode"), Some(&json!(2)));
        assert_eq!(field(obj(&v), "subCode"), Some(&json!(1)));
        assert!(field(obj(&v), "SUBCODE").is_some());
        assert_eq!(field(obj(&v), "callLegId"), Some(&json!("leg")));
        assert_eq!(field(obj(&v), "callConnectionId"), None);
    }

    #[test]
    fn getters_check_types_and_report_the_sender_spelling() {
        let v = json!({"SequenceId": "3", "IsMuted": true, "Tone": null, "Name": "a\u{0}b"});
        let n = Node::new(obj(&v), "data.ToneInfo", Ctx::new(Some(1)));
        let err = n.opt_i64("sequenceId").unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 1: field `data.ToneInfo.SequenceId` must be an integer"
        );
        assert_eq!(n.opt_bool("isMuted").unwrap(), Some(true));
        assert_eq!(n.opt_str("tone").unwrap(), None);
        assert_eq!(
            n.req_str("tone").unwrap_err().to_string(),
            "element 1: field `data.ToneInfo.Tone` is required"
        );
        assert_eq!(
            n.req_str("missing").unwrap_err().to_string(),
            "element 1: field `data.ToneInfo.missing` is required"
        );
        assert_eq!(n.opt_str("name").unwrap().as_deref(), Some("a\u{FFFD}b"));
    }

    #[test]
    fn integers_reject_floats_and_strings() {
        let ctx = Ctx::new(None);
        assert_eq!(as_i64(&json!(7), "n", ctx).unwrap(), 7);
        assert!(as_i64(&json!(7.0), "n", ctx).is_err());
        assert!(as_i64(&json!("7"), "n", ctx).is_err());
        assert!(as_i64(&json!(u64::MAX), "n", ctx).is_err());
    }
}
