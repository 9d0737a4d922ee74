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

impl AuthError {
    /// A short, stable label for metrics and structured logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::SchemeNotEnabled(_) => "scheme_not_enabled",
            AuthError::UnsupportedAuthorizationScheme => "unsupported_authorization_scheme",
            AuthError::QuerySecretMismatch => "query_secret_mismatch",
            AuthError::JwtMalformed => "jwt_malformed",
            AuthError::JwtUnsupportedAlgorithm => "jwt_unsupported_algorithm",
            AuthError::JwtMissingKid => "jwt_missing_kid",
            AuthError::JwtUnknownKid => "jwt_unknown_kid",
            AuthError::JwtBadSignature => "jwt_bad_signature",
            AuthError::JwtMissingExp => "jwt_missing_exp",
            AuthError::JwtExpired => "jwt_expired",
            AuthError::JwtNotYetValid => "jwt_not_yet_valid",
            AuthError::JwtBadIssuer => "jwt_bad_issuer",
            AuthError::JwtBadAudience => "jwt_bad_audience",
            AuthError::SignatureMalformedHeaders => "signature_malformed_headers",
            AuthError::SignatureTimestampOutOfTolerance => "signature_timestamp_out_of_tolerance",
            AuthError::SignatureMismatch => "signature_mismatch",
        }
    }
}
