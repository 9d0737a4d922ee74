//! Who may see the dashboard: a login with an API token (`api.tokens`) sets one private cookie,
//! encrypted and authenticated under `ui.session_key`, holding the token's fingerprint and an expiry.
//! Nothing is kept on the server, so any instance with the same configuration accepts it; each
//! request checks that the fingerprint still names a configured token, so removing a token from the
//! configuration ends its sessions.
//!
//! Login and logout are the only requests that change anything; both must come from a page of this
//! origin (`Sec-Fetch-Site`, else `Origin`), and the cookie is `SameSite=Strict` besides.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{time, Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use maud::html;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use crate::auth::tokens::hash_token;
use crate::http::state::AppState;
use crate::ui::page;

pub const COOKIE: &str = "calltrail_ui";
/// A session lasts this long from its login, whatever happens meanwhile.
pub const LIFETIME_SECONDS: i64 = 12 * 3600;
/// Hex digits of the token's SHA-256 kept in the cookie: enough to tell configured tokens apart,
/// and the configuration's hash is not a credential anyway.
const FINGERPRINT_HEX: usize = 32;

/// What the dashboard's requests share: built once at start from the configuration.
pub struct UiState {
    /// `None` when `ui.session_key` is empty: the dashboard is off.
    key: Option<Key>,
    /// The fingerprint of every configured API token.
    fingerprints: Vec<String>,
}

impl UiState {
    pub fn new(session_key: &SecretString, token_hashes: &[String]) -> UiState {
        let secret = session_key.expose_secret();
        // SHA-512 gives the 64 bytes a private jar needs (32 to encrypt, 32 to sign); the label
        // keeps this key apart from any other use of the same secret.
        let key = (!secret.is_empty()).then(|| {
            let mut digest = Sha512::new();
            digest.update(b"calltrail ui session v1\0");
            digest.update(secret.as_bytes());
            Key::from(&digest.finalize())
        });
        UiState {
            key,
            fingerprints: token_hashes
                .iter()
                .map(|h| fingerprint(&h.trim().to_ascii_lowercase()))
                .collect(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.key.is_some()
    }

    /// The session a request's cookie carries, if it decrypts, has not expired and names a token
    /// that is still configured.
    fn session(&self, req: &HttpRequest) -> Option<Session> {
        let key = self.key.as_ref()?;
        let cookie = req.cookie(COOKIE)?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie);
        let plain = jar.private(key).get(COOKIE)?;
        let session: Session = serde_json::from_str(plain.value()).ok()?;
        let now = chrono::Utc::now().timestamp();
        (session.exp > now && self.fingerprints.contains(&session.fp)).then_some(session)
    }

    fn session_cookie(key: &Key, session: &Session) -> Cookie<'static> {
        let value = serde_json::to_string(session).expect("a session serialises");
        let mut jar = CookieJar::new();
        jar.private_mut(key).add(
            Cookie::build(COOKIE, value)
                .path("/ui")
                .http_only(true)
                .secure(true)
                .same_site(SameSite::Strict)
                .max_age(time::Duration::seconds(LIFETIME_SECONDS))
                .finish(),
        );
        jar.delta().next().expect("the cookie just added").clone()
    }
}

fn fingerprint(token_hash: &str) -> String {
    token_hash.chars().take(FINGERPRINT_HEX).collect()
}

/// The cookie's plaintext.
#[derive(Serialize, Deserialize)]
struct Session {
    /// The token's fingerprint.
    fp: String,
    /// Expiry, Unix seconds.
    exp: i64,
}

/// Whether a state-changing request comes from a page of this origin: the browser's
/// `Sec-Fetch-Site` when it sends one, else `Origin` against `Host`. Neither: refused.
pub fn same_origin(req: &HttpRequest) -> bool {
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin";
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host),
        _ => false,
    }
}

