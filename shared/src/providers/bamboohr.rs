//! BambooHR: API key over HTTP Basic, the employee directory for a full listing, `employees/changed?since=` for
//! increments, one employee by id, and webhooks signed with HMAC-SHA256 over the body followed by the timestamp.

use super::auth::{StaticToken, TokenSource};
use super::http::{Http, RetryPolicy, check};
use super::{
    Capabilities, Changes, HrProvider, ProviderError, ProviderKind, WEBHOOK_TOLERANCE_SECS, WebhookDelivery,
    WebhookError,
};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::{FieldErrors, is_slug};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const DEFAULT_BASE_URL: &str = "https://api.bamboohr.com";
pub const SIGNATURE_HEADER: &str = "x-bamboohr-signature";
pub const TIMESTAMP_HEADER: &str = "x-bamboohr-timestamp";

/// The fields asked for on every employee read (at most 400 are allowed).
const FIELDS: &str = "firstName,lastName,workEmail,homeEmail,mobilePhone,workPhone,address1,address2,city,state,\
zipcode,country,jobTitle,department,supervisorId,supervisor,status,employmentHistoryStatus,hireDate,terminationDate";

/// Where a BambooHR company is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BambooHrSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The company's subdomain: `acme` for `acme.bamboohr.com`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub company_domain: String,
    /// Overrides `https://api.bamboohr.com` (a sandbox): http or https, a host, an optional port and a plain
    /// path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]*)*$", max_length = 2048)
    )]
    pub base_url: Option<String>,
}

/// A BambooHR API key (sent as the HTTP Basic user name).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BambooHrCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub api_key: String,
}

/// The BambooHR connector.
pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "bamboohr";
    const DISPLAY_NAME: &'static str = "BambooHR";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: true, push: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        let domain_ok = is_slug(&settings.company_domain, 100);
        errors.check(domain_ok, "settings.company_domain", "1-100 letters, digits, dashes or underscores");
        let key_ok = (1..=4096).contains(&credentials.api_key.chars().count());
        errors.check(key_ok, "credentials.api_key", "must be given (at most 4096 characters)");
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, http: Http) -> Box<dyn HrProvider> {
        Box::new(BambooHr::new(settings, StaticToken::new(&credentials.api_key), http))
    }

    fn verify_webhook(
        secrets: &[String],
        headers: &::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, WebhookError> {
        verify_webhook(secrets, headers, body, now)
    }
}

pub struct BambooHr {
    api: String,
    key: Box<dyn TokenSource>,
    http: Http,
    retry: RetryPolicy,
}

