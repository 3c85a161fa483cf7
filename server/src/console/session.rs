//! Logging in and out, the session guard with its CSRF check, and the
//! security headers of every console response.
//!
//! - `GET /login` sets a short-lived double-submit cookie and shows a form
//!   with the same value; `POST /login` needs both to match, checks the token
//!   like the API does (constant time, only hashes kept), opens a session in
//!   the store and sets the session cookie. A failed login says only that the
//!   token is not valid, and is logged without the token.
//! - [`require_session`] lets a request through only with a live session
//!   whose token is still configured; a `GET` without one is sent to the
//!   login page (and back afterwards), anything else gets 401. Requests
//!   that are not `GET`/`HEAD` must also carry the session's CSRF token
//!   (form field `csrf` or header `X-CSRF-Token`): 403 otherwise.
//! - `POST /logout` deletes the session from the store and the cookie.

use std::collections::HashMap;

use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cookie::time::Duration as CookieDuration;
use maud::html;
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::layout::{self, bare_page};
use super::ConsoleState;
use crate::auth::Caller;
use crate::BODY_LIMIT;

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "floodlight-session";
/// The session cookie's name when cookies are `Secure` (the `__Host-`
/// prefix makes browsers refuse it without `Secure`, with a `Domain`, or
/// with another `Path`).
pub const SECURE_SESSION_COOKIE: &str = "__Host-floodlight-session";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "floodlight-login";
/// The form field (and `X-CSRF-Token` header) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The logged-in person, for handlers (`Extension<Viewer>`).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The token they logged in with (its name and role).
    pub caller: Caller,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl Viewer {
    /// The name recorded in audit logs and triage history.
    pub fn name(&self) -> &str {
        &self.caller.name
    }
}

