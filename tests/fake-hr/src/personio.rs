//! A fake Personio (API v2) that follows the documented API:
//!
//! - `POST /v2/auth/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`) →
//!   `{access_token, token_type, expires_in, scope}`; tokens expire after the fake's token lifetime (401 after)
//! - `GET /v2/persons` (`limit` 1–50, default 10; `cursor`; filters `id` (one or more ids, comma-separated),
//!   `status` (`ACTIVE` spans active, leave and onboarding), `updated_at.gt` (a date-time, RFC 3339)) →
//!   `{"_data": [...], "_meta": {"links": {"next": {"href": …}}}}`, no `next` on the last page
//! - `GET /v2/persons/{id}/employments` (newest first, same envelope)
//! - `GET /v2/org-units/{id}?type=department|team` → `{id, type, name}` (not in the published description we
//!   hold: Personio's reference page for it makes `type` required)
//!
//! Refusals have the error shape of Personio's common components: `{personio_trace_id, timestamp, errors:
//! [{title, detail, type}]}` (`application/problem+json` for a 400 or 404); a refused token request is a 400
//! `{timestamp, trace_id, error, error_description, error_uri}` (wrong credentials are `invalid_client`).
//!
//! Held to Personio's published v2 description (`tests/contracts/personio`, see [`crate::contract`]): custom
//! attributes are typed in upper case (`STRING`), and an employment not ended has no termination fields (none
//! null). Org units and webhooks are not in that description (see `org_unit` and `notify`).
//!
//! Webhooks: `{company_id, event_name, occurred_at, payload}` with identifiers only, the configured token sent
//! verbatim in `Authorization`, to every webhook enabled for the event. Events: `person.created|updated|deleted`,
//! `employment.created|updated`. They are made through the webhooks API (`POST /v2/webhooks`: `url`,
//! `description`, `status`, `auth_type`, `token`, `enabled_events`; `DELETE /v2/webhooks/{id}`), which needs the
//! `personio:webhooks:write` scope (403 without it), or by hand in Personio's settings (`set_webhook`, the
//! sandbox's `PUT /sandbox/webhook`). The fake issues each webhook's id (a UUID) and answers a registration with
//! the webhook (201; its token is not repeated). Personio takes only https URLs; the fake also takes http to a
//! loopback address, where the tests' receivers listen.
//!
//! Sandbox controls, without auth: `GET|POST /sandbox/persons` (hire: `first_name`, `last_name`, `email`,
//! `title`, `department`, `start_date`, `supervisor_id`, `personal_email`, `phone`, `address`),
//! `PATCH /sandbox/persons/{id}`, `POST /sandbox/persons/{id}/terminate` (`{"date"}`),
//! `POST /sandbox/persons/{id}/rehire` (`{"start_date"}`: a new employment), `DELETE /sandbox/persons/{id}`,
//! `PUT /sandbox/webhook` (`{"url", "token"}`), `POST /sandbox/faults`, `GET /sandbox/stats` (`api_calls`,
//! `requests` per endpoint: `persons`, `employments`, `org_units`, `webhooks`). Personal email, phone and address are the
//! custom attributes `dynamic_1`, `dynamic_2` and `dynamic_3`.

