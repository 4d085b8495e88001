//! A fake Gusto (API version 2025-06-15) that follows the documented API:
//!
//! - `POST /oauth/token` (JSON): `grant_type: "refresh_token"` with the current refresh token → a company access
//!   token and a **new** refresh token (the spent one is refused from then on: 401 `invalid_grant`);
//!   `grant_type: "system_access"` with the client credentials → a system token. Access tokens expire after
//!   the fake's lifetime (7200 s unless set), then 401.
//! - `GET /v1/companies/{uuid}/employees` (company token; `page`/`per`, `uuids`, `include`): a bare array, with
//!   `X-Page`, `X-Per-Page`, `X-Total-Pages` and `X-Total-Count` when paging parameters were sent; everyone,
//!   people who left included
//! - `GET /v1/events` (system token; `resource_uuid`, `event_type` `employee.*`, `starting_after_uuid`, `limit`
//!   up to 100, `sort_order`): a bare array of thin events
//! - `PUT /v1/webhook_subscriptions/{uuid}/verify` (system token; `{"verification_token"}`)
//!
//! Held to Gusto's published description (`tests/contracts/gusto`, see [`crate::contract`]): an employee's `title`
//! and `current_home_address` are absent rather than null, the address only with `include=current_home_address`;
//! refusals are Gusto's `{"errors": [{error_key, category, message}]}` (404 for another company or an unknown
//! subscription, 422 for an unknown `starting_after_uuid` or a wrong verification token).
//!
//! Webhooks: registering a URL posts `{"verification_token": …}` to it (unsigned); once the subscription is
//! verified, events go out signed `X-Gusto-Signature` (hex HMAC-SHA256 of the body keyed with the token).
//!
//! Sandbox controls, without auth: `GET|POST /sandbox/employees` (hire: `first_name`, `last_name`, `email`,
//! `work_email`, `phone`, `title`, `department`, `hired_at`, `manager_uuid`, `street_1`, `city`, `state`, `zip`),
//! `PATCH /sandbox/employees/{uuid}`, `POST /sandbox/employees/{uuid}/terminate` (`{"date"}`: the last day
//! worked), `POST /sandbox/employees/{uuid}/rehire` (`{"date"}`), `DELETE /sandbox/employees/{uuid}`,
//! `PUT /sandbox/webhook` (`{"url"}`), `POST /sandbox/faults`, `GET /sandbox/stats`.

