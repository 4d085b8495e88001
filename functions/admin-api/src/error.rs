//! Every error the admin API answers with, each an RFC 9457 problem with a stable `type`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ithub::problem::problem;
use ithub::service::ServiceError;
use ithub::store::StoreError;
use ithub::validation::FieldError;

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
    #[error("{} fields are not valid: {}", .0.len(), .0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<FieldError>),
    /// A cursor this list never gave out: there is no such page.
    #[error("this cursor is not one this list gave out (pass back `next_cursor`, or leave it out for the first page)")]
    UnknownCursor,
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// The request is well formed but the object's state does not allow it; `slug` names the case.
    #[error("{detail}")]
    Conflict { slug: &'static str, title: &'static str, detail: String },
    /// The HR system refused or failed a call the request needed (registering a webhook): the reason names no
    /// value.
    #[error("{0}")]
    HrSystem(String),
    /// Something behind the API failed; the detail is logged, never answered.
    #[error("temporarily unavailable")]
    Unavailable(String),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::BadCursor => Self::UnknownCursor,
            StoreError::Conflict => Self::Conflict {
                slug: "concurrent-change",
                title: "Changed by someone else meanwhile; please retry",
                detail: error.to_string(),
            },
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(what) => Self::NotFound(what),
            ServiceError::NotAllowed { slug, title, detail } => Self::Conflict { slug, title, detail },
            ServiceError::Invalid(why) => Self::BadRequest(why),
            ServiceError::InvalidFields(errors) => Self::InvalidFields(errors),
            ServiceError::Store(error) => error.into(),
            ServiceError::Provider(error) => Self::HrSystem(error.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl ApiError {
    /// The status, the problem `type` slug and its title: one table for the API's answers and the console's pages.
    pub fn describe(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid admin key"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::UnknownCursor => (StatusCode::NOT_FOUND, "unknown-cursor", "No such page"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::InvalidFields(_) => (StatusCode::BAD_REQUEST, "invalid-fields", "Invalid fields"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::Conflict { slug, title, .. } => (StatusCode::CONFLICT, *slug, *title),
            ApiError::HrSystem(_) => (StatusCode::BAD_GATEWAY, "hr-system", "The HR system refused or failed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Temporarily unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.describe();
        if let ApiError::Unavailable(error) = &self {
            let correlation_id = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(%correlation_id, %error, "a service behind the API failed");
            let body = problem(status, slug, title, "please retry").value("correlation_id", &correlation_id);
            return body.into_response();
        }
        let detail = self.to_string();
        let mut body = problem(status, slug, title, detail);
        if let ApiError::InvalidFields(errors) = &self {
            body = body.value("errors", errors);
        }
        let mut response = body.into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
