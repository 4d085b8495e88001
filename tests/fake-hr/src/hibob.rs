//! A fake HiBob (Bob) that follows the documented API:
//!
//! - `POST /v1/people/search` (`fields`, at most 400; at most one filter, on `root.id` or `root.email` with
//!   `equals`; `showInactive`, default false; machine format: list fields hold named-list ids; no paging: every
//!   match in one answer, `{"employees": [...]}`); 400 for anything else
//! - `POST /v1/people/{identifier}` (one person, by id or email)
//! - `GET  /v1/company/named-lists/department` (`{"name", "items": [{"id", "value", "name", "archived",
//!   "children"}]}`, ids numeric)
//!
//! held to Bob's published description (`tests/contracts/hibob`, whose servers end in `/v1`), webhooks aside: no
//! description has them, so they follow Bob's webhook pages.
//!
//! with HTTP Basic auth (service-user id and token). It sends v2 webhooks (`employee.created`,
//! `employee.updated`, `employee.left`, `table.entry.created` for a rehire's lifecycle entry, `employee.deleted`)
//! signed `Bob-Signature` (Base64 HMAC-SHA512 of the body) with the secret Bob issues.
//!
//! Adding the webhook (`configure_webhook`, or the sandbox's `PUT /sandbox/webhook`) is what Bob's Settings →
//! Integrations → Webhooks does: Bob issues a new random secret, shown on that page (`webhook_secret`, or
//! `GET /sandbox/webhook`), and validates the listener with its connection test: the string `Ping test`, then, if
//! that was not answered 2xx, `{"text":"Ping test"}`; if neither is, the webhook is not established and nothing is
//! sent to it. (Whether Bob signs the ping is not documented; the fake signs it with the new secret, which the
//! listener cannot have yet.)
//!
//! Sandbox controls, without auth: `GET|POST /sandbox/employees` (list, hire), `PATCH /sandbox/employees/{id}`,
//! `POST /sandbox/employees/{id}/terminate` (`{"date"}`), `POST /sandbox/employees/{id}/rehire`
//! (`{"startDate"}`), `DELETE /sandbox/employees/{id}`, `PUT /sandbox/webhook` (`{"url"}`, answering
//! `{"url", "secret", "established", "pings"}`), `GET /sandbox/webhook` (the same),
//! `POST /sandbox/faults`, `GET /sandbox/stats`. A hire takes flat fields: `firstName`, `surname`, `email`,
//! `title`, `department` (a name), `startDate`, `privateEmail`, `mobilePhone`, `line1`, `city`, `postCode`,
//! `country`, `managerId`.

