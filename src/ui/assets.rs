//! The dashboard's two static files, built into the binary and served with a content hash in their
//! URL, so a browser may keep them for a year and still never runs a stale one.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    ),
];

fn versions() -> &'static Vec<String> {
    static VERSIONS: OnceLock<Vec<String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, _, body)| hex::encode(&Sha256::digest(body.as_bytes())[..6]))
            .collect()
    })
}

/// The URL of a static file, with its content hash.
pub fn url(name: &str) -> String {
    let index = FILES
        .iter()
        .position(|(n, _, _)| *n == name)
        .expect("a file of FILES");
    format!("/ui/static/{name}?v={}", versions()[index])
}

pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(*body),
        None => crate::ui::page::error(&crate::error::ApiError::NotFound(format!(
            "no file `{name}`"
        ))),
    }
}