use crate::contract::Contract;
use crate::faults::{Dated, Fault, Refusal, bearer, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const COMPANY_UUID: &str = "5df911a0-e8e9-412d-8aaf-a46ad193dd96";
pub const SUBSCRIPTION_UUID: &str = "a1b2c3d4-0000-4000-8000-00000000feed";

#[derive(PartialEq, Eq, Clone, Copy)]
enum Scope {
    Company,
    System,
}

struct Company {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    spent: Vec<String>,
    lifetime: i64,
    tokens: HashMap<String, (Scope, DateTime<Utc>)>,
    grants: u64,
    employees: BTreeMap<String, Value>,
    next: u64,
    /// Every event so far, oldest first.
    events: Vec<Value>,
    webhook: Option<String>,
    verification_token: String,
    verified: bool,
    deliveries: Vec<(String, String, u16)>,
}

#[derive(Clone)]
pub struct FakeGusto {
    company: Arc<Mutex<Company>>,
    sandbox: Sandbox,
    base_url: String,
    http: reqwest::Client,
}

impl FakeGusto {
    /// A company whose OAuth authorization gave `refresh_token`, seeded with people (sandbox hire fields).
    pub async fn start(
        addr: SocketAddr,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        people: Vec<Value>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                refresh_token: refresh_token.to_owned(),
                spent: Vec::new(),
                lifetime: 7200,
                tokens: HashMap::new(),
                grants: 0,
                employees: BTreeMap::new(),
                next: 1,
                events: Vec::new(),
                webhook: None,
                verification_token: "6590f590-3dba-495e-9bea-c361e1e2efc0".into(),
                verified: false,
                deliveries: Vec::new(),
            })),
            sandbox: Sandbox::default(),
            base_url,
            http: reqwest::Client::new(),
        };
        for person in people {
            fake.add(person, false);
        }
        sandbox::serve(listener, fake.router());
        Ok(fake)
    }

    fn router(&self) -> Router {
        let api = Router::new()
            .route("/oauth/token", post(token))
            .route("/v1/companies/{company}/employees", get(employees))
            .route("/v1/events", get(events))
            .route("/v1/webhook_subscriptions/{uuid}/verify", put(verify))
            .route("/sandbox/employees", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/employees/{uuid}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/employees/{uuid}/terminate", post(sandbox_terminate))
            .route("/sandbox/employees/{uuid}/rehire", post(sandbox_rehire))
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
            "provider": "gusto",
            "settings": { "company_uuid": COMPANY_UUID, "webhook_subscription_uuid": SUBSCRIPTION_UUID,
                          "base_url": self.base_url },
            "credentials": { "client_id": company.client_id, "client_secret": company.client_secret,
                             "refresh_token": company.refresh_token },
        })
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        sandbox::lock(&self.company)
    }

    /// Every access token granted so far expires now.
    pub fn expire_tokens(&self) {
        let now = Utc::now();
        self.company().tokens.values_mut().for_each(|(_, until)| *until = now);
    }

    /// Refresh-token grants so far (each rotated the refresh token).
    pub fn grants(&self) -> u64 {
        self.company().grants
    }

    /// The refresh token Gusto would accept now.
    pub fn current_refresh_token(&self) -> String {
        self.company().refresh_token.clone()
    }

    pub fn verification_token(&self) -> String {
        self.company().verification_token.clone()
    }

    pub fn verified(&self) -> bool {
        self.company().verified
    }

    pub fn uuids(&self) -> Vec<String> {
        self.company().employees.keys().cloned().collect()
    }

    /// API calls answered so far (the token endpoint not counted).
    pub fn api_calls(&self) -> u64 {
        self.sandbox.api_calls()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// Bodies sent to the webhook, with their signature and the receiver's status.
    pub fn deliveries(&self) -> Vec<(String, String, u16)> {
        self.company().deliveries.iter().filter(|(body, _, _)| !body.is_empty()).cloned().collect()
    }

    fn add(&self, fields: Value, event: bool) -> String {
        let mut company = self.company();
        let uuid = format!("bcfc9744-0ab3-4ef3-ab0d-{:012}", company.next);
        company.next += 1;
        let today = Utc::now().date_naive().to_string();
        // Gusto's Employee: `title` and `current_home_address` are never null (absent until there is one).
        let mut row = json!({
            "uuid": uuid, "company_uuid": COMPANY_UUID, "first_name": "", "last_name": "",
            "preferred_first_name": null, "email": null, "work_email": null, "phone": null, "manager_uuid": null,
            "department": null, "hired_at": today, "onboarded": true,
            "onboarding_status": "onboarding_completed", "terminated": false, "terminations": [],
            "current_employment_status": "full_time", "historical": false, "version": "v1",
        });
        apply(&mut row, fields);
        company.employees.insert(uuid.clone(), row);
        if event {
            company.event("employee.created", &uuid);
        }
        uuid
    }

    /// Hires someone: `employee.created`.
    pub async fn hire(&self, fields: Value) -> String {
        let uuid = self.add(fields, true);
        self.flush().await;
        uuid
    }

    /// Changes fields: `employee.updated`.
    pub async fn change(&self, uuid: &str, fields: Value) -> bool {
        {
            let mut company = self.company();
            let Some(row) = company.employees.get_mut(uuid) else {
                return false;
            };
            apply(row, fields);
            company.event("employee.updated", uuid);
        }
        self.flush().await;
        true
    }

    /// A termination whose last day worked is `date`: `employee.terminated`, and `employee.terminated_effective`
    /// at once when the date is past.
    pub async fn terminate(&self, uuid: &str, date: NaiveDate) -> bool {
        {
            let mut company = self.company();
            let Some(row) = company.employees.get_mut(uuid) else {
                return false;
            };
            let effective = date < Utc::now().date_naive();
            row["terminated"] = json!(true);
            let termination = json!({ "uuid": format!("t-{uuid}-{}", date), "effective_date": date.to_string(),
                                      "active": effective, "cancelable": !effective });
            row["terminations"].as_array_mut().expect("an array").push(termination);
            company.event("employee.terminated", uuid);
            if effective {
                company.event("employee.terminated_effective", uuid);
            }
        }
        self.flush().await;
        true
    }

    /// A rehire starting on `date` (taken to be in effect at once): `employee.rehired`, `employee.rehire_effective`.
    pub async fn rehire(&self, uuid: &str, date: NaiveDate) -> bool {
        {
            let mut company = self.company();
            let Some(row) = company.employees.get_mut(uuid) else {
                return false;
            };
            row["terminated"] = json!(false);
            row["hired_at"] = json!(date.to_string());
            company.event("employee.rehired", uuid);
            company.event("employee.rehire_effective", uuid);
        }
        self.flush().await;
        true
    }

    pub async fn delete(&self, uuid: &str) -> bool {
        {
            let mut company = self.company();
            if company.employees.remove(uuid).is_none() {
                return false;
            }
            company.event("employee.deleted", uuid);
        }
        self.flush().await;
        true
    }

    /// Registers the webhook URL and sends it the verification token, as creating a subscription does; returns
    /// the receiver's status.
    pub async fn subscribe(&self, url: &str) -> u16 {
        let token = {
            let mut company = self.company();
            company.webhook = Some(url.to_owned());
            company.verified = false;
            company.verification_token.clone()
        };
        let body = json!({ "verification_token": token }).to_string();
        let sent = self.http.post(url).header("content-type", "application/json").body(body).send().await;
        sent.map(|r| r.status().as_u16()).unwrap_or(0)
    }

    /// Sends events not yet delivered, signed, to a verified subscription.
    async fn flush(&self) {
        let (url, token, bodies) = {
            let mut company = self.company();
            let Some(url) = company.webhook.clone().filter(|_| company.verified) else {
                return;
            };
            let sent = company.deliveries.len();
            let bodies: Vec<String> =
                company.events[sent.min(company.events.len())..].iter().map(Value::to_string).collect();
            // Mark them taken (status filled in below).
            let token = company.verification_token.clone();
            for body in &bodies {
                company.deliveries.push((body.clone(), sign(&token, body.as_bytes()), 0));
            }
            (url, token, bodies)
        };
        for body in bodies {
            let signature = sign(&token, body.as_bytes());
            let status = self.post(&url, &body, &signature).await;
            if let Some(entry) = self.company().deliveries.iter_mut().rev().find(|(b, _, _)| *b == body) {
                entry.2 = status;
            }
        }
    }

    /// Sends a body with a signature; returns the receiver's status, or 0.
    pub async fn post(&self, url: &str, body: &str, signature: &str) -> u16 {
        let mut request = self.http.post(url).header("content-type", "application/json").body(body.to_owned());
        if !signature.is_empty() {
            request = request.header("x-gusto-signature", signature);
        }
        request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

/// The small sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "first_name": p.first, "last_name": p.last,
                    "work_email": format!("{}@acme.example", p.first.to_lowercase()), "title": p.title,
                    "department": p.department, "hired_at": p.start.to_string(), "city": p.city })
        })
        .collect()
}