use crate::contract::Contract;
use crate::faults::{Fault, Refusal, basic_user, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use base64::Engine;
use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha512;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A delivery the fake sent.
#[derive(Debug, Clone)]
pub struct BobDelivery {
    pub body: String,
    pub signature: String,
    pub status: u16,
}

struct Bob {
    user: String,
    token: String,
    /// Machine-format records by id (`internal.lifecycleStatus` follows the dates when served).
    people: BTreeMap<String, Value>,
    departments: Vec<(String, String)>,
    next_id: u64,
    webhook: Option<Webhook>,
    deliveries: Vec<BobDelivery>,
}

/// The webhook as Bob's settings page shows it.
#[derive(Debug, Clone)]
struct Webhook {
    url: String,
    /// Issued by Bob when the webhook is added.
    secret: String,
    /// Whether the listener answered the connection test; Bob sends nothing to a webhook that is not.
    established: bool,
    /// The statuses the connection test was answered with, in order.
    pings: Vec<u16>,
}

#[derive(Clone)]
pub struct FakeBob {
    bob: Arc<Mutex<Bob>>,
    base_url: String,
    http: reqwest::Client,
    sandbox: Sandbox,
}

const FIRST_ID: u64 = 3_332_883_800_000_000_000;

impl FakeBob {
    /// Starts a fake on `addr` for one service user, seeded with people given as sandbox hires (flat fields).
    pub async fn start(addr: SocketAddr, user: &str, token: &str, people: Vec<Value>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Self {
            bob: Arc::new(Mutex::new(Bob {
                user: user.to_owned(),
                token: token.to_owned(),
                people: BTreeMap::new(),
                departments: Vec::new(),
                next_id: FIRST_ID,
                webhook: None,
                deliveries: Vec::new(),
            })),
            base_url,
            http: reqwest::Client::new(),
            sandbox: Sandbox::default(),
        };
        for person in people {
            fake.add(person);
        }
        let app = Router::new()
            .route("/v1/people/search", post(search))
            .route("/v1/people/{identifier}", post(one))
            .route("/v1/company/named-lists/department", get(departments))
            .route("/sandbox/employees", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/employees/{id}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/employees/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/employees/{id}/rehire", post(sandbox_rehire))
            .route("/sandbox/webhook", put(sandbox_webhook).get(sandbox_webhook_page))
            .merge(sandbox::routes())
            .with_state(fake.clone());
        sandbox::serve(listener, contract().enforce(app, fake.sandbox.violations().clone()));
        Ok(fake)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What an admin sends to `POST /v1/connections` to connect IT Hub to this fake.
    pub fn connection_request(&self) -> Value {
        let bob = self.bob();
        json!({
            "provider": "hibob",
            "settings": { "base_url": self.base_url },
            "credentials": { "service_user_id": bob.user, "service_user_token": bob.token },
        })
    }

    fn bob(&self) -> std::sync::MutexGuard<'_, Bob> {
        sandbox::lock(&self.bob)
    }

    /// Adds a person without telling anyone; returns their id.
    fn add(&self, flat: Value) -> String {
        let mut bob = self.bob();
        let id = bob.next_id.to_string();
        bob.next_id += 1;
        let today = Utc::now().date_naive().to_string();
        let mut record = json!({
            "id": id, "work": { "startDate": today }, "internal": { "status": "Active", "lifecycleStatus": "Employed" },
            "home": {}, "address": {},
        });
        bob.apply(&mut record, flat);
        bob.people.insert(id.clone(), record);
        id
    }

    /// Hires someone (a start date ahead makes a pre-hire); fires `employee.created`.
    pub async fn hire(&self, flat: Value) -> String {
        let id = self.add(flat);
        self.notify("employee.created", &id, json!({})).await;
        id
    }

    /// Changes fields; fires `employee.updated` naming them. `false` if there is no such person.
    pub async fn change(&self, id: &str, flat: Value) -> bool {
        let names: Vec<String> = flat.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        {
            let mut bob = self.bob();
            let Some(mut record) = bob.people.remove(id) else {
                return false;
            };
            bob.apply(&mut record, flat);
            bob.people.insert(id.to_owned(), record);
        }
        self.notify("employee.updated", id, json!({ "fieldIds": names })).await;
        true
    }

    /// Sets a termination date: terminated (and inactive) once it has come, garden leave until then. Fires
    /// `employee.left`.
    pub async fn terminate(&self, id: &str, date: NaiveDate) -> bool {
        {
            let mut bob = self.bob();
            let Some(record) = bob.people.get_mut(id) else {
                return false;
            };
            let done = date <= Utc::now().date_naive();
            record["internal"]["terminationDate"] = json!(date.to_string());
            record["internal"]["lifecycleStatus"] = json!(if done { "Terminated" } else { "Garden leave" });
            if done {
                record["internal"]["status"] = json!("Inactive");
            }
        }
        self.notify("employee.left", id, json!({ "effectiveDate": date.to_string() })).await;
        true
    }

    /// Rehires a former employee under the same id: a new lifecycle entry, Hired or Employed by the start date.
    pub async fn rehire(&self, id: &str, start: NaiveDate) -> bool {
        {
            let mut bob = self.bob();
            let Some(record) = bob.people.get_mut(id) else {
                return false;
            };
            record["work"]["startDate"] = json!(start.to_string());
            record["internal"] = json!({ "status": "Active", "lifecycleStatus": "Employed", "terminationDate": null });
        }
        self.notify("table.entry.created", id, json!({ "tableId": "lifecycle", "effectiveDate": start.to_string() }))
            .await;
        true
    }

    /// Deletes someone outright; fires `employee.deleted`.
    pub async fn delete(&self, id: &str) -> bool {
        if self.bob().people.remove(id).is_none() {
            return false;
        }
        self.notify("employee.deleted", id, json!({})).await;
        true
    }

    /// Adds the webhook as an admin does in Bob's settings: Bob issues a new secret and sends its connection test
    /// to `url` (the plain `Ping test`, then the JSON one if that failed); returns whether the listener answered
    /// it, which establishes the webhook.
    pub async fn configure_webhook(&self, url: &str) -> bool {
        let secret = new_secret();
        let mut pings = Vec::new();
        for body in ["Ping test", r#"{"text":"Ping test"}"#] {
            let status = self.post(url, body.to_owned(), sign(&secret, body.as_bytes())).await;
            pings.push(status);
            if (200..300).contains(&status) {
                break;
            }
        }
        let established = pings.last().is_some_and(|s| (200..300).contains(s));
        self.bob().webhook = Some(Webhook { url: url.to_owned(), secret, established, pings });
        established
    }

    /// The webhook secret Bob shows in its settings, once a webhook is added.
    pub fn webhook_secret(&self) -> Option<String> {
        self.bob().webhook.as_ref().map(|w| w.secret.clone())
    }

    /// The statuses the last connection test was answered with.
    pub fn pings(&self) -> Vec<u16> {
        self.bob().webhook.as_ref().map(|w| w.pings.clone()).unwrap_or_default()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn deliveries(&self) -> Vec<BobDelivery> {
        self.bob().deliveries.clone()
    }

    pub fn api_calls(&self) -> u64 {
        self.sandbox.api_calls()
    }

    /// Injected faults not yet served.
    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// The ids of everyone, in order.
    pub fn ids(&self) -> Vec<String> {
        self.bob().people.keys().cloned().collect()
    }

    /// Sends Bob's connection test again (`Ping test`, signed with the webhook's secret), as its settings page's
    /// test button does; returns the receiver's status (0 with no webhook).
    pub async fn ping(&self) -> u16 {
        let Some(webhook) = self.bob().webhook.clone() else {
            return 0;
        };
        self.post(&webhook.url, "Ping test".into(), sign(&webhook.secret, b"Ping test")).await
    }

    async fn notify(&self, kind: &str, id: &str, mut data: Value) {
        let Some(Webhook { url, secret, established: true, .. }) = self.bob().webhook.clone() else {
            return;
        };
        data["employeeId"] = json!(id);
        let body = json!({
            "companyId": 636192, "type": kind, "triggeredBy": "system",
            "triggeredAt": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string(), "version": "v2", "data": data,
        })
        .to_string();
        let signature = sign(&secret, body.as_bytes());
        let status = self.post(&url, body.clone(), signature.clone()).await;
        self.bob().deliveries.push(BobDelivery { body, signature, status });
    }

    /// Sends a body with a signature (a recorded delivery, to test redelivery); returns the status, or 0.
    pub async fn post(&self, url: &str, body: String, signature: String) -> u16 {
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("bob-signature", signature)
            .body(body)
            .send()
            .await;
        sent.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

/// The small sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "firstName": p.first, "surname": p.last, "email": format!("{}@acme.example", p.first.to_lowercase()),
                    "title": p.title, "department": p.department, "startDate": p.start.to_string(), "city": p.city })
        })
        .collect()
}

