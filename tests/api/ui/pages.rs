//! The pages: the call page's swimlane against the stored events, hostile payloads rendered inert,
//! the lists, the event page, the empty, not-found and database-down states.

use super::*;

/// Whether a page holds markup a payload carried, unescaped.
fn assert_inert(path: &str, html: &str) {
    for raw in ["<script>alert", "<img src=x", "<b>Unknown", "<script>x()"] {
        assert!(!html.contains(raw), "{path} renders `{raw}` unescaped");
    }
    let scripts = html.matches("<script").count();
    assert_eq!(scripts, 1, "{path}: only the dashboard's own script tag");
}

#[tokio::test]
async fn the_call_page_draws_a_lane_per_participant_a_mark_per_tone_and_links_every_mark_to_its_event(
) {
    let app = spawn_ui().await;
    let call = "ui-call-1";
    deliver_call(&app, call).await;
    let cookie = login(&app).await;
    let path = format!("/ui/calls/{call}");
    let (status, html) = page(&app, &cookie, &path).await;
    assert_eq!(status, 200, "{html}");
    assert_inert(&path, &html);

    let svg = between(&html, "<svg class=\"swimlane\"", "</svg>");
    let lanes = svg.matches("class=\"lane-label\"").count();
    assert_eq!(lanes, 2 + 2, "call state, two participants, media");
    assert!(svg.contains(">8:acs:r_agent<"), "the agent's lane");
    // Shown masked; the full raw id only in the participant link's address, one click deeper.
    let shown: String = html
        .split("href=\"")
        .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
        .collect();
    assert!(
        !shown.contains("5550123"),
        "phone numbers are masked on the call page"
    );
    assert_eq!(
        svg.matches("data-kind=\"dtmf\"").count(),
        2,
        "a marker per tone"
    );
    assert_eq!(
        svg.matches("class=\"mark unlinked\"").count(),
        0,
        "every mark has its event"
    );

    // Every mark is a link to a stored event of this call, in time order.
    let links = hrefs(svg, "/ui/events/");
    assert!(links.len() >= 12, "{links:?}");
    let stored: Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> =
        stored_events(&app.pool)
            .await
            .into_iter()
            .map(|s| s.event)
            .filter(|e| e.call_id.as_deref() == Some(call))
            .map(|e| (e.event_seq, e.event_type, e.event_time))
            .collect();
    let mut times = Vec::new();
    for link in &links {
        let seq: i64 = link.trim_start_matches("/ui/events/").parse().unwrap();
        let event = stored
            .iter()
            .find(|e| e.0 == seq)
            .expect("an event of this call");
        times.push(event.2.unwrap());
        let (status, _) = page(&app, &cookie, link).await;
        assert_eq!(status, 200, "{link}");
    }
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "marks in time order"
    );
    // The tone markers link to the tone events, on the agent's lane.
    let tone_seqs: Vec<i64> = stored
        .iter()
        .filter(|e| e.1.ends_with("ToneReceived"))
        .map(|e| e.0)
        .collect();
    for seq in tone_seqs {
        assert!(
            svg.contains(&format!("href=\"/ui/events/{seq}\" aria-label=\"key ")),
            "{seq}"
        );
    }
    // The table twin holds the same marks.
    let table = between(&html, "id=\"marks-h\"", "</table>");
    assert_eq!(hrefs(table, "/ui/events/"), links);
    // The trust panel: the unknown type kept, the gap in the tones, the late arrivals.
    let trust = between(&html, "id=\"trust-h\"", "</section>");
    assert!(trust.contains("Contoso.&lt;b&gt;Unknown"), "{trust}");
    assert!(
        trust.contains("Key presses missing (sequence gaps)</dt><dd>1<"),
        "{trust}"
    );
    assert!(trust.contains("query_secret"));
    // The six events delivered a second time were absorbed, and counted against the call. The
    // writer counts them just after it has answered: wait for the count, then read the page again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let counted: Option<i64> =
            sqlx::query_scalar("SELECT duplicates FROM call_duplicates WHERE call_id = $1")
                .bind(call)
                .fetch_optional(&app.pool)
                .await
                .unwrap();
        if counted == Some(6) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "counted {counted:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, html) = page(&app, &cookie, &path).await;
    let trust = between(&html, "id=\"trust-h\"", "</section>");
    assert!(trust.contains("Duplicates absorbed</dt><dd>6 "), "{trust}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE call_id = $1")
        .bind(call)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        trust.contains(&format!("Events received</dt><dd>{} ", stored + 6)),
        "{trust}"
    );
}

