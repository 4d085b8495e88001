//! HR systems. Each is a connector module that declares what it can do and maps its records to [`Employee`];
//! [`registry`] lists them, and nothing outside this module names a specific provider.

// Outside input meets this code: no unwrap, expect, panic, unchecked index or overflowing arithmetic (each
// saturates or is refused with a named error). Tests may use them.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod auth;
mod http;
pub mod signature;
#[macro_use]
mod registry;

use crate::domain::Schedule;
use crate::validation::FieldError;

// The connector modules, declared with plain `mod` lines (a module a macro declares is not formatted by
// `cargo fmt`).
pub mod adp;
pub mod bamboohr;
pub mod gusto;
pub mod hibob;
pub mod personio;
pub mod rippling;
pub mod scim;
pub mod workday;

// The connectors IT Hub can reach, one line each: `Variant(module)` derives `ProviderKind::Variant` (named in the
// API by its lower-case name), the typed settings and credentials, the connection request and the dispatch from
// `providers/<module>.rs`. Adding an HR system is that module, its `mod` line above and one line here.
registry! {
    Adp(adp),
    BambooHr(bamboohr),
    Gusto(gusto),
    HiBob(hibob),
    Personio(personio),
    Rippling(rippling),
    Workday(workday),
    Scim(scim),
}

use crate::domain::Employee;
use crate::validation::FieldErrors;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use http::{BASE_URL_PATTERN, BaseUrl, Egress, Http, Lookup, PublicResolver, RetryPolicy, SystemLookup, public_ip};

/// What a connector can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    /// Lists everyone (a first import, a reconciliation).
    pub full_listing: bool,
    /// Lists what changed since a state it issued.
    pub changes_feed: bool,
    /// Pushes signed webhooks.
    pub webhooks: bool,
    /// Pushes whole records to IT Hub (SCIM).
    pub push: bool,
    /// Keeps changes in a queue IT Hub drains (ADP's event notifications): drained every minute, on a schedule
    /// of its own.
    pub event_queue: bool,
}

/// One HR system's connector: its typed settings and credentials, how to check them, how to reach the system
/// and how its webhooks are signed. A module implements this once and adds one line to [`registry`].
pub trait Connector {
    /// The name in the API and in stored records.
    const NAME: &'static str;
    const DISPLAY_NAME: &'static str;
    const CAPABILITIES: Capabilities;

    /// Checks settings and credentials beyond their types, naming each field at fault. (The registry checks the
    /// `base_url` against the deployment's egress rule.)
    fn validate(settings: &Self::Settings, credentials: &Self::Credentials, errors: &mut FieldErrors);

    /// The settings' override of the HR system's address, if any.
    fn base_url(settings: &Self::Settings) -> Option<&str>;

    fn connect(settings: &Self::Settings, credentials: &Self::Credentials, link: Link) -> Box<dyn HrProvider>;

    /// Whether the HR system issues the webhook secret (its admin copies it from the HR system's settings and
    /// pastes it into IT Hub) rather than IT Hub making one for the admin to give the HR system.
    const VENDOR_ISSUES_WEBHOOK_SECRET: bool = false;

    /// Takes a pasted webhook secret out of the credentials an admin sent, to be kept as the connection's webhook
    /// secret (not as a credential). Only a connector whose HR system issues the secret has one.
    fn take_webhook_secret(_credentials: &mut Self::Credentials) -> Option<String> {
        None
    }

