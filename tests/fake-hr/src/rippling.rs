//! A fake Rippling (the current REST API) held to Rippling's published description (`tests/contracts/rippling`):
//!
//! - `GET /workers/` with `Authorization: Bearer <API key>`: `cursor`, `expand` (`user`, `department`),
//!   `order_by` (`id`, `updated_at`), `filter` (`status eq '…'`, `work_email eq '…'`, `updated_at gt|ge <time>`:
//!   text quoted, a time bare, a quoted time refused with a 400 as reported of Rippling) → `{"__meta":
//!   {"redacted_fields": [{"name", "reason"}]}, "results": [...], "next_link": "<absolute URL of /workers/
//!   carrying the cursor and the query>"}`, `next_link` left out on the last page (the description's `next_link`
//!   is a `uri`, never null). No `limit`: the description names none; pages are of 50. Cursors are keyset
//!   positions, so a worker written during a listing never shifts the pages.
//! - `GET /workers/{id}/` (same `expand`), 404 for someone Rippling no longer has.
//! - The paths are the ones the current API description names, with their trailing slash. The same path without
//!   it is answered `301 Moved Permanently` to the slash form, query kept, before any auth check (as a framework
//!   that appends slashes does; that the live API serves the bare form at all is seen in production clients that
//!   call it, whether directly or by a redirect is not documented). Redirects are counted (`redirects` in the
//!   stats), so a test sees a client that calls the undocumented form; they are not held to the description.
//!
//! Workers keep `status` (one of the description's: `ACCEPTED` before a future start, `ACTIVE`, `TERMINATED` from
//! the last day on), `start_date`, `end_date`, `termination_details`; names, phones and addresses sit on the
//! expanded `user`. A field with no value is left out, as the description has no nullable field. A redaction
//! (sandbox) hides fields from every answer and names them in `__meta.redacted_fields`, as a token without the scope
//! for them sees. No webhooks (Rippling's are for partner apps only). On a test's demand
//! ([`FakeRippling::give_relative_links`]) `next_link` is relative, as a client has reported seeing.
//!
//! Sandbox controls, without auth: `GET|POST /sandbox/workers` (hire: `first_name`, `last_name`, `work_email`,
//! `personal_email`, `phone`, `title`, `department`, `start_date`, `manager_id`, `street`, `city`),
//! `PATCH /sandbox/workers/{id}`, `POST /sandbox/workers/{id}/terminate` (`{"date"}`),
//! `POST /sandbox/workers/{id}/rehire` (`{"start_date"}`), `DELETE /sandbox/workers/{id}`,
//! `PUT /sandbox/redactions` (`["title", …]`), `POST /sandbox/faults`, `GET /sandbox/stats`.

