//! HiBob (Bob): a service user over HTTP Basic; `POST /v1/people/search` read in pages of ids (Bob's search has no
//! paging, so a page is "the next ids after the last one read", each page's whole records asked for by a
//! `root.id` filter); no change feed (webhooks are the real-time path, and a scheduled run is a full
//! reconciliation); webhooks signed `Bob-Signature`, Base64 HMAC-SHA512 over the raw body, with no timestamp.
//!
//! Bob issues the webhook secret: its admin copies it from Settings → Integrations → Webhooks and pastes it into IT
//! Hub, as `credentials.webhook_secret` when connecting or by rotating the connection's webhook secret later (the
//! webhook URL is the connection's, so the secret usually comes after the connection). Bob's connection test
//! (`Ping test`, then `{"text":"Ping test"}`) is sent as the webhook is added, before the admin can have pasted the
//! secret that signs it: it is acknowledged whatever its signature, as it names nobody and queues nothing.
//!
//! Assumptions where the fact sheet marks a fact unverified, each followed by the fake:
//! - lifecycle statuses come in `internal.lifecycleStatus` as Bob shows them, compared case-insensitively
//!   (`hired`, `employed`, `garden leave`, `terminated`, `leave`, `parental leave`, custom leave types);
//! - dates are `yyyy-mm-dd`;
//! - the home address is `address.line1`, `address.line2`, `address.city`, `address.state`,
//!   `address.postCode`, `address.country`;
//! - the department named list answers as Bob's description has it, `{"name", "items": [{"id", "value", "name",
//!   "archived", "children": [...]}]}` (an earlier assumption read `values`, which Bob does not send, so every
//!   department showed as its list id);
//! - each webhook configuration (re-)issues the secret; a pasted one replaces the previous, which stays valid
//!   until the next paste for deliveries already signed with it.

use super::BaseUrl;
use super::auth::StaticToken;
use super::http::{Http, RetryPolicy, check, json};
use super::json_text as text;
use super::signature::{self, Algorithm, any_secret_signs};
use super::{
    Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage, WebhookDelivery,
    WebhookError,
};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::FieldErrors;
use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tokio::sync::OnceCell;

pub const SIGNATURE_HEADER: &str = "bob-signature";

/// Where a Bob account is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HiBobSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Overrides `https://api.hibob.com` (the sandbox is `https://api.sandbox.hibob.com`): http or https, a host,
    /// an optional port and a plain path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: Option<BaseUrl>,
}

