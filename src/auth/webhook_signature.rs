//! Standard Webhooks HMAC-SHA256 signatures.
//!
//! The sender signs `"{webhook-id}.{webhook-timestamp}.{raw body}"` with a shared
//! `whsec_<base64>` secret and sends `webhook-signature: v1,<base64> [v1,<base64> …]`;
//! several entries let it sign with an old and a new secret during a rotation.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::{AuthError, ConfigError};

/// Header carrying the sender's unique message id.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Header carrying the signing time, in unix seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

const SECRET_PREFIX: &str = "whsec_";
const SIGNATURE_VERSION: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// Standard base64, with or without padding: senders differ and the padding carries
/// no information.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Signs `body` the way a Standard Webhooks sender does and returns the
/// `webhook-signature` entry (`v1,<base64>`). For tests and the load generator.
pub fn sign_webhook(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, ConfigError> {
    let key = decode_secret(secret, "secret")?;
    let mac = keyed(&key)
        .chain_update(signed_prefix(id, &timestamp.to_string()))
        .chain_update(body)
        .finalize()
        .into_bytes();
    Ok(format!("{SIGNATURE_VERSION},{}", BASE64.encode(mac)))
}

/// `whsec_<base64>` → key bytes. Errors name `key` and never echo the secret.
fn decode_secret(secret: &str, key: &str) -> Result<Vec<u8>, ConfigError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        ConfigError::new(key, "must start with whsec_ followed by the base64 key")
    })?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| ConfigError::new(key, "the part after whsec_ is not valid base64"))?;
    if bytes.is_empty() {
        return Err(ConfigError::new(key, "the key after whsec_ is empty"));
    }
    Ok(bytes)
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn signed_prefix(id: &str, timestamp: &str) -> String {
    format!("{id}.{timestamp}.")
}

/// The three headers as presented.
pub(crate) struct WebhookHeaders<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) timestamp: Option<&'a str>,
    pub(crate) signature: Option<&'a str>,
}

pub(crate) struct WebhookVerifier {
    /// One HMAC state per secret, keyed once at start; cloned per delivery.
    macs: Vec<HmacSha256>,
    tolerance_seconds: u64,
}

impl WebhookVerifier {
    pub(crate) fn from_config(
        secrets: &[SecretString],
        tolerance_seconds: i64,
    ) -> Result<Self, ConfigError> {
        if secrets.is_empty() {
            return Err(ConfigError::new(
                "auth.webhook_signature.secrets",
                "must list at least one whsec_ secret when auth.webhook_signature.enabled is true",
            ));
        }
        let tolerance_seconds = u64::try_from(tolerance_seconds).map_err(|_| {
            ConfigError::new(
                "auth.webhook_signature.tolerance_seconds",
                "must not be negative",
            )
        })?;
        let mut macs = Vec::with_capacity(secrets.len());
        for (i, secret) in secrets.iter().enumerate() {
            let key_name = format!("auth.webhook_signature.secrets[{i}]");
            let key = decode_secret(secret.expose_secret(), &key_name)?;
            if key.len() < 24 {
                // The Standard Webhooks spec asks for 24 to 64 bytes; shorter keys still
                // work with other senders, so warn rather than refuse.
                tracing::warn!(index = i, "{key_name} decodes to fewer than 24 bytes");
            }
            macs.push(keyed(&key));
        }
        Ok(Self {
            macs,
            tolerance_seconds,
        })
    }

