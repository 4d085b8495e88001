//! Gusto: OAuth 2.0 with single-use refresh tokens (each refresh rotates it; the connection keeps the newest,
//! and one process at a time spends it) for the company's employees, paged with `page`/`per`; a system-level
//! token (`grant_type: system_access`) for the change feed (`GET /v1/events`, cursor `starting_after_uuid`) and
//! the webhook subscription's verification; webhooks signed `X-Gusto-Signature`, hex HMAC-SHA256 of the raw body
//! keyed with the subscription's verification token, with no timestamp. The token endpoint takes JSON.
//!
//! Assumptions where the fact sheet marks a fact unverified, each followed by the fake:
//! - `per` goes up to 100, and a page shorter than `per` (or `X-Total-Pages`, when sent) ends the listing;
//! - a rehire in effect sets `terminated` back to false and `hired_at` to the rehire's date;
//! - a leave of absence is not visible in the API (nobody is read as on leave).

use super::BaseUrl;
use super::auth::{Grant, RefreshingToken, Secret, TokenEndpoint};
use super::http::{Http, RetryPolicy, check, json};
use super::signature::{self, Algorithm, any_secret_signs};
use super::{
    Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage, WebhookDelivery,
    WebhookError,
};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::FieldErrors;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json as body};
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-gusto-signature";
/// The API version IT Hub is written against.
pub const API_VERSION: &str = "2025-06-15";

/// Which Gusto company, and where Gusto is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GustoSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The company's UUID (`GET /v1/token_info` names it).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9-]{1,64}$"))]
    pub company_uuid: String,
    /// The webhook subscription whose verification token IT Hub confirms (`POST /v1/webhook_subscriptions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9-]{1,64}$"))]
    pub webhook_subscription_uuid: Option<String>,
    /// Overrides `https://api.gusto.com` (`https://api.gusto-demo.com` for the demo environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: Option<BaseUrl>,
}

/// The Gusto application's client credentials and the company's refresh token (from the OAuth authorization).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GustoCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub client_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub client_secret: String,
    /// Spent on the first refresh; IT Hub keeps each rotated one.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub refresh_token: String,
}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "gusto";
    const DISPLAY_NAME: &'static str = "Gusto";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: true, push: false, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        let uuid = |v: &str| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        errors.check(uuid(&settings.company_uuid), "settings.company_uuid", "a UUID");
        let subscription_ok = settings.webhook_subscription_uuid.as_deref().is_none_or(uuid);
        errors.check(subscription_ok, "settings.webhook_subscription_uuid", "a UUID");
        for (value, field, max) in [
            (&credentials.client_id, "credentials.client_id", 256),
            (&credentials.client_secret, "credentials.client_secret", 4096),
            (&credentials.refresh_token, "credentials.refresh_token", 4096),
        ] {
            errors.check((1..=max).contains(&value.chars().count()), field, "must be given");
        }
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        Box::new(Gusto::new(settings, credentials, link))
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

/// Gusto's token endpoint: a JSON body, the refresh-token grant for the company and `system_access` for the
/// application.
struct TokenJson {
    url: String,
    client_id: String,
    client_secret: Secret,
    system: bool,
    http: Http,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[async_trait]
impl TokenEndpoint for TokenJson {
    async fn grant(&self, refresh_token: Option<&Secret>) -> Result<Grant, ProviderError> {
        let (client_id, client_secret) = (&self.client_id, self.client_secret.expose());
        let request = if self.system {
            body!({ "client_id": client_id, "client_secret": client_secret, "grant_type": "system_access" })
        } else {
            let token = refresh_token.ok_or(ProviderError::Unauthorized(401))?;
            body!({ "client_id": client_id, "client_secret": client_secret, "grant_type": "refresh_token",
                    "refresh_token": token.expose() })
        };
        // No redirect is followed: the request carries the client's secret.
        let response = self
            .http
            .send_to_token_endpoint(&RetryPolicy::default(), &self.url, |client, url| client.post(url).json(&request))
            .await?;
        if matches!(response.status().as_u16(), 400 | 401) {
            // A spent or revoked refresh token: an admin must authorise the company again.
            return Err(ProviderError::Unauthorized(response.status().as_u16()));
        }
        let answer: TokenAnswer = json(check(response).await?).await?;
        Ok(Grant {
            access_token: Secret::new(answer.access_token),
            expires_in: Duration::from_secs(answer.expires_in.unwrap_or(7200)),
            refresh_token: answer.refresh_token.filter(|_| !self.system).map(Secret::new),
        })
    }
}

pub struct Gusto {
    api: String,
    company: String,
    subscription: Option<String>,
    company_token: RefreshingToken,
    system_token: RefreshingToken,
    http: Http,
    retry: RetryPolicy,
}

/// Employees a listing page holds.
pub const PAGE_SIZE: usize = 100;
/// Events a change-feed page holds (Gusto's maximum).
pub const EVENTS_PER_PAGE: usize = 100;

impl Gusto {
    pub fn new(settings: &Settings, credentials: &Credentials, link: super::Link) -> Self {
        let api = BaseUrl::root_or(settings.base_url.as_ref(), "https://api.gusto.com");
        let endpoint = |system: bool| {
            Box::new(TokenJson {
                url: format!("{api}/oauth/token"),
                client_id: credentials.client_id.clone(),
                client_secret: Secret::new(&credentials.client_secret),
                system,
                http: link.http.clone(),
            })
        };
        let refresh = link.refresh_token.clone().unwrap_or_else(|| Secret::new(&credentials.refresh_token));
        Self {
            company: settings.company_uuid.clone(),
            subscription: settings.webhook_subscription_uuid.clone(),
            company_token: RefreshingToken::new(endpoint(false), Some(refresh), link.refresh_tokens.clone()),
            system_token: RefreshingToken::new(endpoint(true), None, None),
            http: link.http,
            retry: RetryPolicy::default(),
            api,
        }
    }

