//! Field-level validation: every problem with a request, each naming the field it is about, so that a client can
//! show the error beside the field.

use serde::Serialize;

/// One field's problem. `field` is a dotted path into the request (`settings.company_domain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// The problems found so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records `reason` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, reason: &str) {
        if !ok {
            self.0.push(FieldError { field: field.to_owned(), reason: reason.to_owned() });
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// Letters, digits, dashes and underscores, 1 to `max` of them: what an id at a provider may be.
pub fn is_slug(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
