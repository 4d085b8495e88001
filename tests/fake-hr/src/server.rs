use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::contract::Contract;
use crate::faults::{Fault, Refusal, basic_user};
use crate::sandbox::{self, Sandbox, Sandboxed};

struct Person {
    fields: Map<String, Value>,
    last_changed: DateTime<Utc>,
}

/// A webhook the fake sent, kept so tests can look at it or send it again.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub body: String,
    pub timestamp: String,
    pub signature: String,
    /// The receiver's HTTP status, or 0 when it could not be reached.
    pub status: u16,
}

/// A webhook of the company: the global one (Account Settings, `id` 0) or a permissioned one made through the API.
#[derive(Clone)]
struct Webhook {
    id: u32,
    url: String,
    private_key: String,
    /// Fields whose change fires `employee.updated` (a permissioned webhook's `monitorFields`); the global webhook
    /// monitors every field.
    monitored: Option<Vec<String>>,
    events: Vec<String>,
    created: DateTime<Utc>,
}

struct Company {
    domain: String,
    api_key: String,
    people: BTreeMap<u32, Person>,
    /// People deleted from the company, and when: `employees/changed` reports them as `Deleted`.
    deleted: BTreeMap<u32, DateTime<Utc>>,
    next_id: u32,
    /// The global webhook (at most one) and the permissioned ones.
    webhooks: Vec<Webhook>,
    next_webhook: u32,
    deliveries: Vec<Delivery>,
    /// Fields of the catalogue this account's employee dataset does not have.
    absent: BTreeSet<String>,
    /// Fields the API key may not read: a dataset request naming one is refused whole (403).
    restricted: BTreeSet<String>,
    /// Every dataset page names a next one, without end (as a mock of the published description does).
    endless: bool,
}

/// A running fake BambooHR on a loopback port.
#[derive(Clone)]
pub struct FakeBamboo {
    company: Arc<Mutex<Company>>,
    sandbox: Sandbox,
    base_url: String,
    http: reqwest::Client,
}

type Shared = FakeBamboo;

