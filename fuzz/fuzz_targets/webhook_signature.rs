//! The Standard Webhooks verifier, through the public `auth::Authenticator`, with a key made from
//! the input itself.
//!
//! Properties: presented headers and body, however made, are accepted only when a `v1` entry is
//! the HMAC-SHA256 of `{id}.{timestamp}.{body}` under the key (computed here independently) and the
//! timestamp is within tolerance; a genuine signature is accepted exactly when its timestamp is
//! within tolerance; and once accepted, the same signature over a changed body, id or timestamp
//! text is refused.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use calltrail::auth::{
    sign_webhook, AuthConfig, AuthError, Authenticator, Credentials, Endpoint, Scheme,
};
use calltrail_fuzz::{block_on, NOW};
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const TOLERANCE: i64 = 300;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: [u8; 24],
    id: &'a str,
    body: &'a [u8],
    /// Seconds between the genuine signature's timestamp and now.
    skew: i16,
    /// What a forger presents.
    forged_timestamp: &'a str,
    forged_signature: &'a str,
    /// Where the genuine body is changed, and to what.
    at: u16,
    byte: u8,
}

fn authenticator(secret: &str) -> Authenticator {
    let mut cfg = AuthConfig::default();
    cfg.webhook_signature.enabled = true;
    cfg.webhook_signature.secrets = vec![secret.to_owned().into()];
    cfg.webhook_signature.tolerance_seconds = TOLERANCE;
    block_on(Authenticator::from_config(&cfg)).expect("a valid configuration")
}

fn verify(
    auth: &Authenticator,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), AuthError> {
    let creds = Credentials {
        webhook_id: Some(id),
        webhook_timestamp: Some(timestamp),
        webhook_signature: Some(signature),
        ..Credentials::default()
    };
    let verified = block_on(auth.verify(Endpoint::Callbacks, &creds, body, NOW))?;
    assert_eq!(verified.scheme(), Scheme::WebhookSignature);
    assert_eq!(
        verified.principal(),
        Some(id),
        "the principal is the webhook id"
    );
    Ok(())
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` holds a `v1` entry that decodes to `expected`.
fn carries(header: &str, expected: &[u8]) -> bool {
    header.split_ascii_whitespace().any(|entry| {
        entry.split_once(',').is_some_and(|(version, sig)| {
            version == "v1"
                && base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                )
                .decode(sig)
                .is_ok_and(|d| d == expected)
        })
    })
}

fuzz_target!(|input: Input<'_>| {
    let secret = format!("whsec_{}", STANDARD.encode(input.key));
    let auth = authenticator(&secret);
    let now = NOW.timestamp();

    // Whatever a forger presents is accepted only with the real MAC, in time.
    if verify(
        &auth,
        input.id,
        input.forged_timestamp,
        input.forged_signature,
        input.body,
    )
    .is_ok()
    {
        assert!(
            carries(
                input.forged_signature,
                &mac(&input.key, input.id, input.forged_timestamp, input.body)
            ),
            "accepted without the key's signature"
        );
        let ts: i64 = input.forged_timestamp.parse().expect("a numeric timestamp");
        assert!((ts - now).abs() <= TOLERANCE, "accepted out of tolerance");
    }

    // A genuine signature is accepted exactly when it is in time (and the id is not empty).
    let ts = now + i64::from(input.skew);
    let timestamp = ts.to_string();
    let signature = sign_webhook(&secret, input.id, ts, input.body).expect("a valid secret");
    assert!(carries(
        &signature,
        &mac(&input.key, input.id, &timestamp, input.body)
    ));
    let genuine = verify(&auth, input.id, &timestamp, &signature, input.body);
    let in_time = i64::from(input.skew).abs() <= TOLERANCE;
    match (&genuine, input.id.is_empty(), in_time) {
        (Err(AuthError::SignatureMalformedHeaders), true, _) => return,
        (Ok(()), false, true) => {}
        (Err(AuthError::SignatureTimestampOutOfTolerance), false, false) => return,
        other => panic!("a genuine signature: {other:?}"),
    }

    // The same signature over anything else is refused.
    let mut body = input.body.to_vec();
    if body.is_empty() {
        body.push(input.byte);
    } else {
        let at = usize::from(input.at) % (body.len() + 1);
        match at.checked_sub(1) {
            // Drop the last byte, or change the one at `at`.
            None => {
                body.pop();
            }
            Some(i) if body[i] == input.byte => body[i] ^= 1,
            Some(i) => body[i] = input.byte,
        }
    }
    assert_eq!(
        verify(&auth, input.id, &timestamp, &signature, &body),
        Err(AuthError::SignatureMismatch),
        "a changed body was accepted"
    );
    let other_id = format!("{}x", input.id);
    assert_eq!(
        verify(&auth, &other_id, &timestamp, &signature, input.body),
        Err(AuthError::SignatureMismatch),
        "a changed id was accepted"
    );
    // The same instant written differently is not the text that was signed.
    let padded = format!("0{timestamp}");
    assert_eq!(
        verify(&auth, input.id, &padded, &signature, input.body),
        Err(AuthError::SignatureMismatch),
        "a changed timestamp text was accepted"
    );
});