use crate::contract::Contract;
use crate::faults::{Dated, Fault, Refusal, bearer, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The custom attributes the fake keeps personal email, phone and address in.
pub const PERSONAL_EMAIL_ATTRIBUTE: &str = "dynamic_1";
pub const PHONE_ATTRIBUTE: &str = "dynamic_2";
pub const ADDRESS_ATTRIBUTE: &str = "dynamic_3";

struct Person {
    record: Value,
    /// Newest first.
    employments: Vec<Value>,
    updated_at: DateTime<Utc>,
}

/// A webhook Personio delivers to.
#[derive(Clone)]
struct Webhook {
    id: String,
    url: String,
    token: String,
    events: Vec<String>,
    /// Made in Personio's settings, not through the API.
    by_hand: bool,
}

/// The scopes new API credentials are given here: reading people, and managing webhooks.
const DEFAULT_SCOPES: [&str; 3] = ["personio:persons:read", "personio:webhooks:read", "personio:webhooks:write"];

/// Every event the fake sends.
const EVENTS: [&str; 6] = [
    "person.created",
    "person.updated",
    "person.deleted",
    "employment.created",
    "employment.updated",
    "employment.deleted",
];

struct Company {
    client_id: String,
    client_secret: String,
    token_lifetime: i64,
    tokens: HashMap<String, DateTime<Utc>>,
    people: BTreeMap<u64, Person>,
    departments: Vec<String>,
    next_id: u64,
    /// Newest last.
    webhooks: Vec<Webhook>,
    /// The scopes the API credentials were given (each token carries them).
    scopes: Vec<String>,
    /// What org-unit lookups are answered with instead of the unit (403: credentials without access to them).
    org_units_refused: Option<u16>,
    token_grants: u64,
    deliveries: Vec<(String, u16)>,
}

#[derive(Clone)]
pub struct FakePersonio {
    company: Arc<Mutex<Company>>,
    /// Counts API requests per endpoint too (`persons`, `employments`, `org_units`).
    sandbox: Sandbox,
    base_url: String,
    http: reqwest::Client,
}

impl FakePersonio {
    pub async fn start(
        addr: SocketAddr,
        client_id: &str,
        client_secret: &str,
        people: Vec<Value>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                token_lifetime: 86_400,
                tokens: HashMap::new(),
                people: BTreeMap::new(),
                departments: Vec::new(),
                next_id: 5001,
                webhooks: Vec::new(),
                scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                org_units_refused: None,
                token_grants: 0,
                deliveries: Vec::new(),
            })),
            sandbox: Sandbox::default(),
            base_url,
            http: reqwest::Client::new(),
        };
        let seeded = Utc::now() - chrono::Duration::days(3);
        for flat in people {
            fake.add(flat, seeded);
        }
        sandbox::serve(listener, fake.router());
        Ok(fake)
    }

    fn router(&self) -> Router {
        let api = Router::new()
            .route("/v2/auth/token", post(token))
            .route("/v2/persons", get(persons))
            .route("/v2/persons/{id}/employments", get(employments))
            .route("/v2/org-units/{id}", get(org_unit))
            .route("/v2/webhooks", post(create_webhook))
            .route("/v2/webhooks/{id}", axum::routing::delete(delete_webhook))
            .route("/sandbox/persons", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/persons/{id}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/persons/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/persons/{id}/rehire", post(sandbox_rehire))
            .route("/sandbox/webhook", put(sandbox_webhook))
            .merge(sandbox::routes())
            .with_state(self.clone());
        contract().enforce(api, self.sandbox.violations().clone())
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What an admin sends to `POST /v1/connections` to connect IT Hub to this fake.
    pub fn connection_request(&self) -> Value {
        let company = self.company();
        json!({
            "provider": "personio",
            "settings": { "base_url": self.base_url, "personal_email_attribute": PERSONAL_EMAIL_ATTRIBUTE,
                          "phone_attribute": PHONE_ATTRIBUTE, "address_attribute": ADDRESS_ATTRIBUTE },
            "credentials": { "client_id": company.client_id, "client_secret": company.client_secret },
        })
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        sandbox::lock(&self.company)
    }

    /// Access tokens granted from now on expire after `secs`.
    pub fn set_token_lifetime(&self, secs: i64) {
        self.company().token_lifetime = secs;
    }

    /// Every access token granted so far expires now.
    pub fn expire_tokens(&self) {
        let now = Utc::now();
        self.company().tokens.values_mut().for_each(|until| *until = now);
    }

    /// Requests so far to one endpoint: `persons`, `employments`, `org_units` or `webhooks`.
    pub fn requests(&self, endpoint: &str) -> u64 {
        self.sandbox.counted(endpoint)
    }

    /// Org-unit lookups answer `status` from now on (403: the API credentials were not given access to org
    /// units), or the unit again with `None`.
    pub fn refuse_org_units(&self, status: Option<u16>) {
        self.company().org_units_refused = status;
    }

    pub fn token_grants(&self) -> u64 {
        self.company().token_grants
    }

    pub fn ids(&self) -> Vec<String> {
        self.company().people.keys().map(u64::to_string).collect()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// The bodies sent to the webhook and the receiver's status for each.
    pub fn deliveries(&self) -> Vec<(String, u16)> {
        self.company().deliveries.clone()
    }

    /// The webhook an admin makes in Personio's settings (replacing one made so before), for every event.
    pub fn set_webhook(&self, url: &str, token: &str) {
        let mut company = self.company();
        company.webhooks.retain(|w| !w.by_hand);
        let events = EVENTS.iter().map(|e| (*e).to_owned()).collect();
        company.webhooks.push(Webhook {
            id: webhook_id(),
            url: url.to_owned(),
            token: token.to_owned(),
            events,
            by_hand: true,
        });
    }

    /// The webhooks Personio has, oldest first: id, URL and token.
    pub fn webhooks(&self) -> Vec<(String, String, String)> {
        self.company().webhooks.iter().map(|w| (w.id.clone(), w.url.clone(), w.token.clone())).collect()
    }

    /// The API credentials' scopes from now on (for every token, granted or to come).
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.company().scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    fn add(&self, flat: Value, at: DateTime<Utc>) -> String {
        let mut company = self.company();
        let id = company.next_id;
        company.next_id += 1;
        let today = Utc::now().date_naive().to_string();
        let mut record = json!({ "id": id.to_string(), "status": "ACTIVE", "custom_attributes": [],
                                 "created_at": stamp(at), "updated_at": stamp(at) });
        let mut employment = json!({
            "id": format!("emp-{id}-1"), "person": { "id": id.to_string() }, "status": "ACTIVE",
            "type": "INTERNAL", "employment_start_date": today, "employment_end_date": null, "org_units": [],
            // The description's Termination fields are never null: an employment not ended has none of them.
            "termination": {},
            "created_at": stamp(at), "updated_at": stamp(at),
        });
        company.apply(&mut record, &mut employment, flat);
        company.people.insert(id, Person { record, employments: vec![employment], updated_at: at });
        id.to_string()
    }

    pub async fn hire(&self, flat: Value) -> String {
        let id = self.add(flat, Utc::now());
        self.notify("person.created", json!({ "id": id })).await;
        self.notify("employment.created", json!({ "id": format!("emp-{id}-1"), "person": { "id": id } })).await;
        id
    }

    /// Changes person or employment fields (sandbox names); fires `person.updated` for person fields and
    /// `employment.updated` for employment fields.
    pub async fn change(&self, id: &str, flat: Value) -> bool {
        let person_fields = ["first_name", "last_name", "email", "personal_email", "phone", "address"];
        let (touches_person, touches_employment) = match flat.as_object() {
            Some(o) => (
                o.keys().any(|k| person_fields.contains(&k.as_str())),
                o.keys().any(|k| !person_fields.contains(&k.as_str())),
            ),
            None => return false,
        };
        let employment_id = {
            let mut company = self.company();
            let Some(mut person) = id.parse().ok().and_then(|n: u64| company.people.remove(&n)) else {
                return false;
            };
            let now = Utc::now();
            let mut employment = person.employments.remove(0);
            company.apply(&mut person.record, &mut employment, flat);
            if touches_person {
                person.updated_at = now;
                person.record["updated_at"] = json!(stamp(now));
            }
            if touches_employment {
                employment["updated_at"] = json!(stamp(now));
            }
            let employment_id = employment["id"].clone();
            person.employments.insert(0, employment);
            company.people.insert(id.parse().unwrap_or_default(), person);
            employment_id
        };
        if touches_person {
            self.notify("person.updated", json!({ "id": id })).await;
        }
        if touches_employment {
            self.notify("employment.updated", json!({ "id": employment_id, "person": { "id": id } })).await;
        }
        true
    }

    /// Records a termination on `date`: the employment turns `INACTIVE` once the date has passed.
    pub async fn terminate(&self, id: &str, date: NaiveDate) -> bool {
        let done = date <= Utc::now().date_naive();
        let mut change = json!({ "termination_date": date.to_string() });
        if done {
            change["status"] = json!("INACTIVE");
        }
        self.change(id, change).await
    }

    /// A rehire: a new employment, newest first, starting on `start`.
    pub async fn rehire(&self, id: &str, start: NaiveDate) -> bool {
        let employment_id = {
            let mut company = self.company();
            let Some(person) = id.parse().ok().and_then(|n: u64| company.people.get_mut(&n)) else {
                return false;
            };
            let now = Utc::now();
            let mut employment = person.employments[0].clone();
            let n = person.employments.len() + 1;
            employment["id"] = json!(format!("emp-{id}-{n}"));
            employment["status"] = json!(if start > now.date_naive() { "ONBOARDING" } else { "ACTIVE" });
            employment["employment_start_date"] = json!(start.to_string());
            employment["termination"] = json!({});
            employment["created_at"] = json!(stamp(now));
            employment["updated_at"] = json!(stamp(now));
            person.record["status"] = json!("ACTIVE");
            person.employments.insert(0, employment);
            format!("emp-{id}-{n}")
        };
        self.notify("employment.created", json!({ "id": employment_id, "person": { "id": id } })).await;
        true
    }

    pub async fn delete(&self, id: &str) -> bool {
        let removed = id.parse().ok().and_then(|n: u64| self.company().people.remove(&n));
        if removed.is_none() {
            return false;
        }
        self.notify("person.deleted", json!({ "id": id })).await;
        true
    }

    async fn notify(&self, event: &str, payload: Value) {
        let hooks: Vec<Webhook> =
            self.company().webhooks.iter().filter(|w| w.events.iter().any(|e| e == event)).cloned().collect();
        // `occurred_at` to the millisecond: two events about the same person in one second differ.
        let occurred_at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let body = json!({ "company_id": 7033, "event_name": event, "occurred_at": occurred_at,
                           "payload": payload })
        .to_string();
        for hook in hooks {
            let status = self.post(&hook.url, &hook.token, body.clone()).await;
            self.company().deliveries.push((body.clone(), status));
        }
    }

    /// Sends a body with an `Authorization` token, as Personio does; returns the receiver's status, or 0.
    pub async fn post(&self, url: &str, token: &str, body: String) -> u16 {
        let mut request = self.http.post(url).header("content-type", "application/json").body(body);
        if !token.is_empty() {
            request = request.header("authorization", token);
        }
        request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

/// The small sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "first_name": p.first, "last_name": p.last, "email": format!("{}@acme.example", p.first.to_lowercase()),
                    "title": p.title, "department": p.department, "start_date": p.start.to_string(),
                    "address": format!("1 Main St, {}", p.city) })
        })
        .collect()
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Company {
    fn department(&mut self, name: &str) -> String {
        let index = match self.departments.iter().position(|d| d == name) {
            Some(index) => index,
            None => {
                self.departments.push(name.to_owned());
                self.departments.len() - 1
            }
        };
        (281_521 + index).to_string()
    }

    fn apply(&mut self, person: &mut Value, employment: &mut Value, flat: Value) {
        let Value::Object(flat) = flat else { return };
        for (name, value) in flat {
            match name.as_str() {
                "first_name" | "last_name" | "email" => person[&name] = value,
                "personal_email" | "phone" | "address" => {
                    let id = match name.as_str() {
                        "personal_email" => PERSONAL_EMAIL_ATTRIBUTE,
                        "phone" => PHONE_ATTRIBUTE,
                        _ => ADDRESS_ATTRIBUTE,
                    };
                    let attributes = person["custom_attributes"].as_array_mut().expect("an array");
                    attributes.retain(|a| a["id"] != id);
                    // The description's types are upper case (a third-party client reports lower case from the
                    // live API: the connector does not read the type). A null value is no attribute.
                    if !value.is_null() {
                        attributes.push(json!({ "id": id, "global_id": &id[8..], "label": name, "type": "STRING",
                                                "value": value }));
                    }
                }
                "title" => employment["position"] = json!({ "title": value }),
                "department" => {
                    let units = match value.as_str() {
                        Some(d) => json!([{ "type": "department", "id": self.department(d) }]),
                        None => json!([]),
                    };
                    employment["org_units"] = units;
                }
                "start_date" => employment["employment_start_date"] = value,
                "supervisor_id" => employment["supervisor"] = json!({ "id": value }),
                "status" => employment["status"] = value,
                "termination_date" if value.is_null() => employment["termination"] = json!({}),
                "termination_date" => employment["termination"]["termination_date"] = value,
                _ => {}
            }
        }
        let today = Utc::now().date_naive().to_string();
        let ahead = employment["employment_start_date"].as_str().is_some_and(|d| d > today.as_str());
        if ahead && employment["status"] == "ACTIVE" {
            employment["status"] = json!("ONBOARDING");
        }
        let inactive = employment["status"] == "INACTIVE";
        person["status"] = json!(if inactive { "INACTIVE" } else { "ACTIVE" });
    }
}

