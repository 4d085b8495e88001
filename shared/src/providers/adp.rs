//! ADP Workforce Now: OAuth 2.0 client credentials over mutual TLS (the connection's client certificate and key,
//! kept in Secrets Manager with the rest of its credential, are presented on every call, the token request
//! included); workers paged with `$top`/`$skip` (at most 100; `204 No Content` past the end); changes from the
//! event-notification queue (`GET /core/v1/event-notification-messages`, one message at a time, acknowledged by
//! `DELETE …/{adp-msg-msgid}` only once the run has checkpointed what it read, `204` when the queue is empty),
//! each named worker re-read (`GET /hr/v2/workers/{aoid}`). ADP's webhook delivery is undocumented (header,
//! algorithm and signed content all unverified), so the queue is the real-time path.
//!
//! Assumptions where the fact sheet marks a fact unverified, each followed by the fake:
//! - the token endpoint takes the client by HTTP Basic with `grant_type=client_credentials` as a form;
//! - a worker read past the end or of an unknown associate answers 204 or 404;
//! - the primary assignment's `hireDate` is the latest (re)hire date.

use super::BaseUrl;
use super::auth::{OAuthClient, RefreshingToken, Secret};
use super::http::{Http, RetryPolicy, check, json};
use super::{Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::FieldErrors;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where ADP is: both of its hosts, unless a sandbox serves them as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdpSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Overrides both `https://accounts.adp.com` (tokens) and `https://api.adp.com` (the API), for ADP's UAT
    /// gateway or a sandbox: https, a host, an optional port and a plain path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: Option<BaseUrl>,
}

/// The subscribing organisation's API credentials: client id and secret, and the client certificate ADP signed
/// for them with its private key (PEM).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdpCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub client_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub client_secret: String,
    /// The client certificate (PEM, its chain may follow).
    #[cfg_attr(feature = "openapi", schema(pattern = "^-----BEGIN CERTIFICATE-----", max_length = 16384))]
    pub client_certificate: String,
    /// The certificate's private key (PEM).
    #[cfg_attr(feature = "openapi", schema(pattern = "^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----", max_length = 16384))]
    pub client_key: String,
}

impl Credentials {
    fn identity_pem(&self) -> Vec<u8> {
        format!("{}\n{}\n", self.client_certificate.trim(), self.client_key.trim()).into_bytes()
    }
}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "adp";
    const DISPLAY_NAME: &'static str = "ADP Workforce Now";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: false, push: false, event_queue: true };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(_: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        for (value, field, max) in [
            (&credentials.client_id, "credentials.client_id", 256),
            (&credentials.client_secret, "credentials.client_secret", 4096),
        ] {
            errors.check((1..=max).contains(&value.chars().count()), field, "must be given");
        }
        // The documented patterns; whether the PEM parses and the key is the certificate's is found on the first
        // call, which then fails saying so.
        let certificate_ok = credentials.client_certificate.chars().count() <= 16384
            && credentials.client_certificate.starts_with("-----BEGIN CERTIFICATE-----");
        errors.check(
            certificate_ok,
            "credentials.client_certificate",
            "a PEM certificate (-----BEGIN CERTIFICATE-----)",
        );
        let key_ok = credentials.client_key.chars().count() <= 16384 && pem_key(&credentials.client_key);
        errors.check(key_ok, "credentials.client_key", "a PEM private key (-----BEGIN PRIVATE KEY-----)");
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        Box::new(Adp::new(settings, credentials, &link.http))
    }
}

/// `^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----`, the documented pattern.
fn pem_key(value: &str) -> bool {
    const KEY: &str = "PRIVATE KEY-----";
    let Some(rest) = value.strip_prefix("-----BEGIN ") else { return false };
    let qualified = rest.split_once(' ').is_some_and(|(word, tail)| {
        !word.is_empty() && word.bytes().all(|b| b.is_ascii_uppercase()) && tail.starts_with(KEY)
    });
    rest.starts_with(KEY) || qualified
}

pub struct Adp {
    api: String,
    /// The client presenting the connection's certificate, or why it could not be made.
    http: Result<Http, String>,
    token: Option<RefreshingToken>,
    retry: RetryPolicy,
}

