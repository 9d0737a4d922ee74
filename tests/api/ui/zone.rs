//! The server writes times in the chosen IANA zone, the zone always written: chosen with `?tz=` on
//! any page or the `/ui/zone` form, remembered in a cookie; an unknown or hostile name is refused
//! and said so, inert.

use super::*;

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page")
}

fn zone_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("calltrail_tz="))
        .map(str::to_owned)
}

#[tokio::test]
async fn pages_render_times_in_the_chosen_zone_and_remember_it() {
    let app = spawn_ui().await;
    let call = "ui-call-zone";
    deliver_call(&app, call).await;
    let cookie = login(&app).await;
    let path = format!("/ui/calls/{call}");
    let utc = "2024-03-12 09:00:00.000 UTC";
    let berlin = "2024-03-12 10:00:00.000 Europe/Berlin (UTC+01:00)";

    let (_, html) = page(&app, &cookie, &path).await;
    assert!(html.contains(utc) && !html.contains("Europe/Berlin"));
    assert!(html.contains("data-zone=\"UTC\""));

    let response = get(&app, &cookie, &format!("{path}?tz=Europe/Berlin")).await;
    let remembered = zone_cookie(&response).expect("the zone is remembered");
    for attribute in ["Path=/ui", "HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(remembered.contains(attribute), "{remembered}");
    }
    let html = response.text().await.unwrap();
    assert!(html.contains(berlin), "every time in the zone, named");
    assert!(!html.contains(utc));
    assert!(
        html.contains("Time (Europe/Berlin)"),
        "the table says its zone"
    );
    assert!(
        html.contains("10:00:00 CET"),
        "the axis too, with the abbreviation"
    );
    assert!(
        html.contains("datetime=\"2024-03-12T09:00:00.000Z\""),
        "machine-readable in UTC"
    );

    // Remembered: the next pages, without the query, are in Berlin time.
    let both = format!("{cookie}; {}", remembered.split(';').next().unwrap());
    for other in [path.clone(), format!("/ui/events?call_id={call}")] {
        let (status, html) = page(&app, &both, &other).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("Europe/Berlin (UTC+01:00)") && !html.contains(utc),
            "{other}"
        );
    }

    // Unknown and hostile names are refused, said so (inert), and change nothing.
    for bad in ["Mars/Olympus", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"] {
        let response = get(&app, &both, &format!("{path}?tz={bad}")).await;
        assert!(zone_cookie(&response).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Unknown time zone"), "{bad}");
        assert!(html.contains(berlin), "still the remembered zone");
        assert!(!html.contains("<script>alert"));
    }

    // The form: a zone chosen there applies and goes back; `tz=` empty returns to UTC.
    let response = get(&app, &both, "/ui/zone?tz=America/New_York&next=/ui/calls").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/ui/calls");
    assert!(zone_cookie(&response)
        .unwrap()
        .starts_with("calltrail_tz=America/New_York"));
    let response = get(&app, &both, "/ui/zone?tz=&next=//elsewhere.example").await;
    assert_eq!(
        response.headers()["location"],
        "/ui",
        "only dashboard paths are followed"
    );
    assert!(
        zone_cookie(&response).unwrap().contains("Max-Age=0"),
        "forgotten"
    );
    let (_, html) = page(&app, &cookie, "/ui/zone?next=/ui/calls").await;
    assert!(html.contains("name=\"tz\"") && html.contains("value=\"/ui/calls\""));
}