    /// Verifies a delivery and reads the employees it names; an HR system that sends no webhooks keeps this
    /// refusal.
    fn verify_webhook(
        _secrets: &[String],
        _headers: &::http::HeaderMap,
        _body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, WebhookError> {
        Err(WebhookError::NotSupported)
    }

    type Settings: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned;
    /// No `Debug`: credentials never reach a log.
    type Credentials: Clone + Serialize + DeserializeOwned;
}

/// What a connector is given to reach its HR system: the HTTP client, and for connectors whose refresh tokens
/// rotate, where the connection keeps the latest one.
pub struct Link {
    pub http: Http,
    /// Keeps a rotated refresh token where every process finds it, and lets one process spend it at a time.
    pub refresh_tokens: Option<std::sync::Arc<dyn auth::RefreshTokenStore>>,
    /// The refresh token as last rotated, which replaces the one in the credentials.
    pub refresh_token: Option<auth::Secret>,
}

impl Link {
    /// A link with no rotated refresh token and nowhere to keep one (tests, and connectors that need none).
    pub fn new(http: Http) -> Self {
        Self { http, refresh_tokens: None, refresh_token: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the HR system refused our credentials (HTTP {0})")]
    Unauthorized(u16),
    /// Throttled: `retry_after` is how long the HR system asked us to wait, when that was longer than a request
    /// may wait in place (a run then resumes later from its checkpoint).
    #[error("the HR system is rate limiting us (after {attempts} attempts)")]
    RateLimited { attempts: u32, retry_after: Option<std::time::Duration> },
    #[error("the HR system answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("could not reach the HR system: {0}")]
    Transport(String),
    #[error("the HR system sent a response we could not read: {0}")]
    Malformed(String),
    #[error("the connection's credentials are not for its HR system")]
    CredentialMismatch,
    #[error("this deployment may not call {0}")]
    Egress(String),
    /// No answer within the time each request is given.
    #[error("the HR system did not answer within {0} s")]
    TimedOut(u64),
    /// An answer longer than IT Hub reads (refused as it streams in, never held whole).
    #[error("the HR system's answer is larger than {0} bytes")]
    TooLarge(usize),
    /// `Retry-After` asked for longer than a run can wait: the run fails, and the next scheduled one tries again.
    #[error("the HR system asked us to wait {0} s, longer than a run waits (a day)")]
    WaitTooLong(u64),
    /// A listing that would not end: the same page again, more pages than the people could fill, or page after
    /// page of records that all fail.
    #[error("the HR system's listing does not end: {0}")]
    Endless(String),
    /// The HR system answers, but its account lacks something a sync needs (a field the key may not read, say):
    /// something an admin sets up in the HR system. Names what is missing, never a value.
    #[error("the HR system's account is not set up for IT Hub: {0}")]
    Setup(String),
}

/// A person on a listing page whose record could not be mapped: their HR id and why, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordFailure {
    pub hr_id: String,
    pub reason: String,
}

/// One page of whole records, and the token for the next page (`None` on the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    pub records: Vec<Employee>,
    pub failures: Vec<RecordFailure>,
    /// Opaque to the sync engine: handed back to read the next page.
    pub next: Option<String>,
}

/// One page of what changed since a state the HR system gave out earlier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangePage {
    /// The whole current records of people who changed (hires, edits, terminations).
    pub page: RecordPage,
    /// HR ids the HR system reports deleted.
    pub removed: Vec<String>,
    /// On the last page: the state to read changes from next time (`None` keeps the one read from).
    pub state: Option<String>,
}

/// One HR system, reached over HTTP. A sync reads pages of whole records, never one request per person; `fetch`
/// serves a webhook that names one person.
#[async_trait]
pub trait HrProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The change-feed state to read from after a full listing that starts `now`: taken before the listing, so a
    /// change made while it runs is read again, never missed.
    async fn start_state(&self, now: DateTime<Utc>) -> Result<String, ProviderError>;

    /// One page of everyone employed or about to start; `page` is `None` for the first.
    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError>;

    /// One page of the changes since `state` (a state this provider gave out); `page` is `None` for the first.
    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError>;

    /// The current record of one employee; `None` when the HR system no longer has them.
    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError>;

    /// Confirms a webhook subscription with the verification token the HR system sent to the webhook URL;
    /// `false` when the HR system does not recognise it (or the connection has no subscription to confirm).
    async fn confirm_subscription(&self, _verification_token: &str) -> Result<bool, ProviderError> {
        Ok(false)
    }

    /// Registers IT Hub's webhook (deliveries to `url`) with the HR system, where IT Hub does that itself: the
    /// webhook's id and the key its deliveries are checked with. Where the HR system issues that key (BambooHR's
    /// permissioned webhooks) it comes in the answer and `token` is unused; where the HR system sends back a token
    /// it is given (Personio), `token` is the connection's newest webhook secret, which IT Hub made. `None` where
    /// an admin sets webhooks up in the HR system; a [`ProviderError::Setup`] where the credentials may not make
    /// webhooks.
    async fn register_webhook(
        &self,
        _url: &str,
        _token: Option<&auth::Secret>,
    ) -> Result<Option<RegisteredWebhook>, ProviderError> {
        Ok(None)
    }

    /// Deletes a webhook [`HrProvider::register_webhook`] made; one the HR system no longer has is deleted already.
    async fn delete_webhook(&self, _id: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Tries what a sync will do, step by step: read the first page of the listing (signing in), then one person
    /// of it by id. Connectors with more to try (BambooHR's field list) add their steps.
    async fn check(&self, today: NaiveDate) -> Vec<CheckStep> {
        check_reads(self, today).await
    }

    /// The current records of a few employees (those the HR system still has); a connector that can ask for
    /// several at once overrides this one-request-each default.
    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        let mut page = RecordPage::default();
        for hr_id in hr_ids {
            match self.fetch(hr_id).await {
                Ok(Some(record)) => page.records.push(record),
                Ok(None) => {}
                Err(ProviderError::Malformed(reason)) => {
                    page.failures.push(RecordFailure { hr_id: hr_id.clone(), reason })
                }
                Err(error) => return Err(error),
            }
        }
        Ok(page)
    }
}

