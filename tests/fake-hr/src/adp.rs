//! A fake ADP Workforce Now that follows the documented API, over mutual TLS: the API listener demands a client
//! certificate signed by the fake's own CA in the TLS handshake (a client without one, or with another CA's,
//! never gets an HTTP answer), on the token endpoint and the API alike.
//!
//! - `POST /auth/oauth/v2/token` (`grant_type=client_credentials` as a form or in the query; the client by
//!   HTTP Basic or as form fields) → `{access_token, token_type, expires_in: 3600}`; 401 `invalid_client`
//! - `GET /hr/v2/workers` (`$top` capped at 100, `$skip`; `204 No Content` past the end) → `{"workers": [...]}`;
//!   everyone, people who left included
//! - `GET /hr/v2/workers/{aoid}` (the same wrapper with one worker; 204 for an unknown associate)
//! - `GET /core/v1/event-notification-messages` (the oldest message and its `adp-msg-msgid` header, the same one
//!   until it is deleted; 204 when the queue is empty), `DELETE /core/v1/event-notification-messages/{id}`
//!
//! The workers and messages are ADP's own sample payloads (`tests/contracts/adp`, sources in its README): a
//! worker is ADP's single-associate sample with the sample person's names, ids, contacts, address, dates,
//! status, job, department and manager replaced by the fake person's, in the places ADP puts them; a message is
//! ADP's sample notification for that event with the worker's current values in the sample's shape (its
//! `eventContext` naming the worker as the sample does: `worker.associateOID`, or `associateOID` for
//! `worker.reports-to.modify`). Every worker answered, and the worker in every message, is checked against ADP's
//! Workers v2 JSON Schema (draft-04, formats included): a violation is kept (see [`crate::contract`]) and the
//! answer becomes a `500`. [`FakeAdp::load_adp_sample_workers`] adds ADP's 50-worker sample company as it is.
//!
//! Sandbox controls on a separate plain-HTTP listener, without auth: `GET|POST /sandbox/workers` (hire:
//! `givenName`, `familyName1`, `workEmail`, `personalEmail`, `mobile`, `jobTitle`, `department`, `hireDate`,
//! `managerAOID`, `lineOne`, `cityName`, `state`, `postalCode`, `countryCode`), `PATCH /sandbox/workers/{aoid}`,
//! `POST /sandbox/workers/{aoid}/terminate` (`{"date"}`), `…/leave`, `…/rehire` (`{"date"}`),
//! `POST /sandbox/faults`, `GET /sandbox/stats`. Each change queues ADP's event notification for it, one message
//! per event: `worker.hire`, `worker.rehire`, `worker.terminate`, `worker.on-leave`, `worker.legal-name.change`,
//! `worker.business-communication.email.change`, `worker.personal-communication.email.change`,
//! `worker.personal-communication.mobile.change`, `worker.legal-address.change`,
//! `worker.work-assignment.home-organizational-units.modify` (department), `worker.reports-to.modify` (manager)
//! and `worker.work-assignment.modify` (job title, hire date).

use crate::faults::{Dated, Fault, Refusal, basic_user, bearer, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use chrono::{NaiveDate, Utc};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
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
    token_grants: u64,
}

