//! Reading GA request bodies: identifiers (`CommunicationIdentifierModel`, with or without
//! `kind`), play sources, tones and bounded numbers, each error naming the field.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::emulator::api::ga::error::GaError;
use crate::emulator::api::input;
use crate::emulator::sim::model::Identifier;
use crate::emulator::sim::PlaySource;

pub type Body = Map<String, Value>;

pub fn object(body: &[u8], empty_ok: bool) -> Result<Body, GaError> {
    Ok(input::object(body, empty_ok)?)
}

pub fn string(map: &Body, name: &str) -> Result<String, GaError> {
    Ok(input::string(map, name)?)
}

pub fn opt_string(map: &Body, name: &str) -> Result<Option<String>, GaError> {
    Ok(input::opt_string(map, name)?)
}

pub fn opt_bool(map: &Body, name: &str) -> Result<Option<bool>, GaError> {
    Ok(input::opt_bool(map, name)?)
}

pub fn http_uri(map: &Body, name: &str) -> Result<String, GaError> {
    Ok(input::http_uri(map, name)?)
}

/// An operation's `operationCallbackUri`, checked as a call's `callbackUri` is: where that
/// operation's events go instead of the call's callbackUri. An `Arc`, as it travels with each of
/// the operation's events (every key of a continuous recognition).
pub fn operation_callback(map: &Body) -> Result<Option<Arc<str>>, GaError> {
    Ok(input::opt_http_uri(map, "operationCallbackUri")?.map(Arc::from))
}

/// An optional nested object.
pub fn opt_object<'a>(map: &'a Body, name: &str) -> Result<Option<&'a Body>, GaError> {
    match input::field(map, name) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(GaError::invalid(format!("{name}: must be an object"))),
    }
}

/// An optional whole number within `min..=max`.
pub fn opt_int(map: &Body, name: &str, min: u64, max: u64) -> Result<Option<u64>, GaError> {
    match input::field(map, name) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(GaError::invalid(format!(
                "{name}: must be a whole number from {min} to {max}"
            ))),
        },
    }
}

/// A required identifier.
pub fn identifier(map: &Body, name: &str) -> Result<Identifier, GaError> {
    match input::field(map, name) {
        Some(v) => parse_identifier(v, name),
        None => Err(GaError::invalid(format!("{name}: is required"))),
    }
}