/// A new webhook secret: 32 random bytes (from the standard library's randomly keyed hasher), Base64.
fn new_secret() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = Vec::with_capacity(32);
    for _ in 0..4 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
        bytes.extend_from_slice(&hasher.finish().to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 HMAC-SHA512 of the body, keyed with the webhook's secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Bob {
    /// The named-list id of a department, added to the list if new.
    fn department(&mut self, name: &str) -> String {
        if let Some((id, _)) = self.departments.iter().find(|(_, n)| n == name) {
            return id.clone();
        }
        let id = (234_567 + self.departments.len()).to_string();
        self.departments.push((id.clone(), name.to_owned()));
        id
    }

    /// Sandbox flat fields into the machine-format record.
    fn apply(&mut self, record: &mut Value, flat: Value) {
        let Value::Object(flat) = flat else { return };
        for (name, value) in flat {
            let (section, key) = match name.as_str() {
                "firstName" | "surname" | "email" => ("", name.as_str()),
                "title" | "startDate" => ("work", name.as_str()),
                "department" => {
                    let id = value.as_str().map(|n| json!(self.department(n))).unwrap_or(Value::Null);
                    record["work"]["department"] = id;
                    continue;
                }
                "managerId" => {
                    let manager = value.as_str().and_then(|m| self.people.get(m)).map(|m| {
                        json!({ "id": m["id"], "email": m["email"], "firstName": m["firstName"],
                                "surname": m["surname"],
                                "displayName": format!("{} {}", text(&m["firstName"]), text(&m["surname"])) })
                    });
                    record["work"]["reportsTo"] = manager.unwrap_or(Value::Null);
                    continue;
                }
                "privateEmail" | "mobilePhone" => ("home", name.as_str()),
                "line1" | "line2" | "city" | "state" | "postCode" | "country" => ("address", name.as_str()),
                _ => continue,
            };
            if section.is_empty() {
                record[key] = value;
            } else {
                record[section][key] = value;
            }
        }
        if let Some(first) = record.get("firstName").cloned() {
            record["displayName"] = json!(format!("{} {}", text(&first), text(&record["surname"])));
        }
    }

    /// A record as served: a hired person is `Hired` until the start date, then `Employed`.
    fn served(&self, record: &Value) -> Value {
        let mut record = record.clone();
        let today = Utc::now().date_naive().to_string();
        let lifecycle = text(&record["internal"]["lifecycleStatus"]);
        if lifecycle == "Employed" || lifecycle == "Hired" {
            let ahead = record["work"]["startDate"].as_str().is_some_and(|d| d > today.as_str());
            record["internal"]["lifecycleStatus"] = json!(if ahead { "Hired" } else { "Employed" });
        }
        record
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Only the requested field paths, nested as Bob answers them.
fn project(record: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return record.clone();
    }
    let mut out = Map::new();
    for path in fields {
        let mut parts: Vec<&str> = path.split('.').collect();
        if parts.first() == Some(&"root") {
            parts.remove(0);
        }
        let Some(value) = parts.iter().try_fold(record, |at, part| at.get(part)) else { continue };
        insert_at(&mut out, &parts, value.clone());
    }
    Value::Object(out)
}

fn insert_at(out: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [last] => {
            out.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            if let Some(inner) = out.entry((*first).to_owned()).or_insert_with(|| json!({})).as_object_mut() {
                insert_at(inner, rest, value);
            }
        }
    }
}

