//! Authentication of callback and Event Grid deliveries.
//!
//! Every delivery is authenticated on its raw bytes before the body is parsed: the
//! signature schemes sign those exact bytes, and re-serialised JSON would not match.
//! The only way to get at a body afterwards is [`Verified`], which only this module
//! can build, so unverified bytes cannot reach parsing or storage by mistake.
//!
//! Three schemes are supported, chosen by configuration and, per request, by the
//! credentials it presents (strongest first):
//!
//! 1. any `webhook-*` header → Standard Webhooks HMAC-SHA256 signature;
//! 2. `Authorization` header → an ACS-signed RS256 JWT (`Bearer` only);
//! 3. `secret` query parameter → shared secret compared in constant time.
//!
//! The presented scheme is the only one tried: a request whose credentials fail, or
//! whose scheme is not enabled for the endpoint, is refused rather than falling
//! through to a weaker scheme.

pub mod config;
mod error;
mod jwks;
mod jwt;
mod query_secret;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tokens;
pub mod webhook_signature;

use std::fmt;

pub use config::{
    AuthConfig, ConfigError, EndpointSchemes, JwtConfig, QuerySecretConfig, WebhookSignatureConfig,
};
pub use error::AuthError;
pub use webhook_signature::sign_webhook;

use jwt::JwtVerifier;
use query_secret::QuerySecrets;
use webhook_signature::{WebhookHeaders, WebhookVerifier};

/// The credentials of one request, taken from the HTTP edge as plain values (no
/// framework types).
#[derive(Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `secret` query parameter, already percent-decoded.
    pub query_secret: Option<&'a str>,
    /// The `Authorization` header value.
    pub authorization: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub webhook_timestamp: Option<&'a str>,
    pub webhook_signature: Option<&'a str>,
}

impl fmt::Debug for Credentials<'_> {
    /// Shows which credentials are present, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("query_secret", &self.query_secret.is_some())
            .field("authorization", &self.authorization.is_some())
            .field("webhook_id", &self.webhook_id)
            .field("webhook_timestamp", &self.webhook_timestamp)
            .field("webhook_signature", &self.webhook_signature.is_some())
            .finish()
    }
}

/// How a delivery was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    QuerySecret,
    Jwt,
    WebhookSignature,
    Unauthenticated,
}

impl Scheme {
    /// The configuration spelling, also used in logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scheme::QuerySecret => "query_secret",
            Scheme::Jwt => "jwt",
            Scheme::WebhookSignature => "webhook_signature",
            Scheme::Unauthenticated => "unauthenticated",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The receiving endpoints, which may accept different schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Call Automation callbacks (the callback URI).
    Callbacks,
    /// Event Grid deliveries (IncomingCall, RecordingFileStatusUpdated).
    EventGrid,
}

impl Endpoint {
    /// The configuration spelling (`auth.endpoints.<name>`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Endpoint::Callbacks => "callbacks",
            Endpoint::EventGrid => "eventgrid",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Proof that a body was authenticated. Its fields are private and it has no public
/// constructor, so only [`Authenticator::verify`] can produce one. The body is moved
/// in and out unchanged (no copy), whatever byte container the caller uses.
pub struct Verified<B> {
    body: B,
    scheme: Scheme,
    principal: Option<String>,
}

impl<B> Verified<B> {
    pub fn body(&self) -> &B {
        &self.body
    }