    /// A request with the company's token (or the system's), replaced once if Gusto refuses it.
    async fn call(
        &self,
        system: bool,
        path: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
        put: Option<&Value>,
    ) -> Result<reqwest::Response, ProviderError> {
        let tokens = if system { &self.system_token } else { &self.company_token };
        let url = format!("{}/{path}", self.api);
        let response = self
            .http
            .send_authorized(&self.retry, &url, tokens, |client, url, token| {
                let request = match put {
                    Some(body) => client.put(url).json(body),
                    None => client.get(url),
                };
                build(request.bearer_auth(token.expose()).header("x-gusto-api-version", API_VERSION))
            })
            .await?;
        check(response).await
    }

    async fn employees(
        &self,
        query: &[(&str, String)],
        today: NaiveDate,
    ) -> Result<(RecordPage, Option<u32>), ProviderError> {
        let path = format!("v1/companies/{}/employees", self.company);
        let response =
            self.call(false, &path, |r| r.query(query).query(&[("include", "current_home_address")]), None).await?;
        let total_pages =
            response.headers().get("x-total-pages").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let rows: Vec<Value> = json(response).await?;
        let mut out = RecordPage::default();
        for (n, row) in rows.into_iter().enumerate() {
            match into_employee(&row, today) {
                Ok(employee) => out.records.push(employee),
                Err(reason) => {
                    let hr_id = row.get("uuid").and_then(Value::as_str).map(str::to_owned);
                    out.failures.push(RecordFailure {
                        hr_id: hr_id.unwrap_or_else(|| format!("page row {}", n.saturating_add(1))),
                        reason,
                    });
                }
            }
        }
        Ok((out, total_pages))
    }

    async fn by_uuid(&self, uuids: &[String], today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let mut out = RecordPage::default();
        let plain: Vec<&String> = uuids.iter().filter(|u| plain_uuid(u)).collect();
        for chunk in plain.chunks(PAGE_SIZE) {
            let list = chunk.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(",");
            let (page, _) = self.employees(&[("uuids", list)], today).await?;
            out.records.extend(page.records);
            out.failures.extend(page.failures);
        }
        Ok(out)
    }