impl BambooHr {
    pub fn new(settings: &Settings, key: impl TokenSource + 'static, http: Http) -> Self {
        let host = settings.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
        Self {
            api: format!("{host}/api/gateway.php/{}/v1", settings.company_domain),
            key: Box::new(key),
            http,
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/{path}", self.api);
        let key = self.key.token().await?;
        let response = self
            .http
            .send(&self.retry, &url, |client, url| {
                client
                    .get(url)
                    .query(query)
                    .basic_auth(key.expose(), Some("x"))
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            self.key.invalidate().await;
        }
        Ok(response)
    }
}

async fn json<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, ProviderError> {
    let bytes = response.bytes().await.map_err(|e| ProviderError::Transport(e.without_url().to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProviderError::Malformed(crate::validation::json_error_position(&e)))
}

#[derive(Deserialize)]
struct Directory {
    employees: Vec<DirectoryEntry>,
}

#[derive(Deserialize)]
struct DirectoryEntry {
    id: String,
}

#[derive(Deserialize)]
struct Changed {
    #[serde(default)]
    latest: Option<String>,
    #[serde(default)]
    employees: BTreeMap<String, ChangedEntry>,
}

#[derive(Deserialize)]
struct ChangedEntry {
    id: String,
    action: String,
}

#[async_trait]
impl HrProvider for BambooHr {
    fn kind(&self) -> ProviderKind {
        ProviderKind::BambooHr
    }

    async fn list_all(&self) -> Result<Vec<String>, ProviderError> {
        // onlyCurrent=false adds people whose hire date lies ahead, so pre-hires are imported too.
        let response = self.get("employees/directory", &[("onlyCurrent", "false")]).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            // BambooHR answers 404 for an empty directory.
            return Ok(Vec::new());
        }
        let directory: Directory = json(check(response).await?).await?;
        Ok(directory.employees.into_iter().map(|e| e.id).collect())
    }

    async fn changed_since(&self, since: &str, now: DateTime<Utc>) -> Result<Changes, ProviderError> {
        let response = check(self.get("employees/changed", &[("since", since)]).await?).await?;
        let body: Changed = json(response).await?;
        let (deleted, changed): (Vec<_>, Vec<_>) =
            body.employees.into_values().partition(|e| e.action.eq_ignore_ascii_case("deleted"));
        Ok(Changes {
            changed: changed.into_iter().map(|e| e.id).collect(),
            deleted: deleted.into_iter().map(|e| e.id).collect(),
            next_cursor: body.latest.as_deref().and_then(|latest| next_cursor(latest, now)),
        })
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        let path = format!("employees/{hr_id}");
        let response = self.get(&path, &[("fields", FIELDS), ("onlyCurrent", "false")]).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let record: Record = json(check(response).await?).await?;
        Ok(Some(record.into_employee(hr_id, Utc::now().date_naive())))
    }

    fn cursor_at(&self, now: DateTime<Utc>) -> String {
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// How far BambooHR's clock may be from ours, for deciding that a second is over.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// `changed?since=` is inclusive and has one-second resolution. Asking again from `latest` re-reads the people
/// changed in that second, which is safe but costs a read each; asking from the next second could miss a change
/// made later in the same second. So move past `latest` only once that second is surely over on BambooHR's clock.
fn next_cursor(latest: &str, now: DateTime<Utc>) -> Option<String> {
    let latest = parse_timestamp(latest)?;
    let next = if now - latest > CLOCK_SKEW { latest + chrono::Duration::seconds(1) } else { latest };
    Some(next.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An employee as `GET /v1/employees/{id}?fields=…` returns it. Every value is a string or null; which keys come
/// back depends on the fields asked for and on what the key may see.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    first_name: Option<String>,
    last_name: Option<String>,
    work_email: Option<String>,
    home_email: Option<String>,
    mobile_phone: Option<String>,
    work_phone: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zipcode: Option<String>,
    country: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    supervisor_id: Option<String>,
    supervisor: Option<String>,
    status: Option<String>,
    employment_history_status: Option<String>,
    hire_date: Option<String>,
    termination_date: Option<String>,
}

/// Blank strings mean "no value" in BambooHR records.
fn text(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Dates are `yyyy-mm-dd`; an unset date comes back as `0000-00-00`, an empty string or null.
fn date(value: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text(value)?.as_str(), "%Y-%m-%d").ok()
}

impl Record {
    pub fn into_employee(self, hr_id: &str, today: NaiveDate) -> Employee {
        let start_date = date(self.hire_date);
        let end_date = date(self.termination_date);
        let history = text(self.employment_history_status).unwrap_or_default().to_ascii_lowercase();
        let inactive = text(self.status).is_some_and(|s| s.eq_ignore_ascii_case("inactive"));
        let terminated_undated = history == "terminated" && end_date.is_none();
        let status = if inactive || terminated_undated || end_date.is_some_and(|d| d < today) {
            EmploymentStatus::Terminated
        } else if start_date.is_some_and(|d| d > today) {
            EmploymentStatus::Pending
        } else if history.contains("leave") {
            EmploymentStatus::OnLeave
        } else {
            EmploymentStatus::Active
        };
        let address = Address {
            line1: text(self.address1),
            line2: text(self.address2),
            city: text(self.city),
            region: text(self.state),
            postal_code: text(self.zipcode),
            country: text(self.country),
        };
        Employee {
            hr_id: hr_id.to_owned(),
            first_name: text(self.first_name).unwrap_or_default(),
            last_name: text(self.last_name).unwrap_or_default(),
            work_email: text(self.work_email),
            personal_email: text(self.home_email),
            phone: text(self.mobile_phone).or(text(self.work_phone)),
            home_address: (!address.is_empty()).then_some(address),
            title: text(self.job_title),
            department: text(self.department),
            manager_hr_id: text(self.supervisor_id),
            manager_name: text(self.supervisor),
            status,
            start_date,
            end_date,
        }
    }
}

/// Event-based (`employee.created|updated|deleted`) and legacy field-based (`employees: [...]`) payloads.
#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Event { data: EventData },
    Fields { employees: Vec<FieldEmployee> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    employee_id: serde_json::Value,
}

#[derive(Deserialize)]
struct FieldEmployee {
    id: serde_json::Value,
}

fn id_text(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks `X-BambooHR-Signature` (hex HMAC-SHA256 of the raw body followed by `X-BambooHR-Timestamp`) against
/// each secret in constant time, refuses timestamps outside the tolerance, then reads the employee ids.
pub fn verify_webhook(
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookDelivery, WebhookError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    let signature = hex::decode(signature).map_err(|_| WebhookError::BadSignature)?;
    let signed = secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.update(timestamp.as_bytes());
        mac.verify_slice(&signature).is_ok()
    });
    if !signed {
        return Err(WebhookError::BadSignature);
    }
    let sent_at = parse_timestamp(timestamp).ok_or(WebhookError::BadTimestamp)?;
    if (now - sent_at).num_seconds().abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookError::Stale(WEBHOOK_TOLERANCE_SECS));
    }
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|_| WebhookError::BadPayload("expected data.employeeId or employees[].id".into()))?;
    let raw_ids = match payload {
        Payload::Event { data } => vec![data.employee_id],
        Payload::Fields { employees } => employees.into_iter().map(|e| e.id).collect(),
    };
    let hr_ids: Vec<String> = raw_ids.into_iter().filter_map(id_text).collect();
    if hr_ids.is_empty() {
        return Err(WebhookError::BadPayload("names no employee".into()));
    }
    // BambooHR deliveries carry no event id; a redelivery repeats the body byte for byte.
    let delivery_key = hex::encode(Sha256::digest(body));
    Ok(WebhookDelivery { delivery_key, hr_ids })
}

/// BambooHR documents no format for the timestamp header: Unix seconds and ISO 8601 are both seen.
fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(secs) = raw.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0);
    }
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::{HeaderMap, HeaderValue};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn record(json: serde_json::Value) -> Employee {
        serde_json::from_value::<Record>(json).unwrap().into_employee("7", day("2026-06-01"))
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn the_documented_base_url_pattern_is_the_one_checked() {
        let schema = serde_json::to_value(<Settings as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["base_url"]["pattern"], super::super::http::BASE_URL_PATTERN);
    }

    /// A connection's secret as stored, holding these credentials, never prints them.
    #[cfg(feature = "secrets")]
    #[test]
    fn a_connection_secret_never_shows_its_key_in_debug_output() {
        let credentials = super::super::Credentials::BambooHr(Credentials { api_key: "api-key-123".into() });
        let secret = crate::secrets::ConnectionSecret { credentials, webhook_secrets: vec!["whsec-9".into()], refresh_token: None };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("api-key-123") && !shown.contains("whsec-9"), "{shown}");
    }

    #[test]
    fn maps_the_documented_sample_record() {
        let e = record(serde_json::json!({
            "id": "123", "firstName": "Ava", "lastName": "Nguyen", "workEmail": "ava@corp.example",
            "homeEmail": "ava@home.example", "mobilePhone": "555-0100", "address1": "1 Main St", "address2": "",
            "city": "Provo", "state": "UT", "zipcode": "84601", "country": "United States",
            "jobTitle": "Engineering Manager", "department": "Engineering", "supervisor": "Smith, Jane",
            "status": "Active", "employmentHistoryStatus": "Full-Time", "hireDate": "2021-03-01",
            "terminationDate": "0000-00-00"
        }));
        assert_eq!(e.first_name, "Ava");
        assert_eq!(e.personal_email.as_deref(), Some("ava@home.example"));
        assert_eq!(e.title.as_deref(), Some("Engineering Manager"));
        assert_eq!(e.manager_name.as_deref(), Some("Smith, Jane"));
        let address = e.home_address.unwrap();
        assert_eq!((address.line2, address.region.as_deref()), (None, Some("UT")));
        assert_eq!(e.status, EmploymentStatus::Active);
        assert_eq!(e.start_date, Some(day("2021-03-01")));
        assert_eq!(e.end_date, None, "0000-00-00 means no termination");
    }

    #[test]
    fn cursor_moves_past_latest_only_when_that_second_is_over() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(next_cursor("2026-06-01T11:59:30+00:00", now).as_deref(), Some("2026-06-01T11:59:30Z"));
        assert_eq!(next_cursor("2026-06-01T11:50:00+00:00", now).as_deref(), Some("2026-06-01T11:50:01Z"));
        assert_eq!(next_cursor("not a time", now), None);
    }

    #[test]
    fn statuses_follow_dates_and_history() {
        let status = |j: serde_json::Value| record(j).status;
        use EmploymentStatus::*;
        assert_eq!(status(serde_json::json!({"status": "Active", "hireDate": "2026-07-01"})), Pending);
        assert_eq!(status(serde_json::json!({"status": "Inactive"})), Terminated);
        assert_eq!(status(serde_json::json!({"status": "Active", "terminationDate": "2026-05-31"})), Terminated);
        assert_eq!(
            status(serde_json::json!({"employmentHistoryStatus": "Terminated", "terminationDate": "2026-06-30"})),
            Active,
            "a termination dated ahead is still employed until then"
        );
        assert_eq!(status(serde_json::json!({"employmentHistoryStatus": "Terminated"})), Terminated);
        assert_eq!(status(serde_json::json!({"employmentHistoryStatus": "Leave of Absence"})), OnLeave);
        assert_eq!(status(serde_json::json!({"terminationDate": ""})), Active);
    }

    const FIXTURE_BODY: &str = r#"{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}"#;

    fn signed(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// The vector from the providers reference: key `test-private-key`, timestamp 1769884920.
    const FIXTURE_SIG: &str = "8a9bbff957766dd991561e6fad13cafa4c3a479a39dc86c5ab8089351a2b117a";

    #[test]
    fn accepts_the_reference_vector() {
        let secrets = vec!["test-private-key".to_owned()];
        let d = verify_webhook(&secrets, &signed("1769884920", FIXTURE_SIG), FIXTURE_BODY.as_bytes(), at(1769884920))
            .unwrap();
        assert_eq!(d.hr_ids, vec!["67890"]);
    }

    #[test]
    fn either_secret_passes_during_rotation() {
        let secrets = vec!["new-secret".to_owned(), "test-private-key".to_owned()];
        let headers = signed("1769884920", FIXTURE_SIG);
        assert!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), at(1769884920)).is_ok());
    }

    #[test]
    fn refuses_tampering_wrong_keys_and_stale_times() {
        let secrets = vec!["test-private-key".to_owned()];
        let now = at(1769884920);
        let headers = signed("1769884920", FIXTURE_SIG);
        let tampered = FIXTURE_BODY.replace("67890", "67891");
        assert_eq!(verify_webhook(&secrets, &headers, tampered.as_bytes(), now), Err(WebhookError::BadSignature));
        let other = vec!["another-key".to_owned()];
        assert_eq!(verify_webhook(&other, &headers, FIXTURE_BODY.as_bytes(), now), Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&[], &headers, FIXTURE_BODY.as_bytes(), now), Err(WebhookError::BadSignature));
        let later = at(1769884920 + 301);
        assert_eq!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), later), Err(WebhookError::Stale(300)));
        let earlier = at(1769884920 - 301);
        assert_eq!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), earlier), Err(WebhookError::Stale(300)));
        assert!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), at(1769884920 + 299)).is_ok());
    }

    #[test]
    fn missing_headers_are_named() {
        let secrets = vec!["k".to_owned()];
        let mut h = HeaderMap::new();
        assert_eq!(verify_webhook(&secrets, &h, b"{}", at(0)), Err(WebhookError::MissingHeader(TIMESTAMP_HEADER)));
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_static("0"));
        assert_eq!(verify_webhook(&secrets, &h, b"{}", at(0)), Err(WebhookError::MissingHeader(SIGNATURE_HEADER)));
    }

    #[test]
    fn reads_field_based_payloads_and_iso_timestamps() {
        let body = br#"{"employees":[{"action":"Updated","changedFields":["First Name"],"fields":{"First Name":"Bryony"},"id":"12345","timestamp":"2026-01-31T18:42:00+0000"},{"action":"Created","changedFields":[],"fields":{},"id":12346}]}"#;
        let ts = "2026-01-31T18:42:00+00:00";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(body);
        mac.update(ts.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let now = DateTime::parse_from_rfc3339(ts).unwrap().with_timezone(&Utc);
        let d = verify_webhook(&["k".to_owned()], &signed(ts, &sig), body, now).unwrap();
        assert_eq!(d.hr_ids, vec!["12345", "12346"]);
    }

    #[test]
    fn a_signed_body_that_names_nobody_is_refused() {
        let body = br#"{"type":"company.updated","data":{}}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(body);
        mac.update(b"100");
        let sig = hex::encode(mac.finalize().into_bytes());
        let err = verify_webhook(&["k".to_owned()], &signed("100", &sig), body, at(100)).unwrap_err();
        assert!(matches!(err, WebhookError::BadPayload(_)));
    }
}
