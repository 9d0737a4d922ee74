//! Communication identifiers: who a participant, caller or transfer target is.
//!
//! The stable key for a participant is its raw id (`4:+E164`, `8:acs:…`,
//! `8:orgid:…`, `28:…`). Senders give either a structured object with or
//! without `rawId`, or (older payloads) just the raw id string, so the raw id
//! is derived when it is missing and the kind is inferred when it is not said.

use crate::events::error::{Ctx, ParseError};
use crate::events::fields::{Node, Path};
use crate::events::value::Value;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identifier {
    pub raw_id: String,
    pub kind: IdentifierKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    CommunicationUser,
    PhoneNumber,
    MicrosoftTeamsUser,
    MicrosoftTeamsApp,
    Unknown,
}

const RAW_ID_PREFIXES: &[(&str, IdentifierKind)] = &[
    ("4:", IdentifierKind::PhoneNumber),
    ("8:acs:", IdentifierKind::CommunicationUser),
    ("8:spool:", IdentifierKind::CommunicationUser),
    ("8:gcch-acs:", IdentifierKind::CommunicationUser),
    ("8:dod-acs:", IdentifierKind::CommunicationUser),
    ("8:orgid:", IdentifierKind::MicrosoftTeamsUser),
    ("8:teamsvisitor:", IdentifierKind::MicrosoftTeamsUser),
    ("8:gcch:", IdentifierKind::MicrosoftTeamsUser),
    ("8:dod:", IdentifierKind::MicrosoftTeamsUser),
    ("28:", IdentifierKind::MicrosoftTeamsApp),
];

impl IdentifierKind {
    /// Infers the kind from the raw id's prefix, for payloads that do not say.
    pub fn from_raw_id(raw_id: &str) -> Self {
        RAW_ID_PREFIXES
            .iter()
            .find(|(prefix, _)| starts_with_ignore_case(raw_id, prefix))
            .map_or(IdentifierKind::Unknown, |(_, kind)| *kind)
    }

    /// `None` for kinds we do not model (including the literal "unknown"),
    /// so the raw id prefix gets a chance to decide.
    fn from_kind_name(name: &str) -> Option<Self> {
        [
            ("communicationUser", IdentifierKind::CommunicationUser),
            ("phoneNumber", IdentifierKind::PhoneNumber),
            ("microsoftTeamsUser", IdentifierKind::MicrosoftTeamsUser),
            ("microsoftTeamsApp", IdentifierKind::MicrosoftTeamsApp),
        ]
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, kind)| *kind)
    }
}

impl Identifier {
    pub fn from_raw_id(raw_id: &str) -> Self {
        Identifier {
            raw_id: raw_id.to_string(),
            kind: IdentifierKind::from_raw_id(raw_id),
        }
    }

    /// The raw id fit for a log line: phone numbers keep only their country
    /// code and last two digits, everything else is returned unchanged.
    pub fn display_safe(&self) -> String {
        if self.kind == IdentifierKind::PhoneNumber || self.raw_id.starts_with("4:") {
            mask_phone(&self.raw_id)
        } else {
            self.raw_id.clone()
        }
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn mask_phone(raw_id: &str) -> String {
    let (scheme, number) = match raw_id.strip_prefix("4:") {
        Some(rest) => ("4:", rest),
        None => ("", raw_id),
    };
    // Without the leading `+` we cannot tell where a country code ends, so
    // nothing but the last digits stays visible.
    let (plus, digits) = match number.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", number),
    };
    let chars: Vec<char> = digits.chars().collect();
    let kept_head = if plus.is_empty() {
        0
    } else {
        country_code_len(digits).min(chars.len())
    };
    let rest = chars.len() - kept_head;
    // A very short remainder would be mostly revealed by its last two digits.
    let kept_tail = if rest > 4 { 2 } else { 0 };
    let mut out = String::with_capacity(raw_id.len());
    out.push_str(scheme);
    out.push_str(plus);
    out.extend(&chars[..kept_head]);
    out.push_str(&"*".repeat(rest - kept_tail));
    out.extend(&chars[chars.len() - kept_tail..]);
    out
}

/// Length of the ITU-T E.164 country code at the start of `digits`: 1 and 7
/// are one digit, a fixed set of two-digit codes, three digits otherwise.
fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

/// Parses an identifier found at `path`: an object, or a bare raw id string.
pub(crate) fn parse_identifier<'a>(
    v: &'a Value<'a>,
    path: Path<'a>,
    ctx: Ctx,
) -> Result<Identifier, ParseError> {
    match v {
        Value::String(s) if s.trim().is_empty() => {
            Err(ctx.error(&path.to_string(), "must not be empty"))
        }
        Value::String(s) => {
            let raw_id = s.to_string();
            let kind = IdentifierKind::from_raw_id(&raw_id);
            Ok(Identifier { raw_id, kind })
        }
        Value::Object(map) => parse_object(&Node::new(map, path, ctx)),
        _ => Err(ctx.error(&path.to_string(), "must be an object or a raw id string")),
    }
}

