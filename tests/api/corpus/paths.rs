//! The fixtures, and a JSON tree that can be rendered with one change; the fields the parser reads.

use serde_json::{json, Value};

use crate::helpers::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

pub(super) enum Op<'a> {
    /// Replace the value with this JSON text.
    Replace(&'a str),
    /// Remove the entry (its path ends with a key).
    Remove,
    /// Add this entry (a key and JSON text) before the object's own entries.
    Prepend(&'a str, &'a str),
}

fn render(v: &Value, path: &[Seg], op: &Op<'_>) -> String {
    if path.is_empty() {
        return match op {
            Op::Replace(text) => (*text).to_owned(),
            Op::Prepend(key, text) => {
                let map = v.as_object().expect("an object");
                let mut parts = vec![format!("{}:{text}", Value::from(*key))];
                parts.extend(
                    map.iter()
                        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str()))),
                );
                format!("{{{}}}", parts.join(","))
            }
            Op::Remove => unreachable!("removal is done by the parent"),
        };
    }
    match (v, &path[0]) {
        (Value::Object(map), Seg::Key(key)) => {
            let parts: Vec<String> = map
                .iter()
                .filter_map(|(k, child)| {
                    if k != key {
                        return Some(format!("{}:{child}", Value::from(k.as_str())));
                    }
                    if path.len() == 1 && matches!(op, Op::Remove) {
                        return None;
                    }
                    Some(format!(
                        "{}:{}",
                        Value::from(k.as_str()),
                        render(child, &path[1..], op)
                    ))
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        (Value::Array(items), Seg::Index(at)) => {
            let parts: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, child)| {
                    if i == *at {
                        render(child, &path[1..], op)
                    } else {
                        child.to_string()
                    }
                })
                .collect();
            format!("[{}]", parts.join(","))
        }
        _ => panic!("path does not match the value"),
    }
}

/// Every node under `v`: its path, its pattern (lowercase keys, `*` for indexes) and its value.
pub(super) fn nodes<'v>(v: &'v Value, path: Vec<Seg>, out: &mut Vec<(Vec<Seg>, &'v Value)>) {
    out.push((path.clone(), v));
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let mut p = path.clone();
                p.push(Seg::Key(k.clone()));
                nodes(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                nodes(child, p, out);
            }
        }
        _ => {}
    }
}

pub(super) fn pattern(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.to_lowercase(),
            Seg::Index(_) => "*".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The path as the parser names it: the sender's keys, `[i]` for indexes.
pub(super) fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub(super) struct Fixture {
    pub(super) name: String,
    /// Where it is delivered.
    pub(super) path: String,
    pub(super) value: Value,
    eventgrid: bool,
}

impl Fixture {
    /// Each element: the path to it in the body, its value, and whether its type is a known one.
    pub(super) fn elements(&self) -> Vec<(Vec<Seg>, &Value, bool)> {
        let list: Vec<(Vec<Seg>, &Value)> = match &self.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (vec![Seg::Index(i)], v))
                .collect(),
            v => vec![(Vec::new(), v)],
        };
        list.into_iter()
            .map(|(p, v)| {
                let known = self.is_known(v, p.is_empty());
                (p, v, known)
            })
            .collect()
    }

    fn is_known(&self, element: &Value, single: bool) -> bool {
        let alone = if single {
            element.to_string()
        } else {
            json!([element]).to_string()
        };
        if self.eventgrid {
            match calltrail::events::parse_eventgrid_body(alone.as_bytes()).expect("fixture parses")
            {
                calltrail::events::EventGridDelivery::SubscriptionValidation { .. } => true,
                calltrail::events::EventGridDelivery::Events(events) => {
                    events[0].kind.family() != calltrail::events::EventFamily::Unknown
                }
            }
        } else {
            let events =
                calltrail::events::parse_callback_body(alone.as_bytes()).expect("fixture parses");
            events[0].kind.family() != calltrail::events::EventFamily::Unknown
        }
    }

    /// The body with one change at `path`.
    pub(super) fn with(&self, path: &[Seg], op: &Op<'_>) -> String {
        render(&self.value, path, op)
    }
}

pub(super) fn fixtures() -> Vec<Fixture> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/events/testdata");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            let eventgrid = name.starts_with("eg_");
            let path = if eventgrid {
                format!("/api/eventgrid?secret={SECRET}")
            } else {
                format!("/api/callbacks?secret={SECRET}")
            };
            Fixture {
                name,
                path,
                value: serde_json::from_str(&text).unwrap(),
                eventgrid,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    Str,
    Int,
    Bool,
    Obj,
    Arr,
    /// A communication identifier: an object or a raw id string.
    Ident,
    /// An RFC 3339 time, as a string.
    Time,
}

impl Ty {
    pub(super) fn wrong_values(self) -> &'static [&'static str] {
        match self {
            Ty::Str => &["42", "true", "{}", "[\"x\"]"],
            Ty::Int => &[
                "\"7\"",
                "7.5",
                "true",
                "1e2",
                "9223372036854775808",
                "18446744073709551616",
                "-9223372036854775809",
                "123456789012345678901234567890",
            ],
            Ty::Bool => &["\"true\"", "1", "[]"],
            Ty::Obj => &["\"x\"", "1", "[]"],
            Ty::Arr => &["{}", "\"x\"", "1"],
            Ty::Ident => &["1", "true", "[]", "\"\"", "{}"],
            Ty::Time => &["1", "\"soon\"", "{}", "\"2024-13-45T99:00:00Z\""],
        }
    }
}