use crate::contract::{Contract, InjectedFault};
use crate::faults::{Dated, Fault, Refusal, bearer, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

struct Worker {
    record: Value,
    user: Value,
    department: Option<String>,
    updated_at: DateTime<Utc>,
}

struct Company {
    api_key: String,
    workers: BTreeMap<String, Worker>,
    departments: Vec<String>,
    next_id: u64,
    redactions: Vec<String>,
    /// Whether `next_link` is given as a path and query, as a client has reported, instead of the absolute URL
    /// the description names.
    relative_links: bool,
}

/// Workers per page (Rippling chooses; the description names no `limit`, and its default is not documented).
const PAGE_SIZE: usize = 50;

#[derive(Clone)]
pub struct FakeRippling {
    company: Arc<Mutex<Company>>,
    base_url: String,
    /// Counts listing pages served (`GET /workers/`) and requests for a path without its trailing slash, answered
    /// with a redirect to it, too.
    sandbox: Sandbox,
}

/// The names the sandbox counts pages and redirects under (and the stats show them by).
const PAGES: &str = "pages";
const REDIRECTS: &str = "redirects";

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl FakeRippling {
    pub async fn start(addr: SocketAddr, api_key: &str, people: Vec<Value>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                api_key: api_key.to_owned(),
                workers: BTreeMap::new(),
                departments: Vec::new(),
                next_id: 1,
                redactions: Vec::new(),
                relative_links: false,
            })),
            base_url,
            sandbox: Sandbox::default(),
        };
        let seeded = Utc::now() - chrono::Duration::days(3);
        for flat in people {
            fake.add(flat, seeded);
        }
        let api = Router::new()
            .route("/workers/", get(workers))
            .route("/workers/{id}/", get(worker))
            .route("/sandbox/workers", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/workers/{id}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/workers/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/workers/{id}/rehire", post(sandbox_rehire))
            .route("/sandbox/redactions", put(sandbox_redactions))
            .merge(sandbox::routes())
            .with_state(fake.clone());
        // The bare paths are not in the description: their redirect is the fake's own, counted, not checked.
        let bare = Router::new()
            .route("/workers", get(to_slash))
            .route("/workers/{id}", get(to_slash))
            .with_state(fake.clone());
        sandbox::serve(listener, contract().enforce(api, fake.sandbox.violations().clone()).merge(bare));
        Ok(fake)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What an admin sends to `POST /v1/connections` to connect IT Hub to this fake.
    pub fn connection_request(&self) -> Value {
        json!({ "provider": "rippling", "settings": { "base_url": self.base_url },
                "credentials": { "api_token": self.company().api_key } })
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        sandbox::lock(&self.company)
    }

    pub fn ids(&self) -> Vec<String> {
        self.company().workers.keys().cloned().collect()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// Listing pages served so far.
    pub fn pages_served(&self) -> u64 {
        self.sandbox.counted(PAGES)
    }

    /// Requests answered with a redirect to the path's documented (trailing-slash) form so far.
    pub fn redirects_served(&self) -> u64 {
        self.sandbox.counted(REDIRECTS)
    }

    /// From now on, `next_link` is a path and query relative to the API (`/workers/?cursor=…`), as a client has
    /// reported seeing, not the absolute URL the description names; those pages are not held to it.
    pub fn give_relative_links(&self) {
        self.company().relative_links = true;
    }

    /// Worker fields hidden from every answer from now on (`title`, `user.phone_numbers`, …).
    pub fn redact(&self, fields: &[&str]) {
        self.company().redactions = fields.iter().map(|f| (*f).to_owned()).collect();
    }

    fn add(&self, flat: Value, at: DateTime<Utc>) -> String {
        let mut company = self.company();
        let id = format!("wkr_{:06}", company.next_id);
        let user_id = format!("usr_{:06}", company.next_id);
        company.next_id += 1;
        let today = Utc::now().date_naive().to_string();
        let record = json!({
            "id": id, "created_at": stamp(at), "updated_at": stamp(at), "user_id": user_id, "is_manager": false,
            "manager_id": null, "legal_entity_id": "le_01", "country": "US", "number": company.next_id,
            "department_id": null, "title": null, "start_date": today, "end_date": null, "work_email": null,
            "personal_email": null, "status": "ACTIVE", "employment_type_id": "et_01", "termination_details": null,
            "location": { "type": "WORK", "work_location_id": "wl_01" },
        });
        let user = json!({ "id": user_id, "created_at": stamp(at), "updated_at": stamp(at), "active": true,
                           "name": {}, "emails": [], "phone_numbers": [], "addresses": [] });
        let mut worker = Worker { record, user, department: None, updated_at: at };
        company.apply(&mut worker, flat);
        company.workers.insert(id.clone(), worker);
        id
    }

    pub fn hire(&self, flat: Value) -> String {
        self.add(flat, Utc::now())
    }

    /// Changes worker or user fields (sandbox names); the worker's `updated_at` moves either way.
    pub fn change(&self, id: &str, flat: Value) -> bool {
        let mut company = self.company();
        let Some(mut worker) = company.workers.remove(id) else {
            return false;
        };
        company.apply(&mut worker, flat);
        worker.updated_at = Utc::now();
        worker.record["updated_at"] = json!(stamp(worker.updated_at));
        company.workers.insert(id.to_owned(), worker);
        true
    }

    /// Records a termination with `date` as the last day: `TERMINATED` once the day has passed.
    pub fn terminate(&self, id: &str, date: NaiveDate) -> bool {
        let mut change = json!({ "end_date": date.to_string(),
                                 "termination_details": { "type": "VOLUNTARY", "reason": "RESIGNATION" } });
        if date <= Utc::now().date_naive() {
            change["status"] = json!("TERMINATED");
        }
        self.change(id, change)
    }

    /// A rehire on the same worker: active again (pre-hire until a future start), the end date cleared.
    pub fn rehire(&self, id: &str, start: NaiveDate) -> bool {
        let status = if start > Utc::now().date_naive() { "ACCEPTED" } else { "ACTIVE" };
        self.change(
            id,
            json!({ "start_date": start.to_string(), "end_date": null, "termination_details": null,
                                "status": status }),
        )
    }

    /// The worker disappears from Rippling (deleted, or moved out of the token's reach).
    pub fn delete(&self, id: &str) -> bool {
        self.company().workers.remove(id).is_some()
    }
}

/// The sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "first_name": p.first, "last_name": p.last,
                    "work_email": format!("{}@acme.example", p.first.to_lowercase()), "title": p.title,
                    "department": p.department, "start_date": p.start.to_string(), "street": "1 Main St",
                    "city": p.city })
        })
        .collect()
}

