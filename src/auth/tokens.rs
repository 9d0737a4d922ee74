//! Bearer tokens (reporting API, metrics scrapers). The configuration holds only SHA-256 hashes of the tokens,
//! so a leaked configuration file grants nothing. The presented token is hashed and compared with
//! every configured hash in constant time, all of them every time, so timing tells neither which
//! entry matched nor how much of a hash did.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The accepted token hashes.
#[derive(Clone, Default)]
pub struct ApiTokens {
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTokens")
            .field("count", &self.hashes.len())
            .finish()
    }
}

/// A configured entry: 64 hex digits (either case).
pub fn parse_token_hash(entry: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(entry.trim()).ok()?;
    bytes.try_into().ok()
}

/// The lowercase hex SHA-256 of a token: what `api.tokens` holds.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl ApiTokens {
    /// From validated configuration; invalid entries were refused at start.
    pub fn from_config(entries: &[String]) -> ApiTokens {
        ApiTokens {
            hashes: entries.iter().filter_map(|e| parse_token_hash(e)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn accepts(&self, token: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut matched = Choice::from(0);
        for hash in &self.hashes {
            matched |= hash.ct_eq(&presented);
        }
        matched.into()
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a request's `Authorization` header value carries a bearer token that `tokens` accepts; a
/// refusal is logged (at info, without the token) under `what`.
pub fn presents_token(authorization: Option<&str>, tokens: &ApiTokens, what: &str) -> bool {
    match bearer_token(authorization) {
        Some(token) => {
            let ok = tokens.accepts(token);
            if !ok {
                tracing::info!(reason = "token not recognised", "{what} request refused");
            }
            ok
        }
        None => {
            tracing::info!(
                reason = "no bearer token in the authorization header",
                "{what} request refused"
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens() {
        let tokens = ApiTokens::from_config(&[hash_token("alpha"), hash_token("beta")]);
        assert!(tokens.accepts("alpha"));
        assert!(tokens.accepts("beta"));
        assert!(!tokens.accepts("gamma"));
        assert!(!tokens.accepts(""));
        assert!(!ApiTokens::default().accepts("alpha"));
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(parse_token_hash(&hash_token("abc").to_uppercase()).is_some());
        assert!(parse_token_hash("abc").is_none());
        assert!(parse_token_hash(&"z".repeat(64)).is_none());
    }
}