impl FakeBamboo {
    /// Starts a fake on `addr` (port 0 picks a free one) for one company, seeded with `people`.
    pub async fn start(
        addr: SocketAddr,
        domain: &str,
        api_key: &str,
        people: Vec<(u32, Value)>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        // Seeded records were last changed long before the fake started, as in a company that has been on
        // BambooHR for a while.
        let seeded_at = Utc::now() - chrono::Duration::days(1);
        let next_id = people.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
        let people = people
            .into_iter()
            .map(|(id, fields)| {
                let fields = dataset_fields(fields.as_object().cloned().unwrap_or_default());
                (id, Person { fields, last_changed: seeded_at })
            })
            .collect();
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                domain: domain.to_owned(),
                api_key: api_key.to_owned(),
                people,
                deleted: BTreeMap::new(),
                next_id,
                webhooks: Vec::new(),
                next_webhook: 1,
                deliveries: Vec::new(),
                absent: BTreeSet::new(),
                restricted: BTreeSet::new(),
                endless: false,
            })),
            base_url,
            http: reqwest::Client::new(),
            sandbox: Sandbox::default(),
        };
        sandbox::serve(listener, fake.router());
        Ok(fake)
    }

    /// The host to give a connection as its base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What an admin sends to `POST /v1/connections` to connect IT Hub to this fake.
    pub fn connection_request(&self) -> Value {
        let company = self.company();
        serde_json::json!({
            "provider": "bamboohr",
            "settings": { "company_domain": company.domain, "base_url": self.base_url },
            "credentials": { "api_key": company.api_key },
        })
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        sandbox::lock(&self.company)
    }

    fn router(&self) -> Router {
        let api = Router::new()
            .route("/api/v2/datasets/employee/data", post(dataset))
            .route("/api/v1/employees/changed", get(changed))
            .route("/api/v1_2/datasets/employee/fields", get(catalog))
            .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
            .route("/api/v1/webhooks/{id}", axum::routing::delete(delete_webhook))
            .route("/sandbox/employees", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/employees/{id}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/employees/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/webhook", put(sandbox_webhook))
            .merge(sandbox::routes())
            .with_state(self.clone());
        contract().enforce(api, self.sandbox.violations().clone())
    }

    // --- sandbox operations, also callable in process --------------------------------------------------------

    /// Hires someone; returns their new id. Fires `employee.created` then `employee.updated`, as BambooHR does.
    pub async fn hire(&self, fields: Value) -> u32 {
        let id = {
            let mut company = self.company();
            let id = company.next_id;
            company.next_id += 1;
            let mut record = json!({
                "status": "Active", "employmentStatus": "Full-Time", "terminationDate": "0000-00-00",
                "hireDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
            });
            merge(&mut record, fields);
            let fields = record.as_object().cloned().unwrap_or_default();
            // A future start is a pre-hire: inactive until the day comes, as BambooHR keeps them.
            let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
            let mut fields = fields;
            if fields.get("hireDate").and_then(Value::as_str).is_some_and(|d| d > today.as_str()) {
                fields.insert("status".into(), json!("Inactive"));
            }
            company.people.insert(id, Person { fields, last_changed: Utc::now() });
            id
        };
        self.notify("employee.created", id, &[]).await;
        self.notify("employee.updated", id, &["firstName", "lastName"]).await;
        id
    }

    /// Changes fields of one person; `false` if there is no such person.
    pub async fn change(&self, id: u32, fields: Value) -> bool {
        let changed: Vec<String> = fields.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        {
            let mut company = self.company();
            let Some(person) = company.people.get_mut(&id) else {
                return false;
            };
            let mut record = Value::Object(std::mem::take(&mut person.fields));
            merge(&mut record, fields);
            person.fields = record.as_object().cloned().unwrap_or_default();
            person.last_changed = Utc::now();
        }
        let names: Vec<&str> = changed.iter().map(String::as_str).collect();
        self.notify("employee.updated", id, &names).await;
        true
    }

    /// Deletes a person outright (not a termination): they vanish from every listing, and the change list
    /// reports them as `Deleted`. Fires `employee.deleted`.
    pub async fn delete(&self, id: u32) -> bool {
        {
            let mut company = self.company();
            if company.people.remove(&id).is_none() {
                return false;
            }
            company.deleted.insert(id, Utc::now());
        }
        self.notify("employee.deleted", id, &[]).await;
        true
    }

    /// Deletes people without telling anyone (no webhook): as if they vanished from the HR system.
    pub fn vanish(&self, ids: &[u32]) {
        let mut company = self.company();
        for id in ids {
            if company.people.remove(id).is_some() {
                company.deleted.insert(*id, Utc::now());
            }
        }
    }

    /// Records a termination on `date`: the person turns Inactive once the date has passed.
    pub async fn terminate(&self, id: u32, date: NaiveDate) -> bool {
        let inactive = date <= Utc::now().date_naive();
        let mut fields = json!({
            "employmentStatus": "Terminated",
            "terminationDate": date.format("%Y-%m-%d").to_string(),
        });
        if inactive {
            fields["status"] = json!("Inactive");
        }
        self.change(id, fields).await
    }

    /// Sets up the global webhook (Account Settings → Webhooks) to send to `url`, and generates its private key
    /// as BambooHR's "Private Key → Generate" does: the key is BambooHR's, shown to the admin to paste into IT Hub.
    pub fn set_webhook(&self, url: &str) -> String {
        let private_key = issue_key(url);
        let mut company = self.company();
        company.webhooks.retain(|w| w.id != 0);
        let events = ["employee.created", "employee.updated", "employee.deleted"].map(String::from).to_vec();
        let webhook = Webhook {
            id: 0,
            url: url.to_owned(),
            private_key: private_key.clone(),
            monitored: None,
            events,
            created: Utc::now(),
        };
        company.webhooks.push(webhook);
        private_key
    }

    /// The permissioned webhooks made through the API: id, URL and monitored fields.
    pub fn registered_webhooks(&self) -> Vec<(u32, String, Vec<String>)> {
        let company = self.company();
        let made = company.webhooks.iter().filter(|w| w.id != 0);
        made.map(|w| (w.id, w.url.clone(), w.monitored.clone().unwrap_or_default())).collect()
    }

    /// The private key of the webhook sending to `url`, as BambooHR issued it (for tests that sign a delivery
    /// of their own as BambooHR would).
    pub fn webhook_key(&self, url: &str) -> Option<String> {
        self.company().webhooks.iter().find(|w| w.url == url).map(|w| w.private_key.clone())
    }

    /// Rotates the company's API key, as an admin does in BambooHR by making a new key and deleting the old one:
    /// BambooHR issues the new key (40 hex characters, as its keys are) and the old one is refused from now on.
    /// Returns the new key, which the admin then gives IT Hub.
    pub fn rotate_api_key(&self) -> String {
        use sha2::Digest;
        use std::hash::{BuildHasher, Hasher};
        let mut company = self.company();
        // Unpredictable without a random-number crate: the standard library's randomly keyed hasher, the time and
        // the old key, through SHA-256.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
        let seed = format!("{}:{}", hasher.finish(), company.api_key);
        let key = hex::encode(Sha256::digest(seed.as_bytes()))[..40].to_owned();
        company.api_key = key.clone();
        key
    }

    /// From now on every dataset page names a next page (`true`), or the listing ends again.
    pub fn set_endless(&self, endless: bool) {
        self.company().endless = endless;
    }

    /// Shapes the account: `absent` fields are not in its employee dataset, `restricted` ones the API key may not
    /// read.
    pub fn set_fields(&self, absent: &[&str], restricted: &[&str]) {
        let mut company = self.company();
        company.absent = absent.iter().map(|f| (*f).to_owned()).collect();
        company.restricted = restricted.iter().map(|f| (*f).to_owned()).collect();
    }

    /// The next `fault.count` API calls answer `fault.status`.
    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.company().deliveries.clone()
    }

    /// API calls answered so far (sandbox controls not counted).
    pub fn api_calls(&self) -> u64 {
        self.sandbox.api_calls()
    }

    /// API calls refused by an injected fault so far.
    pub fn refused_calls(&self) -> u64 {
        self.sandbox.refused_calls()
    }

    /// Dataset pages served so far.
    pub fn dataset_calls(&self) -> u64 {
        self.sandbox.counted(DATASET_CALLS)
    }

    /// How many people the company has.
    pub fn headcount(&self) -> usize {
        self.company().people.len()
    }

    /// A person's current record, as the sandbox shows it.
    pub fn record(&self, id: u32) -> Option<Value> {
        self.company().people.get(&id).map(|p| Value::Object(p.fields.clone()))
    }

    /// Signs and sends an event-based webhook to every webhook that takes the event (an update only where a
    /// monitored field changed), each signed with its own key; waits for the answers.
    async fn notify(&self, event: &str, id: u32, changed: &[&str]) {
        let changed: Vec<String> = dataset_fields(changed.iter().map(|f| ((*f).to_owned(), Value::Null)).collect())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let webhooks: Vec<Webhook> = self
            .company()
            .webhooks
            .iter()
            .filter(|w| w.events.iter().any(|e| e == event))
            .filter(|w| {
                event != "employee.updated"
                    || w.monitored.as_ref().is_none_or(|m| m.iter().any(|f| changed.contains(f)))
            })
            .cloned()
            .collect();
        for webhook in webhooks {
            let body = json!({
                "type": event,
                "timestamp": Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string(),
                "data": { "companyId": "1", "employeeId": id.to_string(), "changedFields": changed },
            })
            .to_string();
            let timestamp = Utc::now().timestamp().to_string();
            let signature = sign(&webhook.private_key, &body, &timestamp);
            let delivery = Delivery { url: webhook.url, body, timestamp, signature, status: 0 };
            let status = self.send(&delivery).await;
            self.company().deliveries.push(Delivery { status, ..delivery });
        }
    }

    /// Sends a delivery (a recorded one, to test redelivery); returns the receiver's status, or 0.
    pub async fn send(&self, delivery: &Delivery) -> u16 {
        let sent = self
            .http
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("user-agent", "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)")
            .header("x-bamboohr-timestamp", &delivery.timestamp)
            .header("x-bamboohr-signature", &delivery.signature)
            .body(delivery.body.clone())
            .send()
            .await;
        sent.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

/// Hex HMAC-SHA256 of the body followed by the timestamp, keyed with the webhook's private key.
pub fn sign(private_key: &str, body: &str, timestamp: &str) -> String {
    sign_bytes(private_key, body.as_bytes(), timestamp)
}

/// [`sign`] over any bytes (a body that is not UTF-8, say).
pub fn sign_bytes(private_key: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(private_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        target.extend(dataset_fields(fields));
    }
}

/// The sandbox takes BambooHR's v1 field names too (`jobTitle`, `department`, `workEmail`, …) and keeps every
/// record under the employee dataset's names, which is what the API serves.
fn dataset_fields(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(name, value)| {
            let name = match name.as_str() {
                "workEmail" => "email",
                "jobTitle" => "jobInformationJobTitle",
                "department" => "jobInformationDepartment",
                "address1" => "addressLineOne",
                "address2" => "addressLineTwo",
                "supervisorId" | "supervisorEId" => "supervisorEid",
                "supervisor" => "jobInformationReportsTo",
                "employmentHistoryStatus" => "employmentStatus",
                other => other,
            };
            (name.to_owned(), value)
        })
        .collect()
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(message) {
        response.headers_mut().insert("x-bamboohr-error-message", value);
    }
    response
}