    async fn events(&self, query: &[(&str, String)]) -> Result<Vec<Event>, ProviderError> {
        let mut query = query.to_vec();
        query.extend([("resource_uuid", self.company.clone()), ("event_type", "employee.*".to_owned())]);
        json(self.call(true, "v1/events", |r| r.query(&query), None).await?).await
    }
}

fn plain_uuid(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[derive(Deserialize)]
struct Event {
    uuid: String,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    entity_type: Option<String>,
    #[serde(default)]
    entity_uuid: Option<String>,
}

/// Where a change read stands: the events after `after`.
#[derive(Serialize, Deserialize)]
struct ChangeToken {
    after: String,
}

#[async_trait]
impl HrProvider for Gusto {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gusto
    }

    async fn start_state(&self, _now: DateTime<Utc>) -> Result<String, ProviderError> {
        // The newest event now: a change made while the listing runs comes after it.
        let newest = self.events(&[("sort_order", "desc".to_owned()), ("limit", "1".to_owned())]).await?;
        Ok(newest.into_iter().next().map(|e| e.uuid).unwrap_or_default())
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let number: u32 = match page {
            None => 1,
            Some(raw) => raw.parse().map_err(|_| ProviderError::Malformed("listing page token".into()))?,
        };
        let query = [("page", number.to_string()), ("per", PAGE_SIZE.to_string())];
        let (mut out, total_pages) = self.employees(&query, today).await?;
        let full = out.records.len().saturating_add(out.failures.len()) >= PAGE_SIZE;
        let more = total_pages.map_or(full, |total| number < total);
        out.next = more.then(|| number.saturating_add(1).to_string());
        // Everyone employed or about to start: Gusto lists people who left too.
        out.records.retain(|e| e.status != EmploymentStatus::Terminated);
        Ok(out)
    }

    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError> {
        let after = match page {
            Some(raw) => {
                serde_json::from_str::<ChangeToken>(raw)
                    .map_err(|_| ProviderError::Malformed("change page token".into()))?
                    .after
            }
            None => state.to_owned(),
        };
        let mut query = vec![("limit", EVENTS_PER_PAGE.to_string()), ("sort_order", "asc".to_owned())];
        if !after.is_empty() {
            query.push(("starting_after_uuid", after.clone()));
        }
        let events = self.events(&query).await?;
        let last = events.last().map(|e| e.uuid.clone());
        let full = events.len() >= EVENTS_PER_PAGE;
        let mut changed: Vec<String> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        for event in events.into_iter().filter(|e| e.entity_type.as_deref().is_none_or(|t| t == "Employee")) {
            let Some(uuid) = event.entity_uuid else { continue };
            let list = if event.event_type == "employee.deleted" { &mut removed } else { &mut changed };
            if !list.contains(&uuid) {
                list.push(uuid);
            }
        }
        changed.retain(|u| !removed.contains(u));
        let mut out = ChangePage { page: self.by_uuid(&changed, now.date_naive()).await?, removed, state: None };
        let position = last.unwrap_or(after);
        if full {
            out.page.next = serde_json::to_string(&ChangeToken { after: position }).ok();
        } else {
            out.state = Some(position);
        }
        Ok(out)
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        let mut page = self.by_uuid(&[hr_id.to_owned()], Utc::now().date_naive()).await?;
        if let Some(failure) = page.failures.pop() {
            return Err(ProviderError::Malformed(failure.reason));
        }
        Ok(page.records.pop())
    }

    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        self.by_uuid(hr_ids, Utc::now().date_naive()).await
    }

