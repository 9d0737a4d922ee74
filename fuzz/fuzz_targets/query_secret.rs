//! The query-secret verifier, through the public `auth::Authenticator`, with secrets made from the
//! input itself.
//!
//! Properties: a presented value is accepted exactly when it equals a configured secret byte for
//! byte, and the principal names the first secret it equals (`secret#N`).
#![no_main]

use calltrail::auth::{AuthConfig, AuthError, Authenticator, Credentials, Endpoint, Scheme};
use calltrail_fuzz::{block_on, NOW};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secrets: Vec<&'a str>,
    presented: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let mut cfg = AuthConfig::default();
    cfg.query_secret.enabled = true;
    cfg.query_secret.secrets = input
        .secrets
        .iter()
        .map(|s| (*s).to_owned().into())
        .collect();
    let Some(auth) = block_on(Authenticator::from_config(&cfg)).ok() else {
        // Refused only for no secret or an empty one.
        assert!(input.secrets.is_empty() || input.secrets.iter().any(|s| s.is_empty()));
        return;
    };
    assert!(!input.secrets.is_empty() && input.secrets.iter().all(|s| !s.is_empty()));
    let creds = Credentials {
        query_secret: Some(input.presented),
        ..Credentials::default()
    };
    let got = block_on(auth.verify(Endpoint::Callbacks, &creds, b"{}", NOW));
    let position = input.secrets.iter().position(|s| *s == input.presented);
    match (got, position) {
        (Ok(verified), Some(i)) => {
            assert_eq!(verified.scheme(), Scheme::QuerySecret);
            assert_eq!(
                verified.principal(),
                Some(format!("secret#{}", i + 1).as_str())
            );
        }
        (Err(AuthError::QuerySecretMismatch), None) => {}
        (got, position) => panic!(
            "presented {:?}: {got:?}, position {position:?}",
            input.presented
        ),
    }
});