/// The answer to an API call that is refused: an injected fault or a wrong API key (Basic auth with the key as
/// user name). `None` lets the call through.
fn refusal(fake: &Shared, headers: &HeaderMap) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| {
        let user = basic_user(headers).map(|(user, _)| user);
        let wrong = user.as_deref() != Some(fake.company().api_key.as_str());
        wrong.then(|| Refusal::Answer(error(StatusCode::UNAUTHORIZED, "invalid API key")))
    })
}

/// The name under which dataset pages served are counted (and shown in the stats).
const DATASET_CALLS: &str = "dataset_calls";

/// `POST /api/v2/datasets/employee/data`: the rows matching `filter`, ordered by `eeid`, `pageSize` (at most
/// 1000) to a page; `links.next` while more pages follow.
async fn dataset(State(fake): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Ok(request) = serde_json::from_slice::<DatasetRequest>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "the body must name fields");
    };
    if request.page < 1 || !(1..=1000).contains(&request.page_size) {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PAGING", "page >= 1, pageSize 1..1000");
    }
    let filter = match request.filter.as_deref().map(Filter::parse).transpose() {
        Ok(filter) => filter,
        Err(reason) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FILTER", &reason),
    };
    if let Some(order) = &request.order_by
        && order.trim() != "eeid asc"
    {
        return problem(StatusCode::BAD_REQUEST, "UE-1001", "this fake orders by eeid asc only");
    }
    let company = fake.company();
    let unknown: Vec<&String> = request.fields.iter().filter(|f| !in_catalog(&company, f)).collect();
    if let Some(field) = unknown.first() {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD", &format!("unknown field {field}"));
    }
    if let Some(filter) = &request.filter
        && let Some(absent) = company.absent.iter().find(|f| filter.contains(f.as_str()))
    {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FILTER", &format!("unknown field {absent}"));
    }
    let refused: Map<String, Value> = request
        .fields
        .iter()
        .filter(|f| company.restricted.contains(*f))
        .map(|f| (f.clone(), json!("You do not have access to this field")))
        .collect();
    if !refused.is_empty() {
        let body = json!({ "type": "about:blank", "title": "Forbidden", "status": 403,
                           "detail": "You do not have access to one or more fields", "fields": refused });
        return (StatusCode::FORBIDDEN, [("content-type", "application/problem+json")], body.to_string())
            .into_response();
    }
    fake.sandbox.count(DATASET_CALLS);
    let size = request.page_size as usize;
    let skip = (request.page as usize - 1) * size;
    let mut total = 0usize;
    let mut rows = Vec::new();
    for (id, person) in &company.people {
        let row = |name: &str| -> Value {
            match name {
                "eeid" => json!(id.to_string()),
                "lastChanged" => json!(person.last_changed.to_rfc3339_opts(SecondsFormat::Secs, true)),
                other => person.fields.get(other).cloned().unwrap_or(Value::Null),
            }
        };
        // Every value a dataset answers is text (the description's `additionalProperties: {type: string}`): an
        // empty field is "", not null.
        let text = |name: &str| -> Value {
            match row(name) {
                Value::String(s) => Value::String(s),
                Value::Null => json!(""),
                other => json!(other.to_string()),
            }
        };
        if filter.as_ref().is_some_and(|f| !f.matches(&row)) {
            continue;
        }
        if total >= skip && rows.len() < size {
            let fields: Map<String, Value> = request.fields.iter().map(|f| (f.clone(), text(f))).collect();
            rows.push(json!({ "fields": fields }));
        }
        total += 1;
    }
    let total_pages = total.div_ceil(size);
    let mut links = Map::new();
    if (request.page as usize) < total_pages || company.endless {
        links.insert("next".into(), json!(format!("{}/api/v2/datasets/employee/data", fake.base_url)));
    }
    let meta = json!({ "page": request.page, "pageSize": size, "totalPages": total_pages, "totalItems": total });
    axum::Json(json!({ "data": rows, "links": links, "meta": meta })).into_response()
}