/// Workers a page holds (WFN's largest page).
pub const PAGE_SIZE: usize = 100;
const QUEUE: &str = "core/v1/event-notification-messages";

impl Adp {
    pub fn new(settings: &Settings, credentials: &Credentials, http: &Http) -> Self {
        let (accounts, api) = match settings.base_url.as_deref() {
            Some(url) => (url.trim_end_matches('/').to_owned(), url.trim_end_matches('/').to_owned()),
            None => ("https://accounts.adp.com".to_owned(), "https://api.adp.com".to_owned()),
        };
        let http = http.with_identity(&credentials.identity_pem()).map_err(|e| e.to_string());
        let token = http.as_ref().ok().map(|http| {
            let endpoint = OAuthClient {
                url: format!("{accounts}/auth/oauth/v2/token"),
                client_id: credentials.client_id.clone(),
                client_secret: Secret::new(&credentials.client_secret),
                basic: true,
                refreshes: false,
                http: http.clone(),
            };
            RefreshingToken::new(Box::new(endpoint), None, None)
        });
        Self { api, http, token, retry: RetryPolicy::default() }
    }

    /// A call with the access token (replaced once if refused); a failed TLS handshake says what ADP needs.
    async fn call(
        &self,
        delete: bool,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, ProviderError> {
        let (Ok(http), Some(tokens)) = (&self.http, &self.token) else {
            let reason = self.http.as_ref().err().cloned().unwrap_or_default();
            return Err(ProviderError::Malformed(reason));
        };
        let url = format!("{}/{path}", self.api);
        let response = http
            .send_authorized(&self.retry, &url, tokens, |client, url, token| {
                let request = if delete { client.delete(url) } else { client.get(url).query(query) };
                request.bearer_auth(token.expose()).header(reqwest::header::ACCEPT, "application/json")
            })
            .await
            .map_err(handshake_hint)?;
        check(response).await
    }

    async fn worker(
        &self,
        aoid: &str,
        today: NaiveDate,
    ) -> Result<Option<Result<Employee, RecordFailure>>, ProviderError> {
        if aoid.is_empty() || aoid.len() > 64 || !aoid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let response = match self.call(false, &format!("hr/v2/workers/{aoid}"), &[]).await {
            Err(ProviderError::Status { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let answer: Workers = json(response).await?;
        Ok(answer.workers.first().map(|w| into_employee(w, today)))
    }

    async fn workers(&self, aoids: &[String], today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let mut out = RecordPage::default();
        for aoid in aoids {
            match self.worker(aoid, today).await {
                Ok(Some(Ok(employee))) => out.records.push(employee),
                Ok(Some(Err(failure))) => out.failures.push(failure),
                Ok(None) => {}
                // One worker ADP will not serve (a 503 for an associate outside the app's scope, say) is recorded
                // and read again on the next run; it does not hold up the queue.
                Err(ProviderError::Status { status, .. }) => out
                    .failures
                    .push(RecordFailure { hr_id: aoid.clone(), reason: format!("ADP answered HTTP {status}") }),
                Err(error) => return Err(error),
            }
        }
        Ok(out)
    }
}

/// A TLS failure talking to ADP is almost always the client certificate: say so.
fn handshake_hint(error: ProviderError) -> ProviderError {
    match error {
        ProviderError::Transport(detail) => ProviderError::Transport(format!(
            "{detail} (ADP requires the connection's client certificate on every call: check that it is the one ADP \
             signed and has not expired)"
        )),
        other => other,
    }
}

#[derive(Deserialize)]
struct Workers {
    #[serde(default)]
    workers: Vec<Value>,
}

/// A queue message: the events it carries.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    events: Vec<Value>,
}

/// Where a queue drain stands: the message read last, to acknowledge before reading the next.
#[derive(Serialize, Deserialize)]
struct Ack {
    ack: String,
}

#[async_trait]
impl HrProvider for Adp {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Adp
    }

    async fn start_state(&self, _now: DateTime<Utc>) -> Result<String, ProviderError> {
        // The queue is its own state: messages wait in it until acknowledged.
        Ok("queue".into())
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let skip: usize = match page {
            None => 0,
            Some(raw) => raw.parse().map_err(|_| ProviderError::Malformed("listing page token".into()))?,
        };
        let query = [("$top", PAGE_SIZE.to_string()), ("$skip", skip.to_string())];
        let response = self.call(false, "hr/v2/workers", &query).await?;
        let mut out = RecordPage::default();
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(out);
        }
        let answer: Workers = json(response).await?;
        let count = answer.workers.len();
        for (n, worker) in answer.workers.iter().enumerate() {
            match into_employee(worker, today) {
                // Everyone employed or about to start: ADP lists people who left too.
                Ok(employee) if employee.status == EmploymentStatus::Terminated => {}
                Ok(employee) => out.records.push(employee),
                Err(mut failure) => {
                    if failure.hr_id.is_empty() {
                        failure.hr_id =
                            format!("page {} row {}", (skip / PAGE_SIZE).saturating_add(1), n.saturating_add(1));
                    }
                    out.failures.push(failure)
                }
            }
        }
        out.next = (count >= PAGE_SIZE).then(|| skip.saturating_add(count).to_string());
        Ok(out)
    }

    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError> {
        if let Some(raw) = page {
            // The previous message's changes are checkpointed: acknowledge it, so the queue serves the next.
            let ack: Ack =
                serde_json::from_str(raw).map_err(|_| ProviderError::Malformed("queue page token".into()))?;
            match self.call(true, &format!("{QUEUE}/{}", ack.ack), &[]).await {
                Ok(_) | Err(ProviderError::Status { status: 404, .. }) => {}
                Err(error) => return Err(error),
            }
        }
        let response = self.call(false, QUEUE, &[]).await?;
        let mut out = ChangePage::default();
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            out.state = Some(state.to_owned());
            return Ok(out);
        }
        let id = response
            .headers()
            .get("adp-msg-msgid")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200 && !v.contains('/'))
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::Malformed("a queue message without adp-msg-msgid".into()))?;
        let message: Message = json(response).await?;
        let mut aoids: Vec<String> = Vec::new();
        for event in &message.events {
            if let Some(aoid) = event_worker(event)
                && !aoids.iter().any(|a| a == aoid)
            {
                aoids.push(aoid.to_owned());
            }
        }
        out.page = self.workers(&aoids, now.date_naive()).await?;
        // A worker the queue names and ADP no longer has is read as deleted (the sweep confirms it first).
        let found: Vec<&str> = out.page.records.iter().map(|e| e.hr_id.as_str()).collect();
        let failed: Vec<&str> = out.page.failures.iter().map(|f| f.hr_id.as_str()).collect();
        out.removed =
            aoids.iter().filter(|a| !found.contains(&a.as_str()) && !failed.contains(&a.as_str())).cloned().collect();
        out.page.next = serde_json::to_string(&Ack { ack: id }).ok();
        Ok(out)
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        match self.worker(hr_id, Utc::now().date_naive()).await? {
            Some(Ok(employee)) => Ok(Some(employee)),
            Some(Err(failure)) => Err(ProviderError::Malformed(failure.reason)),
            None => Ok(None),
        }
    }
}

