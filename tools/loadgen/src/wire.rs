//! The bytes of one POST as a Standard Webhooks sender puts them on the wire: request line,
//! headers and body in one buffer, so that sending it is one write.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use calltrail_traffic::{decimal, push_decimal};

/// Standard base64; padding optional when decoding the secret, as the verifier accepts it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// HMAC-SHA256 keyed once with the `whsec_` secret: each signature starts from a copy of the keyed
/// state instead of decoding the secret and hashing the key again.
#[derive(Clone)]
pub struct Signer {
    keyed: Hmac<Sha256>,
}

impl Signer {
    /// Errors never echo the secret.
    pub fn new(secret: &str) -> Result<Signer, String> {
        let key = secret
            .strip_prefix("whsec_")
            .and_then(|encoded| BASE64.decode(encoded).ok())
            .filter(|key| !key.is_empty())
            .ok_or("the signing secret is not whsec_ followed by a base64 key")?;
        let keyed = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
        Ok(Signer { keyed })
    }

    /// Appends `v1,<base64 HMAC of "{id}.{timestamp}.{body}">`.
    pub fn push_signature(&self, id: &[u8], timestamp: &[u8], body: &[u8], out: &mut Vec<u8>) {
        let mut mac = self.keyed.clone();
        mac.update(id);
        mac.update(b".");
        mac.update(timestamp);
        mac.update(b".");
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        let mut encoded = [0u8; 44];
        let n = BASE64
            .encode_slice(tag, &mut encoded)
            .expect("44 bytes hold the base64 of 32");
        out.extend_from_slice(b"v1,");
        out.extend_from_slice(&encoded[..n]);
    }
}

/// Writes each POST to one target, signed when there is a secret.
pub struct RequestWriter {
    /// Request line, `host` and `content-type`: the same for every POST.
    head: Vec<u8>,
    signer: Option<Signer>,
}

impl RequestWriter {
    pub fn new(path: &str, authority: &str, signer: Option<Signer>) -> RequestWriter {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\n"
        )
        .into_bytes();
        RequestWriter { head, signer }
    }

    /// Replaces `out` with the whole request: signed at `unix_seconds` with `webhook_id`.
    pub fn write(&self, body: &[u8], webhook_id: &[u8], unix_seconds: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.head);
        if let Some(signer) = &self.signer {
            out.extend_from_slice(b"webhook-id: ");
            out.extend_from_slice(webhook_id);
            out.extend_from_slice(b"\r\nwebhook-timestamp: ");
            let mut buf = [0u8; 20];
            let timestamp = decimal(unix_seconds, &mut buf);
            out.extend_from_slice(timestamp);
            out.extend_from_slice(b"\r\nwebhook-signature: ");
            signer.push_signature(webhook_id, timestamp, body, out);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"content-length: ");
        push_decimal(out, body.len() as u64, 0);
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn signatures_are_those_of_the_service_helper() {
        let signer = Signer::new(SECRET).unwrap();
        for body in [&b""[..], b"{}", &[b'x'; 3000]] {
            let mut out = Vec::new();
            signer.push_signature(b"msg_abc", b"1714567890", body, &mut out);
            let expected =
                calltrail::auth::sign_webhook(SECRET, "msg_abc", 1_714_567_890, body).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn a_secret_that_is_not_whsec_base64_is_refused_without_echoing_it() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_MfKQ9r8G!!!",
            "whsec_",
        ] {
            let error = Signer::new(bad).err().unwrap();
            assert!(!error.contains("MfKQ"), "{error}");
        }
    }

    #[test]
    fn the_request_carries_the_signed_headers_and_the_body() {
        let writer = RequestWriter::new(
            "/api/callbacks",
            "127.0.0.1:8080",
            Some(Signer::new(SECRET).unwrap()),
        );
        let mut out = Vec::new();
        writer.write(b"[{}]", b"msg_1", 1_714_567_890, &mut out);
        let signature =
            calltrail::auth::sign_webhook(SECRET, "msg_1", 1_714_567_890, b"[{}]").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "POST /api/callbacks HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n\
                 webhook-id: msg_1\r\nwebhook-timestamp: 1714567890\r\nwebhook-signature: {signature}\r\n\
                 content-length: 4\r\n\r\n[{{}}]"
            )
        );
        let unsigned = RequestWriter::new("/p", "h:1", None);
        let mut out = Vec::new();
        unsigned.write(b"{}", b"msg_1", 1, &mut out);
        assert_eq!(
            out,
            b"POST /p HTTP/1.1\r\nhost: h:1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
    }
}
