//! The admin API: what an IT admin's API client talks to. Every `/v1` route needs an admin key
//! (`Authorization: Bearer …`); the tenant comes from the key alone, never from the path, query or body.

mod auth;
mod employees;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ithub::problem::problem;
use ithub::store::{Store, StoreError};

pub use auth::Tenant;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AdminApi {
    pub store: Store,
}

pub fn router(state: AdminApi) -> Router {
    let v1 = Router::new()
        .route("/v1/employees", get(employees::list))
        .route("/v1/employees/{id}", get(employees::get))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_key))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES));
    Router::new().route("/health", get(health)).merge(v1).with_state(state)
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> Response {
    ApiError::NotFound("no such route").into_response()
}

/// Every error the admin API answers with, each a problem+json response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        match self {
            ApiError::Unauthorized(_) => {
                let mut response = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Missing or invalid admin key",
                    detail,
                )
                .into_response();
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                response
            }
            ApiError::NotFound(_) => problem(StatusCode::NOT_FOUND, "not-found", "Not found", detail).into_response(),
            ApiError::BadRequest(_) | ApiError::Store(StoreError::BadCursor) => {
                problem(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail).into_response()
            }
            ApiError::Store(error) => {
                tracing::error!(%error, "store failed");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "please retry",
                )
                .into_response()
            }
        }
    }
}
