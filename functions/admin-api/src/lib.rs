//! The admin API: what an IT admin's API client talks to. Every `/v1` route needs an admin key
//! (`Authorization: Bearer …`); the tenant comes from the key alone, never from the path, query or body.

mod audit;
mod auth;
mod body;
mod connections;
mod employees;
mod error;
pub mod openapi;
mod playbooks;
mod tasks;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use ithub::bus::Bus;
use ithub::store::Store;

pub use auth::Caller;
pub use error::ApiError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page sizes: the default and the cap.
pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

#[derive(Clone)]
pub struct AdminApi {
    pub store: Store,
    pub bus: Bus,
    pub secrets: ithub::secrets::Secrets,
    /// Where sync requests go (the change queue, for the worker).
    pub queue: ithub::queue::Queue,
    /// Where HR systems reach this deployment, for the webhook URLs given out; without it, the `Host` the
    /// request came to, over https.
    pub public_url: Option<String>,
}

impl AdminApi {
    /// Publishes what a committed change means, from the employee's outbox. The change is already stored, so a
    /// failure is logged rather than reported to the admin: the events wait in the outbox for the next change.
    async fn publish(&self, employee: Option<&ithub::store::StoredEmployee>) {
        let Some(employee) = employee else { return };
        if let Err(error) = ithub::apply::flush_outbox(&self.store, &self.bus, employee).await {
            tracing::error!(%error, "could not publish domain events; they stay in the outbox");
        }
    }
}

pub fn router(state: AdminApi) -> Router {
    let v1 = Router::new()
        .route("/v1/employees", get(employees::list))
        .route("/v1/employees/setup", post(employees::setup))
        .route("/v1/employees/{id}", get(employees::get).patch(employees::update))
        .route("/v1/employees/{id}/offboard", post(employees::offboard))
        .route("/v1/tasks", get(tasks::list))
        .route("/v1/tasks/{id}", get(tasks::get))
        .route("/v1/tasks/{id}/items/{item}", patch(tasks::update_item))
        .route("/v1/tasks/{id}/complete", post(tasks::complete))
        .route("/v1/licenses", get(employees::licenses))
        .route("/v1/playbooks", get(playbooks::get).put(playbooks::put))
        .route("/v1/audit", get(audit::list))
        .route("/v1/connections", get(connections::list).post(connections::create))
        .route("/v1/connections/{id}", get(connections::get).delete(connections::delete))
        .route("/v1/connections/{id}/rotate-webhook-secret", post(connections::rotate))
        .route("/v1/connections/{id}/sync", post(connections::sync))
        .route("/v1/connections/{id}/runs", get(connections::runs))
        .route("/v1/openapi.json", get(openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_key))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES));
    Router::new().route("/health", get(health)).merge(v1).with_state(state)
}

#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, description = "The API is up")))]
async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
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
