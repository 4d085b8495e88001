//! A fake ADP Workforce Now that follows the documented API, over mutual TLS: the API listener demands a client
//! certificate signed by the fake's own CA in the TLS handshake (a client without one, or with another CA's,
//! never gets an HTTP answer), on the token endpoint and the API alike.
//!
//! - `POST /auth/oauth/v2/token` (`grant_type=client_credentials` as a form or in the query; the client by
//!   HTTP Basic or as form fields) → `{access_token, token_type, expires_in: 3600}`; 401 `invalid_client`
//! - `GET /hr/v2/workers` (`$top` capped at 100, `$skip`; `204 No Content` past the end) → `{"workers": [...],
//!   "meta": null, "confirmMessage": null}`; everyone, people who left included
//! - `GET /hr/v2/workers/{aoid}` (the same wrapper with one worker; 204 for an unknown associate)
//! - `GET /core/v1/event-notification-messages` (the oldest message and its `adp-msg-msgid` header, the same one
//!   until it is deleted; 204 when the queue is empty), `DELETE /core/v1/event-notification-messages/{id}`
//!
//! Sandbox controls on a separate plain-HTTP listener, without auth: `GET|POST /sandbox/workers` (hire:
//! `givenName`, `familyName1`, `workEmail`, `personalEmail`, `mobile`, `jobTitle`, `department`, `hireDate`,
//! `managerAOID`, `lineOne`, `cityName`, `state`, `postalCode`, `countryCode`), `PATCH /sandbox/workers/{aoid}`,
//! `POST /sandbox/workers/{aoid}/terminate` (`{"date"}`), `…/leave`, `…/rehire` (`{"date"}`),
//! `POST /sandbox/faults`, `GET /sandbox/stats`. Each change queues an event notification (`worker.hire`,
//! `worker.work-assignment.modify`, `worker.terminate`, `worker.on-leave`, `worker.rehire`).

use crate::faults::{Dated, Fault, Refusal, basic_user, found, next_fault};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use chrono::{NaiveDate, Utc};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A client certificate and its key, in PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    pub certificate: String,
    pub key: String,
}

struct Company {
    client_id: String,
    client_secret: String,
    tokens: HashMap<String, chrono::DateTime<Utc>>,
    workers: BTreeMap<String, Value>,
    next: u64,
    /// Unacknowledged messages, oldest first: (adp-msg-msgid, body).
    queue: VecDeque<(String, Value)>,
    messages: u64,
    faults: VecDeque<Fault>,
    api_calls: u64,
    token_grants: u64,
}

#[derive(Clone)]
pub struct FakeAdp {
    company: Arc<Mutex<Company>>,
    base_url: String,
    sandbox_url: String,
    client: ClientIdentity,
}

/// A CA, and a certificate it signed for `names` (server) or for a client.
fn issue(ca: &Issuer<'_, KeyPair>, names: Vec<String>, client: bool) -> (String, String) {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(names).expect("names");
    params.distinguished_name.push(DnType::CommonName, if client { "IT Hub (ADP client)" } else { "localhost" });
    params.extended_key_usages =
        vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
    let certificate = params.signed_by(&key, ca).expect("signed");
    (certificate.pem(), key.serialize_pem())
}

fn new_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let certificate = params.self_signed(&key).expect("self-signed");
    (Issuer::new(params, key), certificate.pem())
}

/// A client certificate from a CA the fake does not trust.
pub fn stranger_identity() -> ClientIdentity {
    let (ca, _) = new_ca("Somebody else's CA");
    let (certificate, key) = issue(&ca, Vec::new(), true);
    ClientIdentity { certificate, key }
}