fn refusal(fake: &FakePersonio, headers: &HeaderMap, endpoint: &'static str) -> Option<Refusal> {
    fake.sandbox.count(endpoint);
    fake.sandbox.refuse_or_count(|| {
        let bearer = bearer(headers);
        let valid = bearer.and_then(|t| fake.company().tokens.get(t).copied()).is_some_and(|until| until > Utc::now());
        (!valid).then(|| {
            let detail = "The access token is invalid or expired.";
            Refusal::Answer(error(StatusCode::UNAUTHORIZED, "Unauthorized", detail, "common.unauthorized"))
        })
    })
}

async fn token(State(fake): State<FakePersonio>, axum::Form(form): axum::Form<HashMap<String, String>>) -> Response {
    if let Some(refused) = fake.sandbox.fault() {
        return refused.into_response().await;
    }
    let mut company = fake.company();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return token_error("unsupported_grant_type", "The grant type is not supported.");
    }
    let ok =
        form.get("client_id") == Some(&company.client_id) && form.get("client_secret") == Some(&company.client_secret);
    if !ok {
        return token_error("invalid_client", "Client authentication failed.");
    }
    company.token_grants += 1;
    let access = format!("papi-{}-{}", company.token_grants, Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let lifetime = company.token_lifetime;
    // A lifetime past what a date can hold lasts for ever here.
    let until = chrono::Duration::try_seconds(lifetime).and_then(|d| Utc::now().checked_add_signed(d));
    company.tokens.insert(access.clone(), until.unwrap_or(DateTime::<Utc>::MAX_UTC));
    let scope = company.scopes.join(" ");
    axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": scope }))
        .into_response()
}

