//! Every error the admin API answers with, each an RFC 9457 problem with a stable `type`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ithub::problem::problem;
use ithub::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// The request is well formed but the object's state does not allow it; `slug` names the case.
    #[error("{detail}")]
    Conflict { slug: &'static str, title: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn conflict(slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict { slug, title, detail: detail.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        let (status, slug, title) = match &self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid admin key"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::BadRequest(_) | ApiError::Store(StoreError::BadCursor) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Bad request")
            }
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::Conflict { slug, title, .. } => (StatusCode::CONFLICT, *slug, *title),
            ApiError::Store(StoreError::Conflict) => {
                (StatusCode::CONFLICT, "concurrent-change", "Changed by someone else meanwhile; please retry")
            }
            ApiError::Store(error) => {
                tracing::error!(%error, "store failed");
                let body =
                    problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Temporarily unavailable", "please retry");
                return body.into_response();
            }
        };
        let mut response = problem(status, slug, title, detail).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