#[derive(Clone)]
pub struct FakeAdp {
    company: Arc<Mutex<Company>>,
    base_url: String,
    sandbox_url: String,
    client: ClientIdentity,
    /// Its violations are the answers and messages that broke ADP's Workers v2 schema.
    sandbox: Sandbox,
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
                token_grants: 0,
            })),
            base_url,
            sandbox_url,
            client: ClientIdentity { certificate: client_certificate, key: client_key },
            sandbox: Sandbox::default(),
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
            .merge(sandbox::routes())
            .with_state(fake.clone());
        sandbox::serve(sandbox, controls);
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
        sandbox::lock(&self.company)
    }

    pub fn aoids(&self) -> Vec<String> {
        self.company().workers.keys().cloned().collect()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// Messages waiting in the event-notification queue.
    pub fn queued(&self) -> usize {
        self.company().queue.len()
    }

    pub fn api_calls(&self) -> u64 {
        self.sandbox.api_calls()
    }

    /// ADP's sample company (`workers-v2-all-workers-details`, 50 workers: 30 active, one on leave, 19 who left)
    /// added as ADP serves it, under its own associate ids, without notifications. Their associate ids.
    pub fn load_adp_sample_workers(&self) -> Vec<String> {
        let sample: Value = serde_json::from_str(ALL_WORKERS).expect("ADP's all-workers sample is JSON");
        let workers = sample.get("workers").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut company = self.company();
        let mut aoids = Vec::new();
        for worker in workers {
            if let Some(aoid) = worker.get("associateOID").and_then(Value::as_str) {
                aoids.push(aoid.to_owned());
                company.workers.insert(aoid.to_owned(), worker);
            }
        }
        aoids
    }

    fn add(&self, fields: Value) -> String {
        let mut company = self.company();
        let n = company.next;
        company.next += 1;
        let aoid = format!("G3349PZGBADQ{n:04}");
        let today = Utc::now().date_naive().to_string();
        let mut worker = template().clone();
        worker["associateOID"] = json!(aoid);
        worker["workerID"] = json!({ "idValue": format!("EMP{n:06}") });
        worker["workerDates"] = json!({ "originalHireDate": today });
        if let Some(assignment) = primary_mut(&mut worker) {
            assignment["itemID"] = json!(format!("{n:08}N"));
            assignment["positionID"] = json!(format!("POS{n:06}"));
            assignment["hireDate"] = json!(today);
            assignment["actualStartDate"] = json!(today);
        }
        if let Value::Object(fields) = fields {
            company.apply(&mut worker, &fields);
        }
        company.workers.insert(aoid.clone(), worker);
        aoid
    }

    pub fn hire(&self, fields: Value) -> String {
        let aoid = self.add(fields);
        self.company().notify("worker.hire", &aoid, None);
        aoid
    }

    /// A change: one notification for each kind of change ADP names (a new manager is `worker.reports-to.modify`,
    /// a department `worker.work-assignment.home-organizational-units.modify`, …).
    pub fn change(&self, aoid: &str, fields: Value) -> bool {
        let mut company = self.company();
        let Some(mut worker) = company.workers.remove(aoid) else {
            return false;
        };
        let Value::Object(fields) = fields else {
            company.workers.insert(aoid.to_owned(), worker);
            return true;
        };
        company.apply(&mut worker, &fields);
        company.workers.insert(aoid.to_owned(), worker);
        let mut events: Vec<&str> = Vec::new();
        for name in fields.keys() {
            let event = change_event(name);
            if !events.contains(&event) {
                events.push(event);
            }
        }
        for event in events {
            company.notify(event, aoid, None);
        }
        true
    }

    /// A termination on `date`: the assignment is `T` from then (ADP records it ahead as a dated termination).
    pub fn terminate(&self, aoid: &str, date: NaiveDate) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        let done = date <= Utc::now().date_naive();
        if let Some(assignment) = primary_mut(worker) {
            assignment["terminationDate"] = json!(date.to_string());
            if done {
                assignment["assignmentStatus"] =
                    json!({ "statusCode": { "codeValue": "T", "shortName": "Terminated" } });
            }
        }
        if done {
            worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Terminated" } });
        }
        worker["workerDates"]["terminationDate"] = json!(date.to_string());
        company.notify("worker.terminate", aoid, Some(date));
        true
    }

    pub fn leave(&self, aoid: &str) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        if let Some(assignment) = primary_mut(worker) {
            assignment["assignmentStatus"] = json!({ "statusCode": { "codeValue": "L", "shortName": "Leave" } });
        }
        worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Inactive" } });
        company.notify("worker.on-leave", aoid, None);
        true
    }

    /// A rehire on `date`: the same associate, `rehireDate` set, the primary assignment active again from then.
    pub fn rehire(&self, aoid: &str, date: NaiveDate) -> bool {
        let mut company = self.company();
        let Some(worker) = company.workers.get_mut(aoid) else {
            return false;
        };
        worker["workerDates"]["rehireDate"] = json!(date.to_string());
        remove(&mut worker["workerDates"], "terminationDate");
        worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Active" } });
        if let Some(assignment) = primary_mut(worker) {
            assignment["hireDate"] = json!(date.to_string());
            assignment["actualStartDate"] = json!(date.to_string());
            remove(assignment, "terminationDate");
            assignment["assignmentStatus"] = json!({ "statusCode": { "codeValue": "A", "shortName": "Active" },
                                                     "reasonCode": { "codeValue": "CURR", "shortName": "Existing Position" } });
        }
        company.notify("worker.rehire", aoid, Some(date));
        true
    }
}

