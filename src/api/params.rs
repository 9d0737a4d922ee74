//! Query-parameter parsing shared by the resources. Every bad value is a `400 bad_request` naming the
//! parameter; an empty value counts as absent, as HTML forms send them.
//!
//! Beside each rule, the schema the OpenAPI document gives a parameter that follows it: the
//! resources' query types name these as their fields' `value_type`, so what the document promises
//! and what the parsing accepts are written once, side by side.

use chrono::{DateTime, Utc};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::PartialSchema;

use crate::error::ApiError;

pub fn bad(param: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("`{param}`: {why}"))
}

/// A parameter's value, or `None` when absent or empty.
pub fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

pub fn present_owned(value: &Option<String>) -> Option<String> {
    present(value).map(str::to_owned)
}

/// An RFC 3339 time with an offset, e.g. `2024-03-12T09:15:40Z`, any that RFC 3339 can write. At
/// the ends of years 0000 and 9999 an offset can name an instant that UTC cannot write in four
/// digits (`9999-12-31T23:00:00-05:00`); such a time counts as the nearest instant that can be,
/// so that every time the document allows is accepted and every time answered back (a summary's
/// range and buckets) is RFC 3339 too. PostgreSQL holds every one of them.
pub fn time(param: &str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    present(value)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc).clamp(earliest(), latest()))
                .map_err(|_| {
                    bad(
                        param,
                        "must be an RFC 3339 time with an offset, e.g. 2024-03-12T09:15:40Z",
                    )
                })
        })
        .transpose()
}

/// The first instant RFC 3339 can write in UTC: 0000-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_167_219_200, 0).expect("year 0 is a valid time")
}

/// The last instant RFC 3339 can write in UTC, to the microsecond PostgreSQL keeps:
/// 9999-12-31T23:59:59.999999Z.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(253_402_300_799_999_999).expect("year 9999 is a valid time")
}

/// A string schema.
pub fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A parameter's schema with the empty value beside it (`anyOf: [schema, ""]`): an empty value
/// counts as absent.
pub fn or_empty(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(schema)
        .item(string().enum_values(Some([""])))
        .into()
}

/// PostgreSQL text cannot hold NUL, so no parameter may (`%00` is a `400`, see `api::refuse_nul`).
pub const NO_NUL: &str = "^[^\\u0000]*$";

/// A free-text parameter: any string but one holding NUL; empty counts as absent.
pub struct Text;

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        string().pattern(Some(NO_NUL)).into()
    }
}

/// A time parameter: what [`time`] accepts, or empty.
pub struct Time;

impl PartialSchema for Time {
    fn schema() -> RefOr<Schema> {
        or_empty(RequiredTime::schema())
    }
}

/// A time parameter that must be given: what [`time`] accepts.
pub struct RequiredTime;

impl PartialSchema for RequiredTime {
    fn schema() -> RefOr<Schema> {
        string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2024-03-12T09:15:40Z"])
            .into()
    }
}

/// A closed set of values, or empty.
pub fn enum_or_empty(values: &[&str]) -> RefOr<Schema> {
    or_empty(string().enum_values(Some(values.iter().copied())))
}

/// `outcome`: one of [`CALL_OUTCOMES`], or empty.
pub struct OutcomeParam;

impl PartialSchema for OutcomeParam {
    fn schema() -> RefOr<Schema> {
        enum_or_empty(CALL_OUTCOMES)
    }
}

/// `auth_scheme`: one of [`AUTH_SCHEMES`], or empty.
pub struct AuthSchemeParam;

impl PartialSchema for AuthSchemeParam {
    fn schema() -> RefOr<Schema> {
        enum_or_empty(AUTH_SCHEMES)
    }
}

/// `from` (inclusive) and `to` (exclusive), either optional. A `to` not after `from` is a range
/// that holds nothing, not a mistake: it answers an empty list (the document cannot say that one
/// parameter must follow another, so no request valid by it is refused for that).
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn parse(from: &Option<String>, to: &Option<String>) -> Result<TimeRange, ApiError> {
        Ok(TimeRange {
            from: time("from", from)?,
            to: time("to", to)?,
        })
    }
}