/// The employee dataset's fields this fake serves (a few of BambooHR's 450-odd): name, label, section.
const CATALOG: &[(&str, &str, &str)] = &[
    ("eeid", "Employee ID", "Personal"),
    ("employeeNumber", "Employee #", "Personal"),
    ("firstName", "First Name", "Personal"),
    ("lastName", "Last Name", "Personal"),
    ("email", "Work Email", "Contact"),
    ("homeEmail", "Home Email", "Contact"),
    ("mobilePhone", "Mobile Phone", "Contact"),
    ("addressLineOne", "Address Line 1", "Address"),
    ("addressLineTwo", "Address Line 2", "Address"),
    ("city", "City", "Address"),
    ("state", "State", "Address"),
    ("zipcode", "ZIP", "Address"),
    ("country", "Country", "Address"),
    ("jobInformationJobTitle", "Job Information: Job Title", "Job"),
    ("jobInformationDepartment", "Job Information: Department", "Job"),
    ("jobInformationReportsTo", "Job Information: Reports To", "Job"),
    ("supervisorEid", "Supervisor EID", "Job"),
    ("status", "Status", "Personal"),
    ("employmentStatus", "Employment Status", "Job"),
    ("hireDate", "Hire Date", "Job"),
    ("terminationDate", "Termination Date", "Job"),
    ("lastChanged", "Last Changed", "Personal"),
];