    async fn confirm_subscription(&self, verification_token: &str) -> Result<bool, ProviderError> {
        let Some(subscription) = &self.subscription else {
            return Ok(false);
        };
        let path = format!("v1/webhook_subscriptions/{subscription}/verify");
        let request = body!({ "verification_token": verification_token });
        match self.call(true, &path, |r| r, Some(&request)).await {
            Ok(_) => Ok(true),
            Err(ProviderError::Status { status: 400 | 404 | 422, .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(super::json_text)
}

fn date(value: Option<&Value>, field: &str) -> Result<Option<NaiveDate>, String> {
    match text(value) {
        None => Ok(None),
        Some(raw) => {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map(Some).map_err(|_| format!("{field} is not a date"))
        }
    }
}

/// One employee as Gusto lists them (API version 2025-06-15). Fails naming the field, never a value.
pub fn into_employee(row: &Value, today: NaiveDate) -> Result<Employee, String> {
    let hr_id = text(row.get("uuid")).ok_or("the record has no uuid")?;
    let start_date = match date(row.get("hired_at"), "hired_at")? {
        Some(day) => Some(day),
        None => date(row.pointer("/jobs/0/hire_date"), "jobs.hire_date")?,
    };
    // The last day worked, of the termination that is not cancelled (the newest one).
    let mut end_date = None;
    if let Some(terminations) = row.get("terminations").and_then(Value::as_array) {
        for termination in terminations {
            if let Some(day) = date(termination.get("effective_date"), "terminations.effective_date")? {
                end_date = end_date.max(Some(day));
            }
        }
    }
    let terminated = row.get("terminated").and_then(Value::as_bool).unwrap_or(false);
    let end_date = end_date.filter(|_| terminated);
    let onboarded = row.get("onboarded").and_then(Value::as_bool).unwrap_or(true);
    let status = if terminated && end_date.is_none_or(|d| d < today) {
        EmploymentStatus::Terminated
    } else if start_date.is_some_and(|d| d > today) || (!onboarded && !terminated) {
        EmploymentStatus::Pending
    } else {
        EmploymentStatus::Active
    };
    let home = row.get("current_home_address");
    let address = Address {
        line1: text(home.and_then(|h| h.get("street_1"))),
        line2: text(home.and_then(|h| h.get("street_2"))),
        city: text(home.and_then(|h| h.get("city"))),
        region: text(home.and_then(|h| h.get("state"))),
        postal_code: text(home.and_then(|h| h.get("zip"))),
        country: text(home.and_then(|h| h.get("country"))),
    };
    let first = text(row.get("preferred_first_name")).or_else(|| text(row.get("first_name")));
    Ok(Employee {
        hr_id,
        first_name: first.unwrap_or_default(),
        last_name: text(row.get("last_name")).unwrap_or_default(),
        work_email: text(row.get("work_email")),
        personal_email: text(row.get("email")),
        phone: text(row.get("phone")),
        home_address: (!address.is_empty()).then_some(address),
        title: text(row.get("title")).or_else(|| text(row.pointer("/jobs/0/title"))),
        department: text(row.get("department")),
        manager_hr_id: text(row.get("manager_uuid")),
        manager_name: None,
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
    })
}

/// Hex HMAC-SHA256 of `body` keyed with the subscription's verification token: `X-Gusto-Signature`.
pub fn sign(verification_token: &str, body: &[u8]) -> String {
    hex::encode(signature::sign(Algorithm::HmacSha256, verification_token.as_bytes(), &[body]))
}

/// A verified event names its employee; Gusto's verification handshake (`{"verification_token": …}`, unsigned)
/// is handed on for the connection to confirm with Gusto.
pub fn verify_webhook(
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
) -> Result<WebhookDelivery, WebhookError> {
    if let Ok(handshake) = serde_json::from_slice::<Handshake>(body) {
        return Err(WebhookError::Handshake(Secret::new(handshake.verification_token)));
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
    let signature = hex::decode(signature).map_err(|_| WebhookError::BadSignature)?;
    if !any_secret_signs(secrets, Algorithm::HmacSha256, &[body], &signature) {
        return Err(WebhookError::BadSignature);
    }
    let event: Event =
        serde_json::from_slice(body).map_err(|_| WebhookError::BadPayload("expected a Gusto event".into()))?;
    let delivery_key = event.uuid.clone();
    let employee = event.entity_type.as_deref() == Some("Employee") || event.event_type.starts_with("employee.");
    let Some(uuid) = event.entity_uuid.filter(|_| employee) else {
        // Another entity's event: nothing to do, and a 2xx so Gusto does not retry it.
        return Ok(WebhookDelivery { delivery_key, hr_ids: Vec::new(), removed: Vec::new() });
    };
    let removed = if event.event_type == "employee.deleted" { vec![uuid.clone()] } else { Vec::new() };
    Ok(WebhookDelivery { delivery_key, hr_ids: vec![uuid], removed })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Handshake {
    verification_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::{HeaderMap, HeaderValue};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const FIXTURE_BODY: &str = r#"{"uuid":"03ffbf0c-48a9-4f1c-932a-546413a26ad1","event_type":"employee.created","resource_type":"Company","resource_uuid":"5df911a0-e8e9-412d-8aaf-a46ad193dd96","entity_type":"Employee","entity_uuid":"bcfc9744-0ab3-4ef3-ab0d-e728255d659c","timestamp":1671058841}"#;
    /// The vector from the providers reference.
    const FIXTURE_KEY: &str = "6590f590-3dba-495e-9bea-c361e1e2efc0";
    const FIXTURE_SIG: &str = "c6e35d71a6cbfad6c26002a4e208e9982cc38010c118c7d3f20537356e117845";

    fn signed(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    #[tokio::test]
    async fn a_token_endpoint_that_redirects_is_not_followed_and_the_grant_fails_by_name() {
        super::super::http::test_servers::assert_token_redirects_are_not_followed(|url, n| {
            Box::new(TokenJson {
                url,
                client_id: "client".into(),
                client_secret: Secret::new("s3cret"),
                system: n == 1,
                http: Http::new(super::super::Egress::LoopbackOnly),
            })
        })
        .await;
    }

    #[test]
    fn accepts_the_reference_vector_and_keys_deliveries_by_event() {
        assert_eq!(sign(FIXTURE_KEY, FIXTURE_BODY.as_bytes()), FIXTURE_SIG);
        let secrets = vec!["rotated".to_owned(), FIXTURE_KEY.to_owned()];
        let d = verify_webhook(&secrets, &signed(FIXTURE_SIG), FIXTURE_BODY.as_bytes()).unwrap();
        assert_eq!(d.hr_ids, vec!["bcfc9744-0ab3-4ef3-ab0d-e728255d659c"]);
        assert_eq!(d.delivery_key, "03ffbf0c-48a9-4f1c-932a-546413a26ad1");
    }

    #[test]
    fn refuses_forgeries_and_hands_on_the_handshake() {
        let secrets = vec![FIXTURE_KEY.to_owned()];
        let tampered = FIXTURE_BODY.replace("employee.created", "employee.deleted");
        assert_eq!(
            verify_webhook(&secrets, &signed(FIXTURE_SIG), tampered.as_bytes()),
            Err(WebhookError::BadSignature)
        );
        let none = verify_webhook(&secrets, &HeaderMap::new(), FIXTURE_BODY.as_bytes());
        assert_eq!(none, Err(WebhookError::MissingHeader(SIGNATURE_HEADER)));
        let handshake = verify_webhook(&[], &HeaderMap::new(), br#"{"verification_token":"abc"}"#);
        assert_eq!(handshake, Err(WebhookError::Handshake(Secret::new("abc"))));
        let deleted = FIXTURE_BODY.replace("employee.created", "employee.deleted");
        let d = verify_webhook(&secrets, &signed(&sign(FIXTURE_KEY, deleted.as_bytes())), deleted.as_bytes()).unwrap();
        assert_eq!(d.removed, d.hr_ids);
        let company = FIXTURE_BODY
            .replace("\"entity_type\":\"Employee\"", "\"entity_type\":\"Location\"")
            .replace("employee.created", "location.created");
        let d = verify_webhook(&secrets, &signed(&sign(FIXTURE_KEY, company.as_bytes())), company.as_bytes()).unwrap();
        assert!(d.hr_ids.is_empty(), "acknowledged, nothing to do");
    }

    #[test]
    fn maps_an_employee() {
        let row = serde_json::json!({
            "uuid": "bcfc9744", "first_name": "Ada", "preferred_first_name": null, "last_name": "Lovelace",
            "email": "ada@home.example", "work_email": "ada@corp.example", "phone": "5555550100",
            "manager_uuid": "9a1c5ab3", "department": "Engineering", "title": "Engineer", "hired_at": "2020-01-06",
            "onboarded": true, "terminated": false, "terminations": [],
            "current_home_address": { "street_1": "412 Kiera Stravenue", "street_2": "Suite 391",
                "city": "San Francisco", "state": "CA", "zip": "94107", "country": "USA", "active": true }
        });
        let e = into_employee(&row, day("2026-06-01")).unwrap();
        assert_eq!(
            (e.work_email.as_deref(), e.personal_email.as_deref()),
            (Some("ada@corp.example"), Some("ada@home.example"))
        );
        assert_eq!((e.title.as_deref(), e.department.as_deref()), (Some("Engineer"), Some("Engineering")));
        assert_eq!(e.home_address.unwrap().postal_code.as_deref(), Some("94107"));
        assert_eq!((e.manager_hr_id.as_deref(), e.status), (Some("9a1c5ab3"), EmploymentStatus::Active));
    }

    #[test]
    fn statuses_follow_terminations_and_onboarding() {
        let status = |j: Value| {
            let mut row = serde_json::json!({ "uuid": "u", "hired_at": "2020-01-06", "onboarded": true });
            row.as_object_mut().unwrap().extend(j.as_object().unwrap().clone());
            into_employee(&row, day("2026-06-01")).unwrap()
        };
        use EmploymentStatus::*;
        let dated =
            status(serde_json::json!({ "terminated": true, "terminations": [{ "effective_date": "2026-06-30" }] }));
        assert_eq!((dated.status, dated.end_date), (Active, Some(day("2026-06-30"))), "employed until the last day");
        let past =
            status(serde_json::json!({ "terminated": true, "terminations": [{ "effective_date": "2026-05-01" }] }));
        assert_eq!(past.status, Terminated);
        assert_eq!(status(serde_json::json!({ "hired_at": "2026-07-01" })).status, Pending);
        assert_eq!(status(serde_json::json!({ "onboarded": false, "hired_at": "2026-06-01" })).status, Pending);
        let rehired =
            status(serde_json::json!({ "terminated": false, "terminations": [{ "effective_date": "2025-01-01" }] }));
        assert_eq!((rehired.status, rehired.end_date), (Active, None), "an old termination of a rehire is history");
        assert_eq!(
            into_employee(&serde_json::json!({ "uuid": "u", "hired_at": "1/6/2020" }), day("2026-06-01")).unwrap_err(),
            "hired_at is not a date"
        );
    }
}