impl Company {
    fn department_id(&mut self, name: &str) -> String {
        let index = match self.departments.iter().position(|d| d == name) {
            Some(index) => index,
            None => {
                self.departments.push(name.to_owned());
                self.departments.len() - 1
            }
        };
        format!("dep_{:04}", index + 1)
    }

    fn apply(&mut self, worker: &mut Worker, flat: Value) {
        let Value::Object(flat) = flat else { return };
        for (name, value) in flat {
            match name.as_str() {
                "first_name" => worker.user["name"]["given_name"] = value,
                "last_name" => worker.user["name"]["family_name"] = value,
                "phone" => {
                    worker.user["phone_numbers"] = json!([{ "value": value, "type": "MOBILE", "display": value }])
                }
                "street" | "city" => {
                    let mut home = worker.user["addresses"].get(0).cloned().unwrap_or(json!({ "type": "HOME" }));
                    home[if name == "street" { "street_address" } else { "locality" }] = value;
                    worker.user["addresses"] = json!([home]);
                }
                "department" => {
                    worker.record["department_id"] = json!(value.as_str().map(|d| self.department_id(d)));
                    worker.department = value.as_str().map(str::to_owned);
                }
                "title"
                | "work_email"
                | "personal_email"
                | "start_date"
                | "end_date"
                | "manager_id"
                | "status"
                | "termination_details" => worker.record[&name] = value,
                _ => {}
            }
        }
        let today = Utc::now().date_naive().to_string();
        let ahead = worker.record["start_date"].as_str().is_some_and(|d| d > today.as_str());
        if ahead && worker.record["status"] == "ACTIVE" {
            worker.record["status"] = json!("ACCEPTED");
        }
        let name = &worker.user["name"];
        let display =
            format!("{} {}", name["given_name"].as_str().unwrap_or(""), name["family_name"].as_str().unwrap_or(""));
        // The description has the display name on the user and the full name as the name's `formatted`.
        worker.user["display_name"] = json!(display.trim());
        worker.user["name"]["formatted"] = json!(display.trim());
        worker.user["emails"] = json!([{ "value": worker.record["work_email"], "type": "WORK" }]);
    }

    /// A worker as the API shows it: `expand` adds the user and department, redactions hide fields.
    fn render(&self, worker: &Worker, expand: &[&str]) -> Value {
        let mut out = worker.record.clone();
        if expand.contains(&"user") {
            out["user"] = worker.user.clone();
        }
        if expand.contains(&"department") {
            out["department"] = match (&worker.department, worker.record["department_id"].as_str()) {
                (Some(name), Some(id)) => {
                    let created = stamp(DateTime::UNIX_EPOCH);
                    json!({ "id": id, "created_at": created, "updated_at": created, "name": name })
                }
                _ => Value::Null,
            };
        }
        without_nulls(&mut out);
        for field in &self.redactions {
            match field.split_once('.') {
                Some((parent, child)) => {
                    if let Some(o) = out.get_mut(parent).and_then(Value::as_object_mut) {
                        o.remove(child);
                    }
                }
                None => {
                    if let Some(o) = out.as_object_mut() {
                        o.remove(field);
                    }
                }
            }
        }
        out
    }

