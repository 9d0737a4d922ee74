//! ACS-signed JWTs (`Authorization: Bearer <jwt>`).
//!
//! Only RS256 is accepted, and the algorithm is checked from the raw header before any
//! key is looked up, so `alg: none` and HMAC tokens (including ones "signed" with the
//! public RSA key as an HMAC secret) never reach signature checking. Time claims are
//! checked against the `now` the caller passes, not the system clock, so behaviour is
//! the same in tests and in production.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::auth::config::JwtConfig;
use crate::auth::jwks::{JwksSource, KeyStore};
use crate::auth::{AuthError, ConfigError};

/// ACS tokens are well under 2 KiB; anything this large is not one of them and is not
/// worth decoding.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

pub(crate) struct JwtVerifier {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway_seconds: f64,
    keys: KeyStore,
    validation: Validation,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    // NumericDate may carry a fraction, so read it as a float.
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl JwtVerifier {
    pub(crate) async fn from_config(cfg: &JwtConfig) -> Result<Self, ConfigError> {
        let audiences = non_empty_list(&cfg.audiences, "auth.jwt.audiences", "audience")?;
        let issuers = non_empty_list(&cfg.issuers, "auth.jwt.issuers", "issuer")?;
        if cfg.fetch_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "auth.jwt.fetch_timeout_seconds",
                "must be at least 1",
            ));
        }
        let source = match (&cfg.jwks_file, &cfg.jwks_url) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "set only one of jwks_file and jwks_url",
                ))
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "set jwks_file or jwks_url to say where the signing keys come from",
                ))
            }
            (Some(path), None) => JwksSource::File(path.clone()),
            (None, Some(url)) => JwksSource::Url {
                url: url.clone(),
                client: jwks_client(url, cfg.fetch_timeout_seconds)?,
            },
        };
        let keys = KeyStore::start(
            source,
            Duration::from_secs(cfg.refetch_min_interval_seconds),
        )
        .await?;

        // The library checks the signature and the algorithm; the claims are checked
        // here against the caller's clock and lists, so switch its own checks off.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();

        Ok(Self {
            issuers,
            audiences,
            // Any realistic leeway is exact as f64; absurd ones saturate harmlessly.
            leeway_seconds: cfg.leeway_seconds as f64,
            keys,
            validation,
        })
    }

    /// Returns the principal: the token's `sub`, or its `iss` when it has none.
    pub(crate) async fn verify(&self, token: &str, now_unix: i64) -> Result<String, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::JwtMalformed);
        }
        let kid = check_header(token)?;
        let key = self.keys.key(&kid).await.ok_or(AuthError::JwtUnknownKid)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::Crypto(_) => AuthError::JwtBadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::JwtUnsupportedAlgorithm
                }
                _ => AuthError::JwtMalformed,
            })?
            .claims;

        let now = now_unix as f64;
        let exp = claims.exp.ok_or(AuthError::JwtMissingExp)?;
        if now >= exp + self.leeway_seconds {
            return Err(AuthError::JwtExpired);
        }
        if let Some(nbf) = claims.nbf {
            if now + self.leeway_seconds < nbf {
                return Err(AuthError::JwtNotYetValid);
            }
        }
        match &claims.iss {
            Some(iss) if self.issuers.iter().any(|ok| ok == iss) => {}
            _ => return Err(AuthError::JwtBadIssuer),
        }
        let audience_ok = match &claims.aud {
            Some(Audience::One(aud)) => self.audiences.contains(aud),
            Some(Audience::Many(auds)) => auds.iter().any(|aud| self.audiences.contains(aud)),
            None => false,
        };
        if !audience_ok {
            return Err(AuthError::JwtBadAudience);
        }
        Ok(claims.sub.or(claims.iss).unwrap_or_default())
    }
}

/// Reads the header ourselves: the library would reject `alg: none` only as an
/// unparseable header, and we want the algorithm settled before a key is chosen.
/// Returns the `kid`.
fn check_header(token: &str) -> Result<String, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::JwtMalformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::JwtMalformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|_| AuthError::JwtMalformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err(AuthError::JwtUnsupportedAlgorithm);
    }
    // We implement no header extensions, and RFC 7515 says a token listing critical
    // ones we do not understand must be refused.
    if header.contains_key("crit") {
        return Err(AuthError::JwtMalformed);
    }
    match header.get("kid").and_then(|k| k.as_str()) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_owned()),
        _ => Err(AuthError::JwtMissingKid),
    }
}

