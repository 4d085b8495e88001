//! HR systems behind one trait. Each provider module maps its own records to [`Employee`], and knows how its
//! webhooks are signed.

pub mod bamboohr;
mod http;

use crate::domain::Employee;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use http::RetryPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    #[serde(rename = "bamboohr")]
    BambooHr,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BambooHr => "bamboohr",
        }
    }
}

/// What a tenant gave IT Hub to reach its HR system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    /// The company's subdomain or id at the provider (BambooHR: `companyDomain`).
    pub company: String,
    /// Overrides the provider's public API host; tests and sandboxes point it at a fake server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the HR system refused our credentials (HTTP {0})")]
    Unauthorized(u16),
    #[error("the HR system is rate limiting us and kept doing so after {attempts} attempts")]
    RateLimited { attempts: u32 },
    #[error("the HR system answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("could not reach the HR system: {0}")]
    Transport(String),
    #[error("the HR system sent a response we could not read: {0}")]
    Malformed(String),
}

/// The ids that changed since a cursor, and the cursor to use next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
    /// Where the next incremental read starts. `None` keeps the previous cursor.
    pub next_cursor: Option<String>,
}

/// One HR system, reached over HTTP.
#[async_trait]
pub trait HrProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Everyone currently employed or about to start: the first import of a connection.
    async fn list_all(&self) -> Result<Vec<String>, ProviderError>;

    /// Ids of employees that changed at or after `since` (a cursor this provider returned earlier), as read at
    /// `now` by our clock.
    async fn changed_since(&self, since: &str, now: DateTime<Utc>) -> Result<Changes, ProviderError>;

    /// The current record of one employee; `None` when the HR system no longer has them.
    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError>;

    /// The cursor that makes `changed_since` return everything that changes after `now`.
    fn cursor_at(&self, now: DateTime<Utc>) -> String;
}

/// Builds the provider client for a connection.
pub fn connect(settings: &ProviderSettings, credential: &str, http: reqwest::Client) -> Box<dyn HrProvider> {
    match settings.kind {
        ProviderKind::BambooHr => Box::new(bamboohr::BambooHr::new(settings, credential, http)),
    }
}

/// One shared HTTP client per process: connection pools and TLS sessions are reused across invocations.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("IT-Hub/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Why a webhook delivery was refused. Every variant answers 4xx; none queues anything.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp is outside the {0}-second window")]
    Stale(i64),
    #[error("timestamp header is not a time we understand")]
    BadTimestamp,
    #[error("body is not a webhook payload we understand: {0}")]
    BadPayload(String),
}

/// A verified delivery: which employees it mentions and a key that is the same for a redelivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub delivery_key: String,
    pub hr_ids: Vec<String>,
}

/// How far a signed timestamp may be from our clock (Stripe, Standard Webhooks and Svix all use 5 minutes).
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// Verifies a delivery against any of the connection's current secrets (two are valid during a rotation) and
/// reads the employees it names.
pub fn verify_webhook(
    kind: ProviderKind,
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookDelivery, WebhookError> {
    match kind {
        ProviderKind::BambooHr => bamboohr::verify_webhook(secrets, headers, body, now),
    }
}