fn in_catalog(company: &Company, field: &str) -> bool {
    CATALOG.iter().any(|(name, _, _)| *name == field) && !company.absent.contains(field)
}

#[derive(Deserialize)]
struct CatalogQuery {
    #[serde(default = "first_page")]
    page: u32,
    #[serde(default = "catalog_page_size")]
    page_size: u32,
}

fn catalog_page_size() -> u32 {
    500
}

/// `GET /api/v1_2/datasets/employee/fields`: the account's field catalogue, `page_size` (at most 1000) to a page;
/// out-of-range pages clamp to the last.
async fn catalog(State(fake): State<Shared>, headers: HeaderMap, Query(query): Query<CatalogQuery>) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    if !(1..=1000).contains(&query.page_size) || query.page < 1 {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PAGING", "page >= 1, page_size 1..1000");
    }
    let company = fake.company();
    let fields: Vec<Value> = CATALOG
        .iter()
        .filter(|(name, _, _)| !company.absent.contains(*name))
        .map(|(name, label, section)| {
            json!({ "name": name, "label": label, "parentType": "page", "parentName": section,
                    "entityName": section.to_lowercase() })
        })
        .collect();
    let size = query.page_size as usize;
    let pages = fields.len().div_ceil(size).max(1);
    let page = (query.page as usize).min(pages);
    let link = |p: usize| format!("{}/api/v1_2/datasets/employee/fields?page={p}&page_size={size}", fake.base_url);
    let body = json!({
        "pagination": { "total_records": fields.len(), "current_page": page, "total_pages": pages,
                        "next_page": (page < pages).then(|| link(page + 1)),
                        "prev_page": (page > 1).then(|| link(page - 1)) },
        "name": "employee", "label": "Employee",
        "fields": fields.into_iter().skip((page - 1) * size).take(size).collect::<Vec<_>>(),
    });
    axum::Json(body).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetRequest {
    fields: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    order_by: Option<String>,
    #[serde(default = "first_page")]
    page: u32,
    #[serde(default = "default_page_size")]
    page_size: u32,
}

