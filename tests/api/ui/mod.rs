//! The dashboard end to end: the real app on a real port, pages read as HTML (no browser here; the
//! browser tests are in `browser`).

mod audit;
mod big;
mod browser;
mod pages;
mod session;
mod webdriver;
mod zone;

use secrecy::SecretString;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

pub const UI_TOKEN: &str = "test-ui-token";
pub const SESSION_KEY: &str = "test-session-key-0123456789-abcdefghij";

pub async fn spawn_ui() -> TestApp {
    TestApp::spawn_with(configure_ui).await
}

pub fn configure_ui(s: &mut calltrail::config::Settings) {
    s.api.tokens = vec![calltrail::auth::tokens::hash_token(UI_TOKEN)];
    s.api.rate_limit_per_second = 0;
    s.ui.session_key = SecretString::from(SESSION_KEY.to_owned());
}

/// A client that follows no redirects: the tests read them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Logs in as a browser on the same origin would and returns the `Cookie` header value.
pub async fn login(app: &TestApp) -> String {
    let response = client()
        .post(app.url("/ui/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", UI_TOKEN), ("next", "/ui/calls")])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 303);
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// GETs a dashboard page with the session cookie: (status, body).
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let response = client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Every `href="…"` of an HTML text that starts with `prefix`.
pub fn hrefs<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .collect()
}

/// The part of a page from `start` to the next `end`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` in the page"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

pub const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'";

/// A whole call: two participants (one muted and on hold a while), two key presses pressed by the
/// agent, a play that completed and one that failed, markup in every free-text field a sender
/// controls, delivered out of order and partly twice.
pub async fn deliver_call(app: &TestApp, call: &str) -> Vec<Value> {
    let caller = phone("+14255550123");
    let agent = acs_user("8:acs:r_agent");
    let tone = |id: &str, seq: i64, tone: &str, time: &str| {
        b_event(
            id,
            "ContinuousDtmfRecognitionToneReceived",
            call,
            json!({"sequenceId": seq, "tone": tone, "participantId": "8:acs:r_agent",
                   "resultInformation": {"code": 200, "subCode": 0, "message": HOSTILE}}),
            time,
        )
    };
    let events = vec![
        b_event(
            "e-1",
            "CallConnected",
            call,
            json!({}),
            "2024-03-12T09:00:00Z",
        ),
        b_participants(
            "e-2",
            call,
            1,
            &[(caller.clone(), false, false)],
            "2024-03-12T09:00:01Z",
        ),
        b_participants(
            "e-3",
            call,
            2,
            &[
                (caller.clone(), false, false),
                (agent.clone(), false, false),
            ],
            "2024-03-12T09:00:10Z",
        ),
        b_participants(
            "e-4",
            call,
            3,
            &[(caller.clone(), true, true), (agent.clone(), false, false)],
            "2024-03-12T09:00:20Z",
        ),
        b_participants(
            "e-5",
            call,
            4,
            &[
                (caller.clone(), false, false),
                (agent.clone(), false, false),
            ],
            "2024-03-12T09:00:30Z",
        ),
        tone("e-6", 1, "one", "2024-03-12T09:00:40Z"),
        tone("e-7", 3, "pound", "2024-03-12T09:00:41Z"),
        b_result(
            "e-8",
            "PlayStarted",
            call,
            HOSTILE,
            200,
            0,
            "2024-03-12T09:00:02Z",
        ),
        b_result(
            "e-9",
            "PlayCompleted",
            call,
            HOSTILE,
            200,
            0,
            "2024-03-12T09:00:07Z",
        ),
        b_result(
            "e-10",
            "PlayFailed",
            call,
            "prompt",
            400,
            8536,
            "2024-03-12T09:00:45Z",
        ),
        b_event(
            "e-11",
            "Contoso.<b>Unknown</b><script>x()</script>",
            call,
            json!({"note": HOSTILE}),
            "2024-03-12T09:00:50Z",
        ),
        b_event(
            "e-12",
            "CallDisconnected",
            call,
            json!({}),
            "2024-03-12T09:01:00Z",
        ),
    ];
    let (late, early) = events.split_at(6);
    for body in [json!(early), json!(late), json!(early)] {
        let response = app.post_callback(body.to_string()).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    app.wait_for_projections().await;
    events
}
