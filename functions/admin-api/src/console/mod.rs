//! The web console: the screens an IT admin works in, served by this function at `/console` (same origin as the
//! API). Pages are rendered on the server from maud templates and work without JavaScript; htmx (vendored, pinned)
//! only follows a sync run's progress and ticks checklist items in place. Every handler calls the same service
//! layer, with the same tenant from the signed-in admin's key, as the `/v1` routes do.
//!
//! Signing in takes an admin key once; the browser then holds only a random session token in an HttpOnly,
//! SameSite=Strict cookie (Secure except on loopback), never the key. Every state-changing request carries the
//! session's CSRF token (a form field, checked here before any handler runs). Sessions end after
//! [`session::SESSION_HOURS`], on sign-out, or when their key is revoked.

mod connections;
mod employees;
mod layout;
mod session;
mod tasks;
mod tenant;

use crate::{AdminApi, ApiError, Caller};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;

pub use session::SESSION_HOURS;

/// The pinned htmx, vendored (`assets/`; 0BSD). Its file name carries the version, so it can be cached for good.
const HTMX: &str = include_str!("../../assets/htmx-2.0.11.min.js");
const HTMX_PATH: &str = "/console/assets/htmx-2.0.11.min.js";
const CSS: &str = include_str!("../../assets/console.css");
const JS: &str = include_str!("../../assets/console.js");

/// The console's routes, under `/console`.
pub fn router(state: AdminApi) -> Router<AdminApi> {
    let signed_in = Router::new()
        .route("/console", get(|| async { Redirect::to("/console/employees") }))
        .route("/console/", get(|| async { Redirect::to("/console/employees") }))
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/employees", get(employees::list))
        .route("/console/employees/setup", post(employees::setup))
        .route("/console/employees/{id}", get(employees::detail))
        .route("/console/employees/{id}/fields", post(employees::fields))
        .route("/console/employees/{id}/offboard", post(employees::offboard))
        .route("/console/tasks", get(tasks::list))
        .route("/console/tasks/{id}", get(tasks::detail))
        .route("/console/tasks/{id}/items/{item}", post(tasks::item))
        .route("/console/tasks/{id}/complete", post(tasks::complete))
        .route("/console/connections", get(connections::list).post(connections::create))
        .route("/console/connections/new", get(connections::new))
        .route("/console/connections/{id}", get(connections::detail))
        .route("/console/connections/{id}/sync", post(connections::sync))
        .route("/console/connections/{id}/rotate", post(connections::rotate))
        .route("/console/connections/{id}/check", post(connections::check))
        .route("/console/connections/{id}/edit", post(connections::edit))
        .route("/console/connections/{id}/runs/{run}", get(connections::run))
        .route("/console/connections/{id}/runs/{run}/progress", get(connections::poll))
        .route("/console/connections/{id}/runs/{run}/approve", post(connections::approve))
        .route("/console/connections/{id}/runs/{run}/reject", post(connections::reject))
        .route("/console/playbook", get(tenant::playbook).post(tenant::save_playbook))
        .route("/console/audit", get(tenant::audit))
        .route("/console/licenses", get(tenant::licenses))
        .route("/console/{*rest}", get(|| async { Failure::NotFound("page").into_response() }))
        .layer(axum::middleware::from_fn_with_state(state, session::require));
    Router::new()
        .route("/console/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route(HTMX_PATH, get(|| async { asset(HTMX, "text/javascript; charset=utf-8", true) }))
        .route("/console/assets/console.css", get(|| async { asset(CSS, "text/css; charset=utf-8", false) }))
        .route("/console/assets/console.js", get(|| async { asset(JS, "text/javascript; charset=utf-8", false) }))
        .merge(signed_in)
        .layer(axum::extract::DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(secure_headers))
}

fn asset(body: &'static str, content_type: &'static str, immutable: bool) -> Response {
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], body).into_response()
}

/// Every console answer: no framing, no inline script or style, nothing sent elsewhere; pages are not cached.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
               form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The signed-in admin: who they act as, and the session's CSRF token for the forms a page renders.
#[derive(Clone)]
pub struct Admin {
    pub caller: Caller,
    pub csrf: String,
}

/// What a console page can fail with: a page saying so, with the status the API would answer.
#[derive(Debug)]
pub enum Failure {
    NotFound(&'static str),
    Api(ApiError),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound(what) => Self::NotFound(what),
            other => Self::Api(other),
        }
    }
}

impl From<ithub::service::ServiceError> for Failure {
    fn from(error: ithub::service::ServiceError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<ithub::store::StoreError> for Failure {
    fn from(error: ithub::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl Failure {
    /// The status and the sentence shown; a failure behind the console is logged under a correlation id, which
    /// the page gives for a support request.
    pub fn message(&self) -> (StatusCode, String) {
        match self {
            Failure::NotFound(what) => {
                (StatusCode::NOT_FOUND, format!("No such {what} here. It may belong to another company, or be gone."))
            }
            Failure::Api(ApiError::Unavailable(error)) => {
                let correlation_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(%correlation_id, %error, "a service behind the console failed");
                let message = format!("Something behind IT Hub failed; please retry. (Reference {correlation_id}.)");
                (StatusCode::SERVICE_UNAVAILABLE, message)
            }
            Failure::Api(error @ ApiError::Conflict { title, .. }) => {
                (StatusCode::CONFLICT, format!("{title}: {error}"))
            }
            Failure::Api(error) => (error.describe().0, error.to_string()),
        }
    }

    /// A refused change, to show on its form's page again: its status and message. Something not found has no
    /// page to show it on, and stays a failure.
    pub fn refusal(error: impl Into<Failure>) -> Result<(StatusCode, String), Failure> {
        match error.into() {
            failure @ Failure::NotFound(_) => Err(failure),
            failure => Ok(failure.message()),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, message) = self.message();
        let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "That did not work" };
        (status, layout::bare(title, layout::error_body(title, &message))).into_response()
    }
}

type Page = Result<Markup, Failure>;

/// A form's answer: after a change, see the result (303, so a reload does not repeat it).
fn see(path: impl AsRef<str>) -> Response {
    Redirect::to(path.as_ref()).into_response()
}

/// Was the request made by htmx (which then takes a fragment)?
fn htmx(headers: &axum::http::HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}