fn first_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    100
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({ "type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16(),
                       "code": code, "detail": detail });
    (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

/// The part of Datasets v2's OData-style filter this fake understands: terms `field op 'value'` (`eq ne lt le gt
/// ge`) or `field in ('a','b')`, joined by `and` or by `or` (never both, as BambooHR requires).
struct Filter {
    any: bool,
    terms: Vec<(String, String, Vec<String>)>,
}

impl Filter {
    fn parse(raw: &str) -> Result<Self, String> {
        let (any, parts): (bool, Vec<&str>) = match (raw.contains(" or "), raw.contains(" and ")) {
            (true, true) => return Err("one expression uses and or or, not both".into()),
            (true, false) => (true, raw.split(" or ").collect()),
            (false, _) => (false, raw.split(" and ").collect()),
        };
        let mut terms = Vec::new();
        for part in parts {
            let part = part.trim();
            let mut words = part.splitn(3, ' ');
            let (Some(field), Some(op), Some(rest)) = (words.next(), words.next(), words.next()) else {
                return Err(format!("cannot read {part:?}"));
            };
            let values: Vec<String> = match op {
                "in" => rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or("in takes a list")?
                    .split(',')
                    .map(|v| v.trim().trim_matches('\'').to_owned())
                    .collect(),
                "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                    let v = rest.trim();
                    let quoted = v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'');
                    if !quoted {
                        return Err("values are quoted".into());
                    }
                    vec![v[1..v.len() - 1].to_owned()]
                }
                other => return Err(format!("unknown operator {other}")),
            };
            terms.push((field.to_owned(), op.to_owned(), values));
        }
        Ok(Self { any, terms })
    }

    fn matches(&self, row: &impl Fn(&str) -> Value) -> bool {
        let term = |(field, op, values): &(String, String, Vec<String>)| {
            let value = match row(field) {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                _ => return op == "ne",
            };
            let v = values[0].as_str();
            match op.as_str() {
                "in" => values.contains(&value),
                "eq" => value == v,
                "ne" => value != v,
                "lt" => value.as_str() < v,
                "le" => value.as_str() <= v,
                "gt" => value.as_str() > v,
                _ => value.as_str() >= v,
            }
        };
        if self.any { self.terms.iter().any(term) } else { self.terms.iter().all(term) }
    }
}

