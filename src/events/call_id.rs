//! A call's id (`callConnectionId`, A1's `CallLegId`): the key every part of the call model is
//! filed under, from the parsed event through the store to the projection. A type of its own, so
//! that it cannot be mistaken for the other ids an event carries (server call id, correlation id,
//! participant ids), which are strings too.

use std::borrow::Borrow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CallId(String);

impl CallId {
    pub fn new(id: impl Into<String>) -> CallId {
        CallId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Maps and sorted lists keyed by call id can be searched with a plain `&str` (ordering and hashing
/// are the string's own).
impl Borrow<str> for CallId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Read as the string it is (a `&CallId` is a `&str` wherever text is wanted); the other way, a
/// string becomes a call id only by saying so (`CallId::new`, `into()`).
impl std::ops::Deref for CallId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for CallId {
    fn from(id: String) -> CallId {
        CallId(id)
    }
}

impl From<&str> for CallId {
    fn from(id: &str) -> CallId {
        CallId(id.to_owned())
    }
}
