//! What the tests that run the `calltrail` binary itself share: a fresh database of the test
//! PostgreSQL, a free port, and waiting for readiness. (A folder, not a file, so that cargo does
//! not take it for a test target of its own.)

#![allow(dead_code)] // Each test binary uses its own part of it.

use std::time::Duration;

use sqlx::Connection;

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test.sh sets it)")
}

/// A new, empty database named `calltrail_<prefix>_<uuid>`, as a URL.
pub async fn fresh_database(prefix: &str) -> String {
    let name = format!("calltrail_{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url()
        .rsplit_once('/')
        .map(|(b, d)| (b.to_owned(), d.to_owned()))
        .unwrap();
    format!("{base}/{name}")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to 10 s) until calltrail on `port` answers `/readyz` with 200.
pub async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("calltrail did not become ready");
}