/// Hex HMAC-SHA256 of the body, keyed with the subscription's verification token.
pub fn sign(token: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Company {
    fn event(&mut self, kind: &str, uuid: &str) {
        let n = self.events.len() + 1;
        let event = json!({
            "uuid": format!("03ffbf0c-48a9-4f1c-932a-{n:012}"), "event_type": kind, "resource_type": "Company",
            "resource_uuid": COMPANY_UUID, "entity_type": "Employee", "entity_uuid": uuid,
            "timestamp": Utc::now().timestamp(),
        });
        self.events.push(event);
        // Events made before a subscription is verified are not pushed (the feed still has them).
        if !self.verified || self.webhook.is_none() {
            let len = self.events.len();
            while self.deliveries.len() < len {
                self.deliveries.push((String::new(), String::new(), 0));
            }
        }
    }
}

fn apply(row: &mut Value, fields: Value) {
    let Value::Object(fields) = fields else { return };
    for (name, value) in fields {
        match name.as_str() {
            "street_1" | "street_2" | "city" | "state" | "zip" | "country" => {
                if row.get("current_home_address").is_none_or(Value::is_null) {
                    row["current_home_address"] = json!({ "active": true });
                }
                row["current_home_address"][&name] = value;
            }
            // Never null in Gusto's Employee: an unset title is no title, and both names are always there (a
            // null one leaves the name as it was).
            "title" if value.is_null() => {
                if let Some(row) = row.as_object_mut() {
                    row.remove("title");
                }
            }
            "first_name" | "last_name" if value.is_null() => {}
            "hired_at" => {
                let ahead = value.as_str().is_some_and(|d| d > Utc::now().date_naive().to_string().as_str());
                row["onboarded"] = json!(!ahead);
                row["onboarding_status"] =
                    json!(if ahead { "admin_onboarding_incomplete" } else { "onboarding_completed" });
                row["hired_at"] = value.clone();
                row["jobs"] = json!([{ "uuid": "j1", "title": row["title"], "hire_date": value, "primary": true }]);
            }
            _ => row[&name] = value,
        }
    }
}

fn refusal(fake: &FakeGusto, headers: &HeaderMap, scope: Scope) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| {
        let bearer = bearer(headers);
        let company = fake.company();
        let valid =
            bearer.and_then(|t| company.tokens.get(t)).is_some_and(|(s, until)| *s == scope && *until > Utc::now());
        (!valid).then(|| {
            let body =
                json!({ "errors": [{ "error_key": "base", "category": "invalid_token", "message": "Unauthorized" }] });
            Refusal::Answer((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
        })
    })
}

/// An error as Gusto's description gives them (Not-Found-Error-Object, Unprocessable-Entity-Error-Object): a list
/// of `{error_key, category, message}`.
fn gusto_error(status: StatusCode, key: &str, category: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "error_key": key, "category": category, "message": message }] });
    (status, axum::Json(body)).into_response()
}

