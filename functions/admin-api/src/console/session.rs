//! Signing in and out, and the check in front of every signed-in page.

use super::layout;
use super::{Admin, Failure};
use crate::{AdminApi, Caller};
use axum::body::{Body, to_bytes};
use axum::extract::Form;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::AppendHeaders;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use cookie::{Cookie, SameSite};
use ithub::store::Session;
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// How long a console session lasts from sign-in.
pub const SESSION_HOURS: i64 = 8;
const SESSION_COOKIE: &str = "ithub_session";
/// The sign-in form's own CSRF token (double-submitted: this cookie and a form field), so no other site can sign
/// a browser in to its own tenant.
const SIGN_IN_COOKIE: &str = "ithub_sign_in";

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored as admin keys are, by their SHA-256: 256 random bits need no slow hash.
fn hash(token: &str) -> String {
    ithub::apikey::hash(token)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Cookies are `Secure` unless the console is reached on loopback over plain HTTP (the local runner, the tests).
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// A `Set-Cookie` value: the console's cookies are all HttpOnly, SameSite=Strict and scoped to `/console`.
fn set_cookie(
    headers: &HeaderMap,
    name: &'static str,
    value: String,
    max_age: Duration,
) -> (header::HeaderName, String) {
    let cookie = Cookie::build((name, value))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!loopback(headers))
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    (header::SET_COOKIE, cookie.to_string())
}

/// A `Set-Cookie` value that makes the browser forget a cookie.
fn forget(name: &'static str) -> (header::HeaderName, String) {
    let mut cookie = Cookie::build((name, "")).path("/console").build();
    cookie.make_removal();
    (header::SET_COOKIE, cookie.to_string())
}

/// A cookie the request carries.
fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    expired: Option<String>,
}

/// Only a console path is followed after signing in (no open redirect).
fn next_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/console/")
                && !path.starts_with("/console//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path
        }
        _ => "/console/employees",
    }
}

fn sign_in_form(headers: &HeaderMap, next: &str, message: Option<&str>, status: StatusCode) -> Response {
    let token = random_token();
    let cookie = set_cookie(headers, SIGN_IN_COOKIE, token.clone(), Duration::hours(1));
    let body = html! {
        h1 { "Sign in to IT Hub" }
        (layout::alert(message))
        form.card method="post" action="/console/sign-in" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(next);
            label for="key" { "Admin key" }
            input #key type="password" name="key" required autocomplete="off" spellcheck="false"
                aria-describedby="key-help";
            p #key-help .help {
                "The key your IT Hub operator issued (it starts with " code { "ithub_" } "). "
                "It is checked once; your browser keeps only a session, for " (SESSION_HOURS) " hours."
            }
            button type="submit" { "Sign in" }
        }
    };
    (status, AppendHeaders([cookie]), layout::bare("Sign in", body)).into_response()
}

