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

/// A SCIM connection takes no settings: the client finds IT Hub, not the other way round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {}

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

    fn validate(_: &Settings, _: &Credentials, _: &mut FieldErrors) {}

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