impl Sandboxed for FakeAdp {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn stats(&self) -> Value {
        let company = self.company();
        json!({ "token_grants": company.token_grants, "headcount": company.workers.len(),
                "queued": company.queue.len() })
    }
}

// ADP's documents, vendored under tests/contracts/adp (sources in its README).
const SCHEMA: &str = include_str!("../../contracts/adp/workers_schema_v02_00_rev020.json");
const SINGLE_WORKER: &str = include_str!(
    "../../contracts/adp/wfn/hr/workers-v2/success/workers-v2-single-associate-details-http-200-response.json"
);
const ALL_WORKERS: &str =
    include_str!("../../contracts/adp/wfn/hr/workers-v2/success/workers-v2-all-workers-details-http-200-response.json");
/// The sample message each event the fake sends is made from. ADP's samples have no WFN `worker.hire` or
/// `worker.terminate` message: a hire takes the rehire's (a near-complete worker, as ADP's hire carries), a
/// termination the retirement's (the worker's dates and status).
const EVENTS: &[(&str, &str)] = &[
    (
        "worker.hire",
        include_str!("../../contracts/adp/wfn/EventNotifications/HR-worker-rehire-event-200-response.json"),
    ),
    (
        "worker.rehire",
        include_str!("../../contracts/adp/wfn/EventNotifications/HR-worker-rehire-event-200-response.json"),
    ),
    (
        "worker.terminate",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-WorkAssignment-Retire-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.on-leave",
        include_str!("../../contracts/adp/wfn/EventNotifications/HR-Worker-OnLeave-GetEventNotification-Reponse.json"),
    ),
    (
        "worker.work-assignment.modify",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-WorkAssignment-Modify-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.work-assignment.home-organizational-units.modify",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-work-assignment-home-organizational-units-modify-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.reports-to.modify",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/reportsTo-modify-event-notification-http-200-response.json"
        ),
    ),
    (
        "worker.legal-name.change",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/worker-legalName-change-eventNotification-response.json"
        ),
    ),
    (
        "worker.business-communication.email.change",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-BusinessCommunication-email-Change-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.personal-communication.email.change",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-PersonalCommunication-email-change-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.personal-communication.mobile.change",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/HR-Worker-PersonalCommunication-mobile-change-GetEventNotification-Response.json"
        ),
    ),
    (
        "worker.legal-address.change",
        include_str!(
            "../../contracts/adp/wfn/EventNotifications/legal-address-change-event-notification-http-200-response.json"
        ),
    ),
];

/// The event ADP sends for a change to a sandbox field.
fn change_event(field: &str) -> &'static str {
    match field {
        "givenName" | "familyName1" => "worker.legal-name.change",
        "workEmail" => "worker.business-communication.email.change",
        "personalEmail" => "worker.personal-communication.email.change",
        "mobile" => "worker.personal-communication.mobile.change",
        "lineOne" | "cityName" | "state" | "postalCode" | "countryCode" => "worker.legal-address.change",
        "department" => "worker.work-assignment.home-organizational-units.modify",
        "managerAOID" => "worker.reports-to.modify",
        _ => "worker.work-assignment.modify",
    }
}

/// ADP's single-associate sample as a blank worker: the sample person's own names, ids, contacts, addresses,
/// dates, job, department and manager taken out (each fake worker gets its own in the same places); what
/// describes the job's setting (business unit, cost number, work location, pay cycle, …) is kept.
fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let sample: Value = serde_json::from_str(SINGLE_WORKER).expect("ADP's single-associate sample is JSON");
        let mut worker = sample.pointer("/workers/0").cloned().expect("ADP's sample holds a worker");
        for key in [
            "governmentIDs",
            "birthName",
            "otherPersonalAddresses",
            "legalAddress",
            "communication",
            "customFieldGroup",
        ] {
            remove(&mut worker["person"], key);
        }
        worker["person"]["legalName"] = json!({});
        // ADP masks the year of birth unless the app asks for unmasked data (`Accept: …;masked=false`).
        worker["person"]["birthDate"] = json!("0000-01-01");
        remove(&mut worker, "businessCommunication");
        worker["workerStatus"] = json!({ "statusCode": { "codeValue": "Active" } });
        if let Some(assignments) = worker.get_mut("workAssignments").and_then(Value::as_array_mut) {
            assignments.truncate(1);
        }
        if let Some(assignment) = primary_mut(&mut worker) {
            for key in ["jobTitle", "jobCode", "terminationDate"] {
                remove(assignment, key);
            }
            assignment["reportsTo"] = json!([]);
            assignment["assignmentStatus"] = json!({ "statusCode": { "codeValue": "A", "shortName": "Active" } });
            for units in ["homeOrganizationalUnits", "assignedOrganizationalUnits"] {
                if let Some(list) = assignment.get_mut(units).and_then(Value::as_array_mut) {
                    list.retain(|u| u.pointer("/typeCode/codeValue").and_then(Value::as_str) != Some("Department"));
                }
            }
        }
        worker
    })
}

