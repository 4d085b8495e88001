//! RFC 9457 problem details, with stable `type` URIs that clients can match on.

use http_api_problem::{HttpApiProblem, StatusCode};

/// Every problem type IT Hub answers with is `urn:ithub:problem:{slug}`.
pub fn type_uri(slug: &str) -> String {
    format!("urn:ithub:problem:{slug}")
}

pub fn problem(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> HttpApiProblem {
    HttpApiProblem::new(status).type_url(type_uri(slug)).title(title).detail(detail)
}