fn non_empty_list(values: &[String], key: &str, what: &str) -> Result<Vec<String>, ConfigError> {
    if values.is_empty() {
        return Err(ConfigError::new(
            key,
            format!("must list at least one {what}"),
        ));
    }
    if let Some(i) = values.iter().position(|v| v.trim().is_empty()) {
        return Err(ConfigError::new(format!("{key}[{i}]"), "must not be empty"));
    }
    Ok(values.to_vec())
}

/// Keys fetched over plain HTTP could be swapped by anyone on the path, which would
/// let them mint accepted tokens; so HTTPS is required, except on loopback where there
/// is no path (a local mirror, tests).
fn jwks_client(url: &str, timeout_seconds: u64) -> Result<reqwest::Client, ConfigError> {
    const KEY: &str = "auth.jwt.jwks_url";
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(KEY, format!("not a valid URL: {e}")))?;
    let loopback = parsed.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(ConfigError::new(
                KEY,
                "must be an https URL (plain http is allowed only on loopback)",
            ))
        }
    }
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_seconds))
        // Also refuse a redirect from https to plain http.
        .https_only(!loopback)
        .build()
        .map_err(|e| ConfigError::new(KEY, format!("cannot build an HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{json, Value};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::auth::config::ACS_ISSUER;
    use crate::auth::testing::{fixture, fixture_path, make_jwt};

    const NOW: i64 = 1_700_000_000;
    const AUDIENCE: &str = "5d9a1f42-0c2b-4c8e-9a7e-6c1f2b3d4e5f";

    fn config_with_file(file: &str) -> JwtConfig {
        JwtConfig {
            enabled: true,
            audiences: vec![AUDIENCE.to_owned()],
            jwks_file: Some(fixture_path(file)),
            ..JwtConfig::default()
        }
    }

    async fn verifier(file: &str) -> JwtVerifier {
        JwtVerifier::from_config(&config_with_file(file))
            .await
            .unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": ACS_ISSUER,
            "aud": AUDIENCE,
            "sub": "acs-callbacks",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 300,
        })
    }

    fn with(patch: Value) -> Value {
        let mut c = claims();
        for (name, value) in patch.as_object().unwrap() {
            if value.is_null() {
                c.as_object_mut().unwrap().remove(name);
            } else {
                c[name] = value.clone();
            }
        }
        c
    }

    fn token1(claims: &Value) -> String {
        make_jwt(&fixture("jwt_key1.pem"), "key-1", claims)
    }

    fn token2(claims: &Value) -> String {
        make_jwt(&fixture("jwt_key2.pem"), "key-2", claims)
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[tokio::test]
    async fn valid_token_is_accepted_with_sub_as_principal() {
        let v = verifier("jwks_key1.json").await;
        assert_eq!(
            v.verify(&token1(&claims()), NOW).await.unwrap(),
            "acs-callbacks"
        );
        let no_sub = token1(&with(json!({"sub": null})));
        assert_eq!(v.verify(&no_sub, NOW).await.unwrap(), ACS_ISSUER);
    }

    #[tokio::test]
    async fn expiry_is_enforced_with_leeway() {
        let v = verifier("jwks_key1.json").await;
        let t = token1(&claims());
        // exp = NOW + 300 and leeway 60: good until NOW + 360.
        assert!(v.verify(&t, NOW + 359).await.is_ok());
        assert_eq!(v.verify(&t, NOW + 360).await, Err(AuthError::JwtExpired));
        let old = token1(&with(json!({"nbf": NOW - 600, "exp": NOW - 61})));
        assert_eq!(v.verify(&old, NOW).await, Err(AuthError::JwtExpired));
        let within_leeway = token1(&with(json!({"nbf": NOW - 600, "exp": NOW - 30})));
        assert!(v.verify(&within_leeway, NOW).await.is_ok());
        let fractional = token1(&with(json!({"exp": NOW as f64 + 0.5})));
        assert!(v.verify(&fractional, NOW).await.is_ok());
    }

    #[tokio::test]
    async fn exp_is_required() {
        let v = verifier("jwks_key1.json").await;
        let t = token1(&with(json!({"exp": null})));
        assert_eq!(v.verify(&t, NOW).await, Err(AuthError::JwtMissingExp));
        let t = token1(&with(json!({"exp": "tomorrow"})));
        assert_eq!(v.verify(&t, NOW).await, Err(AuthError::JwtMalformed));
    }

    #[tokio::test]
    async fn not_before_is_enforced_with_leeway() {
        let v = verifier("jwks_key1.json").await;
        let future = token1(&with(json!({"nbf": NOW + 120, "exp": NOW + 420})));
        assert_eq!(v.verify(&future, NOW).await, Err(AuthError::JwtNotYetValid));
        let skewed = token1(&with(json!({"nbf": NOW + 30, "exp": NOW + 330})));
        assert!(v.verify(&skewed, NOW).await.is_ok());
        let no_nbf = token1(&with(json!({"nbf": null})));
        assert!(v.verify(&no_nbf, NOW).await.is_ok());
    }

    #[tokio::test]
    async fn issuer_must_be_listed() {
        let v = verifier("jwks_key1.json").await;
        let wrong = token1(&with(json!({"iss": "https://login.example.com"})));
        assert_eq!(v.verify(&wrong, NOW).await, Err(AuthError::JwtBadIssuer));
        let missing = token1(&with(json!({"iss": null})));
        assert_eq!(v.verify(&missing, NOW).await, Err(AuthError::JwtBadIssuer));
    }

    #[tokio::test]
    async fn audience_must_be_listed_as_string_or_in_array() {
        let v = verifier("jwks_key1.json").await;
        let wrong = token1(&with(json!({"aud": "another-resource"})));
        assert_eq!(v.verify(&wrong, NOW).await, Err(AuthError::JwtBadAudience));
        let missing = token1(&with(json!({"aud": null})));
        assert_eq!(
            v.verify(&missing, NOW).await,
            Err(AuthError::JwtBadAudience)
        );
        let array = token1(&with(json!({"aud": ["another-resource", AUDIENCE]})));
        assert!(v.verify(&array, NOW).await.is_ok());
        let array_without = token1(&with(json!({"aud": ["another-resource"]})));
        assert_eq!(
            v.verify(&array_without, NOW).await,
            Err(AuthError::JwtBadAudience)
        );
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let v = verifier("jwks_key1.json").await;
        let header = json!({"alg": "none", "typ": "JWT", "kid": "key-1"});
        let token = format!("{}.{}.", b64(&header), b64(&claims()));
        assert_eq!(
            v.verify(&token, NOW).await,
            Err(AuthError::JwtUnsupportedAlgorithm)
        );
        let no_alg = format!("{}.{}.", b64(&json!({"kid": "key-1"})), b64(&claims()));
        assert_eq!(
            v.verify(&no_alg, NOW).await,
            Err(AuthError::JwtUnsupportedAlgorithm)
        );
    }

    #[tokio::test]
    async fn hmac_and_other_algorithms_are_refused() {
        let v = verifier("jwks_key1.json").await;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-1".into());
        let hs256 =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(b"guessable"))
                .unwrap();
        assert_eq!(
            v.verify(&hs256, NOW).await,
            Err(AuthError::JwtUnsupportedAlgorithm)
        );

        // The classic confusion attack: HMAC keyed with the (public) JWKS document.
        let public = fixture("jwks_key1.json");
        let confused =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&public)).unwrap();
        assert_eq!(
            v.verify(&confused, NOW).await,
            Err(AuthError::JwtUnsupportedAlgorithm)
        );

        let mut rs384 = Header::new(Algorithm::RS384);
        rs384.kid = Some("key-1".into());
        let key = EncodingKey::from_rsa_pem(&fixture("jwt_key1.pem")).unwrap();
        let rs384 = jsonwebtoken::encode(&rs384, &claims(), &key).unwrap();
        assert_eq!(
            v.verify(&rs384, NOW).await,
            Err(AuthError::JwtUnsupportedAlgorithm)
        );
    }

    #[tokio::test]
    async fn tampered_payload_fails_the_signature() {
        let v = verifier("jwks_key1.json").await;
        let genuine = token1(&claims());
        let parts: Vec<&str> = genuine.split('.').collect();
        let forged_claims = b64(&with(json!({"sub": "someone-else"})));
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(
            v.verify(&forged, NOW).await,
            Err(AuthError::JwtBadSignature)
        );

        // Right kid, wrong key.
        let wrong_key = make_jwt(&fixture("jwt_key2.pem"), "key-1", &claims());
        assert_eq!(
            v.verify(&wrong_key, NOW).await,
            Err(AuthError::JwtBadSignature)
        );
    }

    #[tokio::test]
    async fn kid_is_required() {
        let v = verifier("jwks_key1.json").await;
        let key = EncodingKey::from_rsa_pem(&fixture("jwt_key1.pem")).unwrap();
        let no_kid = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &key).unwrap();
        assert_eq!(v.verify(&no_kid, NOW).await, Err(AuthError::JwtMissingKid));
        let empty_kid = make_jwt(&fixture("jwt_key1.pem"), "", &claims());
        assert_eq!(
            v.verify(&empty_kid, NOW).await,
            Err(AuthError::JwtMissingKid)
        );
    }

    #[tokio::test]
    async fn malformed_tokens_are_refused() {
        let v = verifier("jwks_key1.json").await;
        let genuine = token1(&claims());
        let too_long = "a".repeat(MAX_TOKEN_BYTES + 1);
        let crit = format!(
            "{}.{}.sig",
            b64(&json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"]})),
            b64(&claims())
        );
        for bad in [
            "",
            "abc",
            "a.b",
            "!!!.b.c",
            &format!("{genuine}.extra"),
            &too_long,
            &crit,
        ] {
            assert_eq!(
                v.verify(bad, NOW).await,
                Err(AuthError::JwtMalformed),
                "{bad:.40}"
            );
        }
    }

    #[tokio::test]
    async fn rotated_key_is_accepted_when_the_set_holds_both() {
        let v = verifier("jwks_both.json").await;
        assert!(v.verify(&token1(&claims()), NOW).await.is_ok());
        assert!(v.verify(&token2(&claims()), NOW).await.is_ok());
    }

    /// Writes `fixture` to a fresh temporary JWKS file.
    fn temp_jwks(fixture_name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, fixture(fixture_name)).unwrap();
        (dir, path)
    }

    #[tokio::test]
    async fn unknown_kid_rereads_the_file() {
        let (_dir, path) = temp_jwks("jwks_key1.json");
        let cfg = JwtConfig {
            jwks_file: Some(path.clone()),
            refetch_min_interval_seconds: 0,
            ..config_with_file("unused")
        };
        let v = JwtVerifier::from_config(&cfg).await.unwrap();
        let t2 = token2(&claims());
        assert_eq!(v.verify(&t2, NOW).await, Err(AuthError::JwtUnknownKid));

        std::fs::write(&path, fixture("jwks_both.json")).unwrap();
        assert!(v.verify(&t2, NOW).await.is_ok());
        assert!(v.verify(&token1(&claims()), NOW).await.is_ok());

        // A reload that fails keeps the keys already known.
        std::fs::write(&path, "garbage").unwrap();
        let unknown = make_jwt(&fixture("jwt_key1.pem"), "key-3", &claims());
        assert_eq!(v.verify(&unknown, NOW).await, Err(AuthError::JwtUnknownKid));
        assert!(v.verify(&t2, NOW).await.is_ok());
    }

    #[tokio::test]
    async fn unknown_kid_rereads_at_most_once_per_interval() {
        let (_dir, path) = temp_jwks("jwks_key1.json");
        let cfg = JwtConfig {
            jwks_file: Some(path.clone()),
            refetch_min_interval_seconds: 60,
            ..config_with_file("unused")
        };
        let v = JwtVerifier::from_config(&cfg).await.unwrap();
        let t2 = token2(&claims());
        assert_eq!(v.verify(&t2, NOW).await, Err(AuthError::JwtUnknownKid));
        std::fs::write(&path, fixture("jwks_both.json")).unwrap();
        // The load at start was under a minute ago, so the new key is not seen yet.
        assert_eq!(v.verify(&t2, NOW).await, Err(AuthError::JwtUnknownKid));
        assert!(v.verify(&token1(&claims()), NOW).await.is_ok());
    }

    /// A minimal HTTP/1.1 server answering every request with the current
    /// `(status, body)`, counting requests.
    struct KeyServer {
        addr: SocketAddr,
        hits: Arc<AtomicUsize>,
        answer: Arc<std::sync::Mutex<(u16, String)>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl KeyServer {
        async fn start(status: u16, body: String, delay: Duration) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let hits = Arc::new(AtomicUsize::new(0));
            let answer = Arc::new(std::sync::Mutex::new((status, body)));
            let task = tokio::spawn({
                let hits = hits.clone();
                let answer = answer.clone();
                async move {
                    loop {
                        let Ok((mut socket, _)) = listener.accept().await else {
                            return;
                        };
                        let hits = hits.clone();
                        let answer = answer.clone();
                        tokio::spawn(async move {
                            let mut request = Vec::new();
                            let mut buf = [0u8; 1024];
                            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                                match socket.read(&mut buf).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => request.extend_from_slice(&buf[..n]),
                                }
                            }
                            hits.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                            let (status, body) = answer.lock().unwrap().clone();
                            let response = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        });
                    }
                }
            });
            Self {
                addr,
                hits,
                answer,
                task,
            }
        }

        fn url(&self) -> String {
            format!("http://{}/calling/keys", self.addr)
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        fn answer(&self, status: u16, fixture_name: &str) {
            *self.answer.lock().unwrap() =
                (status, String::from_utf8(fixture(fixture_name)).unwrap());
        }
    }

    impl Drop for KeyServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn url_config(url: String, interval: u64) -> JwtConfig {
        JwtConfig {
            enabled: true,
            audiences: vec![AUDIENCE.to_owned()],
            jwks_url: Some(url),
            refetch_min_interval_seconds: interval,
            ..JwtConfig::default()
        }
    }

    fn fixture_string(name: &str) -> String {
        String::from_utf8(fixture(name)).unwrap()
    }

    #[tokio::test]
    async fn jwks_url_is_fetched_at_start_and_on_unknown_kid() {
        let server = KeyServer::start(200, fixture_string("jwks_key1.json"), Duration::ZERO).await;
        let v = JwtVerifier::from_config(&url_config(server.url(), 0))
            .await
            .unwrap();
        assert_eq!(server.hits(), 1);

        // Known keys come from the cache.
        assert!(v.verify(&token1(&claims()), NOW).await.is_ok());
        assert!(v.verify(&token1(&claims()), NOW).await.is_ok());
        assert_eq!(server.hits(), 1);

        server.answer(200, "jwks_both.json");
        assert!(v.verify(&token2(&claims()), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);

        let unknown = make_jwt(&fixture("jwt_key1.pem"), "key-3", &claims());
        assert_eq!(v.verify(&unknown, NOW).await, Err(AuthError::JwtUnknownKid));
        assert_eq!(server.hits(), 3);

        // A key server in trouble does not cost us the keys we have.
        server.answer(500, "jwks_key1.json");
        assert_eq!(v.verify(&unknown, NOW).await, Err(AuthError::JwtUnknownKid));
        assert_eq!(server.hits(), 4);
        assert!(v.verify(&token2(&claims()), NOW).await.is_ok());
        assert_eq!(server.hits(), 4);
    }

    #[tokio::test]
    async fn jwks_url_refetch_is_rate_limited() {
        let server = KeyServer::start(200, fixture_string("jwks_key1.json"), Duration::ZERO).await;
        let v = JwtVerifier::from_config(&url_config(server.url(), 60))
            .await
            .unwrap();
        assert_eq!(server.hits(), 1);
        server.answer(200, "jwks_both.json");
        for _ in 0..5 {
            assert_eq!(
                v.verify(&token2(&claims()), NOW).await,
                Err(AuthError::JwtUnknownKid)
            );
        }
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn jwks_url_failing_at_start_is_retried_lazily_without_a_stampede() {
        let server =
            KeyServer::start(503, "unavailable".to_owned(), Duration::from_millis(100)).await;
        // Starting succeeds even though the key server is down.
        let v = Arc::new(
            JwtVerifier::from_config(&url_config(server.url(), 60))
                .await
                .unwrap(),
        );
        assert_eq!(server.hits(), 1);

        server.answer(200, "jwks_both.json");
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..10 {
            let v = v.clone();
            let token = if i % 2 == 0 {
                token1(&claims())
            } else {
                token2(&claims())
            };
            requests.spawn(async move { v.verify(&token, NOW).await });
        }
        while let Some(result) = requests.join_next().await {
            assert!(result.unwrap().is_ok());
        }
        // Ten concurrent requests for unknown keys caused a single fetch.
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn jwks_url_failing_at_start_then_failing_again_is_rate_limited() {
        let server = KeyServer::start(503, "unavailable".to_owned(), Duration::ZERO).await;
        let v = JwtVerifier::from_config(&url_config(server.url(), 60))
            .await
            .unwrap();
        assert_eq!(server.hits(), 1);
        for _ in 0..3 {
            assert_eq!(
                v.verify(&token1(&claims()), NOW).await,
                Err(AuthError::JwtUnknownKid)
            );
        }
        // The first token retried; the rest waited for the interval.
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn jwks_client_refuses_plain_http_off_loopback() {
        assert!(jwks_client(
            "https://acscallautomation.communication.azure.com/calling/keys",
            5
        )
        .is_ok());
        assert!(jwks_client("http://127.0.0.1:8080/keys", 5).is_ok());
        assert!(jwks_client("http://[::1]:8080/keys", 5).is_ok());
        assert!(jwks_client("http://localhost/keys", 5).is_ok());
        for bad in [
            "http://keys.example.com/keys",
            "ftp://127.0.0.1/keys",
            "not a url",
        ] {
            assert_eq!(
                jwks_client(bad, 5).unwrap_err().key(),
                "auth.jwt.jwks_url",
                "{bad}"
            );
        }
    }
}
