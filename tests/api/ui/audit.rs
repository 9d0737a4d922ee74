//! Who viewed raw payloads: every opening of an event's payload (page, exact view, download) by a
//! logged-in user is recorded with the token's hash prefix, never the token, and listed on
//! `/ui/audit`; pages that show no payload record nothing.

use super::*;

#[tokio::test]
async fn every_raw_payload_view_is_recorded_by_whom_and_listed() {
    let app = spawn_ui().await;
    let call = "ui-call-audit";
    deliver_call(&app, call).await;
    let cookie = login(&app).await;
    let seq: i64 = sqlx::query_scalar("SELECT min(event_seq) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let views = || async {
        sqlx::query_as::<_, (String, i64, Option<String>, String)>(
            "SELECT principal, event_seq, call_id, how FROM payload_views ORDER BY view_id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };

    // Pages without a payload, and an event that does not exist, record nothing.
    for path in [
        "/ui/events".to_owned(),
        format!("/ui/calls/{call}"),
        "/ui/events/999999".to_owned(),
        "/ui/events/999999/raw".to_owned(),
    ] {
        page(&app, &cookie, &path).await;
    }
    assert!(views().await.is_empty());
    // Nor does a request without a session (sent to the login form).
    let (status, _) = page(&app, "calltrail_ui=forged", &format!("/ui/events/{seq}")).await;
    assert_eq!(status, 303);
    assert!(views().await.is_empty());

    for path in [
        format!("/ui/events/{seq}"),
        format!("/ui/events/{seq}?view=exact"),
        format!("/ui/events/{seq}/raw"),
    ] {
        let (status, _) = page(&app, &cookie, &path).await;
        assert_eq!(status, 200, "{path}");
    }
    let principal = format!(
        "sha256:{}",
        &calltrail::auth::tokens::hash_token(UI_TOKEN)[..12]
    );
    let recorded = views().await;
    let hows: Vec<&str> = recorded.iter().map(|v| v.3.as_str()).collect();
    assert_eq!(hows, ["page", "exact", "download"]);
    for (who, event, on_call, _) in &recorded {
        assert_eq!(who, &principal);
        assert!(!who.contains(UI_TOKEN));
        assert_eq!(*event, seq);
        assert_eq!(on_call.as_deref(), Some(call));
    }

    let (status, listed) = page(&app, &cookie, &format!("/ui/audit?event_seq={seq}")).await;
    assert_eq!(status, 200);
    let table = between(&listed, "<tbody>", "</tbody>");
    assert_eq!(table.matches("<tr>").count(), 3, "{table}");
    assert_eq!(table.matches(principal.as_str()).count(), 3);
    assert!(table.contains("download") && table.contains("exact"));
    let (_, event_page) = page(&app, &cookie, &format!("/ui/events/{seq}")).await;
    assert!(hrefs(&event_page, "/ui/audit?event_seq=")
        .contains(&format!("/ui/audit?event_seq={seq}").as_str()));
    // Listing the views shows no payload, so it records no view itself.
    assert_eq!(
        views().await.len(),
        4,
        "three views and the event page just read"
    );
}