async fn changed(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Some(since) = query.get("since").and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else {
        return error(StatusCode::BAD_REQUEST, "since must be an ISO 8601 timestamp");
    };
    let since = since.with_timezone(&Utc);
    let company = fake.company();
    let mut employees = Map::new();
    let mut latest: Option<DateTime<Utc>> = None;
    let changed =
        company.people.iter().filter(|(_, p)| p.last_changed >= since).map(|(id, p)| (id, p.last_changed, "Updated"));
    let deleted = company.deleted.iter().filter(|(_, at)| **at >= since).map(|(id, at)| (id, *at, "Deleted"));
    for (id, at, action) in changed.chain(deleted) {
        latest = latest.max(Some(at));
        employees.insert(
            id.to_string(),
            json!({ "id": id.to_string(), "action": action, "lastChanged": at.to_rfc3339_opts(SecondsFormat::Secs, false) }),
        );
    }
    let latest = latest.unwrap_or(since).to_rfc3339_opts(SecondsFormat::Secs, false);
    axum::Json(json!({ "latest": latest, "employees": employees })).into_response()
}

async fn sandbox_list(State(fake): State<Shared>) -> Response {
    let company = fake.company();
    let people: Vec<Value> = company
        .people
        .iter()
        .map(|(id, p)| {
            let mut record = Value::Object(p.fields.clone());
            record["id"] = json!(id.to_string());
            record
        })
        .collect();
    axum::Json(json!({ "employees": people })).into_response()
}

async fn sandbox_hire(State(fake): State<Shared>, axum::Json(fields): axum::Json<Value>) -> Response {
    if !fields.is_object() || fields.get("firstName").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least firstName").into_response();
    }
    let id = fake.hire(fields).await;
    (StatusCode::CREATED, axum::Json(json!({ "id": id.to_string() }))).into_response()
}

