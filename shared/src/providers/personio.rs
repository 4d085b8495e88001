//! Personio (API v2): a client-credentials token (`POST /v2/auth/token`, a form), persons read in cursor pages
//! of 50 (`GET /v2/persons`), each person's current employment from `GET /v2/persons/{id}/employments` (v2
//! keeps status, position, supervisor, dates and org units there and offers them per person only, so a page of
//! 50 costs 51 requests, a bounded number at a time), department names from the org units; changes by the
//! `updated_at.gt` filter; people asked for by id up to 50 to a request (the `id` filter takes a comma-separated
//! list); webhooks authenticated by the static token Personio sends verbatim in `Authorization` (no signature,
//! identifiers only: the person is re-read).
//!
//! Assumptions where the fact sheet marks a fact unverified or tenant-dependent, each followed by the fake:
//! - the `updated_at.gt` filter takes a date-time, as Personio's published description has it (a client once
//!   found it wanting a date; a state stored as a date is still read, as that day's start); an employment
//!   change that does not touch its person is caught by the webhook or the daily reconciliation;
//! - a department's name is `GET /v2/org-units/{id}?type=department`'s `name` (this endpoint is not in the
//!   published description we hold; Personio's reference page makes `type` required, `department` or `team`);
//!   a unit Personio will not show (credentials without access to org units, say) leaves the department as it
//!   was, and the person is listed among the run's failures so the next run reads them again;
//! - personal email, phone and home address are custom attributes whose ids the connection's settings name;
//! - `occurred_at` has sub-second precision, so the body (hashed as the delivery key, there being no event id)
//!   differs between two events about one person;
//! - a webhook's `payload` names the person as `person.id` (employment events), `person_id`, or `id` (person
//!   events);
//! - the webhook token is the connection's webhook secret: given by IT Hub when it registers the webhook
//!   (`POST /v2/webhooks`, credentials with the `personio:webhooks:write` scope), or typed into Personio by the
//!   admin, with or without a `Bearer ` before it (Personio adds no prefix of its own);
//! - the registration's answer is the webhook, with its `id` (used to delete it).

use super::BaseUrl;
use super::auth::{OAuthClient, RefreshingToken, Secret};
use super::http::{Http, RetryPolicy, check, json};
use super::json_text as text;
use super::leading_date as date;
use super::{
    Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage, WebhookDelivery,
    WebhookError,
};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::FieldErrors;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Where a Personio account is reached, and which of its custom attributes hold what IT Hub syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PersonioSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Overrides `https://api.personio.de`: http or https, a host, an optional port and a plain path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: Option<BaseUrl>,
    /// The custom attribute holding the personal email (`dynamic_123456`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub personal_email_attribute: Option<String>,
    /// The custom attribute holding the phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub phone_attribute: Option<String>,
    /// The custom attribute holding the home address (one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub address_attribute: Option<String>,
}

/// API credentials from Personio (Settings → Integrations → API credentials), with read access to persons,
/// employments and org units.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PersonioCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub client_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub client_secret: String,
}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "personio";
    const DISPLAY_NAME: &'static str = "Personio";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: true, push: false, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        let attributes = [
            (&settings.personal_email_attribute, "settings.personal_email_attribute"),
            (&settings.phone_attribute, "settings.phone_attribute"),
            (&settings.address_attribute, "settings.address_attribute"),
        ];
        for (value, field) in attributes {
            let ok = value.as_deref().is_none_or(|v| crate::validation::is_slug(v, 100));
            errors.check(ok, field, "an attribute id: 1-100 letters, digits, dashes or underscores");
        }
        let id_ok = (1..=256).contains(&credentials.client_id.chars().count());
        errors.check(id_ok, "credentials.client_id", "must be given (at most 256 characters)");
        let secret_ok = (1..=4096).contains(&credentials.client_secret.chars().count());
        errors.check(secret_ok, "credentials.client_secret", "must be given (at most 4096 characters)");
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        Box::new(Personio::new(settings, credentials, link.http))
    }

    fn verify_webhook(
        secrets: &[String],
        headers: &::http::HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, WebhookError> {
        verify_webhook(secrets, headers, body)
    }
}

pub struct Personio {
    api: String,
    settings: Settings,
    token: RefreshingToken,
    http: Http,
    retry: RetryPolicy,
    departments: Mutex<HashMap<String, Department>>,
}

