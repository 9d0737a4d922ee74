//! Reading request bodies: JSON objects, identifiers and strings, each error naming the field.

use serde_json::{Map, Value};

use crate::emulator::api::error::ApiError;
use crate::emulator::sim::model::Identifier;

/// The body as a JSON object; an empty body is an empty object when `empty_ok`.
pub fn object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(Map::new())
        } else {
            Err(ApiError::bad_request(
                "the body is empty; a JSON object is needed",
            ))
        };
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// A field by name, ignoring case (the seed's samples use camelCase, .NET sends PascalCase).
pub fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

pub fn opt_string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{name}: must be a string"))),
    }
}

pub fn string(map: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match opt_string(map, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!("{name}: must not be empty"))),
        None => Err(ApiError::bad_request(format!("{name}: is required"))),
    }
}

pub fn opt_bool(map: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!(
            "{name}: must be true or false"
        ))),
    }
}

/// A non-empty array of identifiers.
pub fn identifiers(map: &Map<String, Value>, name: &str) -> Result<Vec<Identifier>, ApiError> {
    let Some(value) = field(map, name) else {
        return Err(ApiError::bad_request(format!("{name}: is required")));
    };
    let Value::Array(items) = value else {
        return Err(ApiError::bad_request(format!(
            "{name}: must be an array of identifiers"
        )));
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(format!("{name}: must not be empty")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| identifier(v, &format!("{name}[{i}]")))
        .collect()
}

/// An identifier: a raw id string, or an object with `rawId` or one of `communicationUser.id`,
/// `phoneNumber.value`, `microsoftTeamsUser.userId` (`kind` is optional: Python omits it).
pub fn identifier(value: &Value, at: &str) -> Result<Identifier, ApiError> {
    let raw_id = match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Object(map) => {
            let nested = |outer: &str, inner: &str| {
                field(map, outer)
                    .and_then(Value::as_object)
                    .and_then(|o| field(o, inner))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            field(map, "rawId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| nested("communicationUser", "id"))
                .or_else(|| nested("phoneNumber", "value").map(|v| format!("4:{v}")))
                .or_else(|| nested("microsoftTeamsUser", "userId").map(|v| format!("8:orgid:{v}")))
        }
        _ => None,
    };
    match raw_id {
        Some(raw) if !raw.is_empty() => Ok(Identifier::from_raw_id(&raw)),
        _ => Err(ApiError::bad_request(format!(
            "{at}: must be a raw id string or an identifier object with rawId, communicationUser.id, phoneNumber.value or microsoftTeamsUser.userId"
        ))),
    }
}

/// An absolute http(s) URI.
pub fn http_uri(map: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    let uri = string(map, name)?;
    check_http_uri(name, uri)
}

/// An absolute http(s) URI when the field is present (not null), checked as [`http_uri`] checks
/// a required one.
pub fn opt_http_uri(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match opt_string(map, name)? {
        Some(uri) => check_http_uri(name, uri).map(Some),
        None => Ok(None),
    }
}

fn check_http_uri(name: &str, uri: String) -> Result<String, ApiError> {
    match url::Url::parse(&uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(uri),
        _ => Err(ApiError::bad_request(format!(
            "{name}: must be an absolute http or https URI"
        ))),
    }
}