async fn token(State(fake): State<FakeGusto>, axum::Json(request): axum::Json<HashMap<String, String>>) -> Response {
    if let Some(refused) = fake.sandbox.fault() {
        return refused.into_response().await;
    }
    let mut company = fake.company();
    let client_ok = request.get("client_id") == Some(&company.client_id)
        && request.get("client_secret") == Some(&company.client_secret);
    if !client_ok {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_client" }))).into_response();
    }
    let now = Utc::now();
    let access = format!("gusto-access-{}-{}", company.tokens.len() + 1, now.timestamp_nanos_opt().unwrap_or_default());
    let lifetime = company.lifetime;
    match request.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            if request.get("refresh_token") != Some(&company.refresh_token) {
                // Spent (single use) or never issued.
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_grant" }))).into_response();
            }
            company.grants += 1;
            let rotated = format!("gusto-refresh-{}", company.grants);
            let spent = std::mem::replace(&mut company.refresh_token, rotated.clone());
            company.spent.push(spent);
            company.tokens.insert(access.clone(), (Scope::Company, now + chrono::Duration::seconds(lifetime)));
            axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": lifetime,
                               "created_at": now.timestamp(), "refresh_token": rotated, "scope": "employees:read" }))
            .into_response()
        }
        Some("system_access") => {
            company.tokens.insert(access.clone(), (Scope::System, now + chrono::Duration::seconds(lifetime)));
            axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": lifetime,
                               "created_at": now.timestamp(), "scope": "events:read webhook_subscriptions:write" }))
            .into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "unsupported_grant_type" }))).into_response(),
    }
}

async fn employees(
    State(fake): State<FakeGusto>,
    headers: HeaderMap,
    Path(company_uuid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, Scope::Company) {
        return refused.into_response().await;
    }
    if company_uuid != COMPANY_UUID {
        // The token's company is the only one it can see: any other is not found (the description lists 404).
        return gusto_error(StatusCode::NOT_FOUND, "request", "not_found", "The requested resource was not found.");
    }
    let company = fake.company();
    let wanted: Option<Vec<&str>> = query.get("uuids").map(|u| u.split(',').collect());
    // The home address only when asked for with `include=current_home_address`.
    let address = query.get("include").is_some_and(|i| i.split(',').any(|i| i == "current_home_address"));
    let rows: Vec<Value> = company
        .employees
        .iter()
        .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w.contains(&k.as_str())))
        .map(|(_, v)| {
            let mut row = v.clone();
            if let Some(row) = row.as_object_mut().filter(|_| !address) {
                row.remove("current_home_address");
            }
            row
        })
        .collect();
    let paged = query.contains_key("page") || query.contains_key("per");
    if !paged {
        return axum::Json(rows).into_response();
    }
    let per: usize = query.get("per").and_then(|p| p.parse().ok()).unwrap_or(25).clamp(1, 100);
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let total_pages = rows.len().div_ceil(per).max(1);
    let body: Vec<Value> = rows.iter().skip((page - 1) * per).take(per).cloned().collect();
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    for (name, value) in
        [("x-page", page), ("x-per-page", per), ("x-total-pages", total_pages), ("x-total-count", rows.len())]
    {
        headers.insert(name, HeaderValue::from(value));
    }
    response
}