/// Every field the parser reads, by pattern, with its type. Identifier parts are listed once and
/// apply under every identifier.
const KNOWN: &[(&str, Ty)] = &[
    ("id", Ty::Str),
    ("source", Ty::Str),
    ("topic", Ty::Str),
    ("type", Ty::Str),
    ("eventtype", Ty::Str),
    ("subject", Ty::Str),
    ("time", Ty::Time),
    ("eventtime", Ty::Time),
    ("data", Ty::Obj),
    ("data.callconnectionid", Ty::Str),
    ("data.calllegid", Ty::Str),
    ("data.servercallid", Ty::Str),
    ("data.correlationid", Ty::Str),
    ("data.operationcontext", Ty::Str),
    ("data.resultinformation", Ty::Obj),
    ("data.resultinformation.code", Ty::Int),
    ("data.resultinformation.subcode", Ty::Int),
    ("data.resultinformation.message", Ty::Str),
    ("data.resultinfo", Ty::Obj),
    ("data.resultinfo.code", Ty::Int),
    ("data.resultinfo.subcode", Ty::Int),
    ("data.resultinfo.message", Ty::Str),
    ("data.sequencenumber", Ty::Int),
    ("data.callstate", Ty::Str),
    ("data.conversationid", Ty::Str),
    ("data.callconnectionstate", Ty::Str),
    ("data.participants", Ty::Arr),
    ("data.participants.*", Ty::Obj),
    ("data.participants.*.identifier", Ty::Ident),
    ("data.participants.*.participantid", Ty::Str),
    ("data.participants.*.ismuted", Ty::Bool),
    ("data.participants.*.isonhold", Ty::Bool),
    ("data.toneinfo", Ty::Obj),
    ("data.toneinfo.tone", Ty::Str),
    ("data.toneinfo.sequenceid", Ty::Int),
    ("data.tone", Ty::Str),
    ("data.sequenceid", Ty::Int),
    ("data.dtmfresult", Ty::Obj),
    ("data.dtmfresult.tones", Ty::Arr),
    ("data.dtmfresult.tones.*", Ty::Str),
    ("data.collecttonesresult", Ty::Obj),
    ("data.collecttonesresult.tones", Ty::Arr),
    ("data.collecttonesresult.tones.*", Ty::Str),
    ("data.choiceresult", Ty::Obj),
    ("data.choiceresult.label", Ty::Str),
    ("data.speechresult", Ty::Obj),
    ("data.speechresult.speech", Ty::Str),
    ("data.recognitiontype", Ty::Str),
    ("data.status", Ty::Str),
    ("data.failedplaysourceindex", Ty::Int),
    ("data.participant", Ty::Ident),
    ("data.transferee", Ty::Ident),
    ("data.transfertarget", Ty::Ident),
    ("data.state", Ty::Str),
    ("data.recordingid", Ty::Str),
    ("data.to", Ty::Ident),
    ("data.from", Ty::Ident),
    ("data.callerdisplayname", Ty::Str),
    ("data.recordingstorageinfo", Ty::Obj),
    ("data.recordingstorageinfo.recordingchunks", Ty::Arr),
    ("data.recordingstarttime", Ty::Time),
    ("data.recordingdurationms", Ty::Int),
    ("data.sessionendreason", Ty::Str),
    ("data.validationcode", Ty::Str),
    ("data.validationurl", Ty::Str),
];

const IDENTIFIERS: &[&str] = &[
    "data.participants.*.identifier",
    "data.participant",
    "data.transferee",
    "data.transfertarget",
    "data.to",
    "data.from",
];

const IDENTIFIER_PARTS: &[(&str, Ty)] = &[
    ("rawid", Ty::Str),
    ("kind", Ty::Str),
    ("phonenumber", Ty::Obj),
    ("phonenumber.value", Ty::Str),
    ("communicationuser", Ty::Obj),
    ("communicationuser.id", Ty::Str),
    ("microsoftteamsuser", Ty::Obj),
    ("microsoftteamsuser.userid", Ty::Str),
    ("microsoftteamsuser.isanonymous", Ty::Bool),
    ("microsoftteamsuser.cloud", Ty::Str),
    ("microsoftteamsapp", Ty::Obj),
    ("microsoftteamsapp.appid", Ty::Str),
];

pub(super) fn known_type_of(pattern: &str) -> Option<Ty> {
    if let Some((_, ty)) = KNOWN.iter().find(|(p, _)| *p == pattern) {
        return Some(*ty);
    }
    IDENTIFIERS.iter().find_map(|ident| {
        let rest = pattern.strip_prefix(ident)?.strip_prefix('.')?;
        IDENTIFIER_PARTS
            .iter()
            .find(|(p, _)| *p == rest)
            .map(|(_, ty)| *ty)
    })
}

/// Fields whose absence (or `null`) makes an event of a known type malformed.
pub(super) const REQUIRED: &[&str] = &[
    "type",
    "eventtype",
    "data",
    "data.callstate",
    "data.callconnectionstate",
    "data.participants",
    "data.participants.*.identifier",
    "data.toneinfo.tone",
    "data.validationcode",
];

/// A JSON string literal holding `s` with `inner` (already JSON text) spliced into its middle.
pub(super) fn spliced(s: &str, inner: &str) -> String {
    let quoted = Value::from(s).to_string();
    let body = &quoted[1..quoted.len() - 1];
    let mut cut = body.len() / 2;
    // Not inside an escape sequence: cut before a backslash run.
    while cut > 0 && (!body.is_char_boundary(cut) || body[..cut].ends_with('\\')) {
        cut -= 1;
    }
    // Back off further if `cut` is inside a \uXXXX escape.
    if let Some(bs) = body[..cut].rfind('\\') {
        if cut - bs < 6 {
            cut = bs;
        }
    }
    format!("\"{}{inner}{}\"", &body[..cut], &body[cut..])
}