/// A refused token request as Personio's authentication description gives it: 400, `application/problem+json`,
/// an OAuth error code with its description and link, the time and a trace id (wrong credentials included:
/// `invalid_client`, not a 401).
fn token_error(code: &str, description: &str) -> Response {
    let body = json!({
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "trace_id": trace_id(),
        "error": code,
        "error_description": description,
        "error_uri": format!("https://developer.personio.de/reference/errors#credentials.oauth2.{code}"),
    });
    let kind = [(axum::http::header::CONTENT_TYPE, "application/problem+json")];
    (StatusCode::BAD_REQUEST, kind, body.to_string()).into_response()
}

/// An error in the shape of Personio's common components (`ErrorResponse`): a trace id the fake makes up, the
/// time, and one error with a title, a detail and a link naming its code.
fn error(status: StatusCode, title: &str, detail: &str, code: &str) -> Response {
    let body = json!({
        "personio_trace_id": trace_id(),
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "errors": [{ "title": title, "detail": detail,
                     "type": format!("https://developer.personio.de/reference/errors#{code}") }],
    });
    // The persons and employments operations describe their 400 and 404 as problem+json.
    let problem = status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND;
    let kind = if problem { "application/problem+json" } else { "application/json" };
    (status, [(axum::http::header::CONTENT_TYPE, kind)], body.to_string()).into_response()
}

