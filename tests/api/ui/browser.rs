//! The dashboard in a real browser (Debian's Chromium, headless): log in, filter and come back,
//! walk a call by keyboard alone, and an accessibility check (axe-core, vendored) on every page.

use std::path::PathBuf;

use serde_json::json;

use super::webdriver::{Browser, ENTER, TAB};
use super::*;

const AXE: &str = include_str!("../../fixtures/axe.min.js");

/// Where the browser tests leave their screenshots.
fn artefacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn log_in(browser: &Browser, app: &TestApp, next: &str) {
    browser.goto(&app.url(next)).await;
    assert!(
        browser.url().await.contains("/ui/login?next="),
        "sent to the login form"
    );
    let field = browser.find("#token").await;
    browser.type_into(&field, UI_TOKEN).await;
    browser.type_into(&field, ENTER).await;
    let url = browser.url_once(|u| u == app.url(next)).await;
    assert_eq!(url, app.url(next), "back where it started, logged in");
}

/// axe-core's WCAG 2.2 A and AA rules on the page: no violation.
async fn assert_accessible(browser: &Browser, what: &str) {
    browser.script(AXE, json!([])).await;
    let result = browser
        .script_async(
            "const done = arguments[arguments.length - 1];\n\
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', \
             'wcag21aa', 'wcag22aa']}})\n\
               .then(r => done(r.violations.map(v => ({id: v.id, help: v.help, \
               nodes: v.nodes.slice(0, 3).map(n => n.html)}))))\n\
               .catch(e => done([{id: 'axe failed', help: String(e)}]));",
        )
        .await;
    assert_eq!(result, json!([]), "{what}: accessibility violations");
}

#[tokio::test]
async fn log_in_filter_the_calls_and_come_back_with_back() {
    let app = spawn_ui().await;
    deliver_call(&app, "browser-call-1").await;
    let browser = Browser::start().await;
    log_in(&browser, &app, "/ui/calls").await;
    let outcome = browser.find("#outcome").await;
    browser.click(&outcome).await;
    let failed = browser.find("#outcome option[value='failed']").await;
    browser.click(&failed).await;
    let submit = browser.find("form.filters button[type='submit']").await;
    browser.click(&submit).await;
    let filtered = browser.url_once(|u| u.contains("outcome=failed")).await;
    assert!(filtered.contains("outcome=failed"), "{filtered}");
    let empty = browser
        .script(
            "return document.querySelector('.empty').textContent",
            json!([]),
        )
        .await;
    assert!(empty.as_str().unwrap().contains("No calls match"));
    browser.back().await;
    assert_eq!(browser.url().await, app.url("/ui/calls"));
    let rows = browser
        .script(
            "return document.querySelectorAll('tbody tr').length",
            json!([]),
        )
        .await;
    assert_eq!(rows, 1, "the unfiltered list again");
}

#[tokio::test]
async fn a_call_to_a_key_press_to_its_raw_payload_by_keyboard_alone() {
    let app = spawn_ui().await;
    let call = "browser-call-2";
    deliver_call(&app, call).await;
    let browser = Browser::start().await;
    log_in(&browser, &app, "/ui/calls").await;

    // Tab to the call's row, Enter; Tab to the first key-press mark, Enter.
    let mut reached = false;
    for _ in 0..80 {
        browser.press(TAB).await;
        if browser.focused().await["text"] == call {
            reached = true;
            break;
        }
    }
    assert!(reached, "the call's link is reachable by Tab");
    browser.press(ENTER).await;
    let page = app.url(&format!("/ui/calls/{call}"));
    assert_eq!(browser.url_once(|u| u == page).await, page);
    let mut order = Vec::new();
    let mut tone = None;
    for _ in 0..120 {
        browser.press(TAB).await;
        let focused = browser.focused().await;
        if focused["cls"] == "mark" {
            order.push(focused["href"].as_str().unwrap().to_owned());
            if focused["kind"] == "dtmf" {
                tone = Some(focused["href"].as_str().unwrap().to_owned());
                break;
            }
        }
    }
    let tone = tone.expect("a key-press mark is reachable by Tab");
    assert!(
        order.len() >= 3,
        "marks before it were focused on the way: {order:?}"
    );
    browser.press(ENTER).await;
    let event = app.url(&tone);
    assert_eq!(browser.url_once(|u| u == event).await, event);
    let mut payload = None;
    for _ in 0..80 {
        browser.press(TAB).await;
        let focused = browser.focused().await;
        if focused["id"] == "raw-payload" {
            payload = Some(focused["text"].as_str().unwrap().to_owned());
            break;
        }
    }
    let payload = payload.expect("the raw payload is reachable by Tab");
    assert!(
        payload.contains("ContinuousDtmfRecognitionToneReceived"),
        "{payload}"
    );
    assert!(
        payload.contains("<script>alert(1)</script>"),
        "shown as text, not run"
    );
    let alerts = browser
        .script(
            "return document.querySelectorAll('script').length",
            json!([]),
        )
        .await;
    assert_eq!(alerts, 1, "only the dashboard's own script");
}