fn parse_object(node: &Node<'_>) -> Result<Identifier, ParseError> {
    let raw_id = node.opt_str_ref("rawId")?.filter(|s| !s.trim().is_empty());
    let declared = node.opt_str_ref("kind")?;

    // Read even when the raw id is given: a wrongly typed part is still a malformed identifier.
    let (derived, implied) = derive_from_parts(node)?;
    let raw_id = match (raw_id, derived) {
        (Some(raw_id), _) => raw_id.to_owned(),
        (None, Some((prefix, id))) => {
            let mut raw_id = String::with_capacity(prefix.len() + id.len());
            raw_id.push_str(prefix);
            raw_id.push_str(id);
            raw_id
        }
        (None, None) => {
            return Err(node.ctx.error(
                &node.path.to_string(),
                "has no rawId, communicationUser.id, phoneNumber.value, \
                 microsoftTeamsUser.userId or microsoftTeamsApp.appId",
            ))
        }
    };

    let kind = declared
        .and_then(IdentifierKind::from_kind_name)
        .or(implied)
        .unwrap_or_else(|| IdentifierKind::from_raw_id(&raw_id));
    Ok(Identifier { raw_id, kind })
}

/// The raw id derivable from the kind-specific sub-object, as a prefix and the id that follows
/// it, and the kind that sub-object implies. Mirrors how the ACS SDKs build raw ids.
type Derived<'s> = (Option<(&'static str, &'s str)>, Option<IdentifierKind>);

fn derive_from_parts<'s>(node: &'s Node<'_>) -> Result<Derived<'s>, ParseError> {
    if let Some(phone) = node.opt_obj("phoneNumber")? {
        let raw = phone.opt_str_ref("value")?.map(|v| ("4:", v));
        return Ok((raw, Some(IdentifierKind::PhoneNumber)));
    }
    if let Some(user) = node.opt_obj("communicationUser")? {
        let raw = user.opt_str_ref("id")?.map(|id| ("", id));
        return Ok((raw, Some(IdentifierKind::CommunicationUser)));
    }
    if let Some(user) = node.opt_obj("microsoftTeamsUser")? {
        let anonymous = user.opt_bool("isAnonymous")?.unwrap_or(false);
        let cloud = user.opt_str_ref("cloud")?;
        let prefix = if anonymous {
            "8:teamsvisitor:"
        } else {
            match cloud_name(cloud) {
                Cloud::Dod => "8:dod:",
                Cloud::Gcch => "8:gcch:",
                Cloud::Public => "8:orgid:",
            }
        };
        let raw = user.opt_str_ref("userId")?.map(|id| (prefix, id));
        return Ok((raw, Some(IdentifierKind::MicrosoftTeamsUser)));
    }
    if let Some(app) = node.opt_obj("microsoftTeamsApp")? {
        let prefix = match cloud_name(app.opt_str_ref("cloud")?) {
            Cloud::Dod => "28:dod:",
            Cloud::Gcch => "28:gcch:",
            Cloud::Public => "28:orgid:",
        };
        let raw = app.opt_str_ref("appId")?.map(|id| (prefix, id));
        return Ok((raw, Some(IdentifierKind::MicrosoftTeamsApp)));
    }
    Ok((None, None))
}

enum Cloud {
    Public,
    Dod,
    Gcch,
}

fn cloud_name(cloud: Option<&str>) -> Cloud {
    match cloud {
        Some(c) if c.eq_ignore_ascii_case("dod") => Cloud::Dod,
        Some(c) if c.eq_ignore_ascii_case("gcch") => Cloud::Gcch,
        _ => Cloud::Public,
    }
}