async fn events(
    State(fake): State<FakeGusto>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, Scope::System) {
        return refused.into_response().await;
    }
    let company = fake.company();
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25).clamp(1, 100);
    let mut matching: Vec<&Value> = company
        .events
        .iter()
        .filter(|e| query.get("resource_uuid").is_none_or(|r| e["resource_uuid"] == r.as_str()))
        .filter(|e| match query.get("event_type").map(String::as_str) {
            None => true,
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => e["event_type"].as_str().is_some_and(|t| t.starts_with(prefix)),
                None => e["event_type"] == pattern,
            },
        })
        .collect();
    if query.get("sort_order").map(String::as_str) == Some("desc") {
        matching.reverse();
    }
    let start = match query.get("starting_after_uuid") {
        Some(after) => match matching.iter().position(|e| e["uuid"] == after.as_str()) {
            Some(index) => index + 1,
            None => {
                let message = "No event with this uuid.";
                return gusto_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "starting_after_uuid",
                    "invalid_attribute_value",
                    message,
                );
            }
        },
        None => 0,
    };
    let page: Vec<Value> = matching.into_iter().skip(start).take(limit).cloned().collect();
    axum::Json(page).into_response()
}

#[derive(Deserialize)]
struct Verify {
    verification_token: String,
}

async fn verify(
    State(fake): State<FakeGusto>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    axum::Json(body): axum::Json<Verify>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, Scope::System) {
        return refused.into_response().await;
    }
    let mut company = fake.company();
    // The subscription exists once a URL is registered (creating it names one).
    let Some(url) = company.webhook.clone().filter(|_| uuid == SUBSCRIPTION_UUID) else {
        return gusto_error(StatusCode::NOT_FOUND, "request", "not_found", "The requested resource was not found.");
    };
    if body.verification_token != company.verification_token {
        let message = "The verification token is not this subscription's.";
        return gusto_error(StatusCode::UNPROCESSABLE_ENTITY, "verification_token", "invalid_attribute_value", message);
    }
    company.verified = true;
    axum::Json(json!({ "uuid": uuid, "url": url, "status": "verified",
                       "subscription_types": ["Employee"] }))
    .into_response()
}

async fn sandbox_list(State(fake): State<FakeGusto>) -> Response {
    let all: Vec<Value> = fake.company().employees.values().cloned().collect();
    axum::Json(all).into_response()
}

async fn sandbox_hire(State(fake): State<FakeGusto>, axum::Json(fields): axum::Json<Value>) -> Response {
    // Gusto's own employee creation requires both names.
    if fields.get("first_name").and_then(Value::as_str).is_none()
        || fields.get("last_name").and_then(Value::as_str).is_none()
    {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least first_name and last_name").into_response();
    }
    let uuid = fake.hire(fields).await;
    (StatusCode::CREATED, axum::Json(json!({ "uuid": uuid }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakeGusto>,
    Path(uuid): Path<String>,
    axum::Json(fields): axum::Json<Value>,
) -> Response {
    found(fake.change(&uuid, fields).await)
}

async fn sandbox_delete(State(fake): State<FakeGusto>, Path(uuid): Path<String>) -> Response {
    found(fake.delete(&uuid).await)
}

async fn sandbox_terminate(
    State(fake): State<FakeGusto>,
    Path(uuid): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive() - chrono::Duration::days(1));
    found(fake.terminate(&uuid, date).await)
}

async fn sandbox_rehire(
    State(fake): State<FakeGusto>,
    Path(uuid): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.rehire(&uuid, date).await)
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: String,
}

async fn sandbox_webhook(State(fake): State<FakeGusto>, axum::Json(target): axum::Json<WebhookTarget>) -> Response {
    let status = fake.subscribe(&target.url).await;
    axum::Json(json!({ "verification_answer": status })).into_response()
}

impl Sandboxed for FakeGusto {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn stats(&self) -> Value {
        let company = self.company();
        json!({ "refresh_grants": company.grants, "headcount": company.employees.len(), "verified": company.verified })
    }
}

/// Gusto's published description (`tests/contracts/gusto`).
fn contract() -> &'static Contract {
    static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
    CONTRACT.get_or_init(|| {
        Contract::load("Gusto", &[GUSTO_OPENAPI]).amend(
            GUSTO_OPENAPI,
            "/components/schemas/Authentication",
            "POST /oauth/token answers `Authentication`, a `oneOf` of Create-Token-Authentication and \
             Refresh-Token-Authentication, which is Create-Token-Authentication with `refresh_token` and `scope` \
             added (allOf, no additionalProperties): every token matches both, the schema's own two x-examples \
             included, so `oneOf` refuses them all. Read as `anyOf`: either form",
            one_of_as_any_of,
        )
    })
}