/// Accepts TCP connections and completes the TLS handshake (client certificate required) before handing them on;
/// a handshake that fails is dropped, as a TLS server does.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            let handshake = tokio::time::timeout(std::time::Duration::from_secs(5), self.acceptor.accept(stream));
            if let Ok(Ok(tls)) = handshake.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl FakeAdp {
    /// Starts the API (mutual TLS) on `addr` and the sandbox controls on `sandbox_addr`, for one subscriber's
    /// client credentials, seeded with workers given as sandbox hires.
    pub async fn start(
        addr: SocketAddr,
        sandbox_addr: SocketAddr,
        client_id: &str,
        client_secret: &str,
        people: Vec<Value>,
    ) -> std::io::Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (ca, ca_pem) = new_ca("Fake ADP client CA");
        let (server_certificate, server_key) = issue(&ca, vec!["localhost".into(), "127.0.0.1".into()], false);
        let (client_certificate, client_key) = issue(&ca, Vec::new(), true);
        let mut roots = rustls::RootCertStore::empty();
        let ca_der = rustls_pem(&ca_pem);
        roots.add_parsable_certificates(ca_der);
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(std::io::Error::other)?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(rustls_pem(&server_certificate), rustls_key(&server_key)?)
            .map_err(std::io::Error::other)?;
        let tcp = TcpListener::bind(addr).await?;
        let base_url = format!("https://{}", tcp.local_addr()?);
        let sandbox = TcpListener::bind(sandbox_addr).await?;
        let sandbox_url = format!("http://{}", sandbox.local_addr()?);
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                tokens: HashMap::new(),
                workers: BTreeMap::new(),
                next: 1,
                queue: VecDeque::new(),
                messages: 0,
                faults: VecDeque::new(),
                api_calls: 0,
                token_grants: 0,
            })),
            base_url,
            sandbox_url,
            client: ClientIdentity { certificate: client_certificate, key: client_key },
        };
        for person in people {
            fake.add(person);
        }
        let api = Router::new()
            .route("/auth/oauth/v2/token", post(token))
            .route("/hr/v2/workers", get(workers))
            .route("/hr/v2/workers/{aoid}", get(worker))
            .route("/core/v1/event-notification-messages", get(next_message))
            .route("/core/v1/event-notification-messages/{id}", delete(ack))
            .with_state(fake.clone());
        let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(Arc::new(config)) };
        tokio::spawn(async move {
            let _ = axum::serve(listener, api).await;
        });
        let controls = Router::new()
            .route("/sandbox/workers", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/workers/{aoid}", patch(sandbox_change))
            .route("/sandbox/workers/{aoid}/terminate", post(sandbox_terminate))
            .route("/sandbox/workers/{aoid}/leave", post(sandbox_leave))
            .route("/sandbox/workers/{aoid}/rehire", post(sandbox_rehire))
            .route("/sandbox/faults", post(sandbox_faults))
            .route("/sandbox/stats", get(sandbox_stats))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(sandbox, controls).await;
        });
        Ok(fake)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn sandbox_url(&self) -> &str {
        &self.sandbox_url
    }

    /// The client certificate ADP signed for the subscriber.
    pub fn client_identity(&self) -> ClientIdentity {
        self.client.clone()
    }

    /// What an admin sends to `POST /v1/connections`, presenting `identity`.
    pub fn connection_request_with(&self, identity: &ClientIdentity) -> Value {
        let company = self.company();
        json!({
            "provider": "adp",
            "settings": { "base_url": self.base_url },
            "credentials": { "client_id": company.client_id, "client_secret": company.client_secret,
                             "client_certificate": identity.certificate, "client_key": identity.key },
        })
    }

    pub fn connection_request(&self) -> Value {
        self.connection_request_with(&self.client)
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        self.company.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn aoids(&self) -> Vec<String> {
        self.company().workers.keys().cloned().collect()
    }

    pub fn inject(&self, fault: Fault) {
        self.company().faults.push_back(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.company().faults.len()
    }

    /// Messages waiting in the event-notification queue.
    pub fn queued(&self) -> usize {
        self.company().queue.len()
    }

    pub fn api_calls(&self) -> u64 {
        self.company().api_calls
    }

    fn add(&self, fields: Value) -> String {
        let mut company = self.company();
        let aoid = format!("G3349PZGBADQ{:04}", company.next);
        company.next += 1;
        let today = Utc::now().date_naive().to_string();
        let mut worker = json!({
            "associateOID": aoid, "workerID": { "idValue": format!("EMP{:04}", company.next) },
            "person": { "legalName": {}, "communication": {}, "legalAddress": null },
            "businessCommunication": {}, "workerDates": { "originalHireDate": today },
            "workerStatus": { "statusCode": { "codeValue": "Active" } },
            "workAssignments": [{ "itemID": "1", "primaryIndicator": true, "hireDate": today, "actualStartDate": today,
                                  "terminationDate": null, "assignmentStatus": { "statusCode": { "codeValue": "A", "shortName": "Active" } },
                                  "homeOrganizationalUnits": [], "reportsTo": [] }],
        });
        company.apply(&mut worker, fields);
        company.workers.insert(aoid.clone(), worker);
        aoid
    }

    pub fn hire(&self, fields: Value) -> String {
        let aoid = self.add(fields);
        self.company().notify("worker.hire", &aoid);
        aoid
    }

    pub fn change(&self, aoid: &str, fields: Value) -> bool {
        let mut company = self.company();
        let Some(mut worker) = company.workers.remove(aoid) else {
            return false;
        };
        company.apply(&mut worker, fields);
        company.workers.insert(aoid.to_owned(), worker);
        company.notify("worker.work-assignment.modify", aoid);
        true
    }

    /// A termination on `date`: the assignment is `T` from then (ADP records it ahead as a dated termination).
    pub fn terminate(&self, aoid: &str, date: NaiveDate) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        let done = date <= Utc::now().date_naive();
        let assignment = &mut worker["workAssignments"][0];
        assignment["terminationDate"] = json!(date.to_string());
        if done {
            assignment["assignmentStatus"] = json!({ "statusCode": { "codeValue": "T", "shortName": "Terminated" } });
            worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Terminated" } });
        }
        worker["workerDates"]["terminationDate"] = json!(date.to_string());
        company.notify("worker.terminate", aoid);
        true
    }

    pub fn leave(&self, aoid: &str) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        worker["workAssignments"][0]["assignmentStatus"] =
            json!({ "statusCode": { "codeValue": "L", "shortName": "Leave" } });
        worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Inactive" } });
        company.notify("worker.on-leave", aoid);
        true
    }

    /// A rehire on `date`: the same associate, `rehireDate` set, the primary assignment active again from then.
    pub fn rehire(&self, aoid: &str, date: NaiveDate) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        worker["workerDates"]["rehireDate"] = json!(date.to_string());
        worker["workerDates"]["terminationDate"] = Value::Null;
        worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Active" } });
        let assignment = &mut worker["workAssignments"][0];
        assignment["hireDate"] = json!(date.to_string());
        assignment["terminationDate"] = Value::Null;
        assignment["assignmentStatus"] =
            json!({ "statusCode": { "codeValue": "A", "shortName": "Active" }, "reasonCode": { "codeValue": "CURR" } });
        company.notify("worker.rehire", aoid);
        true
    }
}

