//! Request authentication as the Communication Services SDKs (Python, JS, .NET, Java) sign
//! requests: HMAC-SHA256 under the base64-decoded access key over
//! `VERB\n<path and query>\n<x-ms-date>;<host>;<x-ms-content-sha256>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How far the request's date may be from the emulator's clock, either way.
const FRESHNESS_MINUTES: i64 = 15;

const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";

/// What the check needs from a request; header values as received.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The request target exactly as it arrived: path and `?query`, still percent-encoded.
    pub path_and_query: &'a str,
    pub authorization: Option<&'a str>,
    pub date: Option<&'a str>,
    pub host: Option<&'a str>,
    pub content_sha256: Option<&'a str>,
    pub body: &'a [u8],
}

/// `Err` says what is wrong, for the 401's message (never the expected signature).
pub fn verify(key: &[u8], request: &SignedRequest<'_>, now: DateTime<Utc>) -> Result<(), String> {
    let authorization = request
        .authorization
        .ok_or("the Authorization header is missing")?;
    let params = authorization
        .strip_prefix("HMAC-SHA256 ")
        .ok_or("the Authorization header must start with `HMAC-SHA256 `")?;
    let mut signed_headers = None;
    let mut signature = None;
    for part in params.split('&') {
        match part.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("SignedHeaders") => {
                signed_headers = Some(value.trim())
            }
            Some((name, value)) if name.trim().eq_ignore_ascii_case("Signature") => {
                signature = Some(value.trim())
            }
            _ => {}
        }
    }
    if !signed_headers.is_some_and(|h| h.eq_ignore_ascii_case(SIGNED_HEADERS)) {
        return Err(format!(
            "the Authorization header must have SignedHeaders={SIGNED_HEADERS}"
        ));
    }
    let signature = signature
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or("the Authorization header has no base64 Signature")?;

    let date = request.date.ok_or("the x-ms-date header is missing")?;
    let when = DateTime::parse_from_rfc2822(date)
        .map_err(|_| "x-ms-date is not an RFC 1123 date (e.g. `Fri, 04 Dec 2026 12:26:32 GMT`)")?;
    let skew = (now - when.with_timezone(&Utc)).num_minutes().abs();
    if skew > FRESHNESS_MINUTES {
        return Err(format!(
            "x-ms-date is {skew} minutes away from the emulator's clock (at most {FRESHNESS_MINUTES})"
        ));
    }

    let content_hash = request
        .content_sha256
        .ok_or("the x-ms-content-sha256 header is missing")?;
    let actual = STANDARD.encode(Sha256::digest(request.body));
    if content_hash != actual {
        return Err("x-ms-content-sha256 differs from the SHA-256 of the body".into());
    }

    let host = request.host.ok_or("the Host header is missing")?;
    // The SDKs sign the host with its port (Python, JS, .NET) or without it (Java); Python's
    // constructor given an endpoint with a trailing slash signs that slash too.
    let mut hosts = vec![host.to_owned()];
    if let Some((bare, _port)) = host.rsplit_once(':') {
        hosts.push(bare.to_owned());
    }
    hosts.push(format!("{host}/"));
    let method = request.method.to_ascii_uppercase();
    for host in hosts {
        let to_sign = format!(
            "{method}\n{}\n{date};{host};{content_hash}",
            request.path_and_query
        );
        let mac = HmacSha256::new_from_slice(key)
            .expect("HMAC takes keys of any length")
            .chain_update(to_sign.as_bytes());
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err("the signature does not match the request (check the access key, the signed host and path, and that the body was not changed)".into())
}

/// Signs a request as the SDKs do: the headers to send (`x-ms-date`, `x-ms-content-sha256`,
/// `Authorization`). For tests and examples.
pub fn sign(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    host: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let hash = STANDARD.encode(Sha256::digest(body));
    let to_sign = format!(
        "{}\n{path_and_query}\n{date};{host};{hash}",
        method.to_ascii_uppercase()
    );
    let mac = HmacSha256::new_from_slice(key)
        .expect("HMAC takes keys of any length")
        .chain_update(to_sign.as_bytes())
        .finalize()
        .into_bytes();
    vec![
        ("x-ms-date", date),
        ("x-ms-content-sha256", hash),
        (
            "authorization",
            format!(
                "HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={}",
                STANDARD.encode(mac)
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a development key";

    fn check(
        headers: &[(&str, String)],
        host: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        verify(
            KEY,
            &SignedRequest {
                method: "POST",
                path_and_query: path,
                authorization: get("authorization"),
                date: get("x-ms-date"),
                host: Some(host),
                content_sha256: get("x-ms-content-sha256"),
                body,
            },
            Utc::now(),
        )
    }

    #[test]
    fn signed_requests_pass_with_or_without_the_port() {
        let now = Utc::now();
        let with_port = sign(
            KEY,
            "post",
            "/calls?api-version=1",
            "127.0.0.1:8090",
            b"{}",
            now,
        );
        assert_eq!(
            check(&with_port, "127.0.0.1:8090", "/calls?api-version=1", b"{}"),
            Ok(())
        );
        let without = sign(KEY, "POST", "/calls", "127.0.0.1", b"{}", now);
        assert_eq!(check(&without, "127.0.0.1:8090", "/calls", b"{}"), Ok(()));
    }

    #[test]
    fn each_failure_says_what_is_wrong() {
        let now = Utc::now();
        let good = sign(KEY, "POST", "/calls", "h:1", b"{}", now);
        let err = |headers: &[(&str, String)], path: &str, body: &[u8]| {
            check(headers, "h:1", path, body).unwrap_err()
        };
        assert!(err(&good, "/calls", b"{ }").contains("x-ms-content-sha256"));
        assert!(err(&good, "/calls/x", b"{}").contains("does not match"));
        let stale = sign(
            KEY,
            "POST",
            "/calls",
            "h:1",
            b"{}",
            now - chrono::Duration::minutes(16),
        );
        assert!(err(&stale, "/calls", b"{}").contains("minutes away"));
        let other_key = sign(b"another key", "POST", "/calls", "h:1", b"{}", now);
        assert!(err(&other_key, "/calls", b"{}").contains("does not match"));
        assert!(err(&[], "/calls", b"{}").contains("missing"));
    }
}