fn session_cookie_name(state: &ConsoleState) -> &'static str {
    if state.secure_cookies {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `next` if it is a path on this site (not `//host`, not a URL), else `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.starts_with("/login") => {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_form(State(state): State<ConsoleState>, Query(q): Query<LoginQuery>) -> Response {
    login_page(&state, q.next.as_deref(), None, StatusCode::OK)
}

fn login_page(state: &ConsoleState, next: Option<&str>, problem: Option<&str>, status: StatusCode) -> Response {
    let csrf = random_hex();
    let cookie = Cookie::build((LOGIN_COOKIE, csrf.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .path("/login")
        .max_age(CookieDuration::minutes(30))
        .build();
    let next = local_path(next);
    let body = html! {
        main #main .login {
            h1 { "floodlight" }
            p .lead { "Shadow IT, in the light. Log in with an API token (" code { "floodlight token new" } " makes one)." }
            @if let Some(problem) = problem {
                p .error role="alert" { (problem) }
            }
            form method="post" action="/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="token" { "API token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Log in" }
            }
        }
    };
    let jar = CookieJar::new().add(cookie);
    (status, jar, bare_page("Log in", body)).into_response()
}

/// The login form (no `Debug`: it holds the token).
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(State(state): State<ConsoleState>, jar: CookieJar, Form(form): Form<LoginForm>) -> Response {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !same(&expected, &form.csrf) {
        return login_page(
            &state,
            form.next.as_deref(),
            Some("The login form expired or was not sent by this site. Try again."),
            StatusCode::FORBIDDEN,
        );
    }
    let Some(caller) = state.auth.check(form.token.trim()) else {
        tracing::warn!(target: "floodlight_server", "console: a login with an unknown token was refused");
        return login_page(&state, form.next.as_deref(), Some("That token is not valid."), StatusCode::UNAUTHORIZED);
    };
    let (secret, _) = match state.store.create_session(&caller.name, caller.role.as_str(), state.session_ttl).await {
        Ok(s) => s,
        Err(e) => return layout::store_error(&e),
    };
    tracing::info!(target: "floodlight_server", token = %caller.name, "console: logged in");
    // Sessions that ended without a logout are removed now and then: at logins.
    if let Err(e) = state.store.purge_expired_sessions().await {
        tracing::warn!(target: "floodlight_server", error = %e, "console: cannot remove expired sessions");
    }
    let ttl = CookieDuration::seconds(i64::try_from(state.session_ttl.as_secs()).unwrap_or(i64::MAX));
    let session = Cookie::build((session_cookie_name(&state), secret.expose().to_string()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .path("/")
        .max_age(ttl)
        .build();
    let gone = Cookie::build((LOGIN_COOKIE, "")).path("/login").build();
    let jar = jar.add(session).remove(gone);
    (jar, Redirect::to(&local_path(form.next.as_deref()))).into_response()
}

/// `POST /logout` (behind [`require_session`], so CSRF-checked).
pub async fn logout(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let name = session_cookie_name(&state);
    if let Some(c) = jar.get(name) {
        if let Err(e) = state.store.delete_session(c.value()).await {
            return layout::store_error(&e);
        }
    }
    tracing::info!(target: "floodlight_server", token = %viewer.name(), "console: logged out");
    let jar = jar.remove(Cookie::build((name, "")).path("/").build());
    (jar, Redirect::to("/login")).into_response()
}

/// The answer to a request without a live session.
fn not_logged_in(request: &Request) -> Response {
    let htmx = request.headers().contains_key("hx-request");
    if matches!(*request.method(), Method::GET | Method::HEAD) && !htmx {
        let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let query = layout::percent_encode(target, b"/");
        return Redirect::to(&format!("/login?next={query}")).into_response();
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        bare_page(
            "Logged out",
            html! { main #main { h1 { "Your session has ended" } p { a href="/login" { "Log in again" } } } },
        ),
    )
        .into_response();
    if htmx {
        response.headers_mut().insert("hx-redirect", HeaderValue::from_static("/login"));
    }
    response
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        bare_page(
            "Refused",
            html! {
                main #main {
                    h1 { "This form was refused" }
                    p { "It did not carry this session's security token (CSRF). Go back, reload the page and try again." }
                }
            },
        ),
    )
        .into_response()
}

/// Middleware: a live session (and, for anything but `GET`/`HEAD`, its CSRF token).
pub async fn require_session(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    let Some(secret) = jar.get(session_cookie_name(&state)).map(|c| c.value().to_string()) else {
        return not_logged_in(&request);
    };
    let session = match state.store.session(&secret).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_logged_in(&request),
        Err(e) => return layout::store_error(&e),
    };
    // The token may have been removed from the config (or its role changed)
    // since the login: the config decides.
    let Some(caller) = state.auth.caller_named(&session.token_name) else {
        let _ = state.store.delete_session(&secret).await;
        return not_logged_in(&request);
    };
    let viewer = Viewer { caller, csrf: session.csrf_token };
    let mut request = if matches!(*request.method(), Method::GET | Method::HEAD) {
        request
    } else {
        match check_csrf(request, &viewer.csrf).await {
            Ok(r) => r,
            Err(refused) => return refused,
        }
    };
    request.extensions_mut().insert(viewer.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(viewer.caller);
    response
}

/// Find the CSRF token in the header or the form body (which is read and
/// put back for the handler).
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    if let Some(h) = request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same(h, expected) { Ok(request) } else { Err(csrf_refused()) };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(csrf_refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Err((StatusCode::PAYLOAD_TOO_LARGE, "the form is larger than 1 MiB").into_response()),
    };
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    match fields.get(CSRF_FIELD) {
        Some(token) if same(token, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(csrf_refused()),
    }
}

/// The Content-Security-Policy of every console page: only this server's
/// scripts, styles, images and connections; no framing, no plugins, forms
/// only to this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// Middleware: the security headers of every console response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The explain page sets `no-referrer` itself (its address holds a token).
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    // Pages are never cached (they hold names and findings); the assets
    // say for themselves how long they keep.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path(Some("/apps?q=drop")), "/apps?q=drop");
        for outside in ["//evil.example", "https://evil.example/", "/\\evil.example", "evil", "/login?next=/"] {
            assert_eq!(local_path(Some(outside)), "/", "{outside}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(layout::percent_encode("/apps?q=a b&x=1", b"/"), "/apps%3Fq%3Da%20b%26x%3D1");
    }
}
