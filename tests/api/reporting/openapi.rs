//! The OpenAPI document describes exactly the routes that are served.

use calltrail::api::{PREFIX, ROUTES};

use super::access::concrete;
use super::*;

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