/// The worker an event notification is about, wherever ADP's samples name it: `data.eventContext.worker` (most
/// events), `data.eventContext` itself (`worker.reports-to.modify`, `worker.work-assignment.modify`) or only the
/// output's worker (`worker.rehire`).
fn event_worker(event: &Value) -> Option<&str> {
    ["/data/eventContext/worker/associateOID", "/data/eventContext/associateOID", "/data/output/worker/associateOID"]
        .into_iter()
        .find_map(|at| event.pointer(at).and_then(Value::as_str).filter(|aoid| !aoid.trim().is_empty()))
}

/// The name of a code: ADP gives a `shortName`, or only a `longName` (`{"codeValue": "601000", "longName":
/// "Information Technology"}` in its sample company), beside the code.
fn code_name(code: Option<&Value>) -> Option<String> {
    let code = code?;
    text(code.get("shortName")).or_else(|| text(code.get("longName")))
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(super::json_text)
}

fn date(value: Option<&Value>, field: &str) -> Result<Option<NaiveDate>, String> {
    super::leading_date(text(value).as_deref(), field)
}

/// The first entry of a list of communications (emails, mobiles, landlines).
fn first(list: Option<&Value>, field: &str) -> Option<String> {
    list?.as_array()?.iter().find_map(|item| text(item.get(field)))
}