/// One of a closed set of values.
pub fn one_of<'a>(
    param: &str,
    value: &'a Option<String>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match present(value) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(_) => Err(bad(param, format!("must be one of {}", allowed.join(", ")))),
    }
}

/// The outcomes a call can have (`calls.outcome`).
pub const CALL_OUTCOMES: &[&str] = &["in_progress", "completed", "failed", "never_connected"];

/// The authentication schemes an event can have arrived with (`events.auth_scheme`).
pub const AUTH_SCHEMES: &[&str] = &[
    "query_secret",
    "jwt",
    "webhook_signature",
    "unauthenticated",
];

pub const MAX_JSON_PATH_DEPTH: usize = 16;

/// `json_path` (dot-separated identifiers, e.g. `data.resultInformation.subCode`) and `json_value`,
/// both or neither. The path becomes the `text[]` of PostgreSQL's `#>>` operator, so it is bound as
/// a parameter, never spliced into SQL; the identifier rule keeps it unambiguous.
pub fn json_filter(
    path: &Option<String>,
    value: &Option<String>,
) -> Result<Option<(Vec<String>, String)>, ApiError> {
    let path = match (present(path), value.as_deref()) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(bad("json_value", "is required with `json_path`")),
        (None, Some(_)) => return Err(bad("json_path", "is required with `json_value`")),
        (Some(path), Some(_)) => path,
    };
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    let identifier = |s: &String| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if segments.len() > MAX_JSON_PATH_DEPTH || !segments.iter().all(identifier) {
        return Err(bad(
            "json_path",
            format!(
                "must be at most {MAX_JSON_PATH_DEPTH} dot-separated identifiers, e.g. data.resultInformation.subCode"
            ),
        ));
    }
    Ok(Some((segments, value.clone().unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn times_need_an_offset() {
        assert!(time("from", &s("2024-03-12T09:15:40Z")).unwrap().is_some());
        assert!(time("from", &s("2024-03-12T09:15:40.123+02:00"))
            .unwrap()
            .is_some());
        assert!(time("from", &s("2024-03-12T09:15:40")).is_err());
        assert!(time("from", &s("yesterday")).is_err());
        assert_eq!(time("from", &s("")).unwrap(), None);
        // Every time RFC 3339 can write is one; at the ends of its years, the nearest one UTC can.
        let far = |v: &str| time("to", &s(v)).unwrap().unwrap().to_rfc3339();
        assert_eq!(far("0000-01-01T00:00:00Z"), "0000-01-01T00:00:00+00:00");
        assert_eq!(
            far("0000-01-01T00:00:00+01:00"),
            "0000-01-01T00:00:00+00:00"
        );
        assert_eq!(
            far("9999-12-31T23:00:00-05:00"),
            "9999-12-31T23:59:59.999999+00:00"
        );
        assert_eq!(
            far("1118-10-08T15:08:11-23:34"),
            "1118-10-09T14:42:11+00:00"
        );
        assert!(TimeRange::parse(&s("2024-03-13T00:00:00Z"), &s("2024-03-12T00:00:00Z")).is_ok());
    }

    #[test]
    fn json_paths_are_identifiers() {
        let ok = json_filter(&s("data.resultInformation.subCode"), &s("8536")).unwrap();
        assert_eq!(
            ok,
            Some((
                vec!["data".into(), "resultInformation".into(), "subCode".into()],
                "8536".into()
            ))
        );
        for bad_path in [
            "data..x", ".data", "data.", "da-ta", "data.0", "data.x y", "a'b",
        ] {
            assert!(json_filter(&s(bad_path), &s("1")).is_err(), "{bad_path}");
        }
        assert!(json_filter(&s("data"), &None).is_err());
        assert!(json_filter(&None, &s("1")).is_err());
        assert_eq!(json_filter(&None, &None).unwrap(), None);
    }

    #[test]
    fn closed_sets() {
        assert_eq!(
            one_of("outcome", &s("failed"), CALL_OUTCOMES).unwrap(),
            Some("failed")
        );
        assert!(one_of("outcome", &s("exploded"), CALL_OUTCOMES).is_err());
    }
}
