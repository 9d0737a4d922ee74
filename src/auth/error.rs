//! Why a delivery was refused.

use crate::auth::Scheme;

/// Why a delivery failed authentication.
///
/// The reason is for logs and metrics only: the HTTP layer answers every variant with
/// the same 401 so a caller learns nothing about which check failed. No variant carries
/// a presented secret, token or signature, so `Display` and `Debug` are safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("no credentials presented")]
    MissingCredentials,
    #[error("scheme {scheme} is not enabled for this endpoint", scheme = .0.as_str())]
    SchemeNotEnabled(Scheme),
    #[error("authorization header is not a bearer token")]
    UnsupportedAuthorizationScheme,

    #[error("query secret does not match any configured secret")]
    QuerySecretMismatch,

    #[error("JWT is malformed")]
    JwtMalformed,
    #[error("JWT algorithm is not RS256")]
    JwtUnsupportedAlgorithm,
    #[error("JWT header has no key id")]
    JwtMissingKid,
    #[error("JWT key id is not in the key set")]
    JwtUnknownKid,
    #[error("JWT signature is invalid")]
    JwtBadSignature,
    #[error("JWT has no exp claim")]
    JwtMissingExp,
    #[error("JWT has expired")]
    JwtExpired,
    #[error("JWT is not valid yet")]
    JwtNotYetValid,
    #[error("JWT issuer is not accepted")]
    JwtBadIssuer,
    #[error("JWT audience is not accepted")]
    JwtBadAudience,

    #[error("webhook signature headers are missing or malformed")]
    SignatureMalformedHeaders,
    #[error("webhook timestamp is outside the tolerance")]
    SignatureTimestampOutOfTolerance,
    #[error("webhook signature does not match any configured secret")]
    SignatureMismatch,
}