    pub fn into_body(self) -> B {
        self.body
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Who the delivery came from, for logs: `secret#N` (1-based position of the
    /// matching query secret), the JWT `sub` (or `iss`), or the `webhook-id`. Never a
    /// secret, token or signature. `None` for unauthenticated deliveries.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The principal, taken: for a caller done with the body.
    pub fn into_principal(self) -> Option<String> {
        self.principal
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for Verified<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("body_len", &self.body.as_ref().len())
            .field("scheme", &self.scheme)
            .field("principal", &self.principal)
            .finish()
    }
}

/// Checks deliveries against the configured schemes.
pub struct Authenticator {
    allow_unauthenticated: bool,
    query_secret: Option<QuerySecrets>,
    jwt: Option<JwtVerifier>,
    webhook_signature: Option<WebhookVerifier>,
    /// Schemes enabled globally and listed for the endpoint, in canonical order.
    callbacks: Vec<Scheme>,
    eventgrid: Vec<Scheme>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("callbacks", &self.enabled_schemes(Endpoint::Callbacks))
            .field("eventgrid", &self.enabled_schemes(Endpoint::EventGrid))
            .finish_non_exhaustive()
    }
}

const SCHEMES: [Scheme; 3] = [Scheme::QuerySecret, Scheme::Jwt, Scheme::WebhookSignature];

impl Authenticator {
    /// Builds from configuration, validating it: secrets well formed, JWT audiences and
    /// issuers present, the JWKS file readable (a JWKS URL that cannot be fetched yet
    /// is only logged and retried later), and every endpoint accepting at least one
    /// scheme unless `allow_unauthenticated` is set. Errors name the config key.
    pub async fn from_config(cfg: &AuthConfig) -> Result<Authenticator, ConfigError> {
        let mut accepted = Vec::with_capacity(2);
        for endpoint in [Endpoint::Callbacks, Endpoint::EventGrid] {
            let listed = match endpoint {
                Endpoint::Callbacks => &cfg.endpoints.callbacks,
                Endpoint::EventGrid => &cfg.endpoints.eventgrid,
            };
            if listed.contains(&Scheme::Unauthenticated) {
                return Err(ConfigError::new(
                    format!("auth.endpoints.{endpoint}"),
                    "unauthenticated is not a scheme to list; set auth.allow_unauthenticated instead",
                ));
            }
            let schemes: Vec<Scheme> = SCHEMES
                .into_iter()
                .filter(|s| listed.contains(s) && cfg.scheme_enabled(*s))
                .collect();
            if schemes.is_empty() && !cfg.allow_unauthenticated {
                return Err(ConfigError::new(
                    "auth",
                    format!(
                        "no authentication scheme is enabled for endpoint {endpoint}; \
                         enable one or set auth.allow_unauthenticated for development"
                    ),
                ));
            }
            accepted.push(schemes);
        }
        let eventgrid = accepted.pop().unwrap_or_default();
        let callbacks = accepted.pop().unwrap_or_default();

        let query_secret = if cfg.query_secret.enabled {
            Some(QuerySecrets::from_config(&cfg.query_secret.secrets)?)
        } else {
            None
        };
        let webhook_signature = if cfg.webhook_signature.enabled {
            Some(WebhookVerifier::from_config(
                &cfg.webhook_signature.secrets,
                cfg.webhook_signature.tolerance_seconds,
            )?)
        } else {
            None
        };
        // Last, because it may read a file or go to the network.
        let jwt = if cfg.jwt.enabled {
            Some(JwtVerifier::from_config(&cfg.jwt).await?)
        } else {
            None
        };

        if cfg.allow_unauthenticated {
            tracing::warn!(
                "auth.allow_unauthenticated is set: deliveries without credentials are accepted"
            );
        }
        Ok(Authenticator {
            allow_unauthenticated: cfg.allow_unauthenticated,
            query_secret,
            jwt,
            webhook_signature,
            callbacks,
            eventgrid,
        })
    }

    /// Which schemes `endpoint` accepts, ending with [`Scheme::Unauthenticated`] when
    /// deliveries without credentials are let through.
    pub fn enabled_schemes(&self, endpoint: Endpoint) -> Vec<Scheme> {
        let mut schemes = self.accepted(endpoint).to_vec();
        if self.allow_unauthenticated {
            schemes.push(Scheme::Unauthenticated);
        }
        schemes
    }

    fn accepted(&self, endpoint: Endpoint) -> &[Scheme] {
        match endpoint {
            Endpoint::Callbacks => &self.callbacks,
            Endpoint::EventGrid => &self.eventgrid,
        }
    }