/// What asking Personio for a department's org unit found.
#[derive(Clone)]
enum Department {
    /// Its name (`None`: Personio does not know the unit, or it has no name).
    Named(Option<String>),
    /// Personio would not show it: why, never a value. The person's department is left as it was.
    Unresolved(String),
}

/// Persons a v2 page holds at most.
pub const PAGE_SIZE: u32 = 50;
/// Employment reads in flight at once, per connection.
const EMPLOYMENTS_IN_FLIGHT: usize = 8;

impl Personio {
    pub fn new(settings: &Settings, credentials: &Credentials, http: Http) -> Self {
        let api = BaseUrl::root_or(settings.base_url.as_ref(), "https://api.personio.de");
        let endpoint = OAuthClient {
            url: format!("{api}/v2/auth/token"),
            client_id: credentials.client_id.clone(),
            client_secret: Secret::new(&credentials.client_secret),
            basic: false,
            refreshes: false,
            http: http.clone(),
        };
        Self {
            api,
            settings: settings.clone(),
            token: RefreshingToken::new(Box::new(endpoint), None, None),
            http,
            retry: RetryPolicy::default(),
            departments: Mutex::new(HashMap::new()),
        }
    }

    /// A GET with the current access token; a token Personio refuses (expired early, revoked) is replaced once.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let url = format!("{}/{path}", self.api);
        let response = self
            .http
            .send_authorized(&self.retry, &url, &self.token, |client, url, token| {
                let request = client.get(url).query(query).bearer_auth(token.expose());
                request.header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        json(check(response).await?).await
    }

    /// A write with the current access token (a token refused is replaced once), its answer unchecked.
    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/{path}", self.api);
        self.http
            .send_authorized(&self.retry, &url, &self.token, |client, url, token| {
                let request = client.request(method.clone(), url).bearer_auth(token.expose());
                let request = request.header(reqwest::header::ACCEPT, "application/json");
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
    }

    /// One page of persons matching `filter`, each with their current employment, as records.
    async fn persons_page(
        &self,
        filter: &[(&str, String)],
        cursor: Option<&str>,
        today: NaiveDate,
    ) -> Result<RecordPage, ProviderError> {
        let mut query: Vec<(&str, String)> = vec![("limit", PAGE_SIZE.to_string())];
        query.extend(filter.iter().cloned());
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let page: Page<Person> = self.get("v2/persons", &query).await?;
        let mut out = self.records(page.data, today).await?;
        out.next = page.meta.and_then(|m| m.links.next).and_then(|n| cursor_of(&n.href));
        Ok(out)
    }

    /// Reads each person's current employment and maps them. A department Personio will not show leaves the
    /// person's department as it was, and the person is listed as a failure beside their record (the run says
    /// so, and the next reads them again).
    async fn records(&self, persons: Vec<Person>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let mut out = RecordPage::default();
        let (persons, odd): (Vec<Person>, Vec<Person>) = persons.into_iter().partition(|p| plain_id(&p.id));
        for person in odd {
            let hr_id = if person.id.is_empty() { "page (a person without an id)".to_owned() } else { person.id };
            out.failures.push(RecordFailure { hr_id, reason: "an id that is not a Personio person id".into() });
        }
        let employments: Vec<(Person, Option<Employment>)> = stream::iter(persons)
            .map(|person| async move {
                let path = format!("v2/persons/{}/employments", person.id);
                let page: Page<Employment> = self.get(&path, &[("limit", "1".to_owned())]).await?;
                Ok::<_, ProviderError>((person, page.data.into_iter().next()))
            })
            .buffered(EMPLOYMENTS_IN_FLIGHT)
            .try_collect()
            .await?;
        for (person, employment) in employments {
            let department = match employment.as_ref().and_then(Employment::department_id) {
                Some(id) => self.department(&id).await?,
                None => Department::Named(None),
            };
            let (name, unresolved) = match department {
                Department::Named(name) => (name, None),
                Department::Unresolved(reason) => (None, Some(reason)),
            };
            let hr_id = person.id.clone();
            match into_employee(&self.settings, person, employment, name, today) {
                Ok(mut employee) => {
                    if let Some(reason) = unresolved {
                        employee.withheld.push("department".to_owned());
                        out.failures.push(RecordFailure { hr_id, reason });
                    }
                    out.records.push(employee)
                }
                Err(failure) => out.failures.push(failure),
            }
        }
        Ok(out)
    }

    /// A department's org unit, read once per connection use. Personio's answer that it does not know the unit
    /// clears the department; one refusing to show it (a 4xx other than 401 and 429, or an unreadable body)
    /// leaves it unresolved; anything passing (throttling, a server or network error) fails the page, to be
    /// read again.
    async fn department(&self, id: &str) -> Result<Department, ProviderError> {
        if let Some(known) = self.departments.lock().await.get(id) {
            return Ok(known.clone());
        }
        let found = if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
            Department::Unresolved("the department's org unit id is not a number".into())
        } else {
            let query = [("type", ORG_UNIT_TYPE.to_owned())];
            match self.get::<OrgUnit>(&format!("v2/org-units/{id}"), &query).await {
                Ok(unit) => Department::Named(plain(unit.name)),
                Err(ProviderError::Status { status: 404, .. }) => Department::Named(None),
                Err(error) if refused(&error) => {
                    Department::Unresolved(format!("department (org unit {id}) not read: {error}"))
                }
                Err(error) => return Err(error),
            }
        };
        if let Department::Unresolved(reason) = &found {
            tracing::warn!(org_unit = id, reason = reason.as_str(), "a department was left unresolved");
        }
        self.departments.lock().await.insert(id.to_owned(), found.clone());
        Ok(found)
    }
}

/// Personio refused to show something, and asking again will not change that: a 4xx other than 401 (the token,
/// replaced once already) and 429, or a body that is not what was asked for.
fn refused(error: &ProviderError) -> bool {
    match error {
        ProviderError::Status { status, .. } => (400..500).contains(status) && *status != 429,
        ProviderError::Unauthorized(status) => *status == 403,
        ProviderError::Malformed(_) => true,
        _ => false,
    }
}

/// The org unit type a department is asked for as (`type` is required; Personio's units are departments or
/// teams).
const ORG_UNIT_TYPE: &str = "department";

/// Personio's person ids are digits (letters, dashes and underscores allowed); anything else names nobody and
/// must not reach a path or the comma-separated `id` filter.
fn plain_id(hr_id: &str) -> bool {
    !hr_id.is_empty() && hr_id.len() <= 64 && hr_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `cursor` parameter of a `next.href`.
fn cursor_of(href: &str) -> Option<String> {
    let url = reqwest::Url::parse(href).ok()?;
    url.query_pairs().find(|(k, _)| k == "cursor").map(|(_, v)| v.into_owned())
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(rename = "_data", default = "Vec::new")]
    data: Vec<T>,
    #[serde(rename = "_meta", default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    links: Links,
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    next: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize)]
struct OrgUnit {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct Person {
    id: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    custom_attributes: Vec<CustomAttribute>,
}

#[derive(Deserialize, Clone)]
struct CustomAttribute {
    id: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
pub struct Employment {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    position: Option<Position>,
    #[serde(default)]
    employment_start_date: Option<String>,
    #[serde(default)]
    employment_end_date: Option<String>,
    #[serde(default)]
    supervisor: Option<Reference>,
    #[serde(default)]
    org_units: Vec<OrgUnitRef>,
    #[serde(default)]
    termination: Option<Termination>,
}

#[derive(Deserialize)]
struct Position {
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    id: Option<Value>,
}

#[derive(Deserialize)]
struct OrgUnitRef {
    #[serde(rename = "type", default)]
    kind: String,
    id: Value,
}

#[derive(Deserialize)]
struct Termination {
    #[serde(default)]
    termination_date: Option<String>,
}

impl Employment {
    fn department_id(&self) -> Option<String> {
        self.org_units.iter().find(|u| u.kind.eq_ignore_ascii_case("department")).and_then(|u| text(&u.id))
    }
}

fn plain(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A person and their current employment (the newest), as an employee. Fails naming the field, never a value.
pub fn into_employee(
    settings: &Settings,
    person: Person,
    employment: Option<Employment>,
    department: Option<String>,
    today: NaiveDate,
) -> Result<Employee, RecordFailure> {
    let fail = |reason: String| RecordFailure { hr_id: person.id.clone(), reason };
    let employment = employment.unwrap_or_default();
    let start_date = date(employment.employment_start_date.as_deref(), "employment_start_date").map_err(fail)?;
    let terminated_on = employment.termination.as_ref().and_then(|t| t.termination_date.as_deref());
    let end_date = match date(terminated_on, "termination.termination_date").map_err(fail)? {
        Some(day) => Some(day),
        None => date(employment.employment_end_date.as_deref(), "employment_end_date").map_err(fail)?,
    };
    let status = match employment.status.as_deref().unwrap_or("ACTIVE").to_ascii_uppercase().as_str() {
        "INACTIVE" => EmploymentStatus::Terminated,
        _ if end_date.is_some_and(|d| d < today) => EmploymentStatus::Terminated,
        "ONBOARDING" => EmploymentStatus::Pending,
        _ if start_date.is_some_and(|d| d > today) => EmploymentStatus::Pending,
        "LEAVE" => EmploymentStatus::OnLeave,
        _ => EmploymentStatus::Active,
    };
    let attribute = |id: &Option<String>| {
        let id = id.as_deref()?;
        person.custom_attributes.iter().find(|a| a.id == id).and_then(|a| text(&a.value))
    };
    let address = Address { line1: attribute(&settings.address_attribute), ..Address::default() };
    Ok(Employee {
        hr_id: person.id.clone(),
        first_name: plain(person.first_name.clone()).unwrap_or_default(),
        last_name: plain(person.last_name.clone()).unwrap_or_default(),
        work_email: plain(person.email.clone()),
        personal_email: attribute(&settings.personal_email_attribute),
        phone: attribute(&settings.phone_attribute),
        home_address: (!address.is_empty()).then_some(address),
        title: employment.position.and_then(|p| plain(p.title)),
        department,
        manager_hr_id: employment.supervisor.and_then(|s| s.id).as_ref().and_then(text),
        manager_name: None,
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
    })
}

/// How far a change state is kept behind the time the read that issues it began: Personio's clock may differ
/// from ours, and its `updated_at` has whole seconds. People read twice compare unchanged.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// A change state: a time (RFC 3339, as the `updated_at.gt` filter takes it), the skew allowance before `began`.
fn state_for(began: DateTime<Utc>) -> String {
    super::earlier(began, CLOCK_SKEW).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored change state as a time: RFC 3339, or a date (the state kept while the filter was sent as a date),
/// read as that day's start.
fn since_state(state: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(state) {
        return Some(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(state, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// Where a change read stands: Personio's cursor, and when the read began (the next state is taken from then,
/// so a change made while later pages are read is read again next time).
#[derive(Serialize, Deserialize)]
struct ChangeToken {
    cursor: String,
    began: DateTime<Utc>,
}

/// The events IT Hub's webhook is registered for: a person's and their employment's changes.
const WEBHOOK_EVENTS: [&str; 6] = [
    "person.created",
    "person.updated",
    "person.deleted",
    "employment.created",
    "employment.updated",
    "employment.deleted",
];

/// The answer to a webhook registration: the webhook Personio made, by its id.
#[derive(Deserialize)]
struct MadeWebhook {
    id: Option<Value>,
}

/// Ids asked for in one request: a page holds 50, so 50 ids come back on one page (the description sets no
/// other bound on the list).
const IDS_PER_REQUEST: usize = PAGE_SIZE as usize;

#[async_trait]
impl HrProvider for Personio {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Personio
    }

    async fn start_state(&self, now: DateTime<Utc>) -> Result<String, ProviderError> {
        Ok(state_for(now))
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        // `ACTIVE` is everyone whose latest employment is active, on leave or onboarding.
        self.persons_page(&[("status", "ACTIVE".to_owned())], page, today).await
    }

    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError> {
        let since = since_state(state).ok_or_else(|| ProviderError::Malformed("stored change state".into()))?;
        let (cursor, began) = match page {
            None => (None, now),
            Some(raw) => match serde_json::from_str::<ChangeToken>(raw) {
                Ok(token) => (Some(token.cursor), token.began),
                // A bare cursor, from a read begun before pages carried their start: a day's allowance.
                Err(_) => (Some(raw.to_owned()), super::earlier(now, chrono::Duration::days(1))),
            },
        };
        let filter = [("updated_at.gt", since.to_rfc3339_opts(SecondsFormat::Secs, true))];
        let mut records = self.persons_page(&filter, cursor.as_deref(), now.date_naive()).await?;
        let state = records.next.is_none().then(|| state_for(began));
        records.next = match records.next.take() {
            Some(cursor) => Some(
                serde_json::to_string(&ChangeToken { cursor, began })
                    .map_err(|_| ProviderError::Malformed("change page token".into()))?,
            ),
            None => None,
        };
        Ok(ChangePage { page: records, removed: Vec::new(), state })
    }

    /// `POST /v2/webhooks`: deliveries of the person and employment events to `url`, carrying `token` (the
    /// connection's webhook secret) in `Authorization`. Credentials without the `personio:webhooks:write` scope
    /// are refused 403: the admin sets the webhook up in Personio instead.
    async fn register_webhook(
        &self,
        url: &str,
        token: Option<&Secret>,
    ) -> Result<Option<super::RegisteredWebhook>, ProviderError> {
        let Some(token) = token else { return Ok(None) };
        let body = serde_json::json!({
            "url": url, "description": "IT Hub", "status": "ENABLED", "auth_type": "TOKEN",
            "token": token.expose(), "enabled_events": WEBHOOK_EVENTS,
        });
        let response = self.write(reqwest::Method::POST, "v2/webhooks", Some(&body)).await?;
        if response.status() == reqwest::StatusCode::FORBIDDEN {
            return Err(ProviderError::Setup(
                "the API credentials may not make webhooks (they lack the personio:webhooks:write scope)".into(),
            ));
        }
        let made: MadeWebhook = json(check(response).await?).await?;
        let id = made.id.as_ref().and_then(text).filter(|id| plain_id(id));
        let id = id.ok_or_else(|| ProviderError::Malformed("the webhook has no id".into()))?;
        Ok(Some(super::RegisteredWebhook { id, signing_key: token.clone() }))
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), ProviderError> {
        if !plain_id(id) {
            return Err(ProviderError::Malformed("stored webhook id".into()));
        }
        let response = self.write(reqwest::Method::DELETE, &format!("v2/webhooks/{id}"), None).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        check(response).await.map(|_| ())
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        let page = self.fetch_many(&[hr_id.to_owned()]).await?;
        // A record read whole but for a department Personio would not show is still the person's record.
        if let Some(record) = page.records.into_iter().find(|r| r.hr_id == hr_id) {
            return Ok(Some(record));
        }
        match page.failures.into_iter().next() {
            Some(failure) => Err(ProviderError::Malformed(failure.reason)),
            None => Ok(None),
        }
    }

    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        let today = Utc::now().date_naive();
        let mut ids: Vec<&str> = hr_ids.iter().map(String::as_str).filter(|id| plain_id(id)).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = RecordPage::default();
        // The persons filter takes a comma-separated list of ids: a request per 50 people, not per person.
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let filter = [("id", chunk.join(","))];
            let mut cursor: Option<String> = None;
            // 50 ids fit one page; a further page is followed while pages bring someone.
            for _ in 0..chunk.len() {
                let page = self.persons_page(&filter, cursor.as_deref(), today).await?;
                let brought = !page.records.is_empty() || !page.failures.is_empty();
                out.records.extend(page.records);
                out.failures.extend(page.failures);
                match page.next {
                    Some(next) if brought => cursor = Some(next),
                    _ => break,
                }
            }
        }
        Ok(out)
    }
}

/// Checks `Authorization` against each of the connection's tokens (Personio sends the configured token
/// verbatim), then reads which person the event is about.
pub fn verify_webhook(
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
) -> Result<WebhookDelivery, WebhookError> {
    let sent = headers
        .get(::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader("authorization"))?;
    // The token is what the admin typed into Personio: the secret, or `Bearer ` and the secret (Personio adds
    // no prefix). Compared as digests, so the time taken says nothing about how much of a token matched.
    let typed = std::iter::once(sent).chain(sent.strip_prefix("Bearer "));
    let digests: Vec<_> = typed.map(|token| Sha256::digest(token.as_bytes())).collect();
    let matches = |secret: &String| !secret.is_empty() && digests.contains(&Sha256::digest(secret.as_bytes()));
    if !secrets.iter().any(matches) {
        return Err(WebhookError::BadSignature);
    }
    let event: Event =
        serde_json::from_slice(body).map_err(|_| WebhookError::BadPayload("expected event_name and payload".into()))?;
    let person = event
        .payload
        .pointer("/person/id")
        .or_else(|| event.payload.get("person_id"))
        .or_else(|| event.event_name.starts_with("person.").then(|| event.payload.get("id")).flatten())
        .and_then(text)
        .ok_or_else(|| WebhookError::BadPayload("the payload names no person".into()))?;
    let removed = if event.event_name == "person.deleted" { vec![person.clone()] } else { Vec::new() };
    let delivery_key = hex::encode(Sha256::digest(body));
    Ok(WebhookDelivery { delivery_key, hr_ids: vec![person], removed })
}

#[derive(Deserialize)]
struct Event {
    event_name: String,
    #[serde(default)]
    payload: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::{HeaderMap, HeaderValue};
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn authorized(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(token).unwrap());
        h
    }

    #[test]
    fn the_token_must_match_one_of_the_connections_tokens() {
        let body = br#"{"company_id":1,"event_name":"employment.updated","occurred_at":"2026-01-01T00:00:00Z","payload":{"id":"e-1","person":{"id":"5005"}}}"#;
        let secrets = vec!["Bearer new".to_owned(), "Bearer old".to_owned()];
        let d = verify_webhook(&secrets, &authorized("Bearer old"), body).unwrap();
        assert_eq!(d.hr_ids, vec!["5005"]);
        assert_eq!(verify_webhook(&secrets, &authorized("Bearer olde"), body), Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&[], &authorized(""), body), Err(WebhookError::MissingHeader("authorization")));
        assert_eq!(verify_webhook(&[String::new()], &authorized("x"), body), Err(WebhookError::BadSignature));
    }

    #[test]
    fn the_token_may_be_typed_into_personio_with_a_bearer_before_it() {
        let body = br#"{"event_name":"person.updated","payload":{"id":"5005"}}"#;
        let secrets = vec!["whsec_abc".to_owned()];
        assert_eq!(verify_webhook(&secrets, &authorized("whsec_abc"), body).unwrap().hr_ids, vec!["5005"]);
        assert_eq!(verify_webhook(&secrets, &authorized("Bearer whsec_abc"), body).unwrap().hr_ids, vec!["5005"]);
        assert_eq!(verify_webhook(&secrets, &authorized("Bearer whsec_abd"), body), Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&secrets, &authorized("Bearer "), body), Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&secrets, &authorized("bearer whsec_abc"), body), Err(WebhookError::BadSignature));
    }