/// A trace id of the fake's making, different for each error.
fn trace_id() -> String {
    use sha2::{Digest, Sha256};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hex = hex::encode(&Sha256::digest(n.to_be_bytes())[..12]);
    format!("{}-{}-{}", &hex[..6], &hex[6..14], &hex[14..])
}

fn bad_request(detail: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "Bad request", detail, "common.bad_request")
}

fn not_found() -> Response {
    let detail = "The requested resource was not found. The resource could have been deleted or never existed.";
    error(StatusCode::NOT_FOUND, "Resource not found", detail, "common.requested_resource_not_found")
}

/// A date-time filter's value: RFC 3339 only (the description's `format: date-time`; a date is refused).
fn date_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

async fn persons(
    State(fake): State<FakePersonio>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, "persons") {
        return refused.into_response().await;
    }
    let limit: usize = match query.get("limit").map(|l| l.parse()) {
        None => 10,
        Some(Ok(n)) if (1..=50).contains(&n) => n,
        _ => return bad_request("limit must be between 1 and 50"),
    };
    let start: usize = match query.get("cursor").map(|c| c.strip_prefix('c').and_then(|n| n.parse().ok())) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => return bad_request("invalid cursor"),
    };
    let updated_after = match query.get("updated_at.gt").map(|v| date_time(v)) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => return bad_request("updated_at.gt must be a date-time (RFC 3339)."),
    };
    // One or more ids, comma-separated.
    let ids: Option<HashSet<&str>> = query.get("id").map(|ids| ids.split(',').map(str::trim).collect());
    let company = fake.company();
    let matching: Vec<&Person> = company
        .people
        .values()
        .filter(|p| ids.as_ref().is_none_or(|ids| p.record["id"].as_str().is_some_and(|id| ids.contains(id))))
        .filter(|p| query.get("status").is_none_or(|s| p.record["status"] == s.as_str()))
        .filter(|p| updated_after.is_none_or(|t| p.updated_at > t))
        .collect();
    let data: Vec<Value> = matching.iter().skip(start).take(limit).map(|p| p.record.clone()).collect();
    let mut links = json!({});
    if start + limit < matching.len() {
        let mut next = format!("{}/v2/persons?limit={limit}&cursor=c{}", fake.base_url, start + limit);
        for key in ["status", "updated_at.gt", "id"] {
            if let Some(value) = query.get(key) {
                next.push_str(&format!("&{key}={value}"));
            }
        }
        links["next"] = json!({ "href": next });
    }
    axum::Json(json!({ "_data": data, "_meta": { "links": links } })).into_response()
}