fn rustls_pem(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok).collect()
}

fn rustls_key(pem: &str) -> std::io::Result<rustls::pki_types::PrivateKeyDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(std::io::Error::other)
}

impl Company {
    fn apply(&mut self, worker: &mut Value, fields: Value) {
        let Value::Object(fields) = fields else { return };
        for (name, value) in fields {
            let assignment = &mut worker["workAssignments"][0];
            match name.as_str() {
                "givenName" | "familyName1" => worker["person"]["legalName"][&name] = value,
                "workEmail" => {
                    worker["businessCommunication"]["emails"] =
                        json!([{ "nameCode": { "codeValue": "Work E-mail" }, "emailUri": value }])
                }
                "personalEmail" => {
                    worker["person"]["communication"]["emails"] =
                        json!([{ "nameCode": { "codeValue": "Personal E-mail" }, "emailUri": value }])
                }
                "mobile" => {
                    worker["person"]["communication"]["mobiles"] =
                        json!([{ "nameCode": { "codeValue": "Personal Cell" }, "formattedNumber": value }])
                }
                "jobTitle" => assignment["jobTitle"] = value,
                "department" => {
                    assignment["homeOrganizationalUnits"] = json!([{ "nameCode": { "codeValue": value, "shortName": value },
                                                                     "typeCode": { "codeValue": "Department", "shortName": "Department" } }]);
                }
                "hireDate" => {
                    assignment["hireDate"] = value.clone();
                    assignment["actualStartDate"] = value.clone();
                    worker["workerDates"]["originalHireDate"] = value;
                }
                "managerAOID" => {
                    let name = value.as_str().and_then(|m| self.workers.get(m)).map(|m| {
                        let legal = &m["person"]["legalName"];
                        format!(
                            "{}, {}",
                            legal["familyName1"].as_str().unwrap_or_default(),
                            legal["givenName"].as_str().unwrap_or_default()
                        )
                    });
                    assignment["reportsTo"] =
                        json!([{ "associateOID": value, "reportsToWorkerName": { "formattedName": name } }]);
                }
                "lineOne" | "cityName" | "postalCode" | "countryCode" | "state" => {
                    if worker["person"]["legalAddress"].is_null() {
                        worker["person"]["legalAddress"] = json!({ "nameCode": { "codeValue": "Personal Address 1" } });
                    }
                    if name == "state" {
                        worker["person"]["legalAddress"]["countrySubdivisionLevel1"] = json!({ "codeValue": value });
                    } else {
                        worker["person"]["legalAddress"][&name] = value;
                    }
                }
                _ => {}
            }
        }
        let given = worker["person"]["legalName"]["givenName"].as_str().unwrap_or_default().to_owned();
        let family = worker["person"]["legalName"]["familyName1"].as_str().unwrap_or_default().to_owned();
        worker["person"]["legalName"]["formattedName"] = json!(format!("{family}, {given}"));
    }

