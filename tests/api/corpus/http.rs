//! Content types and encodings, and the HTTP layer: smuggling, header floods, long URLs.

use serde_json::json;

use crate::fixtures::*;
use crate::helpers::*;

use super::case::{Case, Expect};
use super::T;

pub(super) fn content_type_cases() -> Vec<Case> {
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

pub(super) fn http_layer_cases() -> Vec<Case> {
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
            Expect::Refused(400, "bad_request"),
        ));
    }
    cases.push(Case::raw(
        g,
        "a request line that is not HTTP",
        b"POST /api/callbacks HTTP/9.9 extra\r\nhost: x\r\n\r\n".to_vec(),
        Expect::Refused(400, "bad_request"),
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
        Expect::Refused(431, "headers_too_large"),
    ));
    cases.push(Case::raw(
        g,
        "5,000 headers",
        flood(5000, 10),
        Expect::Refused(431, "headers_too_large"),
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
        Expect::Refused(431, "headers_too_large"),
    ));
    cases.push(Case::raw(
        g,
        "a head of 1 MiB",
        flood(16, 64 * 1024),
        Expect::Refused(431, "headers_too_large"),
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
        Expect::Refused(431, "headers_too_large"),
    ));
    cases
}
