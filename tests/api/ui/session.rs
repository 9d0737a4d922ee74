//! Access to the dashboard: the login, the cookie, the headers, cross-site refusals, revocation.

use super::*;

#[tokio::test]
async fn a_page_without_a_session_sends_to_the_login_form_which_sets_a_strict_private_cookie() {
    let app = spawn_ui().await;
    let response = client()
        .get(app.url("/ui/calls?outcome=failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/ui/login?next=%2Fui%2Fcalls%3Foutcome%3Dfailed");

    let form = client().get(app.url(&location)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let headers = form.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    let body = form.text().await.unwrap();
    assert!(body.contains(r#"type="password""#) && body.contains(r#"method="post""#));
    assert!(
        !body.contains("<script>") && !body.contains("style="),
        "no inline script or style"
    );

    let wrong = client()
        .post(app.url("/ui/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", "not-the-token"), ("next", "/ui")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    let ok = client()
        .post(app.url("/ui/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", UI_TOKEN), ("next", "/ui/calls?outcome=failed")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/ui/calls?outcome=failed");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/ui",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains(UI_TOKEN), "the cookie holds no token");
    let pair = cookie.split(';').next().unwrap();
    let (status, body) = page(&app, pair, "/ui/calls?outcome=failed").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Calls"));

    // A cookie altered by one character is no session.
    let mut altered = pair.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(page(&app, &altered, "/ui/calls").await.0, 303);
}

#[tokio::test]
async fn login_and_logout_from_another_site_are_refused() {
    let app = spawn_ui().await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let response = client()
            .post(app.url("/ui/login"))
            .header(name, value)
            .form(&[("token", UI_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let no_origin = client()
        .post(app.url("/ui/login"))
        .form(&[("token", UI_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403, "neither header: refused");
    let same_origin = client()
        .post(app.url("/ui/login"))
        .header("origin", app.address.clone())
        .form(&[("token", UI_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 303, "Origin of this host");

    let cookie = login(&app).await;
    let cross = client()
        .post(app.url("/ui/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let logout = client()
        .post(app.url("/ui/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert!(logout.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn a_session_works_on_every_instance_and_ends_when_its_token_is_removed() {
    let app = spawn_ui().await;
    let cookie = login(&app).await;
    let twin = TestApp::spawn_on(&app.database_url, configure_ui).await;
    assert_eq!(
        page(&twin, &cookie, "/ui/calls").await.0,
        200,
        "no server-side state"
    );
    let rotated = TestApp::spawn_on(&app.database_url, |s| {
        configure_ui(s);
        s.api.tokens = vec![calltrail::auth::tokens::hash_token("another-token")];
    })
    .await;
    assert_eq!(
        page(&rotated, &cookie, "/ui/calls").await.0,
        303,
        "token removed"
    );
    let other_key = TestApp::spawn_on(&app.database_url, |s| {
        configure_ui(s);
        s.ui.session_key = SecretString::from("another-session-key-0123456789-abcdef".to_owned());
    })
    .await;
    assert_eq!(
        page(&other_key, &cookie, "/ui/calls").await.0,
        303,
        "other key"
    );
    let off = TestApp::spawn_on(&app.database_url, |s| {
        configure_ui(s);
        s.ui.session_key = SecretString::from(String::new());
    })
    .await;
    assert_eq!(
        page(&off, &cookie, "/ui/calls").await.0,
        503,
        "no key: the dashboard is off"
    );
    // The API stays bearer-only: the session cookie opens nothing there.
    let api = client()
        .get(app.url("/api/v1/calls"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
}
