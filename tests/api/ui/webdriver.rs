//! A small WebDriver client for the browser tests: Debian's `chromium` driven through
//! `chromedriver`'s W3C HTTP API with plain requests. One driver process and one fresh profile per
//! test; both go when the test ends. A missing browser fails the test, naming the packages.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// Ends the WebDriver session, which closes Chromium: chromedriver is killed when the browser is
/// dropped, and Chromium, started by it, would otherwise outlive the test. Plain HTTP over a
/// blocking socket, as `drop` cannot wait for the async client.
impl Drop for Browser {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Some((host, path)) = self
            .base
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
        else {
            return;
        };
        let Ok(mut socket) = std::net::TcpStream::connect(host) else {
            return;
        };
        let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let request = format!(
            "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        if socket.write_all(request.as_bytes()).is_ok() {
            let _ = socket.read_to_end(&mut Vec::new());
        }
    }
}

fn binary(variable: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.exists(),
        "{} not found: install Debian's `chromium` and `chromium-driver` (scripts/test.sh does), \
         or set {variable}",
        path.display()
    );
    path
}

impl Browser {
    pub async fn start() -> Browser {
        Browser::start_in_zone("UTC").await
    }

    /// A browser whose local time zone is `zone` (an IANA name).
    pub async fn start_in_zone(zone: &str) -> Browser {
        let chromium = binary("CALLTRAIL_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("CALLTRAIL_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .env("TZ", zone)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("a profile directory");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            http,
            base: format!("{base}/session/{session}"),
            _driver: driver,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("driver answers")
            .json()
            .await
            .unwrap();
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!("{method} {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    /// The page's URL once `expected` holds of it, or as it is after 10 s: an action that navigates
    /// (a click on a submit button, Enter on a link or in a form) can be answered before the
    /// navigation has begun, so the URL read at once may still be the old page's.
    pub async fn url_once(&self, expected: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if expected(&url) || std::time::Instant::now() > deadline {
                return url;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    pub async fn back(&self) {
        self.post("/back", json!({})).await;
    }

    /// The element matching a CSS selector (the first).
    pub async fn find(&self, css: &str) -> String {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        element_id(&found)
    }

    pub async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Types `text` into an element, as a person typing or pasting it would.
    pub async fn type_into(&self, element: &str, text: &str) {
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Presses one key on whatever has the focus.
    pub async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.post("/actions", actions).await;
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    pub async fn script_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
            .await
    }

    /// A description of the focused element: tag, class, `data-kind`, `href`, text.
    pub async fn focused(&self) -> Value {
        self.script(
            "const e = document.activeElement; return {tag: e.tagName.toLowerCase(), \
             cls: e.getAttribute('class') || '', kind: e.getAttribute('data-kind') || '', \
             href: e.getAttribute('href') || '', id: e.id, text: e.textContent};",
            json!([]),
        )
        .await
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.get("/screenshot").await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }
}

fn element_id(found: &Value) -> String {
    found
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("not an element: {found}"))
        .to_owned()
}