    /// Queues an event notification naming the worker (as WFN's samples do: the worker in the event context and
    /// in the output).
    fn notify(&mut self, name: &str, aoid: &str) {
        self.messages += 1;
        let id = format!("msg-{:06}", self.messages);
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        let worker = self.workers.get(aoid).cloned().unwrap_or(Value::Null);
        let body = json!({ "events": [{
            "eventID": format!("720f4797-3556-4dc7-b582-{:012}", self.messages),
            "serviceCategoryCode": { "codeValue": "HR" }, "eventNameCode": { "codeValue": name },
            "eventStatusCode": { "codeValue": "COMPLETED" }, "recordDateTime": now, "creationDateTime": now,
            "data": { "eventContext": { "worker": { "associateOID": aoid } },
                      "output": { "worker": { "associateOID": aoid, "workerStatus": worker["workerStatus"] } } },
            "links": [] }] });
        self.queue.push_back((id, body));
    }
}

/// The answer to an API call refused by a fault or an invalid token.
fn refusal(fake: &FakeAdp, headers: &HeaderMap) -> Option<Refusal> {
    let mut company = fake.company();
    company.api_calls += 1;
    if let Some(refused) = next_fault(&mut company.faults) {
        return Some(refused);
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.and_then(|t| company.tokens.get(t)).is_some_and(|until| *until > Utc::now());
    (!valid).then(|| {
        let body = json!({ "confirmMessage": { "resourceMessages": [{ "processMessages": [{ "userMessage":
            { "messageTxt": "Invalid or expired access token" } }] }] } });
        Refusal::Answer((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
    })
}

async fn token(
    State(fake): State<FakeAdp>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let fault = next_fault(&mut fake.company().faults);
    if let Some(refused) = fault {
        return refused.into_response().await;
    }
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let grant = form.get("grant_type").or(query.get("grant_type")).map(String::as_str);
    if grant != Some("client_credentials") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "unsupported_grant_type" }))).into_response();
    }
    let (id, secret) = basic_user(&headers).unwrap_or_else(|| {
        (form.get("client_id").cloned().unwrap_or_default(), form.get("client_secret").cloned().unwrap_or_default())
    });
    let mut company = fake.company();
    if id != company.client_id || secret != company.client_secret {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_client" }))).into_response();
    }
    company.token_grants += 1;
    let access = format!("adp-access-{}", company.token_grants);
    company.tokens.insert(access.clone(), Utc::now() + chrono::Duration::seconds(3600));
    axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": "api" }))
        .into_response()
}

