//! Starts the real application on a free port against a fresh database of the test PostgreSQL.

use std::sync::OnceLock;

use calltrail::config::Settings;
use calltrail::startup::Application;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection, PgPool};

pub const SECRET: &str = "test-secret-one-0001";
pub const SECRET_2: &str = "test-secret-two-0002";
/// The scraper's token: `metrics.tokens` holds its hash in every test's settings.
pub const METRICS_TOKEN: &str = "test-metrics-token";

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub database_url: String,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a test PostgreSQL (scripts/test.sh sets it)")
}

/// The admin URL with its database name replaced.
pub fn url_for_database(name: &str) -> String {
    let admin = admin_url();
    let (base, _) = admin.rsplit_once('/').expect("URL has a database part");
    format!("{base}/{name}")
}

static LOGGING: OnceLock<()> = OnceLock::new();

/// Settings every test starts from: query-secret auth with two secrets, a small pool. A
/// connection may wait up to 5 s (2 s in production): the suite shares two
/// cores with its own PostgreSQL, browsers and SDK processes, and a connection opened in a busy
/// moment took longer than 2 s. Tests of what a timeout does set their own.
pub fn test_settings() -> Settings {
    let mut settings = Settings::from_yaml(&format!(
        r#"
server: {{ port: 0, workers: 2 }}
database: {{ url: "{}", max_connections: 8, acquire_timeout_ms: 5000 }}
auth:
  query_secret: {{ enabled: true, secrets: ["{SECRET}", "{SECRET_2}"] }}
"#,
        admin_url()
    ))
    .expect("test settings");
    settings.log.level = "error".to_owned();
    settings.metrics.tokens = vec![calltrail::auth::tokens::hash_token(METRICS_TOKEN)];
    settings
}

pub async fn create_database() -> String {
    let name = format!("calltrail_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    url_for_database(&name)
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with `configure` applied to the test settings; the database URL is set to a
    /// fresh database unless `configure` changed it.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let database_url = create_database().await;
        Self::spawn_on(&database_url, configure).await
    }

    /// Starts another instance on an existing database (several instances sharing one database).
    pub async fn spawn_on(database_url: &str, configure: impl FnOnce(&mut Settings)) -> TestApp {
        LOGGING.get_or_init(|| {
            calltrail::telemetry::init(&test_settings().log);
        });
        let mut settings = test_settings();
        settings.database.url = SecretString::from(database_url.to_owned());
        configure(&mut settings);
        settings.validate().expect("valid test settings");
        let app = Application::build(&settings).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let pool = PgPool::connect_lazy(settings.database.url.expose_secret()).expect("pool");
        TestApp {
            address,
            pool,
            client: reqwest::Client::new(),
            database_url: database_url.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON bytes to /api/callbacks with the first test secret.
    pub async fn post_callback(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/callbacks?secret={SECRET}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_eventgrid(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/api/eventgrid?secret={SECRET}")))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    /// Waits until every queued call has been projected (the queue is empty once the projecting
    /// transactions have committed).
    pub async fn wait_for_projections(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let queued = self.count_rows("projection_queue").await;
            if queued == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{queued} calls still queued for projection after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn event_count(&self) -> i64 {
        self.count_rows("events").await
    }

    /// Rows in `table` (a name from the tests themselves, never input).
    pub async fn count_rows(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e}"))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics body")
    }
}

/// Reads a JSON error body and checks its shape.
pub async fn error_code(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    let code = body["code"].as_str().expect("code is a string").to_owned();
    let message = body["message"]
        .as_str()
        .expect("message is a string")
        .to_owned();
    (status, code, message)
}

/// Every stored event, in order of insertion, read as calltrail reads them: the envelope, the
/// result and the typed details derived from the raw element, which is beside them.
pub async fn stored_events(pool: &PgPool) -> Vec<calltrail::api::events::EventWithRaw> {
    let columns = calltrail::api::events::EVENT_COLUMNS;
    sqlx::query_as(&format!("SELECT {columns} FROM events ORDER BY event_seq"))
        .fetch_all(pool)
        .await
        .expect("stored events")
}