    /// Authenticates one delivery to `endpoint` from its credentials and raw `body`,
    /// with `now` as the current time for token lifetimes and signature timestamps.
    pub async fn verify<B: AsRef<[u8]>>(
        &self,
        endpoint: Endpoint,
        creds: &Credentials<'_>,
        body: B,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Verified<B>, AuthError> {
        let admission = self.before_body(endpoint, creds, now).await?;
        self.verify_body(admission, creds, body, now)
    }

    /// Everything that can be checked before the body is read: a scheme is presented and enabled
    /// for `endpoint`; a query secret or JWT (which bind no body) is valid; Standard Webhooks
    /// headers are well formed and their timestamp within tolerance. A stranger is thus refused
    /// before sending a byte of body, and [`Admission::authenticated`] says whether the sender is
    /// already known.
    pub async fn before_body(
        &self,
        endpoint: Endpoint,
        creds: &Credentials<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Admission, AuthError> {
        let Some(presented) = Presented::select(creds)? else {
            return if self.allow_unauthenticated {
                Ok(Admission {
                    scheme: Scheme::Unauthenticated,
                    principal: None,
                })
            } else {
                Err(AuthError::MissingCredentials)
            };
        };
        let scheme = presented.scheme();
        if !self.accepted(endpoint).contains(&scheme) {
            return Err(AuthError::SchemeNotEnabled(scheme));
        }
        // The verifiers exist for every accepted scheme; the `ok_or` only keeps a
        // future inconsistency failing closed instead of panicking.
        let not_enabled = AuthError::SchemeNotEnabled(scheme);
        let now = now.timestamp();
        let principal = match presented {
            Presented::Webhook(headers) => {
                self.webhook_signature
                    .as_ref()
                    .ok_or(not_enabled)?
                    .check_headers(&headers, now)?;
                None
            }
            Presented::Bearer(token) => Some(
                self.jwt
                    .as_ref()
                    .ok_or(not_enabled)?
                    .verify(token, now)
                    .await?,
            ),
            Presented::QuerySecret(secret) => Some(
                self.query_secret
                    .as_ref()
                    .ok_or(not_enabled)?
                    .verify(secret)?,
            ),
        };
        Ok(Admission { scheme, principal })
    }

    /// Completes what [`Authenticator::before_body`] admitted: checks the body's signature
    /// where the scheme signs it.
    pub fn verify_body<B: AsRef<[u8]>>(
        &self,
        admission: Admission,
        creds: &Credentials<'_>,
        body: B,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Verified<B>, AuthError> {
        let principal = match admission.scheme {
            Scheme::WebhookSignature => {
                let Some(Presented::Webhook(headers)) = Presented::select(creds)? else {
                    return Err(AuthError::MissingCredentials);
                };
                Some(
                    self.webhook_signature
                        .as_ref()
                        .ok_or(AuthError::SchemeNotEnabled(admission.scheme))?
                        .verify(&headers, body.as_ref(), now.timestamp())?,
                )
            }
            _ => admission.principal,
        };
        Ok(Verified {
            body,
            scheme: admission.scheme,
            principal,
        })
    }
}

/// A delivery admitted before its body was read: see [`Authenticator::before_body`].
#[derive(Debug)]
pub struct Admission {
    scheme: Scheme,
    principal: Option<String>,
}

impl Admission {
    /// The sender is already authenticated (query secret or JWT): nothing of the body is needed
    /// to know who it is. False for a signature still to check, or no credentials at all.
    pub fn authenticated(&self) -> bool {
        matches!(self.scheme, Scheme::QuerySecret | Scheme::Jwt)
    }
}

/// The credential a request presents, after choosing the strongest one.
enum Presented<'a> {
    Webhook(WebhookHeaders<'a>),
    Bearer(&'a str),
    QuerySecret(&'a str),
}

impl<'a> Presented<'a> {
    /// `None` when the request presents no credentials at all.
    fn select(creds: &Credentials<'a>) -> Result<Option<Self>, AuthError> {
        if creds.webhook_id.is_some()
            || creds.webhook_timestamp.is_some()
            || creds.webhook_signature.is_some()
        {
            return Ok(Some(Presented::Webhook(WebhookHeaders {
                id: creds.webhook_id,
                timestamp: creds.webhook_timestamp,
                signature: creds.webhook_signature,
            })));
        }
        if let Some(value) = creds.authorization {
            // An Authorization header we cannot check (Basic, …) is still a credential:
            // refusing it is the fail-closed choice, ignoring it would let it pass as
            // unauthenticated or fall through to the query secret.
            return bearer_token(value)
                .map(|token| Some(Presented::Bearer(token)))
                .ok_or(AuthError::UnsupportedAuthorizationScheme);
        }
        Ok(creds.query_secret.map(Presented::QuerySecret))
    }

    fn scheme(&self) -> Scheme {
        match self {
            Presented::Webhook(_) => Scheme::WebhookSignature,
            Presented::Bearer(_) => Scheme::Jwt,
            Presented::QuerySecret(_) => Scheme::QuerySecret,
        }
    }
}

/// The token of `Bearer <token>` (scheme name case-insensitive, RFC 7235); an empty
/// token is returned as such and refused by the JWT check as malformed.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;
    use crate::auth::config::ACS_ISSUER;
    use crate::auth::testing::{fixture, fixture_path, make_jwt};

    const NOW: i64 = 1_700_000_000;
    const AUDIENCE: &str = "5d9a1f42-0c2b-4c8e-9a7e-6c1f2b3d4e5f";
    const QUERY_SECRET_1: &str = "first-query-secret-0123";
    const QUERY_SECRET_2: &str = "second-query-secret-4567";
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &[u8] = br#"[{"type":"Microsoft.Communication.CallConnected"}]"#;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    fn all_enabled() -> AuthConfig {
        let mut cfg = AuthConfig::default();
        cfg.query_secret.enabled = true;
        cfg.query_secret.secrets = vec![
            SecretString::from(QUERY_SECRET_1),
            SecretString::from(QUERY_SECRET_2),
        ];
        cfg.jwt.enabled = true;
        cfg.jwt.audiences = vec![AUDIENCE.to_owned()];
        cfg.jwt.jwks_file = Some(fixture_path("jwks_key1.json"));
        cfg.webhook_signature.enabled = true;
        cfg.webhook_signature.secrets = vec![SecretString::from(WHSEC)];
        cfg
    }

    async fn authenticator(cfg: AuthConfig) -> Authenticator {
        Authenticator::from_config(&cfg).await.unwrap()
    }

    fn jwt() -> String {
        make_jwt(
            &fixture("jwt_key1.pem"),
            "key-1",
            &json!({"iss": ACS_ISSUER, "aud": AUDIENCE, "sub": "acs", "exp": NOW + 300}),
        )
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    fn query(secret: &str) -> Credentials<'_> {
        Credentials {
            query_secret: Some(secret),
            ..Credentials::default()
        }
    }

    #[tokio::test]
    async fn query_secret_first_or_second_is_accepted() {
        let auth = authenticator(all_enabled()).await;
        let v = auth
            .verify(Endpoint::Callbacks, &query(QUERY_SECRET_1), BODY, now())
            .await
            .unwrap();
        assert_eq!(v.scheme(), Scheme::QuerySecret);
        assert_eq!(v.principal(), Some("secret#1"));
        assert_eq!(*v.body(), BODY);
        let v = auth
            .verify(Endpoint::EventGrid, &query(QUERY_SECRET_2), BODY, now())
            .await
            .unwrap();
        assert_eq!(v.principal(), Some("secret#2"));
    }

    #[tokio::test]
    async fn query_secret_mismatch_or_missing_is_refused() {
        let auth = authenticator(all_enabled()).await;
        let err = auth
            .verify(
                Endpoint::Callbacks,
                &query("first-query-secret-012"),
                BODY,
                now(),
            )
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::QuerySecretMismatch);
        assert!(!err.to_string().contains("first-query-secret"));
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &Credentials::default(), BODY, now())
                .await
                .unwrap_err(),
            AuthError::MissingCredentials
        );
    }