async fn employments(State(fake): State<FakePersonio>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers, "employments") {
        return refused.into_response().await;
    }
    let company = fake.company();
    match id.parse().ok().and_then(|n: u64| company.people.get(&n)) {
        Some(person) => axum::Json(json!({ "_data": person.employments, "_meta": { "links": {} } })).into_response(),
        None => not_found(),
    }
}

/// `GET /v2/org-units/{id}`: not in the published description we hold (persons, employments, auth and common
/// components only). It follows Personio's reference page for the endpoint: `type` is a required query
/// parameter naming the unit's type, department or team (its example asks `type=department`); without it, or
/// with another, the request is refused. The fake's units are all departments: asked as a team, none is found.
async fn org_unit(
    State(fake): State<FakePersonio>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, "org_units") {
        return refused.into_response().await;
    }
    let kind = match query.get("type").map(|t| t.to_ascii_lowercase()) {
        Some(kind) if kind == "department" || kind == "team" => kind,
        Some(_) => return bad_request("type must be department or team."),
        None => return bad_request("type is required."),
    };
    let company = fake.company();
    if let Some(status) = company.org_units_refused {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        let detail = "The API credentials do not give access to this resource.";
        return error(status, status.canonical_reason().unwrap_or("Forbidden"), detail, "common.forbidden");
    }
    let index = id.parse::<usize>().ok().and_then(|n| n.checked_sub(281_521));
    match index.and_then(|i| company.departments.get(i)).filter(|_| kind == "department") {
        Some(name) => axum::Json(json!({ "id": id, "type": "department", "name": name })).into_response(),
        None => not_found(),
    }
}

async fn sandbox_list(State(fake): State<FakePersonio>) -> Response {
    let company = fake.company();
    let people: Vec<Value> =
        company.people.values().map(|p| json!({ "person": p.record, "employments": p.employments })).collect();
    axum::Json(json!({ "persons": people })).into_response()
}

async fn sandbox_hire(State(fake): State<FakePersonio>, axum::Json(flat): axum::Json<Value>) -> Response {
    if flat.get("first_name").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least first_name").into_response();
    }
    let id = fake.hire(flat).await;
    (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakePersonio>,
    Path(id): Path<String>,
    axum::Json(flat): axum::Json<Value>,
) -> Response {
    found(fake.change(&id, flat).await)
}