fn refusal(fake: &FakeBob, headers: &HeaderMap) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| {
        let bob = fake.bob();
        let ok = basic_user(headers).is_some_and(|(user, token)| user == bob.user && token == bob.token);
        (!ok).then(|| {
            Refusal::Answer((StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "Unauthorized"}))).into_response())
        })
    })
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    filters: Vec<SearchFilter>,
    #[serde(default)]
    show_inactive: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchFilter {
    field_path: String,
    operator: String,
    values: Vec<String>,
}

async fn search(State(fake): State<FakeBob>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Ok(request) = serde_json::from_slice::<SearchRequest>(&body) else {
        return bad_request("the body is not a search request");
    };
    if request.fields.len() > 400 {
        return bad_request("at most 400 fields");
    }
    if request.filters.len() > 1 {
        return bad_request("at most one filter");
    }
    let filter = request.filters.first();
    if filter.is_some_and(|f| f.values.is_empty()) {
        return bad_request("a filter's values may not be empty");
    }
    if let Some(f) = filter
        && (!matches!(f.field_path.as_str(), "root.id" | "root.email") || f.operator != "equals")
    {
        return bad_request("root.id and root.email take the equals operator; no other filter is supported here");
    }
    let bob = fake.bob();
    let employees: Vec<Value> = bob
        .people
        .values()
        .filter(|r| request.show_inactive || r["internal"]["status"] != "Inactive")
        .filter(|r| {
            filter.is_none_or(|f| {
                let key = if f.field_path == "root.id" { "id" } else { "email" };
                f.values.iter().any(|v| r[key].as_str() == Some(v.as_str()))
            })
        })
        .map(|r| project(&bob.served(r), &request.fields))
        .collect();
    axum::Json(json!({ "employees": employees })).into_response()
}