    fn meta(&self) -> Value {
        let redacted: Vec<Value> = self
            .redactions
            .iter()
            .map(|name| json!({ "name": name, "reason": "The API token does not have the scope to read this field" }))
            .collect();
        json!({ "redacted_fields": redacted })
    }
}

/// A value with its null fields left out, as Rippling's description has no nullable field.
fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, v| !v.is_null());
            fields.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

fn refusal(fake: &FakeRippling, headers: &HeaderMap) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| {
        let bearer = bearer(headers);
        (bearer != Some(fake.company().api_key.as_str())).then(|| {
            let body =
                json!({ "type": "unauthorized", "title": "Invalid token", "detail": "The API token is invalid" });
            Refusal::Answer((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
        })
    })
}

fn bad_request(detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "type": "validation_error", "title": "Bad Request",
                                                 "detail": detail })),
    )
        .into_response()
}

/// One term of the filter syntax the fake reads: `field op 'text'`, or `field op <time>` for a time field, whose
/// value Rippling refuses quoted.
fn term(filter: &str) -> Result<(String, String, String), &'static str> {
    let malformed = "filter must read: field op 'text', or field op <time> for a time";
    let (field, rest) = filter.trim().split_once(' ').ok_or(malformed)?;
    let (op, value) = rest.trim().split_once(' ').ok_or(malformed)?;
    let value = value.trim();
    let quoted = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''));
    let value = match (field, quoted) {
        ("updated_at" | "created_at", Some(_)) => return Err("a time in a filter is not quoted"),
        ("updated_at" | "created_at", None) => value,
        (_, Some(text)) => text,
        (_, None) => return Err(malformed),
    };
    Ok((field.to_owned(), op.to_owned(), value.to_owned()))
}

async fn workers(
    State(fake): State<FakeRippling>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    // The page size is Rippling's: the description names no `limit`.
    let limit = PAGE_SIZE;
    let by_updated = match query.get("order_by").map(String::as_str) {
        None | Some("id") => false,
        Some("updated_at") => true,
        Some(_) => return bad_request("order_by must be id, created_at or updated_at"),
    };
    let filter = match query.get("filter").map(|f| term(f)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(problem)) => return bad_request(problem),
    };
    let since = match &filter {
        Some((field, op, value)) if field == "updated_at" && (op == "gt" || op == "ge") => {
            match DateTime::parse_from_rfc3339(value) {
                Ok(t) => Some((t.with_timezone(&Utc), op == "ge")),
                Err(_) => return bad_request("updated_at takes an ISO 8601 time"),
            }
        }
        Some((field, op, _)) if !(op == "eq" && (field == "status" || field == "work_email")) => {
            return bad_request("unsupported filter");
        }
        _ => None,
    };
    let expand: Vec<String> =
        query.get("expand").map(|e| e.split(',').map(str::to_owned).collect()).unwrap_or_default();
    let expand: Vec<&str> = expand.iter().map(String::as_str).collect();
    let key = |w: &Worker| {
        let id = w.record["id"].as_str().unwrap_or_default();
        if by_updated { format!("{}|{id}", stamp(w.updated_at)) } else { id.to_owned() }
    };
    let after = query.get("cursor").cloned();
    let company = fake.company();
    fake.sandbox.count(PAGES);
    let mut matching: Vec<(String, &Worker)> = company
        .workers
        .values()
        .filter(|w| match &filter {
            Some((field, _, value)) if field == "status" || field == "work_email" => w.record[field] == value.as_str(),
            _ => true,
        })
        .filter(|w| since.is_none_or(|(t, inclusive)| w.updated_at > t || (inclusive && w.updated_at == t)))
        .map(|w| (key(w), w))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let rest: Vec<&(String, &Worker)> = matching.iter().filter(|(k, _)| after.as_ref().is_none_or(|a| k > a)).collect();
    let results: Vec<Value> = rest.iter().take(limit).map(|(_, w)| company.render(w, &expand)).collect();
    let next_link = (rest.len() > limit).then(|| {
        let mut url = reqwest::Url::parse(&format!("{}/workers/", fake.base_url)).expect("a URL");
        {
            let mut pairs = url.query_pairs_mut();
            for name in ["expand", "order_by", "filter"] {
                if let Some(value) = query.get(name) {
                    pairs.append_pair(name, value);
                }
            }
            pairs.append_pair("cursor", &rest[limit - 1].0);
        }
        match company.relative_links {
            true => format!("{}?{}", url.path(), url.query().unwrap_or_default()),
            false => url.to_string(),
        }
    });
    let mut page = json!({ "__meta": company.meta(), "results": results });
    if let Some(link) = next_link {
        page["next_link"] = json!(link);
    }
    let mut response = axum::Json(page).into_response();
    if company.relative_links {
        // Off the description (its `next_link` is a `uri`), on a test's demand: not held to it.
        response.extensions_mut().insert(InjectedFault);
    }
    response
}