/// A Bob service user (Settings → Integrations → Service users), given read access to the people fields IT
/// Hub syncs and to the lifecycle category; optionally the secret Bob shows for its webhooks.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HiBobCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub service_user_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub service_user_token: String,
    /// The secret Bob shows in Settings → Integrations → Webhooks, which signs its deliveries. Write-only: kept
    /// as the connection's webhook secret and never shown. It can be pasted later by rotating the connection's
    /// webhook secret (Bob's webhook needs the connection's URL first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(write_only, min_length = 1, max_length = 4096, pattern = r"^\S([\s\S]*\S)?$")
    )]
    pub webhook_secret: Option<String>,
}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "hibob";
    const DISPLAY_NAME: &'static str = "HiBob";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: false, webhooks: true, push: false, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(_: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        let id_ok = (1..=256).contains(&credentials.service_user_id.chars().count());
        errors.check(id_ok, "credentials.service_user_id", "must be given (at most 256 characters)");
        let token_ok = (1..=4096).contains(&credentials.service_user_token.chars().count());
        errors.check(token_ok, "credentials.service_user_token", "must be given (at most 4096 characters)");
        let secret_ok = credentials.webhook_secret.as_deref().is_none_or(super::pasted_secret_ok);
        errors.check(secret_ok, "credentials.webhook_secret", super::PASTED_SECRET_RULE);
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        Box::new(HiBob::new(settings, credentials, link.http))
    }

    const VENDOR_ISSUES_WEBHOOK_SECRET: bool = true;

    fn take_webhook_secret(credentials: &mut Credentials) -> Option<String> {
        credentials.webhook_secret.take()
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

pub struct HiBob {
    api: String,
    user: String,
    token: StaticToken,
    http: Http,
    retry: RetryPolicy,
    /// Department names by named-list id, read once per connection use.
    departments: OnceCell<HashMap<String, String>>,
}

/// People read per page: one id listing and one search for their records.
pub const PAGE_SIZE: usize = 500;

/// The fields read for every person (Bob's field paths).
pub const FIELDS: [&str; 18] = [
    "root.id",
    "root.firstName",
    "root.surname",
    "root.email",
    "home.privateEmail",
    "home.mobilePhone",
    "address.line1",
    "address.line2",
    "address.city",
    "address.state",
    "address.postCode",
    "address.country",
    "work.title",
    "work.department",
    "work.reportsTo",
    "work.startDate",
    "internal.lifecycleStatus",
    "internal.terminationDate",
];

impl HiBob {
    pub fn new(settings: &Settings, credentials: &Credentials, http: Http) -> Self {
        let api = BaseUrl::root_or(settings.base_url.as_ref(), "https://api.hibob.com");
        Self {
            api,
            user: credentials.service_user_id.clone(),
            token: StaticToken::new(&credentials.service_user_token),
            http,
            retry: RetryPolicy::default(),
            departments: OnceCell::new(),
        }
    }

    async fn call(&self, path: &str, body: Option<&Value>) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/{path}", self.api);
        let response = self
            .http
            .send_authorized(&self.retry, &url, &self.token, |client, url, token| {
                let request = match body {
                    Some(body) => client.post(url).json(body),
                    None => client.get(url),
                };
                request.basic_auth(&self.user, Some(token.expose())).header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        check(response).await
    }

    async fn search(&self, body: Value) -> Result<Vec<Value>, ProviderError> {
        let answer: Search = json(self.call("v1/people/search", Some(&body)).await?).await?;
        Ok(answer.employees)
    }

    /// Everyone employed or about to start, as sorted ids: one search for two fields.
    async fn listed_ids(&self) -> Result<Vec<String>, ProviderError> {
        let body =
            json!({ "fields": ["root.id", "internal.lifecycleStatus"], "showInactive": true, "humanReadable": "" });
        let mut ids: Vec<String> = self
            .search(body)
            .await?
            .iter()
            .filter(|e| {
                !field(e, "internal.lifecycleStatus")
                    .and_then(text)
                    .is_some_and(|s| s.eq_ignore_ascii_case("terminated"))
            })
            .filter_map(|e| field(e, "root.id").and_then(text))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn departments(&self) -> Result<&HashMap<String, String>, ProviderError> {
        self.departments
            .get_or_try_init(|| async {
                let list: NamedList = json(self.call("v1/company/named-lists/department", None).await?).await?;
                let mut names = HashMap::new();
                list.collect(&mut names);
                Ok(names)
            })
            .await
    }

    /// The whole records of these people (at most [`PAGE_SIZE`]), terminated ones included.
    async fn records(&self, ids: &[String], today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let mut out = RecordPage::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let body = json!({
            "fields": FIELDS,
            "filters": [{ "fieldPath": "root.id", "operator": "equals", "values": ids }],
            "showInactive": true,
            "humanReadable": "",
        });
        let people = self.search(body).await?;
        let departments = self.departments().await?;
        for (n, person) in people.iter().enumerate() {
            match into_employee(person, departments, today) {
                Ok(employee) => out.records.push(employee),
                Err(reason) => {
                    let hr_id = field(person, "root.id")
                        .and_then(text)
                        .unwrap_or_else(|| format!("page row {}", n.saturating_add(1)));
                    out.failures.push(RecordFailure { hr_id, reason });
                }
            }
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    employees: Vec<Value>,
}

#[derive(Deserialize)]
struct NamedList {
    #[serde(default)]
    items: Vec<NamedItem>,
}

#[derive(Deserialize)]
struct NamedItem {
    id: Value,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    children: Vec<NamedItem>,
}

impl NamedList {
    fn collect(self, names: &mut HashMap<String, String>) {
        let mut stack = self.items;
        while let Some(item) = stack.pop() {
            if let (Some(id), Some(name)) = (text(&item.id), item.value.or(item.name)) {
                names.insert(id, name);
            }
            stack.extend(item.children);
        }
    }
}

#[async_trait]
impl HrProvider for HiBob {
    fn kind(&self) -> ProviderKind {
        ProviderKind::HiBob
    }

    async fn start_state(&self, now: DateTime<Utc>) -> Result<String, ProviderError> {
        // Bob has no change feed: the state only records when the last full listing started.
        Ok(now.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let ids = self.listed_ids().await?;
        // The page token is the last id read: ids added or removed meanwhile move no one across a page boundary.
        let start = match page {
            Some(last) => ids.partition_point(|id| id.as_str() <= last),
            None => 0,
        };
        let chunk: &[String] = ids.get(start..).unwrap_or_default();
        let (chunk, rest) = chunk.split_at(chunk.len().min(PAGE_SIZE));
        let mut out = self.records(chunk, today).await?;
        out.next = (!rest.is_empty()).then(|| chunk.last().cloned()).flatten();
        Ok(out)
    }

    async fn changes_page(&self, _: &str, _: Option<&str>, _: DateTime<Utc>) -> Result<ChangePage, ProviderError> {
        // Never asked: a connector without a change feed is only ever listed in full.
        Err(ProviderError::Malformed("HiBob has no change feed".into()))
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        let mut page = self.fetch_many(&[hr_id.to_owned()]).await?;
        if let Some(failure) = page.failures.pop() {
            return Err(ProviderError::Malformed(failure.reason));
        }
        Ok(page.records.into_iter().find(|e| e.hr_id == hr_id))
    }

    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        let today = Utc::now().date_naive();
        let mut out = RecordPage::default();
        for chunk in hr_ids.chunks(PAGE_SIZE) {
            let page = self.records(chunk, today).await?;
            out.records.extend(page.records);
            out.failures.extend(page.failures);
        }
        Ok(out)
    }
}

/// A field by its path: nested (`{"work": {"title": …}}`), or flat as Bob can also answer
/// (`{"/work/title": {"value": …}}`); `root.` fields sit at the top.
fn field<'a>(person: &'a Value, path: &str) -> Option<&'a Value> {
    let flat = format!("/{}", path.replace('.', "/"));
    if let Some(value) = person.get(&flat) {
        return value.get("value").or(Some(value));
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut at = if first == "root" { person } else { person.get(first)? };
    for part in parts {
        at = at.get(part)?;
    }
    Some(at)
}

fn date(person: &Value, path: &'static str) -> Result<Option<NaiveDate>, String> {
    match field(person, path).and_then(text) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d").map(Some).map_err(|_| format!("{path} is not a date")),
    }
}

/// One person from a search, machine format. Fails naming the field, never a value.
pub fn into_employee(
    person: &Value,
    departments: &HashMap<String, String>,
    today: NaiveDate,
) -> Result<Employee, String> {
    let get = |path: &str| field(person, path).and_then(text);
    let hr_id = get("root.id").ok_or("the record has no root.id")?;
    let start_date = date(person, "work.startDate")?;
    let end_date = date(person, "internal.terminationDate")?;
    // Bob leaves out fields the service user may not read: without the Lifecycle category nobody's status can be
    // told, and reading everyone as employed would import people who left.
    let lifecycle = get("internal.lifecycleStatus")
        .ok_or("internal.lifecycleStatus is missing: give the service user the Lifecycle category")?
        .to_ascii_lowercase();
    let status = match lifecycle.as_str() {
        "hired" => EmploymentStatus::Pending,
        "terminated" => EmploymentStatus::Terminated,
        // Still employed until the termination date; a past date means Bob has not caught up yet.
        _ if end_date.is_some_and(|d| d < today) => EmploymentStatus::Terminated,
        _ if start_date.is_some_and(|d| d > today) => EmploymentStatus::Pending,
        "employed" | "garden leave" => EmploymentStatus::Active,
        // Leave, parental leave and the company's own leave types.
        _ => EmploymentStatus::OnLeave,
    };
    let manager = field(person, "work.reportsTo");
    let manager_hr_id = manager.and_then(|m| m.get("id").and_then(text).or_else(|| text(m)));
    let manager_name = manager.and_then(|m| {
        m.get("displayName").and_then(text).or_else(|| {
            let name = [m.get("firstName").and_then(text), m.get("surname").and_then(text)];
            let name: Vec<String> = name.into_iter().flatten().collect();
            (!name.is_empty()).then(|| name.join(" "))
        })
    });
    let department = get("work.department").map(|id| departments.get(&id).cloned().unwrap_or(id));
    let address = Address {
        line1: get("address.line1"),
        line2: get("address.line2"),
        city: get("address.city"),
        region: get("address.state"),
        postal_code: get("address.postCode"),
        country: get("address.country"),
    };
    Ok(Employee {
        first_name: get("root.firstName").unwrap_or_default(),
        last_name: get("root.surname").unwrap_or_default(),
        work_email: get("root.email"),
        personal_email: get("home.privateEmail"),
        phone: get("home.mobilePhone"),
        home_address: (!address.is_empty()).then_some(address),
        title: get("work.title"),
        department,
        manager_hr_id,
        manager_name,
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
        hr_id,
    })
}

/// Base64 HMAC-SHA512 of `body` keyed with the webhook's secret: `Bob-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(signature::sign(Algorithm::HmacSha512, secret.as_bytes(), &[body]))
}

/// Bob's connection test: the plain text `Ping test`, or `{"text":"Ping test"}` when that failed.
fn is_ping(body: &[u8]) -> bool {
    body.trim_ascii() == b"Ping test"
        || serde_json::from_slice::<Value>(body).is_ok_and(|v| {
            v.as_object().is_some_and(|o| o.len() == 1) && v.get("text").is_some_and(|t| t == "Ping test")
        })
}

/// Bob's connection ping (`Ping test`, or `{"text":"Ping test"}`) is acknowledged as a delivery that names
/// nobody, signed or not: it comes as the webhook is added, before its secret can be in IT Hub, and carries
/// nothing. Anything else must carry a `Bob-Signature` made with one of `secrets` (checked in constant time);
/// then which employee the event is about is read.
pub fn verify_webhook(
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
) -> Result<WebhookDelivery, WebhookError> {
    let delivery_key = hex::encode(Sha256::digest(body));
    if is_ping(body) {
        return Ok(WebhookDelivery { delivery_key, hr_ids: Vec::new(), removed: Vec::new() });
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
    let signature =
        base64::engine::general_purpose::STANDARD.decode(signature).map_err(|_| WebhookError::BadSignature)?;
    if !any_secret_signs(secrets, Algorithm::HmacSha512, &[body], &signature) {
        return Err(WebhookError::BadSignature);
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| WebhookError::BadPayload("expected a JSON event".into()))?;
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or_default();
    // v2: `data.employeeId`; v1: `employee.id`.
    let id = payload
        .pointer("/data/employeeId")
        .or_else(|| payload.pointer("/employee/id"))
        .and_then(text)
        .ok_or_else(|| WebhookError::BadPayload("expected data.employeeId".into()))?;
    let removed = if kind == "employee.deleted" { vec![id.clone()] } else { Vec::new() };
    Ok(WebhookDelivery { delivery_key, hr_ids: vec![id], removed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::{HeaderMap, HeaderValue};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const FIXTURE_BODY: &str = r#"{"companyId":636192,"type":"table.entry.created","triggeredBy":"3332883804594373380","triggeredAt":"2025-01-08T13:06:26.915906","version":"v2","data":{"employeeId":"3332883854254932743","tableId":"lifecycle","effectiveDate":"2025-01-08"}}"#;
    /// The vector from the providers reference: key `test-secret`.
    const FIXTURE_SIG: &str =
        "6RuTrU4C8AllqQ+ul0rHhNT6J0YQZJvgAXu7FtWSJpxRDYrh2pOAl3uM5kJOlcIguFcHZQDeolcrX4rKpNsWsg==";

    fn signed(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    #[test]
    fn accepts_the_reference_vector_and_either_secret_during_rotation() {
        assert_eq!(sign("test-secret", FIXTURE_BODY.as_bytes()), FIXTURE_SIG);
        let secrets = vec!["new-secret".to_owned(), "test-secret".to_owned()];
        let d = verify_webhook(&secrets, &signed(FIXTURE_SIG), FIXTURE_BODY.as_bytes()).unwrap();
        assert_eq!(d.hr_ids, vec!["3332883854254932743"]);
        assert!(d.removed.is_empty());
    }

    #[test]
    fn refuses_tampering_wrong_keys_and_missing_headers() {
        let secrets = vec!["test-secret".to_owned()];
        let tampered = FIXTURE_BODY.replace("3332883854254932743", "3332883854254932744");
        let bad = verify_webhook(&secrets, &signed(FIXTURE_SIG), tampered.as_bytes());
        assert_eq!(bad, Err(WebhookError::BadSignature));
        let other = verify_webhook(&["x".to_owned()], &signed(FIXTURE_SIG), FIXTURE_BODY.as_bytes());
        assert_eq!(other, Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&secrets, &signed("%%%"), FIXTURE_BODY.as_bytes()), Err(WebhookError::BadSignature));
        let none = verify_webhook(&secrets, &HeaderMap::new(), FIXTURE_BODY.as_bytes());
        assert_eq!(none, Err(WebhookError::MissingHeader(SIGNATURE_HEADER)));
    }

    #[test]
    fn a_ping_names_nobody_signed_or_not_and_deletions_are_removals() {
        let secrets = vec!["k".to_owned()];
        for ping in ["Ping test", r#"{"text":"Ping test"}"#, "Ping test\n"] {
            for headers in
                [signed(&sign("k", ping.as_bytes())), signed(&sign("other", ping.as_bytes())), HeaderMap::new()]
            {
                let d = verify_webhook(&secrets, &headers, ping.as_bytes()).unwrap();
                assert!(d.hr_ids.is_empty() && d.removed.is_empty(), "{ping}");
            }
            let none_yet = verify_webhook(&[], &HeaderMap::new(), ping.as_bytes()).unwrap();
            assert!(none_yet.hr_ids.is_empty(), "before any secret is pasted");
        }
        // Only the ping itself: an event that also says "Ping test" is an event, and must be signed.
        let more = br#"{"text":"Ping test","type":"employee.deleted","data":{"employeeId":"77"}}"#;
        assert_eq!(verify_webhook(&secrets, &signed(&sign("other", more)), more), Err(WebhookError::BadSignature));
        let deleted = br#"{"type":"employee.deleted","version":"v2","data":{"employeeId":"77"}}"#;
        let d = verify_webhook(&secrets, &signed(&sign("k", deleted)), deleted).unwrap();
        assert_eq!((d.hr_ids, d.removed), (vec!["77".to_owned()], vec!["77".to_owned()]));
        let v1 = br#"{"type":"employee.updated","employee":{"id":78,"displayName":"x"}}"#;
        assert_eq!(verify_webhook(&secrets, &signed(&sign("k", v1)), v1).unwrap().hr_ids, vec!["78"]);
        let nobody = br#"{"type":"company.updated","data":{}}"#;
        let err = verify_webhook(&secrets, &signed(&sign("k", nobody)), nobody).unwrap_err();
        assert!(matches!(err, WebhookError::BadPayload(_)));
    }

    #[test]
    fn maps_a_person_nested_or_flat() {
        let departments = HashMap::from([("234567".to_owned(), "Engineering".to_owned())]);
        let nested = json!({
            "id": "3332883854254932743", "firstName": "Ada", "surname": "Lovelace", "email": "ada@corp.example",
            "work": { "title": "Engineer", "department": "234567", "startDate": "2020-01-06",
                      "reportsTo": { "id": "3332883804594373380", "displayName": "Charles Babbage" } },
            "home": { "privateEmail": "ada@home.example", "mobilePhone": "+1 555 0100" },
            "address": { "line1": "1 Main St", "city": "London", "postCode": "N1", "country": "United Kingdom" },
            "internal": { "lifecycleStatus": "Employed", "terminationDate": null }
        });
        let e = into_employee(&nested, &departments, day("2026-06-01")).unwrap();
        assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("Ada", "Lovelace"));
        assert_eq!(e.department.as_deref(), Some("Engineering"), "the named list's name, not its id");
        assert_eq!(e.manager_hr_id.as_deref(), Some("3332883804594373380"));
        assert_eq!(e.manager_name.as_deref(), Some("Charles Babbage"));
        assert_eq!(e.personal_email.as_deref(), Some("ada@home.example"));
        assert_eq!(e.home_address.as_ref().unwrap().postal_code.as_deref(), Some("N1"));
        assert_eq!((e.status, e.start_date), (EmploymentStatus::Active, Some(day("2020-01-06"))));
        let flat = json!({ "/root/id": {"value": "9"}, "/root/firstName": {"value": "Bo"},
                           "/work/department": {"value": "555"}, "/internal/lifecycleStatus": {"value": "hired"} });
        let e = into_employee(&flat, &departments, day("2026-06-01")).unwrap();
        assert_eq!((e.hr_id.as_str(), e.first_name.as_str()), ("9", "Bo"));
        assert_eq!(e.department.as_deref(), Some("555"), "an id the list does not know stays an id");
        assert_eq!(e.status, EmploymentStatus::Pending);
    }

    #[test]
    fn statuses_follow_the_lifecycle_and_dates() {
        let status = |lifecycle: &str, start: Option<&str>, end: Option<&str>| {
            let person = json!({ "id": "1", "work": { "startDate": start },
                                 "internal": { "lifecycleStatus": lifecycle, "terminationDate": end } });
            into_employee(&person, &HashMap::new(), day("2026-06-01")).unwrap().status
        };
        use EmploymentStatus::*;
        assert_eq!(status("Hired", Some("2026-07-01"), None), Pending);
        assert_eq!(status("Employed", Some("2026-07-01"), None), Pending, "a start ahead is a pre-hire");
        assert_eq!(status("Employed", Some("2020-01-01"), None), Active);
        assert_eq!(status("Garden leave", None, Some("2026-06-30")), Active, "employed until the date");
        assert_eq!(status("Garden leave", None, Some("2026-05-31")), Terminated);
        assert_eq!(status("Terminated", None, Some("2026-06-01")), Terminated);
        assert_eq!(status("Parental leave", None, None), OnLeave);
        assert_eq!(status("Sabbatical", None, None), OnLeave, "custom leave types are leave");
    }

    #[test]
    fn a_person_without_a_readable_lifecycle_is_a_failure_not_an_employee() {
        let person = json!({ "id": "1", "firstName": "Ada", "work": { "startDate": "2020-01-06" } });
        let reason = into_employee(&person, &HashMap::new(), day("2026-06-01")).unwrap_err();
        assert!(reason.starts_with("internal.lifecycleStatus is missing"), "{reason}");
    }

    #[test]
    fn an_unreadable_date_names_the_field_not_the_value() {
        let person = json!({ "id": "1", "work": { "startDate": "06/01/2020" } });
        let reason = into_employee(&person, &HashMap::new(), day("2026-06-01")).unwrap_err();
        assert_eq!(reason, "work.startDate is not a date");
    }

    #[test]
    fn named_lists_are_read_with_their_children() {
        let list: NamedList = serde_json::from_value(json!({ "name": "department", "items": [
            { "id": 1, "value": "R&D", "children": [ { "id": "2", "value": "Platform", "children": [] } ] } ] }))
        .unwrap();
        let mut names = HashMap::new();
        list.collect(&mut names);
        assert_eq!((names["1"].as_str(), names["2"].as_str()), ("R&D", "Platform"));
    }
}