/// The assignment ADP marks primary (else the first).
fn primary_mut(worker: &mut Value) -> Option<&mut Value> {
    let assignments = worker.get_mut("workAssignments")?.as_array_mut()?;
    let index =
        assignments.iter().position(|a| a.get("primaryIndicator").and_then(Value::as_bool) == Some(true)).unwrap_or(0);
    assignments.get_mut(index)
}

fn primary(items: &[Value]) -> Option<&Value> {
    items.iter().find(|a| a.get("primaryIndicator").and_then(Value::as_bool) == Some(true)).or_else(|| items.first())
}

fn remove(value: &mut Value, key: &str) {
    if let Some(object) = value.as_object_mut() {
        object.remove(key);
    }
}

/// `value` as text, or `None` for a JSON `null` or an empty text (the field is taken out).
fn given(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        other => Some(other.clone()),
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
    /// The sandbox's fields, set where ADP keeps them (a `null` or empty value takes the field out).
    fn apply(&mut self, worker: &mut Value, fields: &Map<String, Value>) {
        for (name, value) in fields {
            let value = given(value);
            match name.as_str() {
                "givenName" | "familyName1" => match value {
                    Some(v) => worker["person"]["legalName"][name] = v,
                    None => remove(&mut worker["person"]["legalName"], name),
                },
                "workEmail" => match value {
                    Some(v) => {
                        worker["businessCommunication"] = json!({ "emails": [{ "itemID": "Business",
                            "nameCode": { "codeValue": "Work E-mail", "shortName": "Work E-mail" }, "emailUri": v }] })
                    }
                    None => remove(worker, "businessCommunication"),
                },
                "personalEmail" => match value {
                    Some(v) => {
                        worker["person"]["communication"]["emails"] = json!([{ "nameCode":
                            { "codeValue": "Personal E-mail", "shortName": "Personal E-mail" }, "emailUri": v }])
                    }
                    None => remove(&mut worker["person"]["communication"], "emails"),
                },
                "mobile" => match value {
                    Some(v) => {
                        worker["person"]["communication"]["mobiles"] = json!([{ "nameCode":
                            { "codeValue": "Personal Cell", "shortName": "Personal Cell" }, "formattedNumber": v }])
                    }
                    None => remove(&mut worker["person"]["communication"], "mobiles"),
                },
                "jobTitle" | "department" | "hireDate" | "managerAOID" => {
                    let manager = match (name.as_str(), &value) {
                        ("managerAOID", Some(Value::String(m))) => self.workers.get(m).map(manager_of),
                        _ => None,
                    };
                    let Some(assignment) = primary_mut(worker) else { continue };
                    match (name.as_str(), value) {
                        ("jobTitle", Some(title)) => {
                            assignment["jobTitle"] = title.clone();
                            assignment["jobCode"] = json!({ "codeValue": code(&title), "shortName": title });
                        }
                        ("jobTitle", None) => {
                            remove(assignment, "jobTitle");
                            remove(assignment, "jobCode");
                        }
                        ("department", department) => set_department(assignment, department),
                        ("hireDate", Some(day)) => {
                            assignment["hireDate"] = day.clone();
                            assignment["actualStartDate"] = day.clone();
                            worker["workerDates"]["originalHireDate"] = day;
                        }
                        ("managerAOID", Some(aoid)) => {
                            assignment["reportsTo"] =
                                json!([manager.unwrap_or_else(|| json!({ "associateOID": aoid }))])
                        }
                        ("managerAOID", None) => assignment["reportsTo"] = json!([]),
                        _ => {}
                    }
                }
                "lineOne" | "cityName" | "postalCode" | "countryCode" | "state" => {
                    let address = &mut worker["person"]["legalAddress"];
                    if !address.is_object() {
                        *address = json!({ "nameCode": { "codeValue": "Personal Address 1", "shortName": "Personal Address 1" } });
                    }
                    match (name.as_str(), value) {
                        ("state", Some(v)) => {
                            address["countrySubdivisionLevel1"] =
                                json!({ "subdivisionType": "StateTerritory", "codeValue": v })
                        }
                        ("state", None) => remove(address, "countrySubdivisionLevel1"),
                        (_, Some(v)) => address[name] = v,
                        (_, None) => remove(address, name),
                    }
                }
                _ => {}
            }
        }
        let legal = &worker["person"]["legalName"];
        let given = legal["givenName"].as_str().unwrap_or_default();
        let family = legal["familyName1"].as_str().unwrap_or_default();
        let formatted = format!("{family}, {given}");
        worker["person"]["legalName"]["formattedName"] = json!(formatted);
        if worker["person"]["communication"].as_object().is_some_and(Map::is_empty) {
            remove(&mut worker["person"], "communication");
        }
    }

    /// Queues ADP's sample notification for `name`, made this worker's: the sample's event with a new id and
    /// times (`+0000`, as ADP writes them), and its `eventContext` and `output.worker` holding the worker's current
    /// values in the sample's shape.
    fn notify(&mut self, name: &str, aoid: &str, effective: Option<NaiveDate>) {
        let Some(sample) = EVENTS.iter().find(|(event, _)| *event == name).map(|(_, sample)| *sample) else { return };
        let Ok(mut message) = serde_json::from_str::<Value>(sample) else { return };
        let worker = self.workers.get(aoid).cloned().unwrap_or_default();
        self.messages += 1;
        let id = format!("msg-{:06}", self.messages);
        let now = Utc::now();
        let stamp = now.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        let effective = effective.unwrap_or_else(|| now.date_naive());
        for event in message.get_mut("events").and_then(Value::as_array_mut).into_iter().flatten() {
            event["eventID"] = json!(format!("720f4797-3556-4dc7-b582-{:012}", self.messages));
            event["eventNameCode"] = json!({ "codeValue": name });
            event["recordDateTime"] = json!(stamp);
            event["creationDateTime"] = json!(stamp);
            event["effectiveDateTime"] = json!(format!("{effective}T00:00:00.000+0000"));
            if let Some(context) = event.pointer_mut("/data/eventContext") {
                match context.get_mut("worker") {
                    Some(inner) => *inner = project(inner, &worker),
                    None => *context = project(context, &worker),
                }
            }
            if let Some(output) = event.pointer_mut("/data/output/worker") {
                *output = project(output, &worker);
                let status = match name {
                    "worker.on-leave" => Some(("L", "Leave")),
                    "worker.terminate" => Some(("T", "Terminated")),
                    _ => None,
                };
                // Notifications carry the status in ADP's short codes, with the day it took effect.
                if let Some((code, label)) = status {
                    output["workerStatus"] = json!({ "statusCode": { "codeValue": code, "shortName": label },
                                                     "effectiveDate": effective.to_string() });
                }
            }
        }
        self.queue.push_back((id, message));
    }
}

