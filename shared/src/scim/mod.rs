//! SCIM 2.0 (RFC 7643/7644) pure logic: filters and PATCH. No I/O: the server parses a request's filter or
//! PATCH body here, and evaluates or applies it over the resource's JSON.
//!
//! Errors carry a [`ScimType`] and a short detail that never quotes resource values (personal data): at most an
//! attribute name from the request, or a position in the filter text.

pub mod filter;
pub mod patch;
pub mod user;

/// The core User schema: its attributes sit at the top level of a resource.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension: its attributes sit in an object under this key.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The message schema a PATCH request must name.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The `scimType` of an error response (RFC 7644 §3.12), telling the client which kind of 400 it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword as RFC 7644 spells it in the `scimType` member.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }
}

/// A client error in a filter or PATCH request. `detail` is short and free of resource values, so it can go into
/// the response and the logs as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub scim_type: ScimType,
    pub detail: String,
}

impl ScimError {
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self { scim_type, detail: detail.into() }
    }
}
