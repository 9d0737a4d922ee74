//! The JWT verifier, through the public `auth::Authenticator`, with the committed test key pair
//! (`tests/fixtures/jwt_key1.pem`, its public half in `jwks_key1.json`).
//!
//! Properties: a token made of arbitrary text is never accepted (only the private key can sign
//! one); a token genuinely signed over arbitrary claims is accepted exactly when its key id is
//! known and its claims pass the checks, computed here independently (`exp` and `nbf` against now
//! with the leeway, `iss` and `aud` against the lists); and an accepted token with any one byte
//! changed is refused.
#![no_main]

use std::sync::OnceLock;

use calltrail::auth::testing::make_jwt;
use calltrail::auth::{AuthConfig, AuthError, Authenticator, Credentials, Endpoint, Scheme};
use calltrail_fuzz::NOW;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

const PRIVATE_KEY: &[u8] = include_bytes!("../../tests/fixtures/jwt_key1.pem");
const KID: &str = "key-1";
const ISSUER: &str = "https://acscallautomation.communication.azure.com";
const AUDIENCE: &str = "5d9a1f42-0c2b-4c8e-9a7e-6c1f2b3d4e5f";
const LEEWAY: i64 = 60;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut cfg = AuthConfig::default();
        cfg.jwt.enabled = true;
        cfg.jwt.audiences = vec![AUDIENCE.to_owned()];
        cfg.jwt.leeway_seconds = LEEWAY as u64;
        cfg.jwt.jwks_file = Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/jwks_key1.json"),
        );
        let auth = runtime
            .block_on(Authenticator::from_config(&cfg))
            .expect("a valid configuration");
        Fixture { runtime, auth }
    })
}

fn verify(authorization: &str) -> Result<Option<String>, AuthError> {
    let f = fixture();
    let creds = Credentials {
        authorization: Some(authorization),
        ..Credentials::default()
    };
    let verified = f
        .runtime
        .block_on(f.auth.verify(Endpoint::Callbacks, &creds, b"{}", NOW))?;
    assert_eq!(verified.scheme(), Scheme::Jwt);
    Ok(verified.principal().map(str::to_owned))
}

#[derive(Arbitrary, Debug)]
enum Text<'a> {
    Expected,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
enum Aud<'a> {
    Absent,
    One(Text<'a>),
    Many(Vec<Text<'a>>),
    Number(i64),
}

#[derive(Arbitrary, Debug)]
enum Time {
    Absent,
    /// Seconds from now, with or without a half second.
    At(i32, bool),
    Text,
}

#[derive(Arbitrary, Debug)]
struct Claims<'a> {
    iss: Option<Text<'a>>,
    sub: Option<&'a str>,
    aud: Aud<'a>,
    exp: Time,
    nbf: Time,
    extra: Option<(&'a str, &'a str)>,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    forged: &'a str,
    claims: Claims<'a>,
    kid: Text<'a>,
    at: u16,
    byte: u8,
}

fn text(t: &Text<'_>, expected: &str) -> String {
    match t {
        Text::Expected => expected.to_owned(),
        Text::Other(s) => (*s).to_owned(),
    }
}

fn time(t: &Time) -> Option<Value> {
    match t {
        Time::Absent => None,
        Time::At(offset, half) => {
            let at = NOW.timestamp() + i64::from(*offset);
            Some(if *half {
                json!(at as f64 + 0.5)
            } else {
                json!(at)
            })
        }
        Time::Text => Some(json!("soon")),
    }
}

/// The claims as JSON, and whether the verifier must accept them (`Err` with the reason when not).
fn claims(c: &Claims<'_>) -> (Value, Result<(), AuthError>) {
    let mut m = Map::new();
    if let Some((k, v)) = c.extra {
        m.insert(k.to_owned(), json!(v));
    }
    if let Some(iss) = &c.iss {
        m.insert("iss".into(), json!(text(iss, ISSUER)));
    }
    if let Some(sub) = c.sub {
        m.insert("sub".into(), json!(sub));
    }
    match &c.aud {
        Aud::Absent => {}
        Aud::One(a) => {
            m.insert("aud".into(), json!(text(a, AUDIENCE)));
        }
        Aud::Many(list) => {
            let list: Vec<String> = list.iter().map(|a| text(a, AUDIENCE)).collect();
            m.insert("aud".into(), json!(list));
        }
        Aud::Number(n) => {
            m.insert("aud".into(), json!(n));
        }
    }
    for (name, t) in [("exp", &c.exp), ("nbf", &c.nbf)] {
        if let Some(v) = time(t) {
            m.insert(name.into(), v);
        }
    }
    let value = Value::Object(m);
    // What the verifier reads from the claims it decodes (the last of a repeated key counts, as
    // the map above already kept).
    let expected = (|| {
        let get = |k: &str| value.get(k);
        let as_time = |v: Option<&Value>| match v {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(AuthError::JwtMalformed),
        };
        let exp = as_time(get("exp"))?;
        let nbf = as_time(get("nbf"))?;
        let string = |k: &str| match get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AuthError::JwtMalformed),
        };
        let iss = string("iss")?;
        string("sub")?;
        let aud_ok = match get("aud") {
            None => false,
            Some(Value::String(s)) => s == AUDIENCE,
            Some(Value::Array(list)) => {
                let list: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
                list.ok_or(AuthError::JwtMalformed)?.contains(&AUDIENCE)
            }
            Some(_) => return Err(AuthError::JwtMalformed),
        };
        let now = NOW.timestamp() as f64;
        let exp = exp.ok_or(AuthError::JwtMissingExp)?;
        if now >= exp + LEEWAY as f64 {
            return Err(AuthError::JwtExpired);
        }
        if nbf.is_some_and(|nbf| now + (LEEWAY as f64) < nbf) {
            return Err(AuthError::JwtNotYetValid);
        }
        if iss.as_deref() != Some(ISSUER) {
            return Err(AuthError::JwtBadIssuer);
        }
        if !aud_ok {
            return Err(AuthError::JwtBadAudience);
        }
        Ok(())
    })();
    (value, expected)
}

fuzz_target!(|input: Input<'_>| {
    // Arbitrary text is never a token the key signed.
    if let Ok(principal) = verify(&format!("Bearer {}", input.forged)) {
        panic!("an unsigned token was accepted as {principal:?}");
    }

    let kid = text(&input.kid, KID);
    let (claims, expected) = claims(&input.claims);
    let token = make_jwt(PRIVATE_KEY, &kid, &claims);
    let got = verify(&format!("Bearer {token}"));
    let expected = if kid.is_empty() {
        Err(AuthError::JwtMissingKid)
    } else if kid != KID {
        Err(AuthError::JwtUnknownKid)
    } else {
        expected
    };
    match (&got, &expected) {
        (Ok(principal), Ok(())) => {
            let sub = claims.get("sub").and_then(Value::as_str);
            let want = sub.unwrap_or(ISSUER);
            assert_eq!(principal.as_deref(), Some(want), "the principal");
        }
        (Err(g), Err(e)) => {
            assert_eq!(g, e, "refused for another reason than expected");
            return;
        }
        _ => panic!("claims {claims}: got {got:?}, expected {expected:?}"),
    }

    // Accepted: any one byte changed makes it refused.
    let mut changed = token.into_bytes();
    let at = usize::from(input.at) % changed.len();
    changed[at] = if changed[at] == input.byte {
        input.byte ^ 1
    } else {
        input.byte
    };
    let changed = String::from_utf8_lossy(&changed);
    if let Ok(principal) = verify(&format!("Bearer {changed}")) {
        panic!("a token changed at byte {at} was accepted as {principal:?}");
    }
});
