//! Helpers for tests: they mint credentials the verifiers accept. Built only for unit tests and
//! with the `testing` feature, which the package's dev-dependency on itself turns on for its
//! integration tests and benches: never part of a production build.

use jsonwebtoken::{Algorithm, EncodingKey, Header};

pub use crate::auth::webhook_signature::sign_webhook;

/// Signs `claims` with RS256 and puts `kid` in the header.
///
/// # Panics
/// If `private_pem` is not an RSA private key in PEM (PKCS#1 or PKCS#8) or the
/// claims cannot be serialised: both are mistakes in the calling test.
pub fn make_jwt(private_pem: &[u8], kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(private_pem).expect("an RSA private key in PEM");
    jsonwebtoken::encode(&header, claims, &key).expect("claims that serialise")
}

/// Path of a file among the committed test keys.
#[cfg(test)]
pub(crate) fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
