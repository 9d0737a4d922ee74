//! An event's identity in the log: 32 bytes of SHA-256 over its id, source and canonical content
//! (`canonical`), the primary key of `event_dedup`. One event has one key whatever the
//! wire format and however often it is delivered.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DedupKey(pub(crate) [u8; 32]);

impl DedupKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for DedupKey {
    fn from(bytes: [u8; 32]) -> Self {
        DedupKey(bytes)
    }
}

impl AsRef<[u8]> for DedupKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A key equals the digest it was made from.
impl PartialEq<[u8; 32]> for DedupKey {
    fn eq(&self, other: &[u8; 32]) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DedupKey({})", hex::encode(self.0))
    }
}

/// Lower-case hex, as the call model's stored fold states have always held it.
impl Serialize for DedupKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::serde::serialize(self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for DedupKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        hex::serde::deserialize(deserializer).map(DedupKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_hex_the_stored_fold_states_hold() {
        let key = DedupKey::from([0xab; 32]);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<DedupKey>(&json).unwrap(), key);
        assert!(serde_json::from_str::<DedupKey>("\"abcd\"").is_err());
    }
}