#[tokio::test]
async fn hostile_payloads_render_inert_on_every_page() {
    let app = spawn_ui().await;
    let call = "ui-call-hostile";
    deliver_call(&app, call).await;
    let cookie = login(&app).await;
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT event_seq FROM events ORDER BY event_seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut paths = vec![
        "/ui".to_owned(),
        "/ui/calls".to_owned(),
        format!("/ui/calls/{call}"),
        "/ui/events".to_owned(),
        format!("/ui/events?call_id={call}&json_path=data.note&json_value=x"),
        "/ui/participants/8%3Aacs%3Ar_agent".to_owned(),
    ];
    for seq in &seqs {
        paths.push(format!("/ui/events/{seq}"));
        paths.push(format!("/ui/events/{seq}?view=exact"));
    }
    paths.push("/ui/reports?from=2024-03-12T00:00:00Z&to=2024-03-13T00:00:00Z".to_owned());
    // After the event pages: their views, with the call's hostile ids, are listed here.
    paths.push("/ui/audit".to_owned());
    // Page weight: the page and its two static files, under 100 kB.
    let (_, css) = page(&app, &cookie, "/ui/static/app.css").await;
    let (_, js) = page(&app, &cookie, "/ui/static/app.js").await;
    assert!(css.len() + js.len() > 1000, "the static files are served");
    for path in &paths {
        let (status, html) = page(&app, &cookie, path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert_inert(path, &html);
        let weight = html.len() + css.len() + js.len();
        assert!(weight < 100_000, "{path} weighs {weight} bytes");
    }
    // The payload is there, escaped.
    let hostile: i64 = sqlx::query_scalar(
        "SELECT event_seq FROM events WHERE event_type LIKE '%Contoso%' LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = page(&app, &cookie, &format!("/ui/events/{hostile}?view=exact")).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    // The download is plain text, an attachment, not sniffed.
    let raw = client()
        .get(app.url(&format!("/ui/events/{}/raw", seqs[0])))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(raw.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(raw.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn lists_filter_and_page_like_the_api_and_the_event_page_links_its_neighbours() {
    let app = spawn_ui().await;
    deliver_call(&app, "ui-call-a").await;
    deliver_call(&app, "ui-call-b").await;
    let cookie = login(&app).await;
    let (_, first) = page(&app, &cookie, "/ui/calls?limit=1").await;
    let next = hrefs(&first, "/ui/calls?")
        .into_iter()
        .find(|h| h.contains("cursor="))
        .expect("a next page");
    let next = next.replace("&amp;", "&");
    assert!(first.contains("ui-call-a") && !first.contains("ui-call-b"));
    let (status, second) = page(&app, &cookie, &format!("{next}&limit=1")).await;
    assert_eq!(status, 200, "{second}");
    assert!(second.contains("ui-call-b"));
    let (_, failed) = page(&app, &cookie, "/ui/calls?outcome=failed").await;
    assert!(failed.contains("No calls match"), "both calls completed");
    let (status, bad) = page(&app, &cookie, "/ui/calls?outcome=exploded").await;
    assert_eq!(status, 400);
    assert!(bad.contains("outcome"));

    let (_, log) = page(
        &app,
        &cookie,
        "/ui/events?call_id=ui-call-a&type=Microsoft.Communication.PlayFailed",
    )
    .await;
    let rows = hrefs(between(&log, "<tbody>", "</tbody>"), "/ui/events/");
    assert_eq!(rows.len(), 1, "{log}");
    let (_, event) = page(&app, &cookie, rows[0]).await;
    assert!(event.contains("rel=\"prev\"") && event.contains("rel=\"next\""));
    assert!(
        event.contains("8536") && event.contains("Sender&#39;s time")
            || event.contains("Sender's time")
    );
    let (status, report) = page(
        &app,
        &cookie,
        "/ui/reports?from=2024-03-12T00:00:00Z&to=2024-03-14T00:00:00Z&bucket=day",
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report.matches("<figure class=\"chart\">").count(), 3);
    let table = between(&report, "<tbody>", "</tbody>");
    assert_eq!(table.matches("<tr>").count(), 2, "one row a day");
    assert!(
        table.contains("<td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\">0</td>"),
        "two calls, both connected, none failed: {table}"
    );
    let (_, person) = page(&app, &cookie, "/ui/participants/4%3A%2B14255550123").await;
    assert!(person.contains("ui-call-a") && person.contains("ui-call-b"));
    assert!(
        person.contains("4:+14255550123"),
        "the full id, one click deeper"
    );
}

#[tokio::test]
async fn empty_not_found_lagging_and_database_down_each_have_their_page() {
    let app = spawn_ui().await;
    let cookie = login(&app).await;
    let (status, empty) = page(&app, &cookie, "/ui/calls").await;
    assert_eq!(status, 200);
    assert!(
        empty.contains("Nothing stored yet") && empty.contains("/api/callbacks"),
        "first run"
    );
    let (status, _) = page(&app, &cookie, "/ui").await;
    assert_eq!(status, 200);
    let (status, missing) = page(&app, &cookie, "/ui/calls/no-such-call").await;
    assert_eq!(status, 404);
    assert!(missing.contains("no call"));
    assert_eq!(page(&app, &cookie, "/ui/events/999").await.0, 404);
    assert_eq!(page(&app, &cookie, "/ui/events/abc").await.0, 400);
    assert_eq!(page(&app, &cookie, "/ui/nowhere").await.0, 404);

    // Stored, not yet projected: an instance without a projector, on a database of its own (on the
    // first instance's database, that instance's projector would take the call at its next poll,
    // possibly before the page is read). The session works on every instance.
    let lagging = TestApp::spawn_with(|s| {
        configure_ui(s);
        s.projection.enabled = false;
    })
    .await;
    let body = json!([b_event(
        "l-1",
        "CallConnected",
        "ui-lagging",
        json!({}),
        "2024-03-12T09:00:00Z"
    )]);
    assert_eq!(lagging.post_callback(body.to_string()).await.status(), 200);
    let (status, html) = page(&lagging, &cookie, "/ui/calls/ui-lagging").await;
    assert!(
        status == 200 && html.contains("projection lagging")
            || html.contains("The call model is behind"),
        "{html}"
    );

    // PostgreSQL cannot be reached: nothing listens on port 1.
    let down = TestApp::spawn_with(|s| {
        configure_ui(s);
        s.database.url = "postgres://postgres@127.0.0.1:1/none".to_owned().into();
        s.database.migrate_on_start = false;
        s.database.acquire_timeout_ms = 300;
    })
    .await;
    for path in [
        "/ui",
        "/ui/calls",
        "/ui/calls/x",
        "/ui/events",
        "/ui/events/1",
    ] {
        let (status, html) = page(&down, &cookie, path).await;
        assert_eq!(status, 503, "{path}: {html}");
        assert!(
            html.contains("Database unavailable") && html.contains("Retry"),
            "{path}"
        );
    }
}
