//! The JWKS holding the public keys that ACS signs its tokens with.
//!
//! Keys are loaded at start and reloaded when a token names a key id we do not know,
//! which is how a signing-key rotation reaches us. Reloads are rate limited, and
//! concurrent requests waiting for the same unknown key share one reload.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};

use crate::auth::ConfigError;

/// A JWKS larger than this is not a key set; refuse it rather than buffer it.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

pub(crate) enum JwksSource {
    File(PathBuf),
    Url {
        url: String,
        client: reqwest::Client,
    },
}

impl JwksSource {
    fn config_key(&self) -> &'static str {
        match self {
            JwksSource::File(_) => "auth.jwt.jwks_file",
            JwksSource::Url { .. } => "auth.jwt.jwks_url",
        }
    }

    async fn load(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let bytes = match self {
            JwksSource::File(path) => {
                // Read off the async workers: a slow disk must not stall other requests.
                let owned = path.clone();
                tokio::task::spawn_blocking(move || std::fs::read(owned))
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            }
            JwksSource::Url { url, client } => fetch(client, url).await?,
        };
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(format!("key set is larger than {MAX_JWKS_BYTES} bytes"));
        }
        parse_jwks(&bytes)
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("fetching {url} answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("cannot read the answer from {url}: {e}"))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("key set is larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Keeps the RSA signing keys that have a `kid`. Each key is parsed on its own so that
/// one key of a type this version does not understand cannot make the whole set (and
/// with it every delivery) unusable.
pub(crate) fn parse_jwks(bytes: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for value in raw.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if !usable_for_rs256(&jwk) {
            continue;
        }
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        match DecodingKey::from_jwk(&jwk) {
            Ok(key) => {
                // On a duplicate kid keep the first, as a JWKS consumer looking up by
                // kid would.
                keys.entry(kid).or_insert(key);
            }
            Err(e) => tracing::warn!(kid = %kid, error = %e, "skipping unusable JWKS key"),
        }
    }
    if keys.is_empty() {
        return Err("the key set holds no usable RS256 signing key with a kid".to_owned());
    }
    Ok(keys)
}

fn usable_for_rs256(jwk: &Jwk) -> bool {
    let rsa = matches!(jwk.algorithm, AlgorithmParameters::RSA(_));
    let for_signing = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    );
    let alg_ok = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256));
    rsa && for_signing && alg_ok
}

struct Cache {
    keys: HashMap<String, DecodingKey>,
    /// When the source was last tried (successfully or not); `None` until one attempt
    /// has counted, so a failed fetch at start is retried on the first token.
    last_attempt: Option<Instant>,
}

pub(crate) struct KeyStore {
    source: JwksSource,
    min_interval: Duration,
    cache: RwLock<Cache>,
    /// Held by the one request reloading the set; others wait here, then find the
    /// result in the cache instead of fetching again.
    reload: Mutex<()>,
}

impl KeyStore {
    /// Loads the set once. A file that cannot be loaded is a configuration error; a
    /// URL that cannot be fetched is only logged, because the key server being briefly
    /// unreachable must not stop the receiver (and the other schemes) from starting.
    pub(crate) async fn start(
        source: JwksSource,
        min_interval: Duration,
    ) -> Result<Self, ConfigError> {
        let (keys, last_attempt) = match source.load().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "loaded JWKS");
                (keys, Some(Instant::now()))
            }
            Err(message) => match source {
                JwksSource::File(_) => return Err(ConfigError::new(source.config_key(), message)),
                JwksSource::Url { .. } => {
                    tracing::warn!(
                        error = %message,
                        "JWKS not available at start; will retry when a token arrives"
                    );
                    (HashMap::new(), None)
                }
            },
        };
        Ok(Self {
            source,
            min_interval,
            cache: RwLock::new(Cache { keys, last_attempt }),
            reload: Mutex::new(()),
        })
    }

    /// The key for `kid`, reloading the set at most once per `min_interval` when the
    /// kid is unknown.
    pub(crate) async fn key(&self, kid: &str) -> Option<DecodingKey> {
        if let Some(key) = self.cached(kid).await {
            return Some(key);
        }
        let _reloading = self.reload.lock().await;
        // Another request may have reloaded while we waited for the lock.
        if let Some(key) = self.cached(kid).await {
            return Some(key);
        }
        let due = {
            let cache = self.cache.read().await;
            match cache.last_attempt {
                None => true,
                Some(at) => at.elapsed() >= self.min_interval,
            }
        };
        if !due {
            return None;
        }
        let loaded = self.source.load().await;
        let mut cache = self.cache.write().await;
        cache.last_attempt = Some(Instant::now());
        match loaded {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "reloaded JWKS for an unknown key id");
                cache.keys = keys;
            }
            // Keep the keys we have: a failed reload must not lock out valid tokens.
            Err(message) => tracing::warn!(error = %message, "JWKS reload failed"),
        }
        cache.keys.get(kid).cloned()
    }

    async fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.cache.read().await.keys.get(kid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testing::fixture_path;

    #[test]
    fn fixtures_parse_with_their_kids() {
        let one = parse_jwks(&std::fs::read(fixture_path("jwks_key1.json")).unwrap()).unwrap();
        assert_eq!(one.len(), 1);
        assert!(one.contains_key("key-1"));
        let both = parse_jwks(&std::fs::read(fixture_path("jwks_both.json")).unwrap()).unwrap();
        assert!(both.contains_key("key-1") && both.contains_key("key-2"));
    }

    #[test]
    fn only_rsa_signing_keys_with_a_kid_are_kept() {
        let set: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture_path("jwks_key1.json")).unwrap())
                .unwrap();
        let rsa = set["keys"][0].clone();
        let with = |patch: serde_json::Value| {
            let mut k = rsa.clone();
            for (name, value) in patch.as_object().unwrap() {
                if value.is_null() {
                    k.as_object_mut().unwrap().remove(name);
                } else {
                    k[name] = value.clone();
                }
            }
            k
        };
        let doc = serde_json::json!({"keys": [
            with(serde_json::json!({"kid": "enc", "use": "enc"})),
            with(serde_json::json!({"kid": "no-use", "use": null})),
            with(serde_json::json!({"kid": null})),
            with(serde_json::json!({"kid": "ps256", "alg": "PS256"})),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "future-type", "kid": "future"},
            with(serde_json::json!({"kid": "sig"})),
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, vec!["no-use", "sig"]);
    }

    #[test]
    fn a_set_without_usable_keys_or_not_json_is_refused() {
        assert!(parse_jwks(b"{}").is_err());
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }
}
