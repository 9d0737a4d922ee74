//! Keyset pagination. Each list is ordered by a unique key; a page is the `limit` rows after the
//! last key of the previous page, so rows inserted meanwhile can neither shift a row onto a page
//! already read nor off the next one (as OFFSET would).
//!
//! The cursor is opaque to clients: base64url of a small JSON holding a version, the resource it
//! belongs to, the direction, and the last row's key. Anything that does not decode to exactly that
//! is `400 bad_request`, and so is a key no row could have (see [`CursorKey`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::api::params::{bad, enum_or_empty, one_of, or_empty, present, string};
use crate::error::ApiError;
use crate::events::storable_time;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
const CURSOR_VERSION: u32 = 1;
/// Far larger than any real cursor: refuses absurd input before decoding it.
const MAX_CURSOR_LEN: usize = 2048;
/// What a cursor is made of: base64url without padding.
const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]+$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    /// The SQL direction of every key column.
    pub fn sql(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        }
    }

    /// The row-value comparison that selects the rows after the cursor key.
    pub fn after(self) -> &'static str {
        match self {
            Order::Asc => ">",
            Order::Desc => "<",
        }
    }
}

/// A list's sort key, as a cursor carries it. The key is bound to the page's query as it is, and a
/// client can write any cursor: a key holding what no column holds (a NUL in a text, a time before
/// PostgreSQL's earliest) would make the query fail, a `500` for the client's mistake. So a decoded
/// key must be one a row could have.
pub trait CursorKey: DeserializeOwned {
    fn storable(&self) -> bool;
}

impl CursorKey for i32 {
    fn storable(&self) -> bool {
        true
    }
}

impl CursorKey for i64 {
    fn storable(&self) -> bool {
        true
    }
}

impl CursorKey for String {
    fn storable(&self) -> bool {
        !self.contains('\0')
    }
}

impl CursorKey for DateTime<Utc> {
    fn storable(&self) -> bool {
        storable_time(self)
    }
}

impl<A: CursorKey, B: CursorKey> CursorKey for (A, B) {
    fn storable(&self) -> bool {
        self.0.storable() && self.1.storable()
    }
}

impl<A: CursorKey, B: CursorKey, C: CursorKey> CursorKey for (A, B, C) {
    fn storable(&self) -> bool {
        self.0.storable() && self.1.storable() && self.2.storable()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorBody<K> {
    v: u32,
    r: String,
    o: Order,
    k: K,
}

/// The common paging parameters of every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size (default 50).
    #[param(value_type = Option<LimitParam>, inline)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, as it was given: opaque, valid only for the list
    /// (and order) that issued it; anything else is a `400`.
    #[param(value_type = Option<CursorParam>, inline)]
    pub cursor: Option<String>,
    /// Direction of the list's key (default `asc`). A cursor keeps its page's direction: with one,
    /// `order` may only repeat it.
    #[param(value_type = Option<OrderParam>, inline)]
    pub order: Option<String>,
}

/// `limit`: 1 to [`MAX_LIMIT`], or empty.
pub struct LimitParam;

impl PartialSchema for LimitParam {
    fn schema() -> RefOr<Schema> {
        or_empty(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1))
                .maximum(Some(MAX_LIMIT))
                .default(Some(DEFAULT_LIMIT.into())),
        )
    }
}

/// `cursor`: base64url of at most [`MAX_CURSOR_LEN`] characters, or empty.
pub struct CursorParam;

impl PartialSchema for CursorParam {
    fn schema() -> RefOr<Schema> {
        or_empty(
            string()
                .pattern(Some(CURSOR_PATTERN))
                .max_length(Some(MAX_CURSOR_LEN)),
        )
    }
}

/// `order`: `asc` or `desc`, or empty.
pub struct OrderParam;

impl PartialSchema for OrderParam {
    fn schema() -> RefOr<Schema> {
        enum_or_empty(&["asc", "desc"])
    }
}

/// A validated page request: at most `limit` rows after `after` (from the start when `None`).
#[derive(Debug)]
pub struct PageRequest<K> {
    pub resource: &'static str,
    pub limit: i64,
    pub order: Order,
    pub after: Option<K>,
}