    #[tokio::test]
    async fn body_is_handed_back_without_a_copy() {
        let auth = authenticator(all_enabled()).await;
        let body = BODY.to_vec();
        let address = body.as_ptr();
        let v = auth
            .verify(Endpoint::Callbacks, &query(QUERY_SECRET_1), body, now())
            .await
            .unwrap();
        assert!(format!("{v:?}").contains(&format!("body_len: {}", BODY.len())));
        let body = v.into_body();
        assert_eq!(body.as_ptr(), address);
        assert_eq!(body, BODY);
    }

    #[tokio::test]
    async fn jwt_and_webhook_signature_pass_through_verify() {
        let auth = authenticator(all_enabled()).await;
        let authorization = bearer(&jwt());
        let creds = Credentials {
            authorization: Some(&authorization),
            ..Credentials::default()
        };
        let v = auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .unwrap();
        assert_eq!((v.scheme(), v.principal()), (Scheme::Jwt, Some("acs")));

        // The bearer scheme name is case-insensitive.
        let lower = format!("bearer {}", jwt());
        let creds = Credentials {
            authorization: Some(&lower),
            ..Credentials::default()
        };
        assert!(auth
            .verify(Endpoint::EventGrid, &creds, BODY, now())
            .await
            .is_ok());

        let signature = sign_webhook(WHSEC, "msg_1", NOW, BODY).unwrap();
        let ts = NOW.to_string();
        let creds = Credentials {
            webhook_id: Some("msg_1"),
            webhook_timestamp: Some(&ts),
            webhook_signature: Some(&signature),
            ..Credentials::default()
        };
        let v = auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .unwrap();
        assert_eq!(
            (v.scheme(), v.principal()),
            (Scheme::WebhookSignature, Some("msg_1"))
        );
        // The signature covers the raw bytes: an equivalent JSON re-serialisation fails.
        let reserialised = br#"[{"type": "Microsoft.Communication.CallConnected"}]"#;
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &creds, reserialised, now())
                .await
                .unwrap_err(),
            AuthError::SignatureMismatch
        );
    }