pub async fn sign_in_page(headers: HeaderMap, Query(query): Query<SignInQuery>) -> Response {
    let message = if query.signed_out.is_some() {
        Some("You are signed out.")
    } else if query.expired.is_some() {
        Some("Your session has ended; please sign in again.")
    } else {
        None
    };
    sign_in_form(&headers, next_path(query.next.as_deref()), message, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignIn {
    key: String,
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn sign_in(State(api): State<AdminApi>, headers: HeaderMap, Form(form): Form<SignIn>) -> Response {
    let next = next_path(form.next.as_deref()).to_owned();
    let expected = read_cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&expected, &form.csrf) {
        let message = Some("This sign-in form had expired; please enter your key again.");
        return sign_in_form(&headers, &next, message, StatusCode::FORBIDDEN);
    }
    let key_hash = ithub::apikey::hash(form.key.trim());
    let now = Utc::now();
    let owner = match api.service.store.key_owner(&key_hash, now).await {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            let message = Some(
                "That admin key is not valid: it may be mistyped, revoked or expired. Ask your IT Hub operator for a key.",
            );
            return sign_in_form(&headers, &next, message, StatusCode::UNAUTHORIZED);
        }
        Err(error) => return Failure::from(error).into_response(),
    };
    // A session the browser already holds is ended: signing in always starts a new one.
    if let Some(old) = read_cookie(&headers, SESSION_COOKIE)
        && let Err(error) = api.service.store.delete_session(&hash(&old)).await
    {
        return Failure::from(error).into_response();
    }
    let token = random_token();
    let session = Session {
        tenant_id: owner.tenant,
        key_hash,
        key_label: owner.label,
        csrf: random_token(),
        created_at: now,
        expires: now + Duration::hours(SESSION_HOURS),
    };
    if let Err(error) = api.service.store.put_session(&hash(&token), &session).await {
        return Failure::from(error).into_response();
    }
    let cookies = [forget(SIGN_IN_COOKIE), set_cookie(&headers, SESSION_COOKIE, token, Duration::hours(SESSION_HOURS))];
    (AppendHeaders(cookies), Redirect::to(&next)).into_response()
}

pub async fn sign_out(State(api): State<AdminApi>, headers: HeaderMap) -> Response {
    if let Some(token) = read_cookie(&headers, SESSION_COOKIE)
        && let Err(error) = api.service.store.delete_session(&hash(&token)).await
    {
        return Failure::from(error).into_response();
    }
    (AppendHeaders([forget(SESSION_COOKIE)]), Redirect::to("/console/sign-in?signed_out=1")).into_response()
}

/// Where a request without a live session goes: the sign-in page, coming back here afterwards (htmx is told to
/// go there itself rather than swap the sign-in page into a fragment).
fn to_sign_in(request: &Request, expired: bool) -> Response {
    let here = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/console/employees");
    let back = if request.method() == Method::GET { here } else { "/console/employees" };
    let mut target = url::form_urlencoded::Serializer::new(String::new());
    target.append_pair("next", back);
    if expired {
        target.append_pair("expired", "1");
    }
    let location = format!("/console/sign-in?{}", target.finish());
    if super::htmx(request.headers()) {
        return (StatusCode::OK, [("hx-redirect", location)]).into_response();
    }
    Redirect::to(&location).into_response()
}

/// In front of every signed-in page: a live session whose key is still valid, and for anything but a read, the
/// session's CSRF token in the form (or the `X-CSRF-Token` header). Puts the [`Admin`] on the request.
pub async fn require(State(api): State<AdminApi>, request: Request, next: Next) -> Response {
    let Some(token) = read_cookie(request.headers(), SESSION_COOKIE) else {
        return to_sign_in(&request, false);
    };
    let now = Utc::now();
    let session = match api.service.store.session(&hash(&token), now).await {
        Ok(Some(session)) => session,
        Ok(None) => return to_sign_in(&request, true),
        Err(error) => return Failure::from(error).into_response(),
    };
    // A revoked or expired key ends its sessions too.
    match api.service.store.key_owner(&session.key_hash, now).await {
        Ok(Some(owner)) if owner.tenant == session.tenant_id => {}
        Ok(_) => return to_sign_in(&request, true),
        Err(error) => return Failure::from(error).into_response(),
    }
    let admin = Admin {
        caller: Caller { tenant: session.tenant_id, key_label: session.key_label },
        csrf: session.csrf.clone(),
    };
    let mut request = if matches!(*request.method(), Method::GET | Method::HEAD) {
        request
    } else {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, crate::MAX_BODY_BYTES).await else {
            return Failure::Api(crate::ApiError::TooLarge(crate::MAX_BODY_BYTES)).into_response();
        };
        let sent =
            parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| {
                url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned())
            });
        if !sent.is_some_and(|sent| same(&sent, &session.csrf)) {
            if super::htmx(&parts.headers) {
                // htmx swaps no refusal: reload the page, with this session's token in its forms.
                return (StatusCode::FORBIDDEN, [("hx-refresh", "true")]).into_response();
            }
            let body = layout::error_body(
                "That did not work",
                "This form was not sent from this session's console (it may be from before you last signed in). \
                 Reload the page and try again.",
            );
            return (StatusCode::FORBIDDEN, layout::bare("Refused", body)).into_response();
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    request.extensions_mut().insert(admin);
    next.run(request).await
}