    fn parse_headers<'h>(
        &self,
        headers: &WebhookHeaders<'h>,
        now_unix: i64,
    ) -> Result<ParsedHeaders<'h>, AuthError> {
        let id = non_empty(headers.id)?;
        let timestamp_raw = non_empty(headers.timestamp)?;
        let signature = non_empty(headers.signature)?;
        // Digits only: `+5` or ` 5` would parse elsewhere but are not what senders send.
        if !timestamp_raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::SignatureMalformedHeaders);
        }
        let timestamp: i64 = timestamp_raw
            .parse()
            .map_err(|_| AuthError::SignatureMalformedHeaders)?;

        let candidates: Vec<Vec<u8>> = signature
            .split_ascii_whitespace()
            .filter_map(|entry| entry.split_once(','))
            // Other versions (e.g. asymmetric `v1a`) are not ours to check: skip them.
            .filter(|(version, _)| *version == SIGNATURE_VERSION)
            .filter_map(|(_, sig)| BASE64.decode(sig).ok())
            .collect();
        if candidates.is_empty() {
            return Err(AuthError::SignatureMalformedHeaders);
        }

        // The timestamp is checked only after the headers are known to be well formed
        // but before any HMAC work, so stale replays are cheap to refuse.
        if now_unix.abs_diff(timestamp) > self.tolerance_seconds {
            return Err(AuthError::SignatureTimestampOutOfTolerance);
        }

        Ok(ParsedHeaders {
            id,
            timestamp_raw,
            candidates,
        })
    }

    /// Everything but the signature itself, which needs the body: the headers are present and well
    /// formed, and the timestamp is within tolerance.
    pub(crate) fn check_headers(
        &self,
        headers: &WebhookHeaders<'_>,
        now_unix: i64,
    ) -> Result<(), AuthError> {
        self.parse_headers(headers, now_unix).map(|_| ())
    }

    /// Returns the `webhook-id` as the principal.
    pub(crate) fn verify(
        &self,
        headers: &WebhookHeaders<'_>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<String, AuthError> {
        let ParsedHeaders {
            id,
            timestamp_raw,
            candidates,
        } = self.parse_headers(headers, now_unix)?;

        // Sign the timestamp exactly as presented: the sender signed its header text. The parts
        // of `{id}.{timestamp}.` go in one by one, as the same bytes.
        let mut matched = subtle::Choice::from(0);
        for mac in &self.macs {
            let expected = mac
                .clone()
                .chain_update(id.as_bytes())
                .chain_update(b".")
                .chain_update(timestamp_raw.as_bytes())
                .chain_update(b".")
                .chain_update(body)
                .finalize()
                .into_bytes();
            // No early exit: every candidate meets every secret, so the time taken does
            // not say which secret or which entry matched.
            for candidate in &candidates {
                matched |= expected.as_slice().ct_eq(candidate.as_slice());
            }
        }
        if bool::from(matched) {
            Ok(id.to_owned())
        } else {
            Err(AuthError::SignatureMismatch)
        }
    }
}

/// The headers of one delivery, checked and decoded.
struct ParsedHeaders<'h> {
    id: &'h str,
    timestamp_raw: &'h str,
    candidates: Vec<Vec<u8>>,
}

