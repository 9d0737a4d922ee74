//! Bearer tokens for the reporting API. The configuration holds only SHA-256 hashes of the tokens,
//! so a leaked configuration file grants nothing. The presented token is hashed and compared with
//! every configured hash in constant time, all of them every time, so timing tells neither which
//! entry matched nor how much of a hash did.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::ApiError;
use crate::startup::AppState;

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

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether the request carries a bearer token that `tokens` accepts; a refusal is logged (at info,
/// without the token) under `what`.
pub fn presents_token(headers: &header::HeaderMap, tokens: &ApiTokens, what: &str) -> bool {
    match bearer_token(headers) {
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

/// Middleware on the whole `/api/v1` scope: every route, including unknown ones, needs a token.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let accepted = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| presents_token(req.headers(), &state.api_tokens, "API"));
    if !accepted {
        // An answer rather than an `Err`, so the request span still records and tags it.
        return Ok(req
            .error_response(ApiError::Unauthorized)
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
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
