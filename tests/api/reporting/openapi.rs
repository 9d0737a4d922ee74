//! The OpenAPI document is the one derived from the handlers, describes exactly the routes that are
//! served, and names every answer each route can give.

use calltrail::api::openapi::COMMON_STATUSES;
use calltrail::api::{PREFIX, ROUTES};
use serde_json::Value;

use super::access::concrete;
use super::*;

#[tokio::test]
async fn the_served_document_is_the_one_derived_from_the_handlers() {
    let app = spawn_api().await;
    let served = get_ok(&app, "/api/v1/openapi.json").await;
    let derived = serde_json::to_value(calltrail::api::openapi::spec()).expect("serialises");
    assert_eq!(served, derived);
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(served["security"], serde_json::json!([{"bearer": []}]));
}

fn header_of<'a>(responses: &'a Value, status: &str, header: &str) -> Option<&'a Value> {
    responses[status]["headers"].get(header)
}

#[test]
fn every_operation_names_every_answer_it_can_give() {
    let doc = serde_json::to_value(calltrail::api::openapi::spec()).expect("serialises");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            operations += 1;
            let what = format!("{method} {path}");
            let responses = &operation["responses"];
            assert!(responses.get("200").is_some(), "{what}: 200");
            for status in COMMON_STATUSES {
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{what}: {status}"
                );
            }
            assert!(header_of(responses, "405", "Allow").is_some(), "{what}");
            assert!(
                header_of(responses, "401", "WWW-Authenticate").is_some(),
                "{what}"
            );
            for status in ["429", "503"] {
                assert!(
                    header_of(responses, status, "Retry-After").is_some(),
                    "{what}: {status}"
                );
            }
            // A route of one call or event names one that may not exist (a participant without
            // calls is an empty list).
            if path.contains("{id}") || path.contains("{event_seq}") {
                assert!(responses.get("404").is_some(), "{what}: 404");
            }
            // A list takes the paging parameters and the document says how each is bounded.
            let ok = responses["200"]["content"]["application/json"]["schema"].to_string();
            if ok.contains("next_cursor") {
                let params = operation["parameters"].as_array().expect("parameters");
                for name in ["limit", "cursor", "order"] {
                    let param = params
                        .iter()
                        .find(|p| p["name"] == name)
                        .unwrap_or_else(|| panic!("{what}: no `{name}`"));
                    assert_eq!(param["in"], "query", "{what}: {name}");
                }
            }
        }
    }
    assert_eq!(operations, ROUTES.len());
}

#[test]
fn parameters_state_their_real_bounds() {
    let doc = serde_json::to_value(calltrail::api::openapi::spec()).expect("serialises");
    let param = |path: &str, name: &str| -> Value {
        doc["paths"][format!("{PREFIX}{path}")]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path}: {name}"))["schema"]
            .clone()
    };
    // Event ids are 64-bit, positive, and the bounds are exact integers.
    let id = param("/events/{event_seq}", "event_seq");
    assert_eq!(id["format"], "int64");
    assert_eq!(id["minimum"], 1);
    assert_eq!(id["maximum"], i64::MAX);
    // A page's size, with the empty value that counts as absent.
    let limit = param("/events", "limit");
    assert_eq!(limit["anyOf"][0]["maximum"], 500);
    assert_eq!(limit["anyOf"][1]["enum"], serde_json::json!([""]));
    // The opaque cursor's alphabet and length.
    let cursor = param("/calls", "cursor");
    assert_eq!(cursor["anyOf"][0]["pattern"], "^[A-Za-z0-9_-]+$");
    assert_eq!(cursor["anyOf"][0]["maxLength"], 2048);
    // Times, enums and the summary's required range.
    assert_eq!(param("/calls", "from")["anyOf"][0]["format"], "date-time");
    assert_eq!(
        param("/events", "auth_scheme")["anyOf"][0]["enum"],
        serde_json::json!(calltrail::api::params::AUTH_SCHEMES)
    );
    assert_eq!(param("/reports/summary", "from")["format"], "date-time");
    // Free text may hold anything PostgreSQL can store: not NUL.
    assert_eq!(param("/calls/{id}", "id")["pattern"], "^[^\\u0000]*$");
    // The export's media types.
    let export =
        &doc["paths"][format!("{PREFIX}/events/export")]["get"]["responses"]["200"]["content"];
    assert!(export.get("application/x-ndjson").is_some());
    assert!(export.get("text/csv").is_some());
}

#[tokio::test]
async fn the_document_and_the_routes_agree() {
    let app = spawn_api().await;
    CallRow::new("1", "2024-03-01T10:00:00Z").insert(&app).await;
    ingest(&app, tones("o", "1", 1)).await;
    let doc = get_ok(&app, "/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");

    // Every registered route is documented with its method…
    for route in ROUTES {
        let path = format!("{PREFIX}{}", route.path);
        let method = route.method.as_str().to_ascii_lowercase();
        assert!(
            paths
                .get(&path)
                .and_then(|item| item.get(&method))
                .is_some(),
            "{method} {path} is served but not documented"
        );
    }
    // …and every documented operation is served: it answers (with the summary's required
    // parameters), other methods are 405, and nothing is a "no such route".
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            assert_eq!(method, "get", "{path}");
            operations += 1;
            let mut url = concrete(path.strip_prefix(PREFIX).expect("under the prefix"));
            if url.ends_with("/summary") {
                url.push_str("?from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00Z");
            }
            let response = get(&app, &url).await;
            assert_eq!(response.status(), 200, "GET {url}");
            let post = app
                .client
                .post(app.url(&url))
                .bearer_auth(API_TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(post.headers()["allow"], "GET", "POST {url}");
            let (status, code, _) = error_code(post).await;
            assert_eq!(
                (status, code.as_str()),
                (405, "method_not_allowed"),
                "POST {url}"
            );
        }
    }
    assert_eq!(operations, ROUTES.len());
}