/// The identifier under `name` in `node`, if present.
pub(crate) fn opt_identifier(
    node: &Node<'_>,
    name: &str,
) -> Result<Option<Identifier>, ParseError> {
    node.get(name)
        .map(|(path, v)| parse_identifier(v, path, node.ctx))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Identifier, ParseError> {
        let text = v.to_string();
        let value = Value::parse(&text).unwrap();
        let data = Path::Key(&crate::events::fields::ROOT, "data");
        parse_identifier(&value, Path::Key(&data, "participant"), Ctx::new(Some(0)))
    }

    fn id(raw_id: &str, kind: IdentifierKind) -> Identifier {
        Identifier {
            raw_id: raw_id.into(),
            kind,
        }
    }

    #[test]
    fn raw_id_and_kind_taken_as_given() {
        let got = parse(json!({"kind": "phoneNumber", "rawId": "4:+14255550123",
                               "phoneNumber": {"value": "+14255550123"}}))
        .unwrap();
        assert_eq!(got, id("4:+14255550123", IdentifierKind::PhoneNumber));
    }

    #[test]
    fn raw_id_derived_from_parts() {
        let cases = [
            (
                json!({"phoneNumber": {"value": "+442071838750"}}),
                id("4:+442071838750", IdentifierKind::PhoneNumber),
            ),
            (
                json!({"communicationUser": {"id": "8:acs:1b5cc06b-f352_00000018-1c6b"}}),
                id(
                    "8:acs:1b5cc06b-f352_00000018-1c6b",
                    IdentifierKind::CommunicationUser,
                ),
            ),
            (
                json!({"microsoftTeamsUser": {"userId": "b2c4f6e8", "isAnonymous": false, "cloud": "public"}}),
                id("8:orgid:b2c4f6e8", IdentifierKind::MicrosoftTeamsUser),
            ),
            (
                json!({"microsoftTeamsUser": {"userId": "b2c4f6e8", "cloud": "gcch"}}),
                id("8:gcch:b2c4f6e8", IdentifierKind::MicrosoftTeamsUser),
            ),
            (
                json!({"microsoftTeamsUser": {"userId": "b2c4f6e8", "isAnonymous": true}}),
                id(
                    "8:teamsvisitor:b2c4f6e8",
                    IdentifierKind::MicrosoftTeamsUser,
                ),
            ),
            (
                json!({"microsoftTeamsApp": {"appId": "45ab2481-1c1c"}}),
                id("28:orgid:45ab2481-1c1c", IdentifierKind::MicrosoftTeamsApp),
            ),
            // PascalCase keys, as in the first preview.
            (
                json!({"Kind": "PhoneNumber", "PhoneNumber": {"Value": "+33612345678"}}),
                id("4:+33612345678", IdentifierKind::PhoneNumber),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input.clone()).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn kind_inferred_from_prefix_when_absent_or_unknown() {
        let cases = [
            ("4:+14255550123", IdentifierKind::PhoneNumber),
            ("8:acs:abc_def", IdentifierKind::CommunicationUser),
            ("8:spool:abc", IdentifierKind::CommunicationUser),
            ("8:orgid:abc", IdentifierKind::MicrosoftTeamsUser),
            ("8:teamsvisitor:abc", IdentifierKind::MicrosoftTeamsUser),
            ("8:gcch:abc", IdentifierKind::MicrosoftTeamsUser),
            ("8:dod:abc", IdentifierKind::MicrosoftTeamsUser),
            ("28:orgid:bot", IdentifierKind::MicrosoftTeamsApp),
            ("9:something-new", IdentifierKind::Unknown),
        ];
        for (raw, kind) in cases {
            assert_eq!(parse(json!(raw)).unwrap(), id(raw, kind), "bare {raw}");
            assert_eq!(
                parse(json!({"kind": "unknown", "rawId": raw})).unwrap(),
                id(raw, kind),
                "object {raw}"
            );
        }
        // A declared kind wins over the prefix.
        assert_eq!(
            parse(json!({"kind": "MICROSOFTTEAMSAPP", "rawId": "8:acs:x"})).unwrap(),
            id("8:acs:x", IdentifierKind::MicrosoftTeamsApp)
        );
    }

    #[test]
    fn identifier_without_any_id_is_malformed() {
        let err = parse(json!({"kind": "communicationUser", "communicationUser": {}})).unwrap_err();
        match err {
            ParseError::InvalidEvent { element, field, .. } => {
                assert_eq!(element, Some(0));
                assert_eq!(field, "data.participant");
            }
            other => panic!("unexpected {other:?}"),
        }
        for bad in [json!({}), json!(""), json!(42), json!({"rawId": "  "})] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        let err = parse(json!({"rawId": 5})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 0: field `data.participant.rawId` must be a string"
        );
    }

    #[test]
    fn display_safe_masks_phone_numbers_only() {
        let cases = [
            ("4:+14255550123", "4:+1********23"),
            ("4:+442071838750", "4:+44********50"),
            ("4:+35312345678", "4:+353******78"),
            ("4:14255550123", "4:*********23"),
            ("4:+1555", "4:+1***"),
        ];
        for (raw, want) in cases {
            let ident = Identifier::from_raw_id(raw);
            assert_eq!(ident.display_safe(), want, "{raw}");
        }
        let user = Identifier::from_raw_id("8:acs:1b5cc06b_00000018");
        assert_eq!(user.display_safe(), "8:acs:1b5cc06b_00000018");
        // A phone number declared as such but sent without the scheme.
        let bare = Identifier {
            raw_id: "+14255550123".into(),
            kind: IdentifierKind::PhoneNumber,
        };
        assert_eq!(bare.display_safe(), "+1********23");
    }
}