async fn sandbox_delete(State(fake): State<FakePersonio>, Path(id): Path<String>) -> Response {
    found(fake.delete(&id).await)
}

async fn sandbox_terminate(
    State(fake): State<FakePersonio>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.terminate(&id, date).await)
}

async fn sandbox_rehire(
    State(fake): State<FakePersonio>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let start = body.and_then(|b| b.0.start_date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.rehire(&id, start).await)
}

/// A webhook id of the fake's issuing.
fn webhook_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A request the credentials' scopes do not cover: 403, naming the scope.
fn out_of_scope(fake: &FakePersonio, scope: &str) -> Option<Response> {
    (!fake.company().scopes.iter().any(|s| s == scope)).then(|| {
        let detail = format!("This endpoint requires the {scope} scope.");
        error(StatusCode::FORBIDDEN, "Forbidden", &detail, "common.forbidden")
    })
}

#[derive(Deserialize)]
struct NewWebhook {
    url: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    auth_type: Option<String>,
    #[serde(default)]
    token: Option<String>,
    enabled_events: Vec<String>,
}

/// `POST /v2/webhooks` as Personio's reference page gives it: an https URL, `auth_type` `TOKEN` (the default)
/// with the token to send, `NONE`, or `CUSTOM`; events it knows.
async fn create_webhook(State(fake): State<FakePersonio>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = refusal(&fake, &headers, "webhooks") {
        return refused.into_response().await;
    }
    if let Some(refused) = out_of_scope(&fake, "personio:webhooks:write") {
        return refused;
    }
    let Ok(new) = serde_json::from_slice::<NewWebhook>(&body) else {
        return bad_request("the body must be a webhook: url and enabled_events");
    };
    let https_or_loopback = url::Url::parse(&new.url).ok().is_some_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost")))
    });
    if !https_or_loopback {
        return bad_request("url must be an https URL");
    }
    let auth = new.auth_type.clone().unwrap_or_else(|| "TOKEN".into());
    let token = match (auth.as_str(), new.token) {
        ("TOKEN", Some(token)) if !token.is_empty() => token,
        ("TOKEN", _) => return bad_request("token is required when auth_type is TOKEN"),
        ("NONE", _) => String::new(),
        _ => return bad_request("auth_type must be NONE or TOKEN here"),
    };
    if new.enabled_events.is_empty() || new.enabled_events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return bad_request("enabled_events must name known events");
    }
    let status = new.status.unwrap_or_else(|| "ENABLED".into());
    let hook = Webhook {
        id: webhook_id(),
        url: new.url.clone(),
        token,
        events: if status == "ENABLED" { new.enabled_events.clone() } else { Vec::new() },
        by_hand: false,
    };
    let id = hook.id.clone();
    fake.company().webhooks.push(hook);
    let answer = json!({ "id": id, "url": new.url, "description": new.description, "status": status,
                         "auth_type": auth, "enabled_events": new.enabled_events,
                         "created_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true) });
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn delete_webhook(State(fake): State<FakePersonio>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers, "webhooks") {
        return refused.into_response().await;
    }
    if let Some(refused) = out_of_scope(&fake, "personio:webhooks:write") {
        return refused;
    }
    let mut company = fake.company();
    let before = company.webhooks.len();
    company.webhooks.retain(|w| w.id != id);
    if company.webhooks.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: String,
    token: String,
}

async fn sandbox_webhook(State(fake): State<FakePersonio>, axum::Json(target): axum::Json<WebhookTarget>) -> Response {
    fake.set_webhook(&target.url, &target.token);
    StatusCode::NO_CONTENT.into_response()
}

impl Sandboxed for FakePersonio {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Requests per endpoint (the sandbox counts nothing else by name here), token grants and the headcount.
    fn stats(&self) -> Value {
        let company = self.company();
        json!({ "requests": self.sandbox.counts(), "token_grants": company.token_grants,
                "headcount": company.people.len() })
    }
}

/// Personio's published v2 description (`tests/contracts/personio`): authentication, persons and employments, with
/// the common components they share. Org units and webhooks are not in it.
fn contract() -> &'static Contract {
    static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
    const EMPLOYMENTS: &str = "personio/employment-contract-v2.json";
    CONTRACT.get_or_init(|| {
        Contract::load(
            "Personio",
            &[
                "personio/credentials-service-api-v2.json",
                "personio/persons-service-api-v2.json",
                EMPLOYMENTS,
                "personio/common-components-v2.json",
            ],
        )
        .amend(
            EMPLOYMENTS,
            "/components/schemas/Employment/properties/employment_end_date",
            "a string in the schema, but the description's own EmploymentResponse example gives \
             `\"employment_end_date\": null` for an employment without an end: null or a date",
            |end| *end = json!({ "type": ["string", "null"] }),
        )
        .undescribed(
            "/v2/org-units/{id}",
            "not in Personio's published v2 description; the fake follows Personio's reference page for \
             GET /v2/org-units/{id} (a required `type` of department or team)",
        )
        .undescribed(
            "/v2/webhooks",
            "not in Personio's published v2 description; the fake follows Personio's reference page for \
             POST /v2/webhooks (url, description, status, auth_type, token, enabled_events; the \
             personio:webhooks:write scope)",
        )
        .undescribed(
            "/v2/webhooks/{id}",
            "not in Personio's published v2 description; the fake follows Personio's reference page for \
             DELETE /v2/webhooks/{id} (the personio:webhooks:write scope)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contracted;

    async fn fake() -> FakePersonio {
        let people = vec![json!({ "first_name": "Ada", "last_name": "Lovelace", "personal_email": "ada@home.example",
                                  "department": "Engineering", "start_date": "2020-01-06" })];
        FakePersonio::start("127.0.0.1:0".parse().unwrap(), "papi-client", "papi-secret", people).await.unwrap()
    }

    async fn token(fake: &FakePersonio, secret: &str) -> reqwest::Response {
        let form = [("grant_type", "client_credentials"), ("client_id", "papi-client"), ("client_secret", secret)];
        fake.http.post(format!("{}/v2/auth/token", fake.base_url)).form(&form).send().await.unwrap()
    }

    #[tokio::test]
    async fn wrong_credentials_are_a_described_bad_request() {
        let fake = fake().await;
        let refused = token(&fake, "not-the-secret").await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert_eq!(token(&fake, "papi-secret").await.status(), StatusCode::OK);
        assert_eq!(fake.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn people_and_employments_through_a_termination_and_a_rehire_hold_to_the_description() {
        let fake = fake().await;
        let answer: Value = token(&fake, "papi-secret").await.json().await.unwrap();
        let bearer = answer["access_token"].as_str().unwrap().to_owned();
        let id = fake.ids()[0].clone();
        let get = |path: String| fake.http.get(format!("{}{path}", fake.base_url)).bearer_auth(&bearer).send();
        let employments = |fake: &FakePersonio| {
            let url = format!("{}/v2/persons/{id}/employments", fake.base_url);
            fake.http.get(url).bearer_auth(&bearer).send()
        };
        let persons: Value = get("/v2/persons".into()).await.unwrap().json().await.unwrap();
        assert_eq!(persons["_data"][0]["custom_attributes"][0]["type"], "STRING", "{persons}");
        let active: Value = employments(&fake).await.unwrap().json().await.unwrap();
        assert_eq!(active["_data"][0]["termination"], json!({}), "an employment not ended: {active}");
        fake.terminate(&id, Utc::now().date_naive() - chrono::Duration::days(1)).await;
        let ended: Value = employments(&fake).await.unwrap().json().await.unwrap();
        assert!(ended["_data"][0]["termination"]["termination_date"].is_string(), "{ended}");
        fake.rehire(&id, Utc::now().date_naive()).await;
        let rehired: Value = employments(&fake).await.unwrap().json().await.unwrap();
        assert_eq!(rehired["_data"][0]["termination"], json!({}), "{rehired}");
        let unknown = get("/v2/persons/999/employments".into()).await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(unknown.headers()["content-type"], "application/problem+json");
        assert_eq!(fake.violations(), Vec::<String>::new());
    }
}