#[tokio::test]
async fn every_page_passes_the_accessibility_check_and_the_call_page_is_photographed() {
    let app = spawn_ui().await;
    let call = "browser-call-3";
    deliver_call(&app, call).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/ui/login")).await;
    assert_accessible(&browser, "login").await;
    log_in(&browser, &app, "/ui").await;
    let seq: i64 = sqlx::query_scalar(
        "SELECT event_seq FROM events WHERE event_type LIKE '%ToneReceived' ORDER BY event_seq LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for path in [
        "/ui".to_owned(),
        "/ui/calls".to_owned(),
        format!("/ui/calls/{call}"),
        "/ui/events".to_owned(),
        format!("/ui/events/{seq}"),
        format!("/ui/events/{seq}?view=exact"),
        "/ui/participants/8%3Aacs%3Ar_agent".to_owned(),
        "/ui/calls/no-such-call".to_owned(),
        "/ui/reports?from=2024-03-12T00:00:00Z&to=2024-03-13T00:00:00Z&bucket=hour".to_owned(),
    ] {
        browser.goto(&app.url(&path)).await;
        assert_accessible(&browser, &path).await;
    }
    browser.set_window(1280, 1500).await;
    browser.goto(&app.url(&format!("/ui/calls/{call}"))).await;
    let picture = browser.screenshot().await;
    assert!(picture.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(artefacts().join("call-page.png"), picture).unwrap();
    browser.goto(&app.url("/ui")).await;
    std::fs::write(artefacts().join("overview.png"), browser.screenshot().await).unwrap();
    browser
        .goto(&app.url("/ui/reports?from=2024-03-12T08:00:00Z&to=2024-03-12T12:00:00Z&bucket=hour"))
        .await;
    std::fs::write(artefacts().join("reports.png"), browser.screenshot().await).unwrap();
}

#[tokio::test]
async fn times_switch_to_the_browsers_zone_with_the_zone_written_and_stay_switched() {
    let app = spawn_ui().await;
    let call = "browser-call-4";
    deliver_call(&app, call).await;
    let browser = Browser::start_in_zone("Europe/Berlin").await;
    log_in(&browser, &app, &format!("/ui/calls/{call}")).await;
    let first_time = "return document.querySelector('main time').textContent";
    assert_eq!(
        browser.script(first_time, json!([])).await,
        "2024-03-12 09:00:00.000 UTC"
    );
    let switch = browser.find("#time-zone").await;
    browser.click(&switch).await;
    assert_eq!(
        browser.script(first_time, json!([])).await,
        "2024-03-12 10:00:00.000 Europe/Berlin (GMT+1)"
    );
    browser.refresh().await;
    assert_eq!(
        browser.script(first_time, json!([])).await,
        "2024-03-12 10:00:00.000 Europe/Berlin (GMT+1)",
        "remembered"
    );
    let switch = browser.find("#time-zone").await;
    browser.click(&switch).await;
    assert_eq!(
        browser.script(first_time, json!([])).await,
        "2024-03-12 09:00:00.000 UTC"
    );
}

#[tokio::test]
async fn a_navigation_that_takes_a_while_is_announced_until_a_page_arrives() {
    let app = spawn_ui().await;
    deliver_call(&app, "browser-call-5").await;
    let browser = Browser::start().await;
    log_in(&browser, &app, "/ui/calls").await;
    // Hold navigations back with listeners that run after the dashboard's own, so that the
    // page which started one stays in the browser to be read.
    browser
        .script(
            "window.addEventListener('click', e => { if (e.target.closest('a')) e.preventDefault(); });\n\
             window.addEventListener('submit', e => e.preventDefault());",
            json!([]),
        )
        .await;
    let state = "const s = document.querySelector('div.loading');\n\
                 return [document.body.classList.contains('is-loading'), s.textContent, \
                 s.getAttribute('role'), s.getAttribute('aria-live')];";
    let idle = json!([false, "", "status", "polite"]);
    let loading = json!([true, "Loading…", "status", "polite"]);
    assert_eq!(browser.script(state, json!([])).await, idle);
    let wait_for = |want: Value| {
        let browser = &browser;
        async move {
            let mut seen = Value::Null;
            for _ in 0..50 {
                seen = browser.script(state, json!([])).await;
                if seen == want {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("the indicator never became {want}: {seen}");
        }
    };
    // A link to another page of the dashboard.
    let link = browser.find("a[href^='/ui/calls/']").await;
    browser.click(&link).await;
    wait_for(loading.clone()).await;
    // The next page arriving (here, the page shown again from the cache) clears it.
    browser
        .script(
            "window.dispatchEvent(new PageTransitionEvent('pageshow'))",
            json!([]),
        )
        .await;
    assert_eq!(browser.script(state, json!([])).await, idle);
    // A form sent.
    let submit = browser.find("form.filters button[type='submit']").await;
    browser.click(&submit).await;
    wait_for(loading).await;
}