    #[test]
    fn changes_are_asked_for_since_a_time_and_a_stored_date_reads_as_its_day() {
        let began = DateTime::parse_from_rfc3339("2026-03-02T10:00:30.250Z").unwrap().with_timezone(&Utc);
        let state = state_for(began);
        assert_eq!(state, "2026-03-02T09:59:30Z", "a date-time, the skew allowance before the read began");
        assert_eq!(since_state(&state), Some(began - CLOCK_SKEW - chrono::Duration::milliseconds(250)));
        let midnight = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(since_state("2026-03-01"), Some(midnight), "a state kept as a date before");
        assert_eq!(since_state("2026-03-01T01:00:00+01:00"), Some(midnight));
        for bad in ["", "yesterday", "2026-13-01", "2026-03-01T25:00:00Z"] {
            assert_eq!(since_state(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_plain_ids_reach_a_path_or_the_id_list() {
        assert!(plain_id("5005") && plain_id("a-1_B"));
        for odd in ["", "5,6", "5/employments", "5?x=1", "5 6", &"9".repeat(65)] {
            assert!(!plain_id(odd), "{odd}");
        }
    }

    #[test]
    fn a_department_is_refused_by_a_lasting_answer_not_a_passing_one() {
        let status = |status| ProviderError::Status { status, detail: String::new() };
        assert!(refused(&status(400)) && refused(&status(422)) && refused(&ProviderError::Unauthorized(403)));
        assert!(refused(&ProviderError::Malformed("x".into())));
        assert!(!refused(&status(429)) && !refused(&status(500)) && !refused(&status(503)));
        assert!(!refused(&ProviderError::Unauthorized(401)) && !refused(&ProviderError::Transport("x".into())));
    }

    #[test]
    fn person_events_name_the_person_and_deletions_are_removals() {
        let secrets = vec!["t".to_owned()];
        let deleted = br#"{"event_name":"person.deleted","payload":{"id":"77"}}"#;
        let d = verify_webhook(&secrets, &authorized("t"), deleted).unwrap();
        assert_eq!((d.hr_ids, d.removed), (vec!["77".to_owned()], vec!["77".to_owned()]));
        let employment_without_person = br#"{"event_name":"employment.created","payload":{"id":"e-9"}}"#;
        let err = verify_webhook(&secrets, &authorized("t"), employment_without_person).unwrap_err();
        assert!(matches!(err, WebhookError::BadPayload(_)), "an employment id is not a person id");
    }

    fn person(custom: Value) -> Person {
        serde_json::from_value(json!({ "id": "5005", "first_name": "Ada", "last_name": "Lovelace",
                                       "email": "ada@corp.example", "custom_attributes": custom }))
        .unwrap()
    }

    fn employment(j: Value) -> Employment {
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn maps_a_person_and_their_employment() {
        let settings = Settings {
            personal_email_attribute: Some("dynamic_1".into()),
            phone_attribute: Some("dynamic_2".into()),
            address_attribute: Some("dynamic_3".into()),
            ..Settings::default()
        };
        let custom = json!([{ "id": "dynamic_1", "value": "ada@home.example" }, { "id": "dynamic_2", "value": "+49 30 1" },
                            { "id": "dynamic_3", "value": "1 Hauptstr., Berlin" }]);
        let job = employment(json!({ "status": "ACTIVE", "position": { "title": "Engineer" },
            "employment_start_date": "2020-01-06", "supervisor": { "id": "5001" },
            "org_units": [{ "type": "team", "id": "42" }, { "type": "department", "id": "281521" }],
            "termination": { "termination_date": null } }));
        assert_eq!(job.department_id().as_deref(), Some("281521"));
        let e =
            into_employee(&settings, person(custom), Some(job), Some("Engineering".into()), day("2026-06-01")).unwrap();
        assert_eq!((e.first_name.as_str(), e.work_email.as_deref()), ("Ada", Some("ada@corp.example")));
        assert_eq!((e.personal_email.as_deref(), e.phone.as_deref()), (Some("ada@home.example"), Some("+49 30 1")));
        assert_eq!(e.home_address.unwrap().line1.as_deref(), Some("1 Hauptstr., Berlin"));
        assert_eq!((e.title.as_deref(), e.department.as_deref()), (Some("Engineer"), Some("Engineering")));
        assert_eq!((e.manager_hr_id.as_deref(), e.status), (Some("5001"), EmploymentStatus::Active));
    }

    #[test]
    fn statuses_follow_the_employment() {
        let status = |j: Value| {
            into_employee(&Settings::default(), person(json!([])), Some(employment(j)), None, day("2026-06-01"))
                .unwrap()
                .status
        };
        use EmploymentStatus::*;
        assert_eq!(status(json!({ "status": "ONBOARDING", "employment_start_date": "2026-07-01" })), Pending);
        assert_eq!(status(json!({ "status": "ACTIVE", "employment_start_date": "2026-07-01" })), Pending);
        assert_eq!(status(json!({ "status": "LEAVE" })), OnLeave);
        assert_eq!(status(json!({ "status": "INACTIVE" })), Terminated);
        let dated = json!({ "status": "ACTIVE", "termination": { "termination_date": "2026-06-30" } });
        assert_eq!(status(dated), Active, "employed until the date");
        let passed = json!({ "status": "ACTIVE", "termination": { "termination_date": "2026-05-31" } });
        assert_eq!(status(passed), Terminated);
        let bad = into_employee(
            &Settings::default(),
            person(json!([])),
            Some(employment(json!({ "employment_start_date": "06/01/2020" }))),
            None,
            day("2026-06-01"),
        )
        .unwrap_err();
        assert_eq!((bad.hr_id.as_str(), bad.reason.as_str()), ("5005", "employment_start_date is not a date"));
    }

    #[test]
    fn the_cursor_is_read_from_the_next_link() {
        let href = "https://api.personio.de/v2/persons?cursor=abc%3D&limit=50";
        assert_eq!(cursor_of(href).as_deref(), Some("abc="));
        assert_eq!(cursor_of("https://api.personio.de/v2/persons?limit=50"), None);
    }
}