fn non_empty(value: Option<&str>) -> Result<&str, AuthError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AuthError::SignatureMalformedHeaders),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER_SECRET: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn verifier(secrets: &[&str]) -> WebhookVerifier {
        let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(*s)).collect();
        WebhookVerifier::from_config(&secrets, 300).unwrap()
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> WebhookHeaders<'a> {
        WebhookHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn published_vector_signs_and_verifies() {
        assert_eq!(sign_webhook(SECRET, ID, TS, BODY).unwrap(), EXPECTED);
        let v = verifier(&[SECRET]);
        let ts = TS.to_string();
        assert_eq!(v.verify(&headers(ID, &ts, EXPECTED), BODY, TS).unwrap(), ID);
    }

    #[test]
    fn one_valid_signature_among_several_is_enough() {
        let v = verifier(&[SECRET]);
        let ts = TS.to_string();
        let other = sign_webhook(OTHER_SECRET, ID, TS, BODY).unwrap();
        let list = format!("v1a,AAAA v1,bm90LWEtc2lnbmF0dXJl {other} {EXPECTED} garbage");
        assert_eq!(v.verify(&headers(ID, &ts, &list), BODY, TS).unwrap(), ID);
    }

    #[test]
    fn any_configured_secret_verifies_during_rotation() {
        let v = verifier(&[OTHER_SECRET, SECRET]);
        let ts = TS.to_string();
        assert!(v.verify(&headers(ID, &ts, EXPECTED), BODY, TS).is_ok());
        let by_other = sign_webhook(OTHER_SECRET, ID, TS, BODY).unwrap();
        assert!(v.verify(&headers(ID, &ts, &by_other), BODY, TS).is_ok());
    }

    #[test]
    fn wrong_secret_is_refused() {
        let v = verifier(&[OTHER_SECRET]);
        let ts = TS.to_string();
        assert_eq!(
            v.verify(&headers(ID, &ts, EXPECTED), BODY, TS),
            Err(AuthError::SignatureMismatch)
        );
    }

    #[test]
    fn tampered_body_id_or_timestamp_is_refused() {
        let v = verifier(&[SECRET]);
        let ts = TS.to_string();
        assert_eq!(
            v.verify(&headers(ID, &ts, EXPECTED), br#"{"test": 2432232315}"#, TS),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            v.verify(&headers(ID, &ts, EXPECTED), br#"{"test":2432232314}"#, TS),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            v.verify(&headers("msg_other", &ts, EXPECTED), BODY, TS),
            Err(AuthError::SignatureMismatch)
        );
        let later = (TS + 1).to_string();
        assert_eq!(
            v.verify(&headers(ID, &later, EXPECTED), BODY, TS),
            Err(AuthError::SignatureMismatch)
        );
    }

    #[test]
    fn timestamps_beyond_tolerance_either_way_are_refused() {
        let v = verifier(&[SECRET]);
        let ts = TS.to_string();
        let h = headers(ID, &ts, EXPECTED);
        // Exactly at the tolerance is still accepted, one second more is not.
        assert!(v.verify(&h, BODY, TS + 300).is_ok());
        assert!(v.verify(&h, BODY, TS - 300).is_ok());
        assert_eq!(
            v.verify(&h, BODY, TS + 301),
            Err(AuthError::SignatureTimestampOutOfTolerance)
        );
        assert_eq!(
            v.verify(&h, BODY, TS - 301),
            Err(AuthError::SignatureTimestampOutOfTolerance)
        );
        assert_eq!(
            v.verify(&h, BODY, TS + 3600),
            Err(AuthError::SignatureTimestampOutOfTolerance)
        );
        assert_eq!(
            v.verify(&h, BODY, i64::MIN),
            Err(AuthError::SignatureTimestampOutOfTolerance)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let v = verifier(&[SECRET]);
        let ts = TS.to_string();
        let malformed = Err(AuthError::SignatureMalformedHeaders);
        for (id, timestamp, sig) in [
            (Some(ID), Some("16142653x0"), Some(EXPECTED)),
            (Some(ID), Some("-1614265330"), Some(EXPECTED)),
            (Some(ID), Some(" 1614265330"), Some(EXPECTED)),
            (Some(ID), Some("99999999999999999999999"), Some(EXPECTED)),
            (None, Some(ts.as_str()), Some(EXPECTED)),
            (Some(""), Some(ts.as_str()), Some(EXPECTED)),
            (Some(ID), None, Some(EXPECTED)),
            (Some(ID), Some(ts.as_str()), None),
            (Some(ID), Some(ts.as_str()), Some("")),
            (
                Some(ID),
                Some(ts.as_str()),
                Some("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            ),
            (
                Some(ID),
                Some(ts.as_str()),
                Some("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            ),
            (Some(ID), Some(ts.as_str()), Some("v1,***not-base64***")),
        ] {
            let h = WebhookHeaders {
                id,
                timestamp,
                signature: sig,
            };
            assert_eq!(
                v.verify(&h, BODY, TS),
                malformed,
                "{id:?} {timestamp:?} {sig:?}"
            );
        }
    }

    #[test]
    fn bad_secrets_are_config_errors() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_***",
            "whsec MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            let err = WebhookVerifier::from_config(&[SecretString::from(bad)], 300)
                .err()
                .unwrap();
            assert_eq!(err.key(), "auth.webhook_signature.secrets[0]", "{bad}");
            assert!(!err.to_string().contains("MfKQ9r8"), "{err}");
            assert!(sign_webhook(bad, ID, TS, BODY).is_err());
        }
    }
}
