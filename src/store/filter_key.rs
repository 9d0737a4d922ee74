//! Keys of the audit log's per-call filters (`call_filter_keys`, in the `…20261205100001`
//! migration): the projector records, for each call, one key per distinct correlation id and
//! operation context its events carry; `GET /events` finds a value's calls by its key and checks
//! the value itself on their events. calltrail derives the keys it writes (the work stays off the
//! database); the SQL function `calltrail_filter_key` derives the same keys for reads and for the
//! migration's backfill, and a test holds the two equal.

use sha2::{Digest, Sha256};

/// Which column a key stands for: one letter before the value, so equal strings in two columns
/// give different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    CorrelationId,
    OperationContext,
}

impl FilterKind {
    /// The letter `calltrail_filter_key` takes as its `kind`.
    pub fn letter(self) -> &'static str {
        match self {
            FilterKind::CorrelationId => "c",
            FilterKind::OperationContext => "o",
        }
    }
}

/// The first 8 bytes of SHA-256(kind letter ‖ value), as a big-endian signed integer. Two values
/// sharing a key only make a filter look at more calls: the value is always checked.
pub fn filter_key(kind: FilterKind, value: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(kind.letter().as_bytes())
        .chain_update(value.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_values_give_distinct_keys() {
        let c = filter_key(FilterKind::CorrelationId, "9b2e");
        let o = filter_key(FilterKind::OperationContext, "9b2e");
        assert_ne!(c, o);
        assert_ne!(c, filter_key(FilterKind::CorrelationId, "9b2f"));
        assert_eq!(c, filter_key(FilterKind::CorrelationId, "9b2e"));
    }

    #[test]
    fn a_key_is_the_first_eight_bytes_of_the_digest() {
        // SHA-256("c") = 2e7d2c03a9507ae2…: big-endian, so the key of the empty correlation id is
        // that prefix read as a signed integer.
        assert_eq!(
            filter_key(FilterKind::CorrelationId, ""),
            i64::from_be_bytes([0x2e, 0x7d, 0x2c, 0x03, 0xa9, 0x50, 0x7a, 0xe2])
        );
    }
}
