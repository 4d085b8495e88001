//! What the handlers share: the problem body every error is answered with, the page every list returns, and the
//! sets of problem responses the routes declare in the OpenAPI document.

use serde::Serialize;

/// An RFC 9457 problem, as every error is answered.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g. `urn:ithub:problem:hr-owned-field`.
    #[schema(rename = "type")]
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// For invalid fields: each field at fault and why.
    errors: Option<Vec<ithub::validation::FieldError>>,
    /// When something behind the API failed (503): the id under which the failure is logged, for a support
    /// request. The answer itself says nothing of the failure.
    correlation_id: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T, S: Into<T>> From<ithub::store::Page<S>> for Page<T> {
    fn from(page: ithub::store::Page<S>) -> Self {
        Self { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }
    }
}

/// The problems a read of a list can answer with (404: a `cursor` the list never gave out).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ListProblems {
    #[response(status = 400, description = "Bad request", content_type = "application/problem+json")]
    BadRequest(Problem),
    #[response(status = 401, description = "Missing or invalid admin key", content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(
        status = 404,
        description = "No such page: the cursor is not one this list gave out",
        content_type = "application/problem+json"
    )]
    UnknownCursor(Problem),
}

/// The problems a read of one object can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ReadProblems {
    #[response(status = 400, description = "Bad request", content_type = "application/problem+json")]
    BadRequest(Problem),
    #[response(status = 401, description = "Missing or invalid admin key", content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 404, description = "Not found", content_type = "application/problem+json")]
    NotFound(Problem),
}

/// The problems a change can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ChangeProblems {
    #[response(status = 400, description = "Bad request", content_type = "application/problem+json")]
    BadRequest(Problem),
    #[response(status = 401, description = "Missing or invalid admin key", content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 404, description = "Not found", content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(
        status = 409,
        description = "Not allowed in the object's current state",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    #[response(status = 413, description = "Body too large", content_type = "application/problem+json")]
    TooLarge(Problem),
    #[response(status = 415, description = "Body is not JSON", content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
}
