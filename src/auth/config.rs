//! The `auth` configuration section and its validation.
//!
//! Every field has a safe default (everything disabled, nothing allowed), so an
//! empty section deserialises, and a start-up with no scheme enabled is refused by
//! [`crate::auth::Authenticator::from_config`] unless development mode is asked for
//! explicitly. Secrets are held as [`SecretString`] so that `Debug` output and logs
//! of the configuration never show them.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::Scheme;

/// The issuer ACS Call Automation puts in the tokens it signs.
pub const ACS_ISSUER: &str = "https://acscallautomation.communication.azure.com";

/// A configuration value that cannot be used, anywhere in the configuration (this section's
/// checks and the whole file's). The message names the offending key
/// (`invalid configuration: auth.jwt.audiences: must list at least one audience`) so an operator
/// can fix it without reading code; it never contains a secret value.
#[derive(Debug)]
pub struct ConfigError {
    key: String,
    message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "invalid configuration: {}", self.message)
        } else {
            write!(f, "invalid configuration: {}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The configuration key at fault, e.g. `auth.webhook_signature.secrets[1]`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The `auth` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accept deliveries that present no credentials at all. For development only:
    /// a delivery that does present credentials is still checked.
    pub allow_unauthenticated: bool,
    pub query_secret: QuerySecretConfig,
    pub jwt: JwtConfig,
    pub webhook_signature: WebhookSignatureConfig,
    pub endpoints: EndpointSchemes,
}

impl AuthConfig {
    /// Whether at least one authentication scheme is switched on.
    pub fn any_enabled(&self) -> bool {
        self.query_secret.enabled || self.jwt.enabled || self.webhook_signature.enabled
    }

    /// Whether `scheme` is switched on globally (regardless of endpoints).
    pub(crate) fn scheme_enabled(&self, scheme: Scheme) -> bool {
        match scheme {
            Scheme::QuerySecret => self.query_secret.enabled,
            Scheme::Jwt => self.jwt.enabled,
            Scheme::WebhookSignature => self.webhook_signature.enabled,
            Scheme::Unauthenticated => self.allow_unauthenticated,
        }
    }
}

/// A shared secret in the callback URL's query string (`?secret=…`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerySecretConfig {
    pub enabled: bool,
    /// Every secret currently accepted; list the old and the new one while rotating.
    pub secrets: Vec<SecretString>,
}

/// ACS-signed JWTs in `Authorization: Bearer …`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    pub enabled: bool,
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
    /// Accepted `aud` values: the immutable resource id of the ACS resource.
    pub audiences: Vec<String>,
    /// JWKS read from disk (air-gapped sites, tests); exclusive with `jwks_url`.
    pub jwks_file: Option<PathBuf>,
    /// JWKS fetched over HTTPS, e.g. `https://acscallautomation.communication.azure.com/calling/keys`.
    pub jwks_url: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// Least time between two reloads of the JWKS triggered by unknown key ids, so a
    /// stream of forged `kid`s cannot turn into a stream of fetches.
    pub refetch_min_interval_seconds: u64,
    pub fetch_timeout_seconds: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            issuers: vec![ACS_ISSUER.to_owned()],
            audiences: Vec::new(),
            jwks_file: None,
            jwks_url: None,
            leeway_seconds: 60,
            refetch_min_interval_seconds: 60,
            fetch_timeout_seconds: 5,
        }
    }
}

/// Standard Webhooks HMAC-SHA256 signatures (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSignatureConfig {
    pub enabled: bool,
    /// `whsec_<base64>` secrets; several during a rotation.
    pub secrets: Vec<SecretString>,
    /// Greatest accepted distance between `webhook-timestamp` and now, either way,
    /// which bounds how long a captured delivery can be replayed.
    pub tolerance_seconds: i64,
}

impl Default for WebhookSignatureConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            secrets: Vec::new(),
            tolerance_seconds: 300,
        }
    }
}

/// Which schemes each endpoint accepts. A scheme is accepted on an endpoint when it is
/// enabled globally and listed here.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointSchemes {
    pub callbacks: Vec<Scheme>,
    pub eventgrid: Vec<Scheme>,
}