/// A `reportsTo` entry naming `manager` as ADP does.
fn manager_of(manager: &Value) -> Value {
    let legal = &manager["person"]["legalName"];
    let name = format!(
        "{} {}",
        legal["givenName"].as_str().unwrap_or_default(),
        legal["familyName1"].as_str().unwrap_or_default()
    );
    let mut entry =
        json!({ "associateOID": manager["associateOID"], "reportsToWorkerName": { "formattedName": name.trim() } });
    if let Some(id) = manager.pointer("/workerID/idValue") {
        entry["workerID"] =
            json!({ "idValue": id, "schemeCode": { "codeValue": "Associate ID", "shortName": "Associate ID" } });
    }
    if let Some(position) = primary(manager["workAssignments"].as_array().map(Vec::as_slice).unwrap_or_default())
        .and_then(|a| a.get("positionID"))
    {
        entry["positionID"] = position.clone();
    }
    entry
}

/// A code for a name, as ADP's code lists pair them (`Engineering` → `ENGINEERING`).
fn code(name: &Value) -> String {
    name.as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_uppercase()
}

/// The assignment's department, home and assigned alike, beside its other organizational units.
fn set_department(assignment: &mut Value, department: Option<Value>) {
    for units in ["homeOrganizationalUnits", "assignedOrganizationalUnits"] {
        let mut list = assignment.get(units).and_then(Value::as_array).cloned().unwrap_or_default();
        list.retain(|u| u.pointer("/typeCode/codeValue").and_then(Value::as_str) != Some("Department"));
        if let Some(name) = &department {
            list.push(json!({ "nameCode": { "codeValue": code(name), "shortName": name },
                              "typeCode": { "codeValue": "Department", "shortName": "Department" } }));
        }
        assignment[units] = Value::Array(list);
    }
}