impl<K: CursorKey> PageRequest<K> {
    pub fn parse(resource: &'static str, params: &PageParams) -> Result<PageRequest<K>, ApiError> {
        let limit = match present(&params.limit) {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let requested = one_of("order", &params.order, &["asc", "desc"])?.map(|o| match o {
            "desc" => Order::Desc,
            _ => Order::Asc,
        });
        let (order, after) = match present(&params.cursor) {
            None => (requested.unwrap_or(Order::Asc), None),
            Some(cursor) => {
                let body: CursorBody<K> = decode(cursor)
                    .filter(|b: &CursorBody<K>| {
                        b.v == CURSOR_VERSION && b.r == resource && b.k.storable()
                    })
                    .ok_or_else(|| bad("cursor", "is not a cursor of this list"))?;
                if requested.is_some_and(|o| o != body.o) {
                    return Err(bad("order", "differs from the order of the cursor"));
                }
                (body.o, Some(body.k))
            }
        };
        Ok(PageRequest {
            resource,
            limit,
            order,
            after,
        })
    }
}

impl<K> PageRequest<K> {
    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

fn decode<K: DeserializeOwned>(cursor: &str) -> Option<CursorBody<K>> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn encode<K: Serialize>(resource: &str, order: Order, key: &K) -> String {
    let body = CursorBody {
        v: CURSOR_VERSION,
        r: resource.to_owned(),
        o: order,
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).expect("cursor keys serialise"))
}

/// One page of a list: `{"items": […], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` (with the same filters) for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// From rows fetched with [`PageRequest::fetch_limit`]; `key` gives a row's sort key.
    pub fn from_rows<K: Serialize>(
        mut rows: Vec<T>,
        request: &PageRequest<K>,
        key: impl Fn(&T) -> K,
    ) -> Page<T> {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if more => Some(encode(request.resource, request.order, &key(last))),
            _ => None,
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>, cursor: Option<&str>, order: Option<&str>) -> PageParams {
        PageParams {
            limit: limit.map(str::to_owned),
            cursor: cursor.map(str::to_owned),
            order: order.map(str::to_owned),
        }
    }

    #[test]
    fn limits() {
        let p = PageRequest::<i64>::parse("events", &params(None, None, None)).unwrap();
        assert_eq!((p.limit, p.order), (DEFAULT_LIMIT, Order::Asc));
        for bad_limit in ["0", "-1", "501", "ten", "1.5"] {
            assert!(
                PageRequest::<i64>::parse("events", &params(Some(bad_limit), None, None)).is_err(),
                "{bad_limit}"
            );
        }
        assert!(PageRequest::<i64>::parse("events", &params(None, None, Some("up"))).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let request = PageRequest::<(String, i64)> {
            resource: "calls",
            limit: 2,
            order: Order::Desc,
            after: None,
        };
        let page = Page::from_rows(vec![1, 2, 3], &request, |n| (format!("k{n}"), *n as i64));
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.expect("a next page");
        let next = PageRequest::<(String, i64)>::parse("calls", &params(None, Some(&cursor), None))
            .unwrap();
        assert_eq!(next.after, Some(("k2".to_owned(), 2)));
        assert_eq!(next.order, Order::Desc);

        // Another list's cursor, a different order, a wrong key shape, garbage.
        assert!(
            PageRequest::<(String, i64)>::parse("events", &params(None, Some(&cursor), None))
                .is_err()
        );
        assert!(PageRequest::<(String, i64)>::parse(
            "calls",
            &params(None, Some(&cursor), Some("asc"))
        )
        .is_err());
        assert!(PageRequest::<i64>::parse("calls", &params(None, Some(&cursor), None)).is_err());
        let mut tampered = cursor.clone();
        tampered.insert(3, '*');
        assert!(
            PageRequest::<(String, i64)>::parse("calls", &params(None, Some(&tampered), None))
                .is_err()
        );
        let forged = URL_SAFE_NO_PAD.encode(br#"{"v":2,"r":"calls","o":"asc","k":["a",1]}"#);
        assert!(
            PageRequest::<(String, i64)>::parse("calls", &params(None, Some(&forged), None))
                .is_err()
        );
    }

    /// Found by the `api_params` fuzz target: a cursor decoded to a key no row could have, which
    /// was then bound to the page's query, and PostgreSQL refused it (a `500`).
    #[test]
    fn a_cursor_whose_key_no_row_could_have_is_refused() {
        let cursor = |json: &str| params(None, Some(&URL_SAFE_NO_PAD.encode(json)), None);
        for json in [
            r#"{"v":1,"r":"calls","o":"asc","k":["2024-03-12T09:15:40Z","c\u0000"]}"#,
            r#"{"v":1,"r":"calls","o":"asc","k":["-5000-01-01T00:00:00Z","c"]}"#,
            r#"{"v":1,"r":"calls","o":"asc","k":["-4713-11-23T23:59:59Z","c"]}"#,
        ] {
            let refused = PageRequest::<(DateTime<Utc>, String)>::parse("calls", &cursor(json));
            assert!(refused.is_err(), "{json}");
        }
        // PostgreSQL's earliest time, and the latest chrono has, are keys a row can have.
        for json in [
            r#"{"v":1,"r":"calls","o":"asc","k":["-4713-11-24T00:00:00Z","c"]}"#,
            r#"{"v":1,"r":"calls","o":"asc","k":["+100000-01-01T00:00:00Z","c"]}"#,
        ] {
            let page = PageRequest::<(DateTime<Utc>, String)>::parse("calls", &cursor(json));
            assert!(page.is_ok_and(|p| p.after.is_some()), "{json}");
        }
        let nul_in_pair = r#"{"v":1,"r":"call_media","o":"asc","k":["ctx","\u0000"]}"#;
        assert!(
            PageRequest::<(String, String)>::parse("call_media", &cursor(nul_in_pair)).is_err()
        );
    }

    #[test]
    fn last_page_has_no_cursor() {
        let request = PageRequest::<i64> {
            resource: "events",
            limit: 3,
            order: Order::Asc,
            after: None,
        };
        let page = Page::from_rows(vec![1, 2, 3], &request, |n| *n as i64);
        assert_eq!(page.next_cursor, None);
    }
}
