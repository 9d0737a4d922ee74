//! Forged, expired, misaddressed and oversized JWTs.

use base64::Engine;
use calltrail::auth::testing::make_jwt;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

use super::case::{Case, Expect};
use super::{AUDIENCE, ISSUER, T};

pub(super) fn jwt_cases() -> Vec<Case> {
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