/// A required array of identifiers; `allow_empty` for `playTo`, where `[]` means everyone.
pub fn identifiers(map: &Body, name: &str, allow_empty: bool) -> Result<Vec<Identifier>, GaError> {
    let items = match input::field(map, name) {
        Some(Value::Array(items)) => items,
        None if allow_empty => return Ok(Vec::new()),
        None => return Err(GaError::invalid(format!("{name}: is required"))),
        Some(_) => {
            return Err(GaError::invalid(format!(
                "{name}: must be an array of identifiers"
            )))
        }
    };
    if items.is_empty() && !allow_empty {
        return Err(GaError::invalid(format!("{name}: must not be empty")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_identifier(v, &format!("{name}[{i}]")))
        .collect()
}

/// A `CommunicationIdentifierModel`: the kind's own sub-object decides (JS says `kind`, Python does
/// not), else `rawId` alone, whose prefix gives the kind.
pub fn parse_identifier(value: &Value, at: &str) -> Result<Identifier, GaError> {
    let Value::Object(map) = value else {
        return Err(GaError::invalid(format!(
            "{at}: must be an identifier object (rawId, communicationUser, phoneNumber, microsoftTeamsUser or microsoftTeamsApp)"
        )));
    };
    const KINDS: [&str; 6] = [
        "communicationUser",
        "phoneNumber",
        "microsoftTeamsUser",
        "microsoftTeamsApp",
        "teamsExtensionUser",
        "unknown",
    ];
    let kind = match input::field(map, "kind") {
        None => None,
        Some(Value::String(k)) => match KINDS.iter().find(|n| n.eq_ignore_ascii_case(k)) {
            Some(k) => Some(*k),
            None => {
                return Err(GaError::invalid(format!(
                    "{at}.kind: must be one of {}",
                    KINDS.join(", ")
                )))
            }
        },
        Some(_) => return Err(GaError::invalid(format!("{at}.kind: must be a string"))),
    };
    let present: Vec<&str> = KINDS[..5]
        .iter()
        .copied()
        .filter(|k| input::field(map, k).is_some())
        .collect();
    if present.len() > 1 {
        return Err(GaError::invalid(format!(
            "{at}: has both {} and {}; an identifier is one kind",
            present[0], present[1]
        )));
    }
    let nested = |outer: &str, inner: &str| -> Result<String, GaError> {
        let value = input::field(map, outer)
            .and_then(Value::as_object)
            .and_then(|o| input::field(o, inner))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        value
            .map(str::to_owned)
            .ok_or_else(|| GaError::invalid(format!("{at}.{outer}.{inner}: is required")))
    };
    let sub = present
        .first()
        .copied()
        .or(kind.filter(|k| *k != "unknown"));
    if let (Some(kind), Some(sub)) = (kind, present.first()) {
        if kind != *sub {
            return Err(GaError::invalid(format!(
                "{at}: kind {kind} does not match its {sub} object"
            )));
        }
    }
    let raw_id = match sub {
        Some("communicationUser") => nested("communicationUser", "id")?,
        Some("phoneNumber") => {
            let number = nested("phoneNumber", "value")?;
            if !is_e164(&number) {
                return Err(GaError::invalid(format!(
                    "{at}.phoneNumber.value: must be an E.164 number such as +14255550123"
                )));
            }
            format!("4:{number}")
        }
        Some("microsoftTeamsUser") => {
            let user = nested("microsoftTeamsUser", "userId")?;
            let cloud = input::field(map, "microsoftTeamsUser")
                .and_then(|o| o.get("cloud"))
                .and_then(Value::as_str)
                .unwrap_or("public");
            match cloud {
                "dod" => format!("8:dod:{user}"),
                "gcch" => format!("8:gcch:{user}"),
                _ => format!("8:orgid:{user}"),
            }
        }
        Some("microsoftTeamsApp") => format!("28:orgid:{}", nested("microsoftTeamsApp", "appId")?),
        Some(_) => raw(map).ok_or_else(|| GaError::invalid(format!("{at}.rawId: is required")))?,
        None => raw(map).ok_or_else(|| {
            GaError::invalid(format!(
                "{at}: needs rawId or one of communicationUser, phoneNumber, microsoftTeamsUser, microsoftTeamsApp"
            ))
        })?,
    };
    Ok(Identifier::from_raw_id(&raw_id))
}

fn raw(map: &Body) -> Option<String> {
    input::field(map, "rawId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (5..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// One `PlaySource`: `{kind: file|text|ssml, file: {uri}, text: {text}, ssml: {ssmlText}}`; the
/// kind is inferred from the sub-object when absent.
pub fn play_source(value: &Value, at: &str) -> Result<PlaySource, GaError> {
    let Value::Object(map) = value else {
        return Err(GaError::invalid(format!(
            "{at}: must be a play source object"
        )));
    };
    let kind = match opt_string(map, "kind")? {
        Some(k) => k.to_ascii_lowercase(),
        None => ["file", "text", "ssml"]
            .into_iter()
            .find(|k| input::field(map, k).is_some())
            .unwrap_or_default()
            .to_owned(),
    };
    let inner = |outer: &str, field: &str| -> Result<String, GaError> {
        input::field(map, outer)
            .and_then(Value::as_object)
            .and_then(|o| input::field(o, field))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GaError::invalid(format!("{at}.{outer}.{field}: is required")))
    };
    match kind.as_str() {
        "file" => {
            let uri = inner("file", "uri")?;
            match url::Url::parse(&uri) {
                Ok(u) if u.has_host() => Ok(PlaySource::File(uri)),
                _ => Err(GaError::invalid(format!(
                    "{at}.file.uri: must be an absolute URI"
                ))),
            }
        }
        "text" => Ok(PlaySource::Speech(inner("text", "text")?)),
        "ssml" => Ok(PlaySource::Speech(inner("ssml", "ssmlText")?)),
        _ => Err(GaError::invalid(format!(
            "{at}.kind: must be file, text or ssml"
        ))),
    }
}

/// A GA tone name (`zero`…`nine`, `asterisk`, `pound`, `a`…`d`; any era's spelling is taken) as
/// a canonical key.
pub fn tone(value: &Value, at: &str) -> Result<char, GaError> {
    value
        .as_str()
        .and_then(crate::events::normalize_tone)
        .and_then(|name| {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => crate::emulator::sim::scenario::tone_of(c),
                _ => None,
            }
        })
        .ok_or_else(|| {
            GaError::invalid(format!(
                "{at}: must be a tone: zero to nine, asterisk, pound, a, b, c or d"
            ))
        })
}

/// An optional array of tones.
pub fn tones(map: &Body, name: &str) -> Result<Option<Vec<char>>, GaError> {
    match input::field(map, name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| tone(v, &format!("{name}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(GaError::invalid(format!(
            "{name}: must be an array of tones"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_come_with_or_without_kind_and_mistakes_are_named() {
        let python = json!({"rawId": "4:+14255550123", "phoneNumber": {"value": "+14255550123"}});
        let js = json!({"kind": "phoneNumber", "phoneNumber": {"value": "+14255550123"}});
        let raw = json!({"rawId": "4:+14255550123"});
        for v in [python, js, raw] {
            assert_eq!(parse_identifier(&v, "t").unwrap().raw_id, "4:+14255550123");
        }
        let user = json!({"communicationUser": {"id": "8:acs:r_u"}});
        assert_eq!(parse_identifier(&user, "t").unwrap().raw_id, "8:acs:r_u");
        let bad = [
            (json!("4:+1"), "identifier object"),
            (json!({}), "needs rawId"),
            (
                json!({"kind": "phoneNumber"}),
                "phoneNumber.value: is required",
            ),
            (json!({"phoneNumber": {"value": "12"}}), "E.164"),
            (
                json!({"kind": "martian", "rawId": "x"}),
                "kind: must be one of",
            ),
            (
                json!({"kind": "communicationUser", "phoneNumber": {"value": "+14255550123"}}),
                "does not match",
            ),
            (
                json!({"communicationUser": {"id": "8:acs:x"}, "phoneNumber": {"value": "+1425555"}}),
                "one kind",
            ),
        ];
        for (value, needle) in bad {
            let err = parse_identifier(&value, "t").unwrap_err();
            assert!(err.message.contains(needle), "{value}: {}", err.message);
            assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn play_sources_and_tones_are_read_in_any_spelling() {
        let file = json!({"kind": "file", "file": {"uri": "https://x.org/a.wav"}});
        assert_eq!(
            play_source(&file, "p").unwrap(),
            PlaySource::File("https://x.org/a.wav".into())
        );
        let text = json!({"text": {"text": "hello"}});
        assert_eq!(
            play_source(&text, "p").unwrap(),
            PlaySource::Speech("hello".into())
        );
        assert!(play_source(&json!({"kind": "file"}), "p").is_err());
        assert_eq!(tone(&json!("pound"), "t").unwrap(), '#');
        assert_eq!(tone(&json!("five"), "t").unwrap(), '5');
        assert_eq!(tone(&json!("asterisk"), "t").unwrap(), '*');
        assert!(tone(&json!("eleven"), "t").is_err());
    }
}