/// One worker (list or single read) as an employee. Fails naming the field, never a value.
pub fn into_employee(worker: &Value, today: NaiveDate) -> Result<Employee, RecordFailure> {
    let hr_id = text(worker.get("associateOID")).unwrap_or_default();
    let fail = |reason: String| RecordFailure { hr_id: hr_id.clone(), reason };
    if hr_id.is_empty() {
        return Err(fail("the worker has no associateOID".into()));
    }
    let assignments = worker.get("workAssignments").and_then(Value::as_array).cloned().unwrap_or_default();
    let primary = assignments
        .iter()
        .find(|a| a.get("primaryIndicator").and_then(Value::as_bool) == Some(true))
        .or_else(|| assignments.first())
        .cloned()
        .unwrap_or(Value::Null);
    let dates = worker.get("workerDates");
    let start_date = match date(dates.and_then(|d| d.get("rehireDate")), "workerDates.rehireDate").map_err(fail)? {
        Some(day) => Some(day),
        None => match date(primary.get("hireDate"), "workAssignments.hireDate").map_err(fail)? {
            Some(day) => Some(day),
            None => {
                date(dates.and_then(|d| d.get("originalHireDate")), "workerDates.originalHireDate").map_err(fail)?
            }
        },
    };
    let end_date = match date(primary.get("terminationDate"), "workAssignments.terminationDate").map_err(fail)? {
        Some(day) => Some(day),
        None => date(dates.and_then(|d| d.get("terminationDate")), "workerDates.terminationDate").map_err(fail)?,
    };
    // A termination older than the latest (re)hire belongs to an earlier employment.
    let end_date = end_date.filter(|end| start_date.is_none_or(|start| *end >= start));
    let assignment = text(primary.pointer("/assignmentStatus/statusCode/codeValue")).unwrap_or_default();
    let worker_status = text(worker.pointer("/workerStatus/statusCode/codeValue")).unwrap_or_default();
    // Both vocabularies: `Active`/`Inactive`/`Terminated` on the list, short codes in notifications.
    let gone = matches!(assignment.as_str(), "T" | "D")
        || matches!(worker_status.as_str(), "Terminated" | "T" | "D" | "R" | "Deceased" | "Retired");
    // A `T` assignment has ended once its date has come; an end date still ahead is a dated termination.
    let status = if (gone && end_date.is_none_or(|d| d <= today)) || end_date.is_some_and(|d| d < today) {
        EmploymentStatus::Terminated
    } else if start_date.is_some_and(|d| d > today) {
        EmploymentStatus::Pending
    } else if assignment == "L" || worker_status == "L" {
        EmploymentStatus::OnLeave
    } else {
        EmploymentStatus::Active
    };
    let person = worker.get("person");
    let communication = person.and_then(|p| p.get("communication"));
    let business = worker.get("businessCommunication");
    let address = person.and_then(|p| p.get("legalAddress"));
    let home = Address {
        line1: text(address.and_then(|a| a.get("lineOne"))),
        line2: text(address.and_then(|a| a.get("lineTwo"))),
        city: text(address.and_then(|a| a.get("cityName"))),
        region: text(address.and_then(|a| a.pointer("/countrySubdivisionLevel1/codeValue"))),
        postal_code: text(address.and_then(|a| a.get("postalCode"))),
        country: text(address.and_then(|a| a.get("countryCode"))),
    };
    let department = primary.get("homeOrganizationalUnits").and_then(Value::as_array).and_then(|units| {
        units
            .iter()
            .find(|u| text(u.pointer("/typeCode/codeValue")).as_deref() == Some("Department"))
            .and_then(|u| code_name(u.get("nameCode")).or_else(|| text(u.pointer("/nameCode/codeValue"))))
    });
    let manager = primary.pointer("/reportsTo/0");
    Ok(Employee {
        first_name: text(person.and_then(|p| p.pointer("/legalName/givenName"))).unwrap_or_default(),
        last_name: text(person.and_then(|p| p.pointer("/legalName/familyName1"))).unwrap_or_default(),
        work_email: first(business.and_then(|b| b.get("emails")), "emailUri"),
        personal_email: first(communication.and_then(|c| c.get("emails")), "emailUri"),
        phone: first(communication.and_then(|c| c.get("mobiles")), "formattedNumber")
            .or_else(|| first(communication.and_then(|c| c.get("landlines")), "formattedNumber"))
            .or_else(|| first(business.and_then(|b| b.get("mobiles")), "formattedNumber")),
        home_address: (!home.is_empty()).then_some(home),
        title: text(primary.get("jobTitle")).or_else(|| code_name(primary.get("jobCode"))),
        department,
        manager_hr_id: text(manager.and_then(|m| m.get("associateOID"))),
        manager_name: text(manager.and_then(|m| m.pointer("/reportsToWorkerName/formattedName"))),
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
        hr_id: hr_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn worker(assignment: Value, extra: Value) -> Value {
        let mut w = json!({
            "associateOID": "G3349PZGBADQY8H7",
            "person": {
                "legalName": { "givenName": "Ada", "familyName1": "Lovelace", "formattedName": "Lovelace, Ada" },
                "legalAddress": { "lineOne": "1 Main St", "lineTwo": "", "cityName": "Roseland",
                    "countrySubdivisionLevel1": { "codeValue": "NJ" }, "postalCode": "07068", "countryCode": "US" },
                "communication": { "emails": [{ "emailUri": "ada@home.example" }],
                                   "mobiles": [{ "formattedNumber": "(555) 555-0100" }] }
            },
            "businessCommunication": { "emails": [{ "emailUri": "ada@corp.example" }] },
            "workerDates": { "originalHireDate": "2020-01-06" },
            "workerStatus": { "statusCode": { "codeValue": "Active" } },
            "workAssignments": [assignment]
        });
        w.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        w
    }

    fn assignment(status: &str, hire: &str, termination: Option<&str>) -> Value {
        json!({ "primaryIndicator": true, "hireDate": hire, "actualStartDate": hire, "terminationDate": termination,
                "jobTitle": "Engineer", "assignmentStatus": { "statusCode": { "codeValue": status } },
                "homeOrganizationalUnits": [
                    { "nameCode": { "codeValue": "ENG", "shortName": "Engineering" }, "typeCode": { "codeValue": "Department" } },
                    { "nameCode": { "codeValue": "001000" }, "typeCode": { "codeValue": "Cost Number" } } ],
                "reportsTo": [{ "associateOID": "G3349PZGBADQY8H0", "reportsToWorkerName": { "formattedName": "Babbage, Charles" } }] })
    }

    #[test]
    fn maps_a_worker() {
        let e = into_employee(&worker(assignment("A", "2020-01-06", None), json!({})), day("2026-06-01")).unwrap();
        assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("Ada", "Lovelace"));
        assert_eq!(
            (e.work_email.as_deref(), e.personal_email.as_deref()),
            (Some("ada@corp.example"), Some("ada@home.example"))
        );
        assert_eq!(e.phone.as_deref(), Some("(555) 555-0100"));
        let home = e.home_address.unwrap();
        assert_eq!(
            (home.line2, home.region.as_deref(), home.postal_code.as_deref()),
            (None, Some("NJ"), Some("07068"))
        );
        assert_eq!((e.title.as_deref(), e.department.as_deref()), (Some("Engineer"), Some("Engineering")));
        assert_eq!(
            (e.manager_hr_id.as_deref(), e.manager_name.as_deref()),
            (Some("G3349PZGBADQY8H0"), Some("Babbage, Charles"))
        );
        assert_eq!((e.status, e.start_date), (EmploymentStatus::Active, Some(day("2020-01-06"))));
    }

    #[test]
    fn statuses_read_both_vocabularies_and_the_dates() {
        let status = |a: Value, extra: Value| into_employee(&worker(a, extra), day("2026-06-01")).unwrap();
        use EmploymentStatus::*;
        assert_eq!(status(assignment("A", "2026-07-01", None), json!({})).status, Pending, "a future hire");
        assert_eq!(status(assignment("L", "2020-01-06", None), json!({})).status, OnLeave);
        let short = json!({ "workerStatus": { "statusCode": { "codeValue": "L", "shortName": "Leave" } } });
        assert_eq!(status(assignment("A", "2020-01-06", None), short).status, OnLeave);
        assert_eq!(status(assignment("T", "2020-01-06", Some("2026-05-01")), json!({})).status, Terminated);
        let ahead = status(assignment("A", "2020-01-06", Some("2026-06-30")), json!({}));
        assert_eq!((ahead.status, ahead.end_date), (Active, Some(day("2026-06-30"))), "employed until the date");
        let rehired = json!({ "workerDates": { "originalHireDate": "2015-01-01", "rehireDate": "2026-06-10" } });
        let back = status(assignment("A", "2026-06-10", None), rehired);
        assert_eq!((back.status, back.start_date), (Pending, Some(day("2026-06-10"))));
        let stale_end = json!({ "workerDates": { "rehireDate": "2026-05-01", "terminationDate": "2025-12-31" } });
        let back = status(assignment("A", "2026-05-01", None), stale_end);
        assert_eq!((back.status, back.end_date), (Active, None), "an earlier employment's end is history");
        let bad =
            into_employee(&worker(assignment("A", "06/01/2020", None), json!({})), day("2026-06-01")).unwrap_err();
        assert_eq!(
            (bad.hr_id.as_str(), bad.reason.as_str()),
            ("G3349PZGBADQY8H7", "workAssignments.hireDate is not a date")
        );
    }

    #[test]
    fn a_code_with_only_a_long_name_reads_as_its_name() {
        // As ADP's sample company gives some departments and job codes.
        let mut a = assignment("A", "2020-01-06", None);
        a["homeOrganizationalUnits"] = json!([{ "nameCode": { "codeValue": "601000", "longName": "Information Technology" },
                                                "typeCode": { "codeValue": "Department", "shortName": "Department" } }]);
        a.as_object_mut().unwrap().remove("jobTitle");
        a["jobCode"] = json!({ "codeValue": "JOB229", "longName": "Analyst" });
        let e = into_employee(&worker(a, json!({})), day("2026-06-01")).unwrap();
        assert_eq!((e.department.as_deref(), e.title.as_deref()), (Some("Information Technology"), Some("Analyst")));
    }

    #[test]
    fn a_notification_names_its_worker_where_adp_puts_it() {
        // ADP's samples: worker.on-leave, worker.reports-to.modify, worker.rehire, and one naming nobody.
        let context = json!({ "data": { "eventContext": { "worker": { "associateOID": "G3Q7JN6K3CNJZJXA" } },
                                        "output": { "worker": { "associateOID": "G3Q7JN6K3CNJZJXA" } } } });
        let reports_to = json!({ "data": { "eventContext": { "associateOID": "G3Q7JN6K3CNJZJXA" },
                                           "output": { "worker": { "workAssignment": { "reportsTo": [] } } } } });
        let rehire = json!({ "data": { "output": { "worker": { "associateOID": "G3EVERZ42YSP4E8T" } } } });
        let nobody = json!({ "data": { "output": { "worker": { "workAssignment": { "positionID": "00345678N" } } } } });
        assert_eq!(event_worker(&context), Some("G3Q7JN6K3CNJZJXA"));
        assert_eq!(event_worker(&reports_to), Some("G3Q7JN6K3CNJZJXA"));
        assert_eq!(event_worker(&rehire), Some("G3EVERZ42YSP4E8T"));
        assert_eq!(event_worker(&nobody), None);
    }

    #[test]
    fn private_keys_follow_the_documented_pattern() {
        for ok in
            ["-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----x", "-----BEGIN PRIVATE PRIVATE KEY-----"]
        {
            assert!(pem_key(ok), "{ok}");
        }
        for bad in
            ["", "-----BEGIN CERTIFICATE-----", "-----BEGIN rsa PRIVATE KEY-----", " -----BEGIN PRIVATE KEY-----"]
        {
            assert!(!pem_key(bad), "{bad}");
        }
    }

    #[test]
    fn credentials_must_be_a_pem_certificate_and_key() {
        let mut errors = FieldErrors::default();
        let credentials = Credentials {
            client_id: "id".into(),
            client_secret: "secret".into(),
            client_certificate: "not a certificate".into(),
            client_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
        };
        <Connector as super::super::Connector>::validate(&Settings::default(), &credentials, &mut errors);
        let fields: Vec<String> = errors.into_result().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["credentials.client_certificate"]);
    }
}
