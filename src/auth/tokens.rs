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

    /// How many hashes are configured: [`ApiTokens::matching`] answers an index below this.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn accepts(&self, token: &str) -> bool {
        self.matching(token).is_some()
    }

    /// The position of the configured hash `token` matches (the first, should one repeat). Every
    /// hash is compared, in constant time, whatever matches.
    pub fn matching(&self, token: &str) -> Option<usize> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = subtle::CtOption::new(0u64, Choice::from(0));
        for (i, hash) in self.hashes.iter().enumerate() {
            let this = subtle::CtOption::new(i as u64, hash.ct_eq(&presented));
            found =
                subtle::ConditionallySelectable::conditional_select(&this, &found, found.is_some());
        }
        Option::<u64>::from(found).map(|i| i as usize)
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Which configured token a request's `Authorization` header value carries (its position in
/// `tokens`); a refusal is logged (at info, without the token) under `what`.
pub fn presented_token(
    authorization: Option<&str>,
    tokens: &ApiTokens,
    what: &str,
) -> Option<usize> {
    match bearer_token(authorization) {
        Some(token) => {
            let matched = tokens.matching(token);
            if matched.is_none() {
                tracing::info!(reason = "token not recognised", "{what} request refused");
            }
            matched
        }
        None => {
            tracing::info!(
                reason = "no bearer token in the authorization header",
                "{what} request refused"
            );
            None
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
        assert_eq!(tokens.matching("alpha"), Some(0));
        assert_eq!(tokens.matching("beta"), Some(1));
        let repeated = ApiTokens::from_config(&[hash_token("x"), hash_token("y"), hash_token("y")]);
        assert_eq!(repeated.matching("y"), Some(1));
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