/// The sample's shape filled with `ours`: each key the sample has takes our value (objects key by key); where the
/// sample has a singular and we a list (`workAssignment`, `email`, `mobile`) it takes our primary or first item; a
/// key we lack is left out, so nothing of the sample's own person remains.
fn project(sample: &Value, ours: &Value) -> Value {
    match (sample, ours) {
        (Value::Object(shape), Value::Object(own)) => {
            let mut out = Map::new();
            for (key, inner) in shape {
                let value = match own.get(key) {
                    Some(value) => Some(project(inner, value)),
                    None => own
                        .get(&format!("{key}s"))
                        .and_then(Value::as_array)
                        .and_then(|items| primary(items))
                        .map(|item| project(inner, item)),
                };
                if let Some(value) = value {
                    out.insert(key.clone(), value);
                }
            }
            Value::Object(out)
        }
        _ => ours.clone(),
    }
}

/// ADP's Workers v2 JSON Schema (draft-04), formats checked; `uri` as a URI reference, since ADP's own samples
/// give its links relative (`"href": "/wfn/hr/v1/corporate-contact-photos/1045:1.png"`, where the schema says
/// `uri`, which draft-04 reads as an absolute URI).
fn schema() -> &'static jsonschema::Validator {
    static SCHEMA_VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA_VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("ADP's Workers schema is JSON");
        let base = url::Url::parse("https://api.adp.com/").expect("a URL");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .with_format("uri", move |reference: &str| {
                !reference.is_empty()
                    && !reference.chars().any(|c| c.is_whitespace() || c.is_control())
                    && base.join(reference).is_ok()
            })
            .build(&schema)
            .unwrap_or_else(|e| panic!("ADP's Workers schema does not compile: {e}"))
    })
}

/// How a Workers answer breaks ADP's schema (the first few ways).
fn schema_problems(answer: &Value) -> Vec<String> {
    schema()
        .iter_errors(answer)
        .take(5)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() { e.to_string() } else { format!("at {at}: {e}") }
        })
        .collect()
}

/// How the workers in a notification break ADP's schema, each read as a Workers answer of one worker: the
/// singulars a notification uses (`workAssignment`, `email`, …) as the one-item lists the schema names.
fn message_problems(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let events = message.get("events").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (n, event) in events.iter().enumerate() {
        let Some(worker) = event.pointer("/data/output/worker") else { continue };
        let answer = json!({ "workers": [pluralize(worker)] });
        out.extend(
            schema_problems(&answer)
                .into_iter()
                .map(|p| format!("events/{n}/data/output/worker ({}): {p}", event["eventNameCode"]["codeValue"])),
        );
    }
    out
}

fn pluralize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let plural = match key.as_str() {
                        "workAssignment" | "email" | "mobile" | "landline" | "pager" => Some(format!("{key}s")),
                        "fax" => Some("faxes".to_owned()),
                        _ => None,
                    };
                    match plural {
                        Some(plural) => (plural, json!([pluralize(inner)])),
                        None => (key.clone(), pluralize(inner)),
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(pluralize).collect()),
        other => other.clone(),
    }
}