/// Middleware on `/ui`: every page but the login form and the static files needs a session; a
/// request without one is sent to the login form, which brings it back afterwards.
pub async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let path = req.path();
    let open = path == "/ui/login" || path.starts_with("/ui/static/");
    let Some(ui) = req.app_data::<web::Data<UiState>>().cloned() else {
        let response = page::error(&crate::error::ApiError::Internal);
        return Ok(req.into_response(response).map_into_right_body());
    };
    if !ui.enabled() && !path.starts_with("/ui/static/") {
        let response = page::disabled();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let session = if open {
        None
    } else {
        ui.session(req.request())
    };
    if let Some(session) = &session {
        // Who is asking, for the pages that record what they were shown.
        req.extensions_mut()
            .insert(crate::ui::audit::Viewer::from_fingerprint(&session.fp));
    }
    if !open && session.is_none() {
        let target = match req.query_string() {
            "" => path.to_owned(),
            query => format!("{path}?{query}"),
        };
        let location = format!(
            "/ui/login?next={}",
            percent_encoding::utf8_percent_encode(&target, percent_encoding::NON_ALPHANUMERIC)
        );
        let response = HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path of the dashboard itself: never another site (`//evil`, `https://…`).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/ui".to_owned(),
    }
}

pub async fn login_form(query: web::Query<NextQuery>) -> HttpResponse {
    page::html_response(
        actix_web::http::StatusCode::OK,
        login_page(&safe_next(query.next.as_deref()), None),
    )
}

fn login_page(next: &str, problem: Option<&str>) -> maud::Markup {
    let body = html! {
        h1 { "Log in" }
        p { "Paste an API token (one of " code { "api.tokens" } "). It is checked once and never stored: "
            "the browser keeps an encrypted session cookie for 12 hours." }
        @if let Some(problem) = problem {
            p.problem role="alert" { (problem) }
        }
        form method="post" action="/ui/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "API token" }
            input #token type="password" name="token" required autocomplete="off" spellcheck="false";
            button type="submit" { "Log in" }
        }
    };
    page::layout("Log in", page::Nav::None, body)
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ui: web::Data<UiState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if !same_origin(&req) {
        return page::cross_site();
    }
    let next = safe_next(form.next.as_deref());
    let Some(key) = ui.key.as_ref() else {
        return page::disabled();
    };
    if !state.api_tokens.accepts(form.token.trim()) {
        tracing::info!(reason = "token not recognised", "dashboard login refused");
        return page::html_response(
            actix_web::http::StatusCode::UNAUTHORIZED,
            login_page(&next, Some("That token is not accepted.")),
        );
    }
    let session = Session {
        fp: fingerprint(&hash_token(form.token.trim())),
        exp: chrono::Utc::now().timestamp() + LIFETIME_SECONDS,
    };
    HttpResponse::SeeOther()
        .cookie(UiState::session_cookie(key, &session))
        .insert_header((header::LOCATION, next))
        .finish()
}

pub async fn logout(req: HttpRequest) -> HttpResponse {
    if !same_origin(&req) {
        return page::cross_site();
    }
    let mut gone = Cookie::build(COOKIE, "")
        .path("/ui")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .finish();
    gone.make_removal();
    HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, "/ui/login"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/ui/calls?outcome=failed")),
            "/ui/calls?outcome=failed"
        );
        for bad in [
            "//evil.example/ui",
            "https://evil.example",
            "/api/v1/calls",
            "/ui\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/ui", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui");
    }

    #[test]
    fn a_session_names_a_configured_token_by_fingerprint() {
        let ui = UiState::new(
            &SecretString::from("k".repeat(40)),
            &[hash_token("alpha").to_ascii_uppercase()],
        );
        assert_eq!(ui.fingerprints, [fingerprint(&hash_token("alpha"))]);
        assert!(ui.enabled());
        assert!(!UiState::new(&SecretString::from(String::new()), &[]).enabled());
    }
}