/// A documented path asked for without its trailing slash: redirected to the slash form, query kept.
async fn to_slash(State(fake): State<FakeRippling>, uri: axum::http::Uri) -> Response {
    fake.sandbox.count(REDIRECTS);
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let location = format!("{}/{query}", uri.path());
    (StatusCode::MOVED_PERMANENTLY, [(axum::http::header::LOCATION, location)]).into_response()
}

async fn worker(
    State(fake): State<FakeRippling>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let expand: Vec<&str> = query.get("expand").map(|e| e.split(',').collect()).unwrap_or_default();
    let company = fake.company();
    match company.workers.get(&id) {
        Some(w) => {
            let mut out = company.render(w, &expand);
            out["__meta"] = company.meta();
            axum::Json(out).into_response()
        }
        None => {
            (StatusCode::NOT_FOUND, axum::Json(json!({ "type": "not_found", "title": "Not Found" }))).into_response()
        }
    }
}

async fn sandbox_list(State(fake): State<FakeRippling>) -> Response {
    let company = fake.company();
    let all: Vec<Value> = company.workers.values().map(|w| company.render(w, &["user", "department"])).collect();
    axum::Json(json!({ "workers": all })).into_response()
}

async fn sandbox_hire(State(fake): State<FakeRippling>, axum::Json(flat): axum::Json<Value>) -> Response {
    if flat.get("first_name").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least first_name").into_response();
    }
    let id = fake.hire(flat);
    (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakeRippling>,
    Path(id): Path<String>,
    axum::Json(flat): axum::Json<Value>,
) -> Response {
    found(fake.change(&id, flat))
}

async fn sandbox_delete(State(fake): State<FakeRippling>, Path(id): Path<String>) -> Response {
    found(fake.delete(&id))
}

async fn sandbox_terminate(
    State(fake): State<FakeRippling>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.terminate(&id, date))
}

async fn sandbox_rehire(
    State(fake): State<FakeRippling>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let start = body.and_then(|b| b.0.start_date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.rehire(&id, start))
}

async fn sandbox_redactions(State(fake): State<FakeRippling>, axum::Json(fields): axum::Json<Vec<String>>) -> Response {
    fake.company().redactions = fields;
    StatusCode::NO_CONTENT.into_response()
}

impl Sandboxed for FakeRippling {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn stats(&self) -> Value {
        json!({ PAGES: self.pages_served(), REDIRECTS: self.redirects_served(),
                "headcount": self.company().workers.len() })
    }
}

/// Rippling's published description (`tests/contracts/rippling`).
fn contract() -> &'static Contract {
    static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
    CONTRACT.get_or_init(|| Contract::load("Rippling", &["rippling/rippling.json"]))
}