/// An answer held to ADP's schema: as it is, or, when it breaks the schema, each way kept as a violation and a
/// `500` in its place (as the contract layer answers).
fn held(fake: &FakeAdp, at: &str, body: Value, problems: Vec<String>) -> Response {
    if problems.is_empty() {
        return axum::Json(body).into_response();
    }
    let problems: Vec<String> = problems.into_iter().map(|p| format!("{at}: {p}")).collect();
    for problem in &problems {
        fake.sandbox.violations().push(problem.clone());
    }
    let body = json!({ "type": "about:blank", "title": "the fake's answer breaks ADP's Workers v2 schema",
                       "status": 500, "violations": problems });
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The answer to an API call refused by a fault or an invalid token.
fn refusal(fake: &FakeAdp, headers: &HeaderMap) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| {
        let bearer = bearer(headers);
        let valid = bearer.and_then(|t| fake.company().tokens.get(t).copied()).is_some_and(|until| until > Utc::now());
        (!valid).then(|| {
            let body = json!({ "confirmMessage": { "resourceMessages": [{ "processMessages": [{ "userMessage":
                { "messageTxt": "Invalid or expired access token" } }] }] } });
            Refusal::Answer((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
        })
    })
}

async fn token(
    State(fake): State<FakeAdp>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    if let Some(refused) = fake.sandbox.fault() {
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
    let body = json!({ "workers": page });
    let problems = schema_problems(&body);
    held(&fake, &format!("GET /hr/v2/workers?$skip={skip}&$top={top}"), body, problems)
}

async fn worker(State(fake): State<FakeAdp>, headers: HeaderMap, Path(aoid): Path<String>) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Some(worker) = fake.company().workers.get(&aoid).cloned() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let body = json!({ "workers": [worker] });
    let problems = schema_problems(&body);
    held(&fake, &format!("GET /hr/v2/workers/{aoid}"), body, problems)
}

async fn next_message(State(fake): State<FakeAdp>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&fake, &headers) {
        return refused.into_response().await;
    }
    let Some((id, body)) = fake.company().queue.front().cloned() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let problems = message_problems(&body);
    let mut response = held(&fake, &format!("GET /core/v1/event-notification-messages ({id})"), body, problems);
    if let Ok(value) = HeaderValue::from_str(&id)
        && response.status().is_success()
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contracted;

    /// A fake ADP and the headers of a call with a token it issued.
    async fn started() -> (FakeAdp, HeaderMap) {
        let loopback = "127.0.0.1:0".parse().unwrap();
        let fake = FakeAdp::start(loopback, loopback, "id", "secret", Vec::new()).await.unwrap();
        fake.company().tokens.insert("token".into(), Utc::now() + chrono::Duration::hours(1));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer token"));
        (fake, headers)
    }

    async fn read(response: Response) -> (StatusCode, Value) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn list(fake: &FakeAdp, headers: &HeaderMap) -> (StatusCode, Value) {
        let query = HashMap::from([("$top".to_owned(), "100".to_owned())]);
        read(workers(State(fake.clone()), headers.clone(), Query(query)).await).await
    }

    /// Every message in the queue, read and acknowledged in turn.
    async fn messages(fake: &FakeAdp, headers: &HeaderMap) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let front = fake.company().queue.front().cloned();
            let Some((id, _)) = front else { break };
            let (status, body) = read(next_message(State(fake.clone()), headers.clone()).await).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            out.push(body);
            ack(State(fake.clone()), headers.clone(), Path(id)).await;
        }
        out
    }

    #[tokio::test]
    async fn workers_and_notifications_are_adp_s_samples_and_follow_its_workers_schema() {
        let (fake, headers) = started().await;
        let boss = fake.hire(json!({ "givenName": "Grace", "familyName1": "Hopper", "jobTitle": "CTO" }));
        let ada = fake.hire(json!({ "givenName": "Ada", "familyName1": "Lovelace", "workEmail": "ada@acme.example",
            "personalEmail": "ada@home.example", "mobile": "(555) 555-0100", "jobTitle": "Engineer",
            "department": "Engineering", "hireDate": "2020-01-06", "managerAOID": boss, "lineOne": "1 Main St",
            "cityName": "Roseland", "state": "NJ", "postalCode": "07068", "countryCode": "US" }));
        fake.change(
            &ada,
            json!({ "familyName1": "King", "workEmail": "ada.king@acme.example", "mobile": "(555) 555-0199",
            "personalEmail": "ada@elsewhere.example", "cityName": "Newark", "department": "Research",
            "managerAOID": boss, "jobTitle": "Fellow" }),
        );
        fake.leave(&boss);
        fake.terminate(&ada, Utc::now().date_naive());
        fake.rehire(&ada, Utc::now().date_naive() + chrono::Duration::days(3));

        let (status, page) = list(&fake, &headers).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (status, one) = read(worker(State(fake.clone()), headers.clone(), Path(ada.clone())).await).await;
        assert_eq!(status, StatusCode::OK, "{one}");
        let ada_now = &one["workers"][0];
        // Where ADP's sample keeps each value, and nothing of the sample's own person.
        assert_eq!(ada_now["person"]["legalName"]["formattedName"], "King, Ada");
        assert_eq!(ada_now["businessCommunication"]["emails"][0]["emailUri"], "ada.king@acme.example");
        let assignment = &ada_now["workAssignments"][0];
        assert_eq!(assignment["reportsTo"][0]["associateOID"], json!(boss));
        assert_eq!(assignment["reportsTo"][0]["reportsToWorkerName"]["formattedName"], "Grace Hopper");
        let department = assignment["homeOrganizationalUnits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["typeCode"]["codeValue"] == "Department");
        assert_eq!(department.unwrap()["nameCode"]["shortName"], "Research");
        assert_eq!(assignment["workerTypeCode"]["shortName"], "Full Time", "the sample's setting is kept");
        assert!(!one.to_string().contains("Albright") && !one.to_string().contains("test2@gmail.com"));

        let names: Vec<String> = messages(&fake, &headers)
            .await
            .iter()
            .map(|m| m["events"][0]["eventNameCode"]["codeValue"].as_str().unwrap_or_default().to_owned())
            .collect();
        let mut expected = vec!["worker.hire", "worker.hire", "worker.legal-name.change"];
        expected.extend([
            "worker.business-communication.email.change",
            "worker.personal-communication.mobile.change",
            "worker.personal-communication.email.change",
            "worker.legal-address.change",
            "worker.work-assignment.home-organizational-units.modify",
            "worker.reports-to.modify",
            "worker.work-assignment.modify",
            "worker.on-leave",
            "worker.terminate",
            "worker.rehire",
        ]);
        let mut sorted_names = names.clone();
        sorted_names.sort();
        expected.sort();
        assert_eq!(sorted_names, expected);
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }

    #[tokio::test]
    async fn notifications_name_the_worker_where_adp_s_samples_do() {
        let (fake, headers) = started().await;
        let boss = fake.hire(json!({ "givenName": "Grace", "familyName1": "Hopper" }));
        let ada = fake.hire(json!({ "givenName": "Ada", "familyName1": "Lovelace" }));
        fake.company().queue.clear();
        fake.change(&ada, json!({ "managerAOID": boss }));
        fake.rehire(&ada, Utc::now().date_naive());
        let all = messages(&fake, &headers).await;
        // worker.reports-to.modify: the worker in the event context, none in the output.
        let event = &all[0]["events"][0];
        assert_eq!(event["data"]["eventContext"]["associateOID"], json!(ada));
        assert!(event["data"]["output"]["worker"].get("associateOID").is_none());
        assert_eq!(event["data"]["output"]["worker"]["workAssignment"]["reportsTo"][0]["associateOID"], json!(boss));
        // worker.rehire: no event context; the worker, with one `workAssignment`, in the output.
        let event = &all[1]["events"][0];
        assert!(event["data"].get("eventContext").is_none());
        assert_eq!(event["data"]["output"]["worker"]["associateOID"], json!(ada));
        assert!(event["data"]["output"]["worker"]["workAssignment"].is_object());
        assert!(event["recordDateTime"].as_str().unwrap().ends_with("+0000"));
    }

    #[tokio::test]
    async fn adp_s_sample_company_is_served_as_it_is() {
        let (fake, headers) = started().await;
        assert_eq!(fake.load_adp_sample_workers().len(), 50);
        let (status, page) = list(&fake, &headers).await;
        assert_eq!((status, page["workers"].as_array().map(Vec::len)), (StatusCode::OK, Some(50)));
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }

    #[tokio::test]
    async fn a_worker_that_breaks_adp_s_schema_is_reported_and_answered_500() {
        let (fake, headers) = started().await;
        let ada = fake.hire(json!({ "givenName": "Ada", "familyName1": "Lovelace" }));
        {
            let mut company = fake.company();
            let worker = company.workers.get_mut(&ada).unwrap();
            worker["workerDates"]["originalHireDate"] = json!("06/01/2020");
            worker["workAssignments"][0]["terminationDate"] = Value::Null;
        }
        let (status, body) = read(worker(State(fake.clone()), headers.clone(), Path(ada.clone())).await).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let (status, _) = list(&fake, &headers).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let violations = fake.violations();
        assert!(violations.iter().any(|v| v.contains("/workers/0/workerDates/originalHireDate")), "{violations:?}");
        assert!(
            violations.iter().any(|v| v.contains("/workers/0/workAssignments/0/terminationDate")),
            "{violations:?}"
        );

        // And in a notification: the message is not served, and the breach is kept.
        fake.company().queue.clear();
        fake.company().notify("worker.hire", &ada, None);
        let before = fake.violations().len();
        let (status, _) = read(next_message(State(fake.clone()), headers.clone()).await).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(fake.violations()[before..].iter().any(|v| v.contains("worker.hire")), "{:?}", fake.violations());
    }
}
