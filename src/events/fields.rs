//! Case-insensitive, type-checked access to JSON objects.
//!
//! The same logical field is `CallLegId` in one era and `callConnectionId` in
//! another, `Subcode` here and `subCode` there, so every lookup ignores ASCII
//! case. Each getter also knows its JSON path, so a wrongly typed field turns
//! into an error that names it. JSON `null` counts as absent throughout: the
//! senders write `null` for fields they have nothing for.
//!
//! Paths are kept as links to the parent's path and spelled out only when an
//! error needs them: a valid event costs no path strings.

use std::fmt;

use crate::events::error::{Ctx, ParseError};
use crate::events::value::{Object, Value};

/// Where a value sits in its element, e.g. `data.participants[1].identifier`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'p> {
    /// The element itself.
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

/// The element's own path, for children of the root that outlive the root's node.
pub(crate) static ROOT: Path<'static> = Path::Root;

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

pub(crate) fn as_str(v: &Value<'_>, path: &Path<'_>, ctx: Ctx) -> Result<String, ParseError> {
    v.as_str()
        // NUL, which PostgreSQL text cannot hold, never gets here: see `storable`.
        .map(str::to_owned)
        .ok_or_else(|| ctx.error(&path.to_string(), "must be a string"))
}

/// Integers only: a float or a numeric string in an integer field means the
/// sender is not what we think it is, and guessing would corrupt ordering.
pub(crate) fn as_i64(v: &Value<'_>, path: &Path<'_>, ctx: Ctx) -> Result<i64, ParseError> {
    v.as_i64()
        .ok_or_else(|| ctx.error(&path.to_string(), "must be an integer"))
}

pub(crate) fn as_bool(v: &Value<'_>, path: &Path<'_>, ctx: Ctx) -> Result<bool, ParseError> {
    v.as_bool()
        .ok_or_else(|| ctx.error(&path.to_string(), "must be a boolean"))
}

/// A JSON object together with its path in the element.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub(crate) map: &'a Object<'a>,
    pub(crate) path: Path<'a>,
    pub(crate) ctx: Ctx,
}

impl<'a> Node<'a> {
    pub(crate) fn new(map: &'a Object<'a>, path: Path<'a>, ctx: Ctx) -> Self {
        Node { map, path, ctx }
    }

    /// Wraps `v` as an object node, or reports that `path` must be an object.
    pub(crate) fn of(v: &'a Value<'a>, path: Path<'a>, ctx: Ctx) -> Result<Self, ParseError> {
        match v.as_object() {
            Some(map) => Ok(Node::new(map, path, ctx)),
            None => Err(ctx.error(&path.to_string(), "must be an object")),
        }
    }

    /// Path for `name`: the sender's spelling when present, ours otherwise.
    pub(crate) fn path_of(&self, name: &str) -> String {
        let key = self.map.entry(name).map_or(name, |(k, _)| k);
        Path::Key(&self.path, key).to_string()
    }

    /// The value and its path, `null` treated as absent.
    pub(crate) fn get<'s>(&'s self, name: &str) -> Option<(Path<'s>, &'s Value<'s>)> {
        match self.map.entry(name) {
            Some((_, Value::Null)) | None => None,
            Some((k, v)) => Some((Path::Key(&self.path, k), v)),
        }
    }

    pub(crate) fn missing(&self, name: &str) -> ParseError {
        self.ctx.error(&self.path_of(name), "is required")
    }

    /// The string under `name`, borrowed from the element; see [`Node::opt_str`] for an owned
    /// copy fit for storage.
    pub(crate) fn opt_str_ref(&self, name: &str) -> Result<Option<&'a str>, ParseError> {
        let map: &'a Object<'a> = self.map;
        match map.entry(name) {
            Some((_, Value::Null)) | None => Ok(None),
            Some((key, v)) => v.as_str().map(Some).ok_or_else(|| {
                self.ctx
                    .error(&Path::Key(&self.path, key).to_string(), "must be a string")
            }),
        }
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<String>, ParseError> {
        Ok(self.opt_str_ref(name)?.map(str::to_owned))
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

    pub(crate) fn opt_obj<'s>(&'s self, name: &str) -> Result<Option<Node<'s>>, ParseError> {
        self.get(name)
            .map(|(p, v)| Node::of(v, p, self.ctx))
            .transpose()
    }

    /// The array and its path, so elements can be reported as `path[i]`.
    pub(crate) fn opt_array<'s>(
        &'s self,
        name: &str,
    ) -> Result<Option<(Path<'s>, &'s [Value<'s>])>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some((p, Value::Array(items))) => Ok(Some((p, items))),
            Some((p, _)) => Err(self.ctx.error(&p.to_string(), "must be an array")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parses `text` into an object, leaking it so that nodes over it can live as long as a test.
    pub(crate) fn object(text: &str) -> &'static Object<'static> {
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        let value: &'static Value<'static> = Box::leak(Box::new(Value::parse(text).unwrap()));
        value.as_object().expect("an object")
    }

    #[test]
    fn lookup_prefers_exact_key_then_ignores_case() {
        let obj = object(r#"{"subCode": 1, "subcode": 2, "CallLegId": "leg"}"#);
        let n = Node::new(obj, Path::Root, Ctx::new(None));
        assert_eq!(n.opt_i64("subcode").unwrap(), Some(2));
        assert_eq!(n.opt_i64("subCode").unwrap(), Some(1));
        assert!(n.get("SUBCODE").is_some());
        assert_eq!(n.opt_str("callLegId").unwrap().as_deref(), Some("leg"));
        assert!(n.get("callConnectionId").is_none());
    }

    #[test]
    fn getters_check_types_and_report_the_sender_spelling() {
        let obj =
            object(r#"{"SequenceId": "3", "IsMuted": true, "Tone": null, "Name": "caf\u00e9"}"#);
        let data = Path::Key(&ROOT, "data");
        let n = Node::new(obj, Path::Key(&data, "ToneInfo"), Ctx::new(Some(1)));
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
        // Strings come back as sent; a NUL in one is refused before any getter runs (`storable`).
        assert_eq!(n.opt_str("name").unwrap().as_deref(), Some("café"));
        assert_eq!(
            n.opt_str("isMuted").unwrap_err().to_string(),
            "element 1: field `data.ToneInfo.IsMuted` must be a string"
        );
    }

    #[test]
    fn paths_of_nested_keys_and_indexes() {
        let data = Path::Key(&ROOT, "data");
        let list = Path::Key(&data, "participants");
        let item = Path::Index(&list, 2);
        let id = Path::Key(&item, "identifier");
        assert_eq!(id.to_string(), "data.participants[2].identifier");
        assert_eq!(Path::Key(&ROOT, "type").to_string(), "type");
        assert_eq!(ROOT.to_string(), "");
    }

    #[test]
    fn integers_reject_floats_and_strings() {
        let ctx = Ctx::new(None);
        let obj = object(r#"{"a": 7, "b": 7.0, "c": "7", "d": 18446744073709551615}"#);
        let n = Node::new(obj, Path::Root, ctx);
        assert_eq!(n.opt_i64("a").unwrap(), Some(7));
        for name in ["b", "c", "d"] {
            assert!(n.opt_i64(name).is_err(), "{name}");
        }
    }
}