    #[tokio::test]
    async fn strongest_presented_scheme_decides_without_fall_through() {
        let auth = authenticator(all_enabled()).await;
        let authorization = bearer(&jwt());
        // A lone webhook header selects the signature scheme, which then fails even
        // though a valid token and a valid query secret are also present.
        let creds = Credentials {
            query_secret: Some(QUERY_SECRET_1),
            authorization: Some(&authorization),
            webhook_id: Some("msg_1"),
            ..Credentials::default()
        };
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &creds, BODY, now())
                .await
                .unwrap_err(),
            AuthError::SignatureMalformedHeaders
        );
        // A bad token is not rescued by a good query secret.
        let creds = Credentials {
            query_secret: Some(QUERY_SECRET_1),
            authorization: Some("Bearer not.a.jwt"),
            ..Credentials::default()
        };
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &creds, BODY, now())
                .await
                .unwrap_err(),
            AuthError::JwtMalformed
        );
        // A good token with a wrong query secret beside it passes on the token.
        let creds = Credentials {
            query_secret: Some("wrong"),
            authorization: Some(&authorization),
            ..Credentials::default()
        };
        let v = auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .unwrap();
        assert_eq!(v.scheme(), Scheme::Jwt);
    }

    #[tokio::test]
    async fn non_bearer_authorization_is_refused() {
        let mut cfg = all_enabled();
        cfg.allow_unauthenticated = true;
        let auth = authenticator(cfg).await;
        for value in ["Basic dXNlcjpwYXNz", "", "Bearer", "Token abc"] {
            let creds = Credentials {
                query_secret: Some(QUERY_SECRET_1),
                authorization: Some(value),
                ..Credentials::default()
            };
            let err = auth
                .verify(Endpoint::Callbacks, &creds, BODY, now())
                .await
                .unwrap_err();
            // "Bearer" with no token is a bearer credential that fails as malformed.
            let expected = if value == "Bearer" {
                AuthError::JwtMalformed
            } else {
                AuthError::UnsupportedAuthorizationScheme
            };
            assert_eq!(err, expected, "{value:?}");
        }
    }

    #[tokio::test]
    async fn scheme_not_enabled_for_endpoint_is_refused_even_with_valid_credentials() {
        let mut cfg = all_enabled();
        cfg.endpoints.eventgrid = vec![Scheme::QuerySecret];
        let auth = authenticator(cfg).await;
        let authorization = bearer(&jwt());
        let creds = Credentials {
            authorization: Some(&authorization),
            ..Credentials::default()
        };
        assert!(auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .is_ok());
        assert_eq!(
            auth.verify(Endpoint::EventGrid, &creds, BODY, now())
                .await
                .unwrap_err(),
            AuthError::SchemeNotEnabled(Scheme::Jwt)
        );
        assert_eq!(
            auth.enabled_schemes(Endpoint::EventGrid),
            vec![Scheme::QuerySecret]
        );

        // Listed for the endpoint but switched off globally: refused too.
        let mut cfg = all_enabled();
        cfg.webhook_signature.enabled = false;
        let auth = authenticator(cfg).await;
        let signature = sign_webhook(WHSEC, "msg_1", NOW, BODY).unwrap();
        let ts = NOW.to_string();
        let creds = Credentials {
            webhook_id: Some("msg_1"),
            webhook_timestamp: Some(&ts),
            webhook_signature: Some(&signature),
            ..Credentials::default()
        };
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &creds, BODY, now())
                .await
                .unwrap_err(),
            AuthError::SchemeNotEnabled(Scheme::WebhookSignature)
        );
        assert_eq!(
            auth.enabled_schemes(Endpoint::Callbacks),
            vec![Scheme::QuerySecret, Scheme::Jwt]
        );
    }

    #[tokio::test]
    async fn allow_unauthenticated_passes_only_requests_without_credentials() {
        let mut cfg = all_enabled();
        cfg.allow_unauthenticated = true;
        let auth = authenticator(cfg).await;
        let v = auth
            .verify(Endpoint::Callbacks, &Credentials::default(), BODY, now())
            .await
            .unwrap();
        assert_eq!(v.scheme(), Scheme::Unauthenticated);
        assert_eq!(v.principal(), None);
        assert_eq!(
            auth.enabled_schemes(Endpoint::EventGrid),
            vec![
                Scheme::QuerySecret,
                Scheme::Jwt,
                Scheme::WebhookSignature,
                Scheme::Unauthenticated
            ]
        );

        // Presented but wrong credentials are still checked, and refused.
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &query("wrong"), BODY, now())
                .await
                .unwrap_err(),
            AuthError::QuerySecretMismatch
        );
        let creds = Credentials {
            authorization: Some("Bearer a.b.c"),
            ..Credentials::default()
        };
        assert!(auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .is_err());
        let creds = Credentials {
            webhook_signature: Some("v1,AAAA"),
            ..Credentials::default()
        };
        assert!(auth
            .verify(Endpoint::Callbacks, &creds, BODY, now())
            .await
            .is_err());
    }

    #[tokio::test]
    async fn allow_unauthenticated_does_not_open_a_scheme_that_is_not_enabled() {
        let cfg = AuthConfig {
            allow_unauthenticated: true,
            ..AuthConfig::default()
        };
        let auth = authenticator(cfg).await;
        assert_eq!(
            auth.verify(Endpoint::Callbacks, &query("anything"), BODY, now())
                .await
                .unwrap_err(),
            AuthError::SchemeNotEnabled(Scheme::QuerySecret)
        );
    }

    #[test]
    fn debug_output_never_shows_credential_values() {
        let creds = Credentials {
            query_secret: Some("query-secret-value"),
            authorization: Some("Bearer token-value"),
            webhook_id: Some("msg_1"),
            webhook_timestamp: Some("1614265330"),
            webhook_signature: Some("v1,signature-value"),
        };
        let printed = format!("{creds:?}");
        for secret in ["query-secret-value", "token-value", "signature-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("msg_1"));
    }

    #[test]
    fn scheme_names_match_their_serde_form() {
        for scheme in [
            Scheme::QuerySecret,
            Scheme::Jwt,
            Scheme::WebhookSignature,
            Scheme::Unauthenticated,
        ] {
            assert_eq!(
                serde_json::to_string(&scheme).unwrap(),
                format!("\"{}\"", scheme.as_str())
            );
        }
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer"), Some(""));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
