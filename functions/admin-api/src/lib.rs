//! The admin API: what an IT admin's API client talks to. Every `/v1` route needs an admin key
//! (`Authorization: Bearer …`); the tenant comes from the key alone, never from the path, query or body. Each
//! route is listed once, with its OpenAPI operation (`routes.rs`); handlers parse the request, call the
//! service layer and map the result.

mod audit;
mod auth;
mod body;
mod connections;
pub mod console;
mod employees;
mod error;
pub mod openapi;
mod playbooks;
mod responses;
mod routes;
mod scim;
mod tasks;

use axum::response::{IntoResponse, Response};
use ithub::service::Service;

pub use routes::{document, spec};

pub use auth::Caller;
pub use error::ApiError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page sizes: the default and the cap.
pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

#[derive(Clone)]
pub struct AdminApi {
    pub service: Service,
    pub secrets: ithub::secrets::Secrets,
    /// Where sync runs' steps go (the run queue, for the worker).
    pub runs: ithub::queue::Queue,
    /// Where HR systems reach this deployment, for the webhook URLs given out; without it, the `Host` the
    /// request came to, over https.
    pub public_url: Option<String>,
    /// Which HR addresses a connection may be given: public https hosts in AWS; local targets too in the local
    /// runner and the tests.
    pub egress: ithub::providers::Egress,
}

pub fn router(state: AdminApi) -> axum::Router {
    let v1 = routes::serve_v1()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_key))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES));
    let open = routes::serve_open();
    // SCIM clients authenticate with their connection's token, not an admin key.
    let scim = scim::router(state.clone());
    let console = console::router(state.clone());
    open.merge(v1).merge(console).with_state(state).nest_service("/scim/v2", scim)
}

async fn not_found() -> Response {
    ApiError::NotFound("route").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// The query of a list that only pages.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1 to 100; 50 when absent.
    #[serde(default, deserialize_with = "ithub::validation::whole_query_number")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `limit` from a query, checked against the cap.
fn limit(requested: Option<i32>) -> Result<i32, ApiError> {
    let limit = requested.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}")))
    }
}
