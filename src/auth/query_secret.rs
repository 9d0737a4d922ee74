//! Shared secret in the callback URL's query string (`?secret=…`).

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::auth::{AuthError, ConfigError};

/// The accepted secrets, kept only as SHA-256 digests: comparing digests of equal
/// length means neither a secret's content nor its length shows in the comparison
/// time, and the plain secrets need not stay in memory.
pub(crate) struct QuerySecrets {
    digests: Vec<[u8; 32]>,
}

impl QuerySecrets {
    pub(crate) fn from_config(secrets: &[SecretString]) -> Result<Self, ConfigError> {
        if secrets.is_empty() {
            return Err(ConfigError::new(
                "auth.query_secret.secrets",
                "must list at least one secret when auth.query_secret.enabled is true",
            ));
        }
        let mut digests = Vec::with_capacity(secrets.len());
        for (i, secret) in secrets.iter().enumerate() {
            let secret = secret.expose_secret();
            if secret.is_empty() {
                return Err(ConfigError::new(
                    format!("auth.query_secret.secrets[{i}]"),
                    "must not be empty",
                ));
            }
            if secret.len() < 16 {
                // Allowed so existing deployments keep working, but a short secret in a
                // URL is guessable and also ends up in proxies' access logs.
                tracing::warn!(
                    index = i,
                    "auth.query_secret.secrets[{i}] is shorter than 16 characters"
                );
            }
            digests.push(Sha256::digest(secret.as_bytes()).into());
        }
        Ok(Self { digests })
    }

    /// Returns the 1-based position of the matching secret (`secret#1` is the first
    /// configured one) so logs can tell which secret a sender still uses during a
    /// rotation. Every secret is compared, with no early exit, so the time taken does
    /// not reveal which one matched.
    pub(crate) fn verify(&self, presented: &str) -> Result<String, AuthError> {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut matched = subtle::Choice::from(0);
        let mut position = 0u64;
        for (i, digest) in self.digests.iter().enumerate() {
            let hit = digest.ct_eq(&presented);
            // Take the first match only: later duplicates must not overwrite it.
            let take = hit & !matched;
            position = u64::conditional_select(&position, &(i as u64 + 1), take);
            matched |= hit;
        }
        if bool::from(matched) {
            Ok(format!("secret#{position}"))
        } else {
            Err(AuthError::QuerySecretMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> QuerySecrets {
        let values: Vec<SecretString> = values.iter().map(|v| SecretString::from(*v)).collect();
        QuerySecrets::from_config(&values).unwrap()
    }

    #[test]
    fn matches_first_or_second_secret() {
        let s = secrets(&["old-secret-0123456789", "new-secret-0123456789"]);
        assert_eq!(s.verify("old-secret-0123456789").unwrap(), "secret#1");
        assert_eq!(s.verify("new-secret-0123456789").unwrap(), "secret#2");
    }

    #[test]
    fn duplicate_secrets_report_the_first_position() {
        let s = secrets(&[
            "a-secret-0123456789",
            "same-0123456789abc",
            "same-0123456789abc",
        ]);
        assert_eq!(s.verify("same-0123456789abc").unwrap(), "secret#2");
    }

    #[test]
    fn mismatch_is_refused() {
        let s = secrets(&["old-secret-0123456789", "new-secret-0123456789"]);
        for wrong in [
            "",
            "old-secret-012345678",
            "old-secret-01234567890",
            "OLD-SECRET-0123456789",
        ] {
            assert_eq!(
                s.verify(wrong),
                Err(AuthError::QuerySecretMismatch),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn empty_list_or_empty_secret_is_a_config_error() {
        assert_eq!(
            QuerySecrets::from_config(&[]).err().unwrap().key(),
            "auth.query_secret.secrets"
        );
        let err = QuerySecrets::from_config(&[SecretString::from("")])
            .err()
            .unwrap();
        assert_eq!(err.key(), "auth.query_secret.secrets[0]");
    }
}
