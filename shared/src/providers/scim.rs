//! SCIM 2.0 (RFC 7643/7644): the HR system, or the identity provider between it and IT Hub (Okta, Microsoft
//! Entra), pushes users to IT Hub's own `/scim/v2` endpoint with the connection's bearer token. Nothing is ever
//! read from the other side, so a SCIM connection has no settings, no credentials of its own to send, and is never
//! polled; its token is issued by IT Hub (see `service::scim`).

use super::{Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordPage};
use crate::domain::Employee;
use crate::validation::FieldErrors;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A SCIM connection has no address to reach (the client finds IT Hub, not the other way round); it says only how
/// to treat the client's first push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// For this many hours after the connection is made, a new active user is someone who already works there
    /// (imported for the admin's initial setup, no onboarding task), as when an identity provider first pushes
    /// everyone assigned to the app. Afterwards, and when absent or 0, a new active user is a hire.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::validation::whole_number")]
    #[cfg_attr(feature = "openapi", schema(maximum = 720))]
    pub initial_import_hours: Option<u32>,
}

/// Nothing: IT Hub issues the connection's SCIM bearer token itself, shown once when the connection is made.
#[derive(Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "scim";
    const DISPLAY_NAME: &'static str = "SCIM 2.0";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: false, changes_feed: false, webhooks: false, push: true, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, _: &Credentials, errors: &mut FieldErrors) {
        let hours_ok = settings.initial_import_hours.is_none_or(|h| h <= 720);
        errors.check(hours_ok, "settings.initial_import_hours", "at most 720 (30 days)");
    }

    fn base_url(_: &Settings) -> Option<&str> {
        None
    }

    fn connect(_: &Settings, _: &Credentials, _: super::Link) -> Box<dyn HrProvider> {
        Box::new(Pushed)
    }
}

/// The provider side of a pushed connection: there is nothing to read.
struct Pushed;

fn pushed() -> ProviderError {
    ProviderError::Malformed("a SCIM connection is pushed to; IT Hub never reads from it".into())
}

#[async_trait]
impl HrProvider for Pushed {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Scim
    }

    async fn start_state(&self, _: DateTime<Utc>) -> Result<String, ProviderError> {
        Err(pushed())
    }

    async fn list_page(&self, _: Option<&str>, _: NaiveDate) -> Result<RecordPage, ProviderError> {
        Err(pushed())
    }

    async fn changes_page(&self, _: &str, _: Option<&str>, _: DateTime<Utc>) -> Result<ChangePage, ProviderError> {
        Err(pushed())
    }

    async fn fetch(&self, _: &str) -> Result<Option<Employee>, ProviderError> {
        Err(pushed())
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    /// JSON Schema's `integer` is any number with no fraction: a client (Schemathesis did) may send `149.0`.
    #[test]
    fn the_import_window_is_a_whole_number_in_either_spelling() {
        for body in [r#"{"initial_import_hours": 149}"#, r#"{"initial_import_hours": 149.0}"#] {
            let settings: Settings = serde_json::from_str(body).unwrap();
            assert_eq!(settings.initial_import_hours, Some(149));
        }
        assert!(serde_json::from_str::<Settings>(r#"{"initial_import_hours": 1.5}"#).is_err());
        assert_eq!(serde_json::from_str::<Settings>("{}").unwrap().initial_import_hours, None);
    }
}