async fn workers(
    State(fake): State<FakeAdp>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let top: usize = query.get("$top").and_then(|t| t.parse().ok()).unwrap_or(100).clamp(1, 100);
    let skip: usize = query.get("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let company = fake.company();
    let page: Vec<Value> = company.workers.values().skip(skip).take(top).cloned().collect();
    if page.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    axum::Json(json!({ "workers": page, "meta": null, "confirmMessage": null })).into_response()
}

async fn worker(State(fake): State<FakeAdp>, headers: HeaderMap, Path(aoid): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    match fake.company().workers.get(&aoid) {
        Some(worker) => {
            axum::Json(json!({ "workers": [worker], "meta": null, "confirmMessage": null })).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn next_message(State(fake): State<FakeAdp>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let company = fake.company();
    let Some((id, body)) = company.queue.front() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut response = axum::Json(body.clone()).into_response();
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert("adp-msg-msgid", value);
    }
    response
}

async fn ack(State(fake): State<FakeAdp>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let mut company = fake.company();
    match company.queue.iter().position(|(m, _)| *m == id) {
        Some(index) => {
            company.queue.remove(index);
            StatusCode::OK.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn sandbox_list(State(fake): State<FakeAdp>) -> Response {
    let all: Vec<Value> = fake.company().workers.values().cloned().collect();
    axum::Json(json!({ "workers": all })).into_response()
}

async fn sandbox_hire(State(fake): State<FakeAdp>, axum::Json(fields): axum::Json<Value>) -> Response {
    if fields.get("givenName").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least givenName").into_response();
    }
    let aoid = fake.hire(fields);
    (StatusCode::CREATED, axum::Json(json!({ "associateOID": aoid }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakeAdp>,
    Path(aoid): Path<String>,
    axum::Json(fields): axum::Json<Value>,
) -> Response {
    found(fake.change(&aoid, fields))
}

async fn sandbox_terminate(
    State(fake): State<FakeAdp>,
    Path(aoid): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.terminate(&aoid, date))
}

async fn sandbox_leave(State(fake): State<FakeAdp>, Path(aoid): Path<String>) -> Response {
    found(fake.leave(&aoid))
}

async fn sandbox_rehire(
    State(fake): State<FakeAdp>,
    Path(aoid): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    let date = body.and_then(|b| b.0.date).unwrap_or_else(|| Utc::now().date_naive());
    found(fake.rehire(&aoid, date))
}

async fn sandbox_faults(State(fake): State<FakeAdp>, axum::Json(fault): axum::Json<Fault>) -> Response {
    fake.inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn sandbox_stats(State(fake): State<FakeAdp>) -> Response {
    let company = fake.company();
    axum::Json(json!({ "api_calls": company.api_calls, "token_grants": company.token_grants,
                       "headcount": company.workers.len(), "queued": company.queue.len() }))
    .into_response()
}

/// The small sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "givenName": p.first, "familyName1": p.last, "workEmail": format!("{}@acme.example", p.first.to_lowercase()),
                    "jobTitle": p.title, "department": p.department, "hireDate": p.start.to_string(), "cityName": p.city })
        })
        .collect()
}
