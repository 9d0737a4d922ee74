//! The signing side of callback authentication: RS256 JWTs under the emulator's own key (whose
//! public half it serves as a key set), and Standard Webhooks HMAC signatures.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::webhook_signature::sign_webhook;
use crate::emulator::config::JwtFault;

/// The built-in development key: public in the repository, for local use only.
const DEV_KEY_PEM: &str = include_str!("../../../config/emulator-dev-signing-key.pem");

/// How long each token is valid, as the real service's (a new token per delivery).
const TOKEN_LIFETIME_SECONDS: i64 = 300;

pub struct JwtSigner {
    key: EncodingKey,
    kid: String,
    jwk: Value,
    pub issuer: String,
    pub audience: String,
}

impl JwtSigner {
    /// From a PEM (PKCS#8 or PKCS#1) RSA private key; `None` takes the development key.
    pub fn new(pem: Option<&str>, issuer: &str, audience: &str) -> Result<JwtSigner, String> {
        let pem = pem.unwrap_or(DEV_KEY_PEM);
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| format!("not an RSA private key in PEM: {e}"))?;
        let n = private.n().to_bytes_be();
        let e = private.e().to_bytes_be();
        // The key id names the key itself, so another key never reuses a cached one's id.
        let kid = hex::encode(&Sha256::digest(&n)[..8]);
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        });
        Ok(JwtSigner {
            key,
            kid,
            jwk,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// `GET /calling/keys`.
    pub fn key_set(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// A fresh token for one delivery: `None` a valid one, else one wrong in the way `fault` says,
    /// so that a verifier must refuse it (`Missing` is the sender's business: no header at all).
    pub fn token(&self, fault: Option<JwtFault>) -> String {
        let now = chrono::Utc::now().timestamp();
        // An expired token was issued two lifetimes ago (well past any verifier's leeway).
        let issued = match fault {
            Some(JwtFault::Expired) => now - 2 * TOKEN_LIFETIME_SECONDS,
            _ => now,
        };
        let issuer = match fault {
            Some(JwtFault::WrongIssuer) => format!("{}/not-the-issuer", self.issuer),
            _ => self.issuer.clone(),
        };
        let audience = match fault {
            Some(JwtFault::WrongAudience) => format!("not-{}", self.audience),
            _ => self.audience.clone(),
        };
        let claims = |jti: String| {
            json!({"iss": issuer, "aud": audience, "iat": issued, "nbf": issued,
                   "exp": issued + TOKEN_LIFETIME_SECONDS, "jti": jti})
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let sign = |claims: Value| {
            jsonwebtoken::encode(&header, &claims, &self.key).expect("JSON claims always encode")
        };
        let token = sign(claims(uuid::Uuid::new_v4().to_string()));
        if fault != Some(JwtFault::Signature) {
            return token;
        }
        let other = sign(claims(uuid::Uuid::new_v4().to_string()));
        let (signed, _) = token.rsplit_once('.').expect("a JWT has three parts");
        let (_, signature) = other.rsplit_once('.').expect("a JWT has three parts");
        format!("{signed}.{signature}")
    }
}

/// The three Standard Webhooks headers for `body`. `tampered`: the signature is over other bytes.
pub fn webhook_headers(secret: &str, body: &[u8], tampered: bool) -> Vec<(&'static str, String)> {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let timestamp = chrono::Utc::now().timestamp();
    let signed: Vec<u8> = if tampered {
        [body, b" "].concat()
    } else {
        body.to_vec()
    };
    // The secret was checked when the configuration loaded.
    let signature = sign_webhook(secret, &id, timestamp, &signed).unwrap_or_default();
    vec![
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ]
}

/// The callback URI with its `secret` query value altered (a wrongly signed delivery under the
/// query-secret scheme).
pub fn tamper_query_secret(uri: &str) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return uri.to_owned();
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "secret" {
                format!("{v}-wrong")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_signs_tokens_its_key_set_verifies() {
        let signer = JwtSigner::new(None, "iss", "aud").unwrap();
        let set = signer.key_set();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(set["keys"][0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&["aud"]);
        validation.set_issuer(&["iss"]);
        let good = signer.token(None);
        assert!(jsonwebtoken::decode::<Value>(&good, &key, &validation).is_ok());
        for fault in [
            JwtFault::Signature,
            JwtFault::Expired,
            JwtFault::WrongIssuer,
            JwtFault::WrongAudience,
        ] {
            let bad = signer.token(Some(fault));
            assert!(
                jsonwebtoken::decode::<Value>(&bad, &key, &validation).is_err(),
                "{fault:?}"
            );
        }
        let header = jsonwebtoken::decode_header(&good).unwrap();
        assert_eq!(header.kid.as_deref(), set["keys"][0]["kid"].as_str());
    }

    #[test]
    fn a_configured_key_replaces_the_development_key() {
        let pem = String::from_utf8(crate::auth::testing::fixture("jwt_key1.pem")).unwrap();
        let own = JwtSigner::new(Some(&pem), "iss", "aud").unwrap();
        let dev = JwtSigner::new(None, "iss", "aud").unwrap();
        assert_ne!(
            own.key_set()["keys"][0]["kid"],
            dev.key_set()["keys"][0]["kid"]
        );
        assert_ne!(own.key_set()["keys"][0]["n"], dev.key_set()["keys"][0]["n"]);
        let err = JwtSigner::new(Some("not a key"), "iss", "aud")
            .err()
            .unwrap();
        assert!(err.contains("not an RSA private key"), "{err}");
    }

    #[test]
    fn a_tampered_query_secret_differs() {
        assert_eq!(
            tamper_query_secret("http://h/cb?secret=s1&x=1"),
            "http://h/cb?secret=s1-wrong&x=1"
        );
    }
}