/// The vendored description's file (under `tests/contracts/`).
const GUSTO_OPENAPI: &str = "gusto/gusto-openapi.yaml";

fn one_of_as_any_of(schema: &mut Value) {
    if let Some(schema) = schema.as_object_mut()
        && let Some(branches) = schema.remove("oneOf")
    {
        schema.insert("anyOf".into(), branches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contracted;

    async fn fake() -> FakeGusto {
        let people = vec![json!({ "first_name": "Ada", "last_name": "Lovelace", "city": "London" })];
        FakeGusto::start("127.0.0.1:0".parse().unwrap(), "client", "secret", "refresh-0", people).await.unwrap()
    }

    async fn token(fake: &FakeGusto, grant: Value) -> reqwest::Response {
        let mut body = json!({ "client_id": "client", "client_secret": "secret" });
        body.as_object_mut().unwrap().extend(grant.as_object().unwrap().clone());
        fake.http.post(format!("{}/oauth/token", fake.base_url)).json(&body).send().await.unwrap()
    }

    async fn bearer(fake: &FakeGusto, grant: Value) -> String {
        let answer: Value = token(fake, grant).await.json().await.unwrap();
        answer["access_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn both_token_answers_hold_to_the_description() {
        let fake = fake().await;
        // The published schema takes neither (its `oneOf` branches overlap); the amended one takes both.
        let refreshed = token(&fake, json!({ "grant_type": "refresh_token", "refresh_token": "refresh-0" })).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        let system = token(&fake, json!({ "grant_type": "system_access" })).await;
        assert_eq!(system.status(), StatusCode::OK);
        assert_eq!(fake.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn employees_are_listed_as_described_with_the_address_only_when_included() {
        let fake = fake().await;
        let bearer = bearer(&fake, json!({ "grant_type": "refresh_token", "refresh_token": "refresh-0" })).await;
        let url = format!("{}/v1/companies/{COMPANY_UUID}/employees", fake.base_url);
        let plain: Value = fake.http.get(&url).bearer_auth(&bearer).send().await.unwrap().json().await.unwrap();
        assert!(plain[0].get("current_home_address").is_none(), "{plain}");
        assert!(plain[0].get("title").is_none(), "no title is no `title`, never null: {plain}");
        let included: Value = fake
            .http
            .get(&url)
            .query(&[("include", "current_home_address")])
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(included[0]["current_home_address"]["city"], "London");
        // Another company is not found, as listed for the operation.
        let other = format!("{}/v1/companies/00000000-0000-4000-8000-000000000000/employees", fake.base_url);
        let answer = fake.http.get(&other).bearer_auth(&bearer).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        assert_eq!(fake.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn refusals_of_the_feed_and_the_verification_have_gustos_error_shape() {
        let fake = fake().await;
        let bearer = bearer(&fake, json!({ "grant_type": "system_access" })).await;
        let feed = fake
            .http
            .get(format!("{}/v1/events", fake.base_url))
            .query(&[("starting_after_uuid", "no-such-event")])
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(feed.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refusal: Value = feed.json().await.unwrap();
        assert_eq!(refusal["errors"][0]["error_key"], "starting_after_uuid", "{refusal}");
        let verify = |uuid: &str, token: &str| {
            fake.http
                .put(format!("{}/v1/webhook_subscriptions/{uuid}/verify", fake.base_url))
                .json(&json!({ "verification_token": token }))
                .bearer_auth(&bearer)
                .send()
        };
        // No subscription before a URL is registered, and none by another uuid.
        let none_yet = verify(SUBSCRIPTION_UUID, &fake.verification_token()).await.unwrap();
        assert_eq!(none_yet.status(), StatusCode::NOT_FOUND);
        fake.subscribe("http://127.0.0.1:9/webhooks/gusto").await;
        let unknown = verify("00000000-0000-4000-8000-000000000000", &fake.verification_token()).await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let wrong_token = verify(SUBSCRIPTION_UUID, "not-the-token").await.unwrap();
        assert_eq!(wrong_token.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let verified = verify(SUBSCRIPTION_UUID, &fake.verification_token()).await.unwrap();
        assert_eq!(verified.status(), StatusCode::OK, "{:?}", fake.violations());
        assert!(fake.verified());
        assert_eq!(fake.violations(), Vec::<String>::new());
    }
}