async fn one(State(fake): State<FakeBob>, Path(identifier): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let bob = fake.bob();
    let found = bob.people.values().find(|r| r["id"] == identifier.as_str() || r["email"] == identifier.as_str());
    match found {
        Some(record) => axum::Json(bob.served(record)).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"error": "Employee not found"}))).into_response(),
    }
}

async fn departments(State(fake): State<FakeBob>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let bob = fake.bob();
    // As the description has it: `items`, each with a numeric id (the people records hold it as text).
    let items: Vec<Value> = bob
        .departments
        .iter()
        .map(|(id, name)| {
            let id = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
            json!({ "id": id, "value": name, "name": name, "archived": false, "children": [] })
        })
        .collect();
    axum::Json(json!({ "name": "department", "items": items })).into_response()
}

async fn sandbox_list(State(fake): State<FakeBob>) -> Response {
    let bob = fake.bob();
    let people: Vec<Value> = bob.people.values().map(|r| bob.served(r)).collect();
    axum::Json(json!({ "employees": people })).into_response()
}

async fn sandbox_hire(State(fake): State<FakeBob>, axum::Json(fields): axum::Json<Value>) -> Response {
    if fields.get("firstName").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least firstName").into_response();
    }
    let id = fake.hire(fields).await;
    (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakeBob>,
    Path(id): Path<String>,
    axum::Json(fields): axum::Json<Value>,
) -> Response {
    found(fake.change(&id, fields).await)
}

async fn sandbox_delete(State(fake): State<FakeBob>, Path(id): Path<String>) -> Response {
    found(fake.delete(&id).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dated {
    #[serde(default)]
    date: Option<NaiveDate>,
    #[serde(default)]
    start_date: Option<NaiveDate>,
}

async fn sandbox_terminate(
    State(fake): State<FakeBob>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.terminate(&id, date).await)
}

async fn sandbox_rehire(
    State(fake): State<FakeBob>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let start = body.and_then(|b| b.0.start_date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.rehire(&id, start).await)
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: String,
}

/// The webhook as Bob's settings page shows it, secret included.
fn webhook_page(fake: &FakeBob) -> Response {
    match fake.bob().webhook.clone() {
        Some(w) => {
            axum::Json(json!({ "url": w.url, "secret": w.secret, "established": w.established, "pings": w.pings }))
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn sandbox_webhook(State(fake): State<FakeBob>, axum::Json(target): axum::Json<WebhookTarget>) -> Response {
    fake.configure_webhook(&target.url).await;
    webhook_page(&fake)
}

async fn sandbox_webhook_page(State(fake): State<FakeBob>) -> Response {
    webhook_page(&fake)
}

impl Sandboxed for FakeBob {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn stats(&self) -> Value {
        json!({ "headcount": self.bob().people.len() })
    }
}

/// Bob's published description (`tests/contracts/hibob`): the people and named-list operations the connector
/// calls are in it. Its webhooks are not (no description has them): the deliveries follow Bob's webhook pages.
fn contract() -> &'static Contract {
    static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
    CONTRACT.get_or_init(|| {
        Contract::load("HiBob", &["hibob/hibob-public-api.generated.yml"]).one_of_as_any_of(
            "a person in people/search and people/{identifier} is one of two formats (human-readable, machine), \
             chosen by humanReadable; neither requires a field, so a record of a few fields fits both",
        )
    })
}