/// `at` moved back by `by`, or the earliest time there is: times from an HR system meet arithmetic without a
/// panic (the connector and sync code deny panicking constructs).
pub fn earlier(at: DateTime<Utc>, by: chrono::Duration) -> DateTime<Utc> {
    at.checked_sub_signed(by).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `at` moved on by `by`, or the latest time there is.
pub fn later(at: DateTime<Utc>, by: chrono::Duration) -> DateTime<Utc> {
    at.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A webhook IT Hub registered with the HR system: its id there, and the key the HR system signs its deliveries
/// with (issued once, in the answer to the registration). No `Debug`: it holds the key.
pub struct RegisteredWebhook {
    pub id: String,
    pub signing_key: auth::Secret,
}

/// How one step of a connection check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    /// It works, with something the admin should know (a field left out, say).
    Warning,
    Failed,
    /// Not tried: an earlier step failed, or the HR system has nothing of the kind.
    Skipped,
}

/// One step of a connection check: what IT Hub tried and how it went. `detail` says what was found or why it
/// failed; it never quotes a value the HR system sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckStep {
    /// `fields`, `list`, `one_person`, `webhook`.
    pub step: String,
    pub outcome: CheckOutcome,
    pub detail: String,
}

impl CheckStep {
    pub fn new(step: &str, outcome: CheckOutcome, detail: impl Into<String>) -> Self {
        Self { step: step.to_owned(), outcome, detail: detail.into() }
    }
}

/// The reading steps every connector with a listing shares: the first page, then its first person by id.
pub async fn check_reads<P: HrProvider + ?Sized>(provider: &P, today: NaiveDate) -> Vec<CheckStep> {
    use CheckOutcome::{Failed, Passed, Skipped};
    if !provider.kind().capabilities().full_listing {
        return vec![CheckStep::new("list", Skipped, "this HR system pushes its records to IT Hub")];
    }
    let page = match provider.list_page(None, today).await {
        Ok(page) => page,
        Err(error) => {
            return vec![
                CheckStep::new("list", Failed, format!("reading the first page of people failed: {error}")),
                CheckStep::new("one_person", Skipped, "no page was read"),
            ];
        }
    };
    let more = if page.next.is_some() { " (more pages follow)" } else { "" };
    let unreadable = match page.failures.len() {
        0 => String::new(),
        n => format!("; {n} could not be read"),
    };
    let mut steps = vec![CheckStep::new(
        "list",
        Passed,
        format!("the first page has {} people{more}{unreadable}", page.records.len()),
    )];
    let Some(first) = page.records.first() else {
        steps.push(CheckStep::new("one_person", Skipped, "the first page is empty"));
        return steps;
    };
    steps.push(match provider.fetch(&first.hr_id).await {
        Ok(Some(_)) => CheckStep::new("one_person", Passed, "the first person was read again by id"),
        Ok(None) => CheckStep::new("one_person", Failed, "the first person listed could not be found by id"),
        Err(error) => CheckStep::new("one_person", Failed, format!("reading one person by id failed: {error}")),
    });
    steps
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
    #[error("this HR system sends no webhooks")]
    NotSupported,
    /// The HR system's subscription handshake (Gusto's verification token, unsigned): the connection confirms it
    /// with the HR system before trusting it.
    #[error("a webhook subscription's verification")]
    Handshake(auth::Secret),
}

/// A verified delivery: which employees it mentions and a key that is the same for a redelivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub delivery_key: String,
    pub hr_ids: Vec<String>,
    /// Of those, the ones the delivery says were deleted (the worker confirms with the HR system first).
    pub removed: Vec<String>,
}

/// A JSON value as text: strings trimmed, numbers written out; blank, null and anything else mean "no value".
/// Every connector reads its records' loosely typed fields with it.
pub(crate) fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.trim().to_owned()).filter(|v| !v.is_empty()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A date from the first ten characters of a text (`2020-01-06`, or a timestamp's date part); blank is no date.
/// The error names the field, never the value.
pub(crate) fn leading_date(raw: Option<&str>, field: &str) -> Result<Option<NaiveDate>, String> {
    let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(raw.get(..10).unwrap_or(raw), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{field} is not a date"))
}

/// What a `fetch` of one id reads from the `fetch_many` of that id: the record, `None` when the HR system no
/// longer has the person, or the reason it could not be read.
pub(crate) fn only_record(mut page: RecordPage) -> Result<Option<Employee>, ProviderError> {
    if let Some(failure) = page.failures.pop() {
        return Err(ProviderError::Malformed(failure.reason));
    }
    Ok(page.records.pop())
}

/// Whether a webhook secret an admin pasted (from an HR system that issues it) is one IT Hub keeps: 1 to 4096
/// characters, none of them blank or control characters at either end (a copy-and-paste slip).
pub fn pasted_secret_ok(secret: &str) -> bool {
    (1..=4096).contains(&secret.chars().count()) && secret.trim() == secret
}

/// What [`pasted_secret_ok`] asks, as a field error says it.
pub const PASTED_SECRET_RULE: &str = "must be the secret as the HR system shows it (1 to 4096 characters, no \
    spaces at either end)";

/// How far a signed timestamp may be from our clock (Stripe, Standard Webhooks and Svix all use 5 minutes).
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;
