//! Bodies that are not JSON, not UTF-8, truncated, of the wrong shape, large, deep or over the limit.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

use super::case::{Case, Expect};
use super::paths::fixtures;
use super::T;

pub(super) fn body_cases() -> Vec<Case> {
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

pub(super) fn size_cases() -> Vec<Case> {
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
pub(super) fn over_limit_cases() -> Vec<Case> {
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
