use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

struct Person {
    fields: Map<String, Value>,
    last_changed: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub retry_after: Option<u32>,
}

fn one() -> u32 {
    1
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

#[derive(Clone)]
struct Webhook {
    url: String,
    private_key: String,
}

struct Company {
    domain: String,
    api_key: String,
    people: BTreeMap<u32, Person>,
    next_id: u32,
    webhook: Option<Webhook>,
    faults: VecDeque<Fault>,
    deliveries: Vec<Delivery>,
    api_calls: u64,
}

/// A running fake BambooHR on a loopback port.
#[derive(Clone)]
pub struct FakeBamboo {
    company: Arc<Mutex<Company>>,
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
                let fields = fields.as_object().cloned().unwrap_or_default();
                (id, Person { fields, last_changed: seeded_at })
            })
            .collect();
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                domain: domain.to_owned(),
                api_key: api_key.to_owned(),
                people,
                next_id,
                webhook: None,
                faults: VecDeque::new(),
                deliveries: Vec::new(),
                api_calls: 0,
            })),
            base_url,
            http: reqwest::Client::new(),
        };
        let app = fake.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
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
        self.company.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/api/gateway.php/{company}/v1/employees/directory", get(directory))
            .route("/api/gateway.php/{company}/v1/employees/changed", get(changed))
            .route("/api/gateway.php/{company}/v1/employees/{id}", get(employee))
            .route("/sandbox/employees", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/employees/{id}", patch(sandbox_change))
            .route("/sandbox/employees/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/webhook", put(sandbox_webhook))
            .route("/sandbox/faults", post(sandbox_faults))
            .with_state(self.clone())
    }

    // --- sandbox operations, also callable in process --------------------------------------------------------

    /// Hires someone; returns their new id. Fires `employee.created` then `employee.updated`, as BambooHR does.
    pub async fn hire(&self, fields: Value) -> u32 {
        let id = {
            let mut company = self.company();
            let id = company.next_id;
            company.next_id += 1;
            let mut record = json!({
                "status": "Active", "employmentHistoryStatus": "Full-Time", "terminationDate": "0000-00-00",
                "hireDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
            });
            merge(&mut record, fields);
            let fields = record.as_object().cloned().unwrap_or_default();
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

    /// Records a termination on `date`: the person turns Inactive once the date has passed.
    pub async fn terminate(&self, id: u32, date: NaiveDate) -> bool {
        let inactive = date <= Utc::now().date_naive();
        let mut fields = json!({
            "employmentHistoryStatus": "Terminated",
            "terminationDate": date.format("%Y-%m-%d").to_string(),
        });
        if inactive {
            fields["status"] = json!("Inactive");
        }
        self.change(id, fields).await
    }

    /// Sends the company's webhooks to `url`, signed with `private_key`.
    pub fn set_webhook(&self, url: &str, private_key: &str) {
        self.company().webhook = Some(Webhook { url: url.to_owned(), private_key: private_key.to_owned() });
    }

    /// The next `fault.count` API calls answer `fault.status`.
    pub fn inject(&self, fault: Fault) {
        self.company().faults.push_back(fault);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.company().deliveries.clone()
    }

    /// API calls answered so far (sandbox controls not counted).
    pub fn api_calls(&self) -> u64 {
        self.company().api_calls
    }

    /// A person's current record, as the sandbox shows it.
    pub fn record(&self, id: u32) -> Option<Value> {
        self.company().people.get(&id).map(|p| Value::Object(p.fields.clone()))
    }

    /// Signs and sends an event-based webhook, if one is registered; waits for the answer.
    async fn notify(&self, event: &str, id: u32, changed: &[&str]) {
        let Some(webhook) = self.company().webhook.clone() else {
            return;
        };
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
    let mut mac = Hmac::<Sha256>::new_from_slice(private_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        target.extend(fields);
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(message) {
        response.headers_mut().insert("x-bamboohr-error-message", value);
    }
    response
}

/// The answer to an API call that is refused: an injected fault, another company, or a wrong API key (Basic auth
/// with the key as user name). `None` lets the call through.
fn refusal(fake: &Shared, domain: &str, headers: &HeaderMap) -> Option<Response> {
    let mut company = fake.company();
    company.api_calls += 1;
    if let Some(fault) = company.faults.front_mut() {
        let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let retry_after = fault.retry_after;
        fault.count = fault.count.saturating_sub(1);
        if fault.count == 0 {
            company.faults.pop_front();
        }
        let mut response = error(status, "injected fault");
        if let Some(secs) = retry_after {
            response.headers_mut().insert("retry-after", HeaderValue::from(secs));
        }
        return Some(response);
    }
    if domain != company.domain {
        return Some(error(StatusCode::NOT_FOUND, "unknown company"));
    }
    let user = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(user, _)| user.to_owned()));
    (user.as_deref() != Some(company.api_key.as_str())).then(|| error(StatusCode::UNAUTHORIZED, "invalid API key"))
}

fn date(fields: &Map<String, Value>, key: &str) -> Option<NaiveDate> {
    fields.get(key)?.as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

async fn directory(
    State(fake): State<Shared>,
    Path(domain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&fake, &domain, &headers) {
        return refused;
    }
    let today = Utc::now().date_naive();
    let only_current = query.get("onlyCurrent").map(String::as_str) != Some("false");
    let company = fake.company();
    let employees: Vec<Value> = company
        .people
        .iter()
        .filter(|(_, p)| p.fields.get("status").and_then(Value::as_str) == Some("Active"))
        .filter(|(_, p)| !only_current || date(&p.fields, "hireDate").is_none_or(|d| d <= today))
        .map(|(id, p)| {
            let f = &p.fields;
            json!({
                "id": id.to_string(),
                "displayName": format!("{} {}", f["firstName"].as_str().unwrap_or(""), f["lastName"].as_str().unwrap_or("")),
                "firstName": f.get("firstName"), "lastName": f.get("lastName"), "jobTitle": f.get("jobTitle"),
                "workEmail": f.get("workEmail"), "department": f.get("department"), "canUploadPhoto": 0,
            })
        })
        .collect();
    if employees.is_empty() {
        return error(StatusCode::NOT_FOUND, "directory is empty");
    }
    let fields = ["displayName", "firstName", "lastName", "jobTitle", "workEmail", "department"]
        .map(|f| json!({ "id": f, "type": "text", "name": f }));
    axum::Json(json!({ "fields": fields, "employees": employees })).into_response()
}

async fn changed(
    State(fake): State<Shared>,
    Path(domain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&fake, &domain, &headers) {
        return refused;
    }
    let Some(since) = query.get("since").and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else {
        return error(StatusCode::BAD_REQUEST, "since must be an ISO 8601 timestamp");
    };
    let since = since.with_timezone(&Utc);
    let company = fake.company();
    let mut employees = Map::new();
    let mut latest: Option<DateTime<Utc>> = None;
    for (id, person) in company.people.iter().filter(|(_, p)| p.last_changed >= since) {
        latest = latest.max(Some(person.last_changed));
        employees.insert(
            id.to_string(),
            json!({
                "id": id.to_string(), "action": "Updated",
                "lastChanged": person.last_changed.to_rfc3339_opts(SecondsFormat::Secs, false),
            }),
        );
    }
    let latest = latest.unwrap_or(since).to_rfc3339_opts(SecondsFormat::Secs, false);
    axum::Json(json!({ "latest": latest, "employees": employees })).into_response()
}

async fn employee(
    State(fake): State<Shared>,
    Path((domain, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&fake, &domain, &headers) {
        return refused;
    }
    let company = fake.company();
    let Some(person) = id.parse::<u32>().ok().and_then(|n| company.people.get(&n)) else {
        return error(StatusCode::NOT_FOUND, "no such employee");
    };
    let requested = query.get("fields").map(String::as_str).unwrap_or("firstName,lastName");
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    for field in requested.split(',').map(str::trim).filter(|f| !f.is_empty()).take(400) {
        out.insert(field.to_owned(), person.fields.get(field).cloned().unwrap_or(Value::Null));
    }
    axum::Json(Value::Object(out)).into_response()
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
#[serde(rename_all = "camelCase")]
struct WebhookTarget {
    url: String,
    private_key: String,
}

async fn sandbox_webhook(State(fake): State<Shared>, axum::Json(target): axum::Json<WebhookTarget>) -> Response {
    fake.set_webhook(&target.url, &target.private_key);
    StatusCode::NO_CONTENT.into_response()
}

async fn sandbox_faults(State(fake): State<Shared>, axum::Json(fault): axum::Json<Fault>) -> Response {
    fake.inject(fault);
    StatusCode::NO_CONTENT.into_response()
}