impl Default for EndpointSchemes {
    fn default() -> Self {
        let all = vec![Scheme::QuerySecret, Scheme::Jwt, Scheme::WebhookSignature];
        Self {
            callbacks: all.clone(),
            eventgrid: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Authenticator, Endpoint};
    use secrecy::ExposeSecret;

    #[test]
    fn empty_section_deserialises_to_safe_defaults() {
        let cfg: AuthConfig = serde_json::from_str("{}").unwrap();
        assert!(!cfg.allow_unauthenticated);
        assert!(!cfg.any_enabled());
        assert!(cfg.query_secret.secrets.is_empty());
        assert_eq!(cfg.jwt.issuers, vec![ACS_ISSUER.to_owned()]);
        assert!(cfg.jwt.audiences.is_empty());
        assert_eq!(cfg.jwt.jwks_url, None);
        assert_eq!(cfg.jwt.leeway_seconds, 60);
        assert_eq!(cfg.jwt.refetch_min_interval_seconds, 60);
        assert_eq!(cfg.jwt.fetch_timeout_seconds, 5);
        assert_eq!(cfg.webhook_signature.tolerance_seconds, 300);
        assert_eq!(
            cfg.endpoints.callbacks,
            vec![Scheme::QuerySecret, Scheme::Jwt, Scheme::WebhookSignature]
        );
        assert_eq!(cfg.endpoints.eventgrid, cfg.endpoints.callbacks);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<AuthConfig>(r#"{"query_secret": {"secret": "x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
        assert!(serde_json::from_str::<AuthConfig>(r#"{"allow_unauthenticted": true}"#).is_err());
    }

    #[test]
    fn schemes_deserialise_in_snake_case() {
        let cfg: AuthConfig = serde_json::from_str(
            r#"{"query_secret": {"enabled": true, "secrets": ["s3cr3t-value"]},
                "endpoints": {"callbacks": ["webhook_signature", "jwt"], "eventgrid": ["query_secret"]}}"#,
        )
        .unwrap();
        assert!(cfg.any_enabled());
        assert_eq!(cfg.query_secret.secrets[0].expose_secret(), "s3cr3t-value");
        assert_eq!(
            cfg.endpoints.callbacks,
            vec![Scheme::WebhookSignature, Scheme::Jwt]
        );
        assert_eq!(cfg.endpoints.eventgrid, vec![Scheme::QuerySecret]);
    }

    #[test]
    fn debug_output_hides_secret_values() {
        let cfg: AuthConfig = serde_json::from_str(
            r#"{"query_secret": {"enabled": true, "secrets": ["query-secret-value-1234"]},
                "webhook_signature": {"enabled": true, "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}}"#,
        )
        .unwrap();
        let printed = format!("{cfg:?} {cfg:#?}");
        assert!(!printed.contains("query-secret-value-1234"), "{printed}");
        assert!(
            !printed.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{printed}"
        );
        assert!(printed.contains("REDACTED"), "{printed}");
    }

    #[tokio::test]
    async fn no_scheme_enabled_is_an_error_naming_auth() {
        let err = Authenticator::from_config(&AuthConfig::default())
            .await
            .unwrap_err();
        assert_eq!(err.key(), "auth");
        assert!(
            err.to_string().starts_with(
                "invalid configuration: auth: no authentication scheme is enabled for endpoint callbacks"
            ),
            "{err}"
        );
        assert!(err.to_string().contains("auth.allow_unauthenticated"));
    }

    #[tokio::test]
    async fn scheme_enabled_but_listed_for_one_endpoint_only_is_an_error_for_the_other() {
        let mut cfg = AuthConfig::default();
        cfg.query_secret.enabled = true;
        cfg.query_secret.secrets = vec![SecretString::from("s3cr3t-value")];
        cfg.endpoints.eventgrid = vec![Scheme::Jwt];
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth");
        assert!(err.to_string().contains("endpoint eventgrid"), "{err}");
    }

    #[tokio::test]
    async fn allow_unauthenticated_alone_starts() {
        let cfg = AuthConfig {
            allow_unauthenticated: true,
            ..AuthConfig::default()
        };
        let auth = Authenticator::from_config(&cfg).await.unwrap();
        assert_eq!(
            auth.enabled_schemes(Endpoint::Callbacks),
            vec![Scheme::Unauthenticated]
        );
    }

    #[tokio::test]
    async fn unauthenticated_cannot_be_listed_as_an_endpoint_scheme() {
        let mut cfg = AuthConfig::default();
        cfg.query_secret.enabled = true;
        cfg.query_secret.secrets = vec![SecretString::from("s3cr3t-value")];
        cfg.endpoints.callbacks.push(Scheme::Unauthenticated);
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.endpoints.callbacks");
    }

    #[tokio::test]
    async fn enabled_query_secret_needs_non_empty_secrets() {
        let mut cfg = AuthConfig::default();
        cfg.query_secret.enabled = true;
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.query_secret.secrets");

        cfg.query_secret.secrets = vec![SecretString::from("ok-secret"), SecretString::from("")];
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.query_secret.secrets[1]");
    }

    #[tokio::test]
    async fn enabled_jwt_needs_audiences_issuers_and_one_jwks_source() {
        let mut cfg = AuthConfig::default();
        cfg.jwt.enabled = true;
        cfg.jwt.jwks_file = Some(crate::auth::testing::fixture_path("jwks_key1.json"));

        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: auth.jwt.audiences: must list at least one audience"
        );

        cfg.jwt.audiences = vec!["resource-id".into()];
        cfg.jwt.issuers.clear();
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt.issuers");

        cfg.jwt.issuers = vec![ACS_ISSUER.into()];
        cfg.jwt.jwks_url = Some("https://example.invalid/keys".into());
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt");

        cfg.jwt.jwks_file = None;
        cfg.jwt.jwks_url = None;
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt");

        cfg.jwt.jwks_url = Some("http://keys.example.invalid/calling/keys".into());
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt.jwks_url");
        assert!(err.message().contains("https"), "{err}");
    }

    #[tokio::test]
    async fn unreadable_or_invalid_jwks_file_is_an_error() {
        let mut cfg = AuthConfig::default();
        cfg.jwt.enabled = true;
        cfg.jwt.audiences = vec!["resource-id".into()];
        cfg.jwt.jwks_file = Some(crate::auth::testing::fixture_path("no-such-jwks.json"));
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt.jwks_file");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, "not json").unwrap();
        cfg.jwt.jwks_file = Some(path.clone());
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt.jwks_file");

        // A well-formed set without a single usable RS256 signing key is a mistake too.
        std::fs::write(
            &path,
            r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}]}"#,
        )
        .unwrap();
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.jwt.jwks_file");
        assert!(err.message().contains("no usable"), "{err}");
    }

    #[tokio::test]
    async fn webhook_secrets_must_be_whsec_base64() {
        let mut cfg = AuthConfig::default();
        cfg.webhook_signature.enabled = true;
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.webhook_signature.secrets");

        cfg.webhook_signature.secrets =
            vec![SecretString::from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.webhook_signature.secrets[0]");
        assert!(err.message().contains("whsec_"), "{err}");

        cfg.webhook_signature.secrets = vec![
            SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            SecretString::from("whsec_not*base64!"),
        ];
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.webhook_signature.secrets[1]");
        assert!(!err.to_string().contains("not*base64"), "{err}");

        cfg.webhook_signature.secrets = vec![SecretString::from("whsec_")];
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.webhook_signature.secrets[0]");

        cfg.webhook_signature.secrets =
            vec![SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
        cfg.webhook_signature.tolerance_seconds = -1;
        let err = Authenticator::from_config(&cfg).await.unwrap_err();
        assert_eq!(err.key(), "auth.webhook_signature.tolerance_seconds");

        cfg.webhook_signature.tolerance_seconds = 300;
        assert!(Authenticator::from_config(&cfg).await.is_ok());
    }
}