async fn sandbox_change(
    State(fake): State<Shared>,
    Path(id): Path<u32>,
    axum::Json(fields): axum::Json<Value>,
) -> Response {
    if !fields.is_object() {
        return (StatusCode::BAD_REQUEST, "send a JSON object of fields").into_response();
    }
    if fake.change(id, fields).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn sandbox_delete(State(fake): State<Shared>, Path(id): Path<u32>) -> Response {
    if fake.delete(id).await { StatusCode::NO_CONTENT.into_response() } else { StatusCode::NOT_FOUND.into_response() }
}

#[derive(Deserialize)]
struct Termination {
    date: Option<NaiveDate>,
}

async fn sandbox_terminate(
    State(fake): State<Shared>,
    Path(id): Path<u32>,
    body: Option<axum::Json<Termination>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    if fake.terminate(id, date).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: String,
}

/// `PUT /sandbox/webhook` (`{"url": …}`): sets up the global webhook; answers the private key BambooHR generated.
async fn sandbox_webhook(State(fake): State<Shared>, axum::Json(target): axum::Json<WebhookTarget>) -> Response {
    let private_key = fake.set_webhook(&target.url);
    axum::Json(json!({ "privateKey": private_key })).into_response()
}

/// A private key as BambooHR issues one: 32 random-looking bytes, hex.
fn issue_key(seed: &str) -> String {
    static ISSUED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    hex::encode(<Sha256 as sha2::Digest>::digest(format!("{seed} {n} {nanos} {:p}", &ISSUED)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewWebhook {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    monitor_fields: Option<Vec<String>>,
    #[serde(default)]
    events: Option<Vec<String>>,
}

fn webhook_error(status: StatusCode, errors: &[String]) -> Response {
    let errors: Vec<Value> = errors.iter().map(|e| json!({ "error": e })).collect();
    (status, axum::Json(json!({ "errors": errors }))).into_response()
}

/// `POST /api/v1/webhooks`: a permissioned webhook. `format` is required, `url` must be https (this fake also
/// takes http to a loopback address: tests have no certificates), update events need `monitorFields`, and a
/// monitored field the key may not read is refused (403). The answer carries the `privateKey`, once.
async fn create_webhook(State(fake): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Ok(new) = serde_json::from_slice::<NewWebhook>(&body) else {
        return webhook_error(StatusCode::BAD_REQUEST, &["Invalid request body".into()]);
    };
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].iter().any(|p| new.url.starts_with(p));
    if !new.url.starts_with("https://") && !loopback {
        return webhook_error(StatusCode::BAD_REQUEST, &["The URL must begin with https://".into()]);
    }
    let Some(format) = new.format.filter(|f| f == "json" || f == "form-encoded") else {
        return webhook_error(StatusCode::BAD_REQUEST, &["format is required: json or form-encoded".into()]);
    };
    let events = new.events.unwrap_or_else(|| {
        ["employee_with_fields.updated", "employee_with_fields.deleted", "employee_with_fields.created"]
            .map(String::from)
            .to_vec()
    });
    let monitored = new.monitor_fields.unwrap_or_default();
    if events.iter().any(|e| e.ends_with(".updated")) && monitored.is_empty() {
        return webhook_error(StatusCode::BAD_REQUEST, &["monitorFields is required for update events".into()]);
    }
    let mut company = fake.company();
    let refused: Vec<String> = monitored
        .iter()
        .filter(|f| company.restricted.contains(*f) || !in_catalog(&company, f))
        .map(|f| format!("You do not have access to the field: {f}"))
        .collect();
    if !refused.is_empty() {
        return webhook_error(StatusCode::FORBIDDEN, &refused);
    }
    let id = company.next_webhook;
    company.next_webhook += 1;
    let private_key = issue_key(&new.url);
    let created = Utc::now();
    let webhook = Webhook {
        id,
        url: new.url.clone(),
        private_key: private_key.clone(),
        monitored: Some(monitored.clone()),
        events: events.clone(),
        created,
    };
    company.webhooks.push(webhook);
    let answer = json!({
        "id": id.to_string(), "name": new.name, "created": created.format("%Y-%m-%d %H:%M:%S").to_string(),
        "lastSent": null, "monitorFields": monitored, "postFields": {}, "url": new.url, "format": format,
        "privateKey": private_key, "includeCompanyDomain": false, "events": events,
    });
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// `GET /api/v1/webhooks`: the permissioned webhooks.
async fn list_webhooks(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let company = fake.company();
    let webhooks: Vec<Value> = company
        .webhooks
        .iter()
        .filter(|w| w.id != 0)
        .map(|w| {
            json!({ "id": w.id.to_string(), "name": "IT Hub", "url": w.url, "lastSent": null,
                    "created": w.created.format("%Y-%m-%d %H:%M:%S").to_string() })
        })
        .collect();
    axum::Json(json!({ "webhooks": webhooks })).into_response()
}

/// `DELETE /api/v1/webhooks/{id}`: 200 with a plain-text confirmation, or 404.
async fn delete_webhook(State(fake): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let mut company = fake.company();
    let before = company.webhooks.len();
    company.webhooks.retain(|w| w.id == 0 || w.id.to_string() != id);
    if company.webhooks.len() == before {
        return webhook_error(StatusCode::NOT_FOUND, &[format!("No webhook was found with ID: {id}.")]);
    }
    (StatusCode::OK, [("content-type", "text/plain")], "Web hook has been deleted.").into_response()
}

/// BambooHR's published description (`tests/contracts/bamboohr`).
fn contract() -> &'static Contract {
    static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
    CONTRACT.get_or_init(|| Contract::load("BambooHR", &["bamboohr/bamboohr-public.yaml"]))
}

impl Sandboxed for FakeBamboo {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// What the fake has answered so far (benchmarks run it in another process): dataset pages, and the headcount.
    fn stats(&self) -> Value {
        json!({ DATASET_CALLS: self.dataset_calls(), "headcount": self.headcount() })
    }
}
