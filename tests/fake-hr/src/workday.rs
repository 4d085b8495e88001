//! A fake Workday that follows the documented Web Services. Who may call:
//!
//! - an integration system user, by a WS-Security `UsernameToken` in the SOAP envelope's header
//!   (`wsse:Security` in the OASIS WSS 1.0 namespace, `Username` as `user@tenant` for the tenant in the path,
//!   `Password` as `#PasswordText`); HTTP Basic alone does not sign a SOAP request in. A request without a valid
//!   token is answered as Workday answers bad credentials: a SOAP `Client.authenticationError` fault. A RaaS
//!   report takes the same user by HTTP Basic.
//! - once [`FakeWorkday::register_api_client`] is called, an API client registered for integrations: the fake
//!   issues its id, secret and a refresh token; `POST /ccx/oauth2/{tenant}/token` (form
//!   `grant_type=refresh_token&refresh_token=…`, the client by HTTP Basic) → `{access_token, token_type,
//!   expires_in}` (the refresh token does not rotate); `Authorization: Bearer` with a token it issued and that
//!   has not expired then signs in a SOAP request or a report.
//!
//! What it serves:
//!
//! - `POST /ccx/service/{tenant}/Human_Resources/{version}`, a SOAP `Get_Workers_Request`:
//!   `Request_References/Worker_Reference/ID[@type=Employee_ID|Contingent_Worker_ID|WID]` (with
//!   `Skip_Non_Existing_Instances`), `Request_Criteria/Transaction_Log_Criteria_Data/Transaction_Date_Range_Data`
//!   (`Updated_From`/`Updated_Through`: transactions entered in the window; `Effective_From`/`Effective_Through`:
//!   transactions effective in it), `Response_Filter` (`As_Of_Entry_DateTime`, `As_Of_Effective_Date`, `Page`,
//!   `Count` 1–999, default 100; a `Page` without `As_Of_Entry_DateTime` is a validation fault) → a
//!   `Get_Workers_Response` with `Response_Results{Total_Results, Total_Pages, Page_Results, Page}` and
//!   `Response_Data/Worker[]` (WWS v30+ paths). Every change is a transaction with the time it was entered, so
//!   an answer as of an entry time shows the company exactly as it stood then: pages pinned to one time are one
//!   snapshot, whatever happens between them.
//! - `GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json` → `{"Report_Entry": [...]}` with the
//!   columns the connector documents, everyone employed or starting.
//!
//! Sandbox controls, without auth: `GET|POST /sandbox/workers` (hire: `first_name`, `last_name`, `work_email`,
//! `home_email`, `phone`, `street`, `city`, `postal_code`, `country`, `title`, `department`, `manager_id`,
//! `hire_date`, `contingent`), `PATCH /sandbox/workers/{id}`, `POST /sandbox/workers/{id}/terminate`
//! (`{"date"}`), `POST /sandbox/workers/{id}/rehire` (`{"start_date"}`), `DELETE /sandbox/workers/{id}` (a
//! rescinded hire: gone from answers as of now), `POST /sandbox/faults`, `GET /sandbox/stats`.
//!
//! Held to Workday's XML Schema, from the only WSDL at hand (Human_Resources v26.1, vendored in
//! `tests/contracts/workday` with its source; the connector asks for v44.0 by default): the element in the
//! Body of every SOAP request and of every answer (a fault's `detail` included) is validated by xmllint
//! ([`crate::xsd`]). A request that breaks the schema is answered with Workday's `Client.validationError` fault
//! (500, its `detail` a `Validation_Fault`), an answer that breaks it becomes a 500; each is kept in the fake's
//! violations, which fail the test. The schema fixes the order of every sequence, so the fake writes elements
//! in the schema's order and the ones it requires (`Name_Detail_Data/Country_Reference`,
//! `Worker_Organization_Data/Organization_Reference`). Of what the connector reads, v26.1 lacks only
//! `Employment_Data/Position_Data` (the older place of the job, read when a worker has no `Worker_Job_Data`),
//! which the fake does not write; id types and descriptors are values the schema does not fix. The RaaS report
//! is JSON that Workday describes nowhere and is not checked.

use crate::contract::{InjectedFault, Violations, contracts_dir};
use crate::faults::{Dated, Fault, Refusal, basic_user, bearer, found};
use crate::sandbox::{self, Sandbox, Sandboxed};
use crate::xsd::{Schema, soap_payload};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use quick_xml::escape::escape;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// One transaction on a worker: when it was entered, the day it takes effect, and the worker after it (`None`:
/// the hire was rescinded).
#[derive(Clone)]
struct Version {
    entered: DateTime<Utc>,
    effective: NaiveDate,
    data: Option<Map<String, Value>>,
}

struct Worker {
    wid: String,
    versions: Vec<Version>,
}

impl Worker {
    /// The worker as entered by `as_of`.
    fn as_of(&self, as_of: DateTime<Utc>) -> Option<&Map<String, Value>> {
        self.versions.iter().rev().find(|v| v.entered <= as_of).and_then(|v| v.data.as_ref())
    }

    fn current(&self) -> Option<&Map<String, Value>> {
        self.versions.last().and_then(|v| v.data.as_ref())
    }
}

struct Company {
    tenant: String,
    user: String,
    password: String,
    workers: BTreeMap<u64, Worker>,
    next_id: u64,
    api_client: Option<ApiClient>,
}

/// An API client registered for integrations, what the fake issued for it, and the access tokens it granted.
struct ApiClient {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    tokens: HashMap<String, DateTime<Utc>>,
    grants: u64,
}

/// How long an access token the fake grants lasts.
const TOKEN_LIFETIME_SECS: i64 = 3600;

#[derive(Clone)]
pub struct FakeWorkday {
    company: Arc<Mutex<Company>>,
    base_url: String,
    /// Counts `Get_Workers` pages answered too.
    sandbox: Sandbox,
}

/// The name the sandbox counts `Get_Workers` pages under (and the stats show them by).
const PAGES: &str = "pages";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl FakeWorkday {
    pub async fn start(
        addr: SocketAddr,
        tenant: &str,
        user: &str,
        password: &str,
        people: Vec<Value>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Self {
            company: Arc::new(Mutex::new(Company {
                tenant: tenant.to_owned(),
                user: user.to_owned(),
                password: password.to_owned(),
                workers: BTreeMap::new(),
                next_id: 21001,
                api_client: None,
            })),
            base_url,
            sandbox: Sandbox::default(),
        };
        let seeded = Utc::now() - chrono::Duration::days(3);
        for flat in people {
            fake.add(flat, seeded);
        }
        let app = Router::new()
            .route(
                "/ccx/service/{tenant}/Human_Resources/{version}",
                post(get_workers)
                    .layer(axum::middleware::from_fn_with_state(fake.sandbox.violations().clone(), held_to_schema)),
            )
            .route("/ccx/service/customreport2/{tenant}/{owner}/{report}", get(report))
            .route("/ccx/oauth2/{tenant}/token", post(token))
            .route("/sandbox/workers", get(sandbox_list).post(sandbox_hire))
            .route("/sandbox/workers/{id}", patch(sandbox_change).delete(sandbox_delete))
            .route("/sandbox/workers/{id}/terminate", post(sandbox_terminate))
            .route("/sandbox/workers/{id}/rehire", post(sandbox_rehire))
            .merge(sandbox::routes())
            .with_state(fake.clone());
        sandbox::serve(listener, app);
        Ok(fake)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What an admin sends to `POST /v1/connections` to connect IT Hub to this fake (`report`: read the RaaS
    /// report rather than `Get_Workers`).
    pub fn connection_request(&self, report: bool) -> Value {
        let company = self.company();
        let mut settings = json!({ "base_url": self.base_url, "tenant": company.tenant, "version": "v44.0" });
        if report {
            settings["report"] = json!({ "owner": "ISU_ithub", "name": "IT_Hub_Workers" });
        }
        json!({ "provider": "workday", "settings": settings,
                "credentials": { "username": company.user, "password": company.password } })
    }

    /// Registers an API client for integrations and issues a refresh token for it, as a Workday admin would:
    /// the credentials (`client_id`, `client_secret`, `refresh_token`) to connect IT Hub with.
    pub fn register_api_client(&self) -> Value {
        let mut company = self.company();
        let seed = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let issued = |kind: &str| format!("{kind}-{}", hex::encode(Sha256::digest(format!("{kind}:{seed}"))));
        let client = ApiClient {
            client_id: issued("client"),
            client_secret: issued("secret"),
            refresh_token: issued("refresh"),
            tokens: HashMap::new(),
            grants: 0,
        };
        let credentials = json!({ "client_id": client.client_id, "client_secret": client.client_secret,
                                  "refresh_token": client.refresh_token });
        company.api_client = Some(client);
        credentials
    }

    /// What an admin sends to connect IT Hub to this fake with a registered API client (OAuth 2.0).
    pub fn oauth_connection_request(&self) -> Value {
        let mut request = self.connection_request(false);
        request["credentials"] = self.register_api_client();
        request
    }

    /// Access tokens granted so far.
    pub fn token_grants(&self) -> u64 {
        self.company().api_client.as_ref().map_or(0, |c| c.grants)
    }

    /// Every access token granted so far expires now.
    pub fn expire_tokens(&self) {
        let now = Utc::now();
        if let Some(client) = self.company().api_client.as_mut() {
            client.tokens.values_mut().for_each(|until| *until = now);
        }
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        sandbox::lock(&self.company)
    }

    /// The ids of everyone Workday has now.
    pub fn ids(&self) -> Vec<String> {
        let company = self.company();
        company.workers.iter().filter(|(_, w)| w.current().is_some()).map(|(id, _)| id.to_string()).collect()
    }

    pub fn inject(&self, fault: Fault) {
        self.sandbox.inject(fault);
    }

    pub fn faults_left(&self) -> usize {
        self.sandbox.faults_left()
    }

    /// `Get_Workers` pages answered so far.
    pub fn pages_served(&self) -> u64 {
        self.sandbox.counted(PAGES)
    }

    fn add(&self, flat: Value, at: DateTime<Utc>) -> String {
        let mut company = self.company();
        let id = company.next_id;
        company.next_id += 1;
        let mut data = Map::new();
        data.insert("hire_date".into(), json!(today().to_string()));
        merge(&mut data, flat);
        let effective = hire_date(&data);
        let wid = format!("{:032x}", id * 7919);
        company
            .workers
            .insert(id, Worker { wid, versions: vec![Version { entered: at, effective, data: Some(data) }] });
        id.to_string()
    }

    pub fn hire(&self, flat: Value) -> String {
        self.add(flat, Utc::now())
    }

    /// A transaction on the worker, entered now and effective on `effective` (today by default).
    fn transact(&self, id: &str, effective: Option<NaiveDate>, change: impl FnOnce(&mut Map<String, Value>)) -> bool {
        let mut company = self.company();
        let Some(worker) = id.parse().ok().and_then(|n: u64| company.workers.get_mut(&n)) else {
            return false;
        };
        let Some(mut data) = worker.current().cloned() else { return false };
        change(&mut data);
        // Entered strictly after the last transaction, so "as of" a transaction's time never sees the next one.
        let last = worker.versions.last().map(|v| v.entered).unwrap_or_default();
        let entered = Utc::now().max(last + chrono::Duration::microseconds(1));
        worker.versions.push(Version { entered, effective: effective.unwrap_or_else(today), data: Some(data) });
        true
    }

    pub fn change(&self, id: &str, flat: Value) -> bool {
        self.transact(id, None, |data| merge(data, flat))
    }

    /// A termination with `date` as the last day.
    pub fn terminate(&self, id: &str, date: NaiveDate) -> bool {
        self.transact(id, Some(date), |data| {
            data.insert("termination_date".into(), json!(date.to_string()));
        })
    }

    /// A termination effective on `date` that was entered `hours` ago (an effective-dated change: it is in the
    /// log's entered window of that time, and takes effect later).
    pub fn terminate_entered_earlier(&self, id: &str, date: NaiveDate, hours: i64) -> bool {
        if !self.terminate(id, date) {
            return false;
        }
        let mut company = self.company();
        let worker = id.parse().ok().and_then(|n: u64| company.workers.get_mut(&n));
        if let Some(version) = worker.and_then(|w| w.versions.last_mut()) {
            version.entered -= chrono::Duration::hours(hours);
        }
        true
    }

    /// A rehire: a new hire date, the termination cleared, `Rehire` set.
    pub fn rehire(&self, id: &str, start: NaiveDate) -> bool {
        self.transact(id, Some(start), |data| {
            data.insert("hire_date".into(), json!(start.to_string()));
            data.remove("termination_date");
            data.insert("rehire".into(), json!(true));
        })
    }

    /// The hire is rescinded: the worker is gone from every answer as of now.
    pub fn delete(&self, id: &str) -> bool {
        let mut company = self.company();
        let Some(worker) = id.parse().ok().and_then(|n: u64| company.workers.get_mut(&n)) else {
            return false;
        };
        worker.versions.push(Version { entered: Utc::now(), effective: today(), data: None });
        true
    }
}

fn merge(data: &mut Map<String, Value>, flat: Value) {
    if let Value::Object(flat) = flat {
        for (k, v) in flat {
            if v.is_null() {
                data.remove(&k);
            } else {
                data.insert(k, v);
            }
        }
    }
}

fn hire_date(data: &Map<String, Value>) -> NaiveDate {
    data.get("hire_date").and_then(Value::as_str).and_then(|d| d.parse().ok()).unwrap_or_else(today)
}

fn termination_date(data: &Map<String, Value>) -> Option<NaiveDate> {
    data.get("termination_date").and_then(Value::as_str).and_then(|d| d.parse().ok())
}

/// The small sample company as sandbox hires.
pub fn sample(today: NaiveDate) -> Vec<Value> {
    crate::company::small_company(today)
        .into_iter()
        .map(|p| {
            json!({ "first_name": p.first, "last_name": p.last,
                    "work_email": format!("{}@acme.example", p.first.to_lowercase()), "title": p.title,
                    "department": p.department, "hire_date": p.start.to_string(), "street": "1 Main St",
                    "city": p.city, "country": "US" })
        })
        .collect()
}

fn text(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(|s| escape(s).into_owned())
}

/// One worker as `Get_Workers` renders it (WWS v30+), as of `effective`.
fn render(
    id: u64,
    wid: &str,
    data: &Map<String, Value>,
    effective: NaiveDate,
    workers: &BTreeMap<u64, Worker>,
) -> String {
    let mut x = String::new();
    let id_type = if data.get("contingent").and_then(Value::as_bool) == Some(true) {
        "Contingent_Worker_ID"
    } else {
        "Employee_ID"
    };
    let _ = write!(
        x,
        "<wd:Worker><wd:Worker_Reference><wd:ID wd:type=\"WID\">{wid}</wd:ID><wd:ID wd:type=\"{id_type}\">{id}</wd:ID>\
         </wd:Worker_Reference><wd:Worker_Data><wd:Worker_ID>{id}</wd:Worker_ID><wd:Personal_Data><wd:Name_Data>\
         <wd:Legal_Name_Data><wd:Name_Detail_Data><wd:Country_Reference><wd:ID wd:type=\"ISO_3166-1_Alpha-2_Code\">{}\
         </wd:ID></wd:Country_Reference><wd:First_Name>{}</wd:First_Name><wd:Last_Name>{}</wd:Last_Name>\
         </wd:Name_Detail_Data></wd:Legal_Name_Data></wd:Name_Data><wd:Contact_Data>",
        text(data, "country").unwrap_or_else(|| "US".to_owned()),
        text(data, "first_name").unwrap_or_default(),
        text(data, "last_name").unwrap_or_default(),
    );
    let usage = |kind: &str| {
        format!(
            "<wd:Usage_Data wd:Public=\"1\"><wd:Type_Data wd:Primary=\"1\"><wd:Type_Reference wd:Descriptor=\"{kind}\">\
             <wd:ID wd:type=\"Communication_Usage_Type_ID\">{}</wd:ID></wd:Type_Reference></wd:Type_Data></wd:Usage_Data>",
            kind.to_uppercase()
        )
    };
    if data.contains_key("street") || data.contains_key("city") {
        let _ = write!(
            x,
            "<wd:Address_Data><wd:Country_Reference><wd:ID wd:type=\"ISO_3166-1_Alpha-2_Code\">{}</wd:ID>\
             </wd:Country_Reference><wd:Address_Line_Data wd:Type=\"ADDRESS_LINE_1\">{}</wd:Address_Line_Data>\
             <wd:Municipality>{}</wd:Municipality><wd:Postal_Code>{}</wd:Postal_Code>{}</wd:Address_Data>",
            text(data, "country").unwrap_or_default(),
            text(data, "street").unwrap_or_default(),
            text(data, "city").unwrap_or_default(),
            text(data, "postal_code").unwrap_or_default(),
            usage("Home"),
        );
    }
    if let Some(phone) = text(data, "phone") {
        let _ = write!(
            x,
            "<wd:Phone_Data wd:Formatted_Phone=\"{phone}\"><wd:Phone_Number>{phone}</wd:Phone_Number>\
             <wd:Phone_Device_Type_Reference wd:Descriptor=\"Mobile\"/>{}</wd:Phone_Data>",
            usage("Work")
        );
    }
    for (key, kind) in [("work_email", "Work"), ("home_email", "Home")] {
        if let Some(email) = text(data, key) {
            let _ = write!(
                x,
                "<wd:Email_Address_Data><wd:Email_Address>{email}</wd:Email_Address>{}</wd:Email_Address_Data>",
                usage(kind)
            );
        }
    }
    let hire = hire_date(data);
    let ended = termination_date(data).filter(|d| *d <= effective);
    let active = hire <= effective && ended.is_none();
    let _ = write!(
        x,
        "</wd:Contact_Data></wd:Personal_Data><wd:Employment_Data><wd:Worker_Job_Data wd:Primary_Job=\"1\">\
         <wd:Position_Data><wd:Position_ID>P-{id}</wd:Position_ID><wd:Position_Title>{}</wd:Position_Title>\
         </wd:Position_Data></wd:Worker_Job_Data><wd:Worker_Status_Data><wd:Active>{}</wd:Active>\
         <wd:Hire_Date>{hire}</wd:Hire_Date><wd:Original_Hire_Date>{hire}</wd:Original_Hire_Date>\
         <wd:Terminated>{}</wd:Terminated>{}{}<wd:Rehire>{}</wd:Rehire></wd:Worker_Status_Data></wd:Employment_Data>",
        text(data, "title").unwrap_or_default(),
        u8::from(active),
        u8::from(ended.is_some()),
        ended.map(|d| format!("<wd:Termination_Date>{d}</wd:Termination_Date>")).unwrap_or_default(),
        if data.get("on_leave").and_then(Value::as_bool) == Some(true) {
            "<wd:Leave_Status_Data><wd:On_Leave>1</wd:On_Leave></wd:Leave_Status_Data>"
        } else {
            ""
        },
        u8::from(data.get("rehire").and_then(Value::as_bool) == Some(true)),
    );
    if let Some(department) = text(data, "department") {
        let _ = write!(
            x,
            "<wd:Organization_Data><wd:Worker_Organization_Data><wd:Organization_Reference>\
             <wd:ID wd:type=\"Organization_Reference_ID\">SUP-{}</wd:ID></wd:Organization_Reference>\
             <wd:Organization_Data><wd:Organization_Name>{department}</wd:Organization_Name><wd:Organization_Type_Reference><wd:ID wd:type=\"Organization_Type_ID\">SUPERVISORY\
             </wd:ID></wd:Organization_Type_Reference></wd:Organization_Data></wd:Worker_Organization_Data>\
             </wd:Organization_Data>",
            &hex::encode(Sha256::digest(department.as_bytes()))[..12]
        );
    }
    let manager = data.get("manager_id").and_then(Value::as_str).and_then(|m| m.parse::<u64>().ok());
    if let Some((manager, boss)) = manager.and_then(|m| workers.get(&m).map(|w| (m, w))) {
        let _ = write!(
            x,
            "<wd:Management_Chain_Data><wd:Worker_Supervisory_Management_Chain_Data><wd:Management_Chain_Data>\
             <wd:Manager_Reference><wd:ID wd:type=\"WID\">{}</wd:ID><wd:ID wd:type=\"Employee_ID\">{manager}</wd:ID>\
             </wd:Manager_Reference></wd:Management_Chain_Data></wd:Worker_Supervisory_Management_Chain_Data>\
             </wd:Management_Chain_Data>",
            boss.wid
        );
    }
    x.push_str("</wd:Worker_Data></wd:Worker>");
    x
}

fn fault(status: StatusCode, code: &str, message: &str) -> Response {
    soap_fault(status, code, message, "")
}

fn soap_fault(status: StatusCode, code: &str, message: &str, detail: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:{code}</faultcode><faultstring>{}</faultstring>{detail}\
         </SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(message)
    );
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

/// A request Workday does not take: a 500 SOAP fault `Client.validationError`, its `detail` the
/// `Validation_Fault` the WSDL declares as every operation's fault, one `Validation_Error` per problem.
fn validation_fault(problems: &[String]) -> Response {
    let errors: String = problems
        .iter()
        .map(|p| format!("<wd:Validation_Error><wd:Message>{}</wd:Message></wd:Validation_Error>", escape(p.as_str())))
        .collect();
    let detail = format!(
        "<detail><wd:Validation_Fault xmlns:wd=\"urn:com.workday/bsvc\">{errors}</wd:Validation_Fault></detail>"
    );
    soap_fault(StatusCode::INTERNAL_SERVER_ERROR, "Client.validationError", "Validation error occurred.", &detail)
}

/// Workday's Human_Resources schema, from the only WSDL at hand (v26.1; `tests/contracts/workday/README.md`).
fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::from_wsdl("Human_Resources", &contracts_dir().join("workday/Human_Resources.wsdl")))
}

/// What in a SOAP message breaks Workday's schema: the Body's element (or a fault's detail), as v26.1 has it.
async fn schema_problems(message: Bytes) -> Vec<String> {
    let check = move || {
        let text = std::str::from_utf8(&message).map_err(|_| vec!["not UTF-8".to_owned()])?;
        let payload = soap_payload(text).map_err(|e| vec![e])?;
        payload.iter().try_for_each(|element| schema().validate(element))
    };
    match tokio::task::spawn_blocking(check).await {
        Ok(result) => result.err().unwrap_or_default(),
        Err(e) => vec![format!("the schema check failed: {e}")],
    }
}

/// The SOAP operation held to Workday's schema, as `contract::Contract::enforce` holds the REST fakes to their
/// descriptions: a request that breaks it is answered with Workday's validation fault, an answer that breaks it
/// becomes a 500; each problem is kept in the fake's violations. Injected faults (plain text, a truncated
/// body) are not SOAP and pass.
async fn held_to_schema(State(violations): State<Violations>, request: Request, next: Next) -> Response {
    const BODY_LIMIT: usize = 64 * 1024 * 1024;
    let (parts, body) = request.into_parts();
    let at = format!("{} {}", parts.method, parts.uri.path());
    let body = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let problems = schema_problems(body.clone()).await;
    if !problems.is_empty() {
        for problem in &problems {
            violations.push(format!("{at}: the request breaks Workday's schema: {problem}"));
        }
        return validation_fault(&problems);
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let xml = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/xml") || v.starts_with("application/soap+xml"));
    if !xml || response.extensions().get::<InjectedFault>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let problems = schema_problems(body.clone()).await;
    if problems.is_empty() {
        return Response::from_parts(parts, Body::from(body));
    }
    for problem in &problems {
        violations.push(format!("{at}: the fake's answer breaks Workday's schema: {problem}"));
    }
    let message = format!("the fake's answer breaks Workday's schema: {}", problems.join("; "));
    (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
}

/// A `UsernameToken` from a SOAP envelope's `Header/wsse:Security`: the user name and the password, when the
/// password is sent as text (a digest, or anything else, signs nobody in).
fn username_token(xml: &str) -> Option<(String, String)> {
    const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    const PASSWORD_TEXT: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
    fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        node.children().find(|n| n.is_element() && n.has_tag_name((ns, name)))
    }
    let doc = roxmltree::Document::parse(xml).ok()?;
    let header = child(doc.root_element(), SOAP, "Header")?;
    let token = child(child(header, WSSE, "Security")?, WSSE, "UsernameToken")?;
    let password = child(token, WSSE, "Password")?;
    if password.attribute("Type").is_some_and(|t| t != PASSWORD_TEXT) {
        return None;
    }
    let username = child(token, WSSE, "Username")?.text()?.trim().to_owned();
    Some((username, password.text().unwrap_or_default().to_owned()))
}

/// How a request signs in: a SOAP request by the `UsernameToken` in its envelope (`soap`), a report by HTTP
/// Basic; either by a bearer token the fake granted.
fn refusal(fake: &FakeWorkday, headers: &HeaderMap, tenant: &str, soap: Option<&str>) -> Option<Refusal> {
    fake.sandbox.refuse_or_count(|| not_signed_in(&fake.company(), headers, tenant, soap))
}

/// Refuses a caller who is not signed in (see [`refusal`]) with Workday's authentication fault.
fn not_signed_in(company: &Company, headers: &HeaderMap, tenant: &str, soap: Option<&str>) -> Option<Refusal> {
    let bearer = bearer(headers);
    let now = Utc::now();
    let bearer_ok = bearer
        .zip(company.api_client.as_ref())
        .and_then(|(token, client)| client.tokens.get(token))
        .is_some_and(|until| *until > now);
    let user_ok = match soap {
        Some(body) => username_token(body).is_some_and(|(user, password)| {
            user.rsplit_once('@').is_some_and(|(_, t)| t == tenant)
                && user == company.user
                && password == company.password
        }),
        None => basic_user(headers).is_some_and(|(u, p)| u == company.user && p == company.password),
    };
    if !(user_ok || bearer_ok) || tenant != company.tenant {
        return Some(Refusal::Answer(fault(
            StatusCode::UNAUTHORIZED,
            "Client.authenticationError",
            "invalid username or password",
        )));
    }
    None
}

/// The token endpoint of API clients registered for integrations: the refresh-token grant, the client by
/// HTTP Basic.
async fn token(
    State(fake): State<FakeWorkday>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = fake.sandbox.fault() {
        return refused.into_response().await;
    }
    let error = |status: StatusCode, error: &str| (status, axum::Json(json!({ "error": error }))).into_response();
    let mut company = fake.company();
    let tenant_ok = tenant == company.tenant;
    let Some(client) = company.api_client.as_mut().filter(|_| tenant_ok) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !basic_user(&headers).is_some_and(|(id, secret)| id == client.client_id && secret == client.client_secret) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if form.get("refresh_token") != Some(&client.refresh_token) {
        return error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    client.grants += 1;
    let seed =
        format!("{}:{}:{}", client.client_id, client.grants, Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let access = hex::encode(Sha256::digest(seed));
    client.tokens.insert(access.clone(), Utc::now() + chrono::Duration::seconds(TOKEN_LIFETIME_SECS));
    axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS }))
        .into_response()
}

/// The parts of a `Get_Workers_Request` the fake reads.
#[derive(Default)]
struct Asked {
    ids: Vec<(String, String)>,
    updated: Option<(DateTime<Utc>, DateTime<Utc>)>,
    effective_window: Option<(NaiveDate, NaiveDate)>,
    as_of: Option<DateTime<Utc>>,
    effective: Option<NaiveDate>,
    page: Option<usize>,
    count: Option<usize>,
}

fn read_request(xml: &str) -> Result<Asked, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("the request is not XML: {e}"))?;
    let find = |name: &str| doc.descendants().find(|n| n.is_element() && n.tag_name().name() == name);
    if find("Get_Workers_Request").is_none() {
        return Err("expected a Get_Workers_Request".into());
    }
    let value = |name: &str| find(name).and_then(|n| n.text()).map(|t| t.trim().to_owned());
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        value(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| format!("{name} is not a dateTime"))
            })
            .transpose()
    };
    let day = |name: &str| -> Result<Option<NaiveDate>, String> {
        value(name).map(|v| v.get(..10).unwrap_or(&v).parse().map_err(|_| format!("{name} is not a date"))).transpose()
    };
    let number = |name: &str| -> Result<Option<usize>, String> {
        value(name).map(|v| v.parse().map_err(|_| format!("{name} is not a number"))).transpose()
    };
    let mut asked = Asked {
        as_of: time("As_Of_Entry_DateTime")?,
        effective: day("As_Of_Effective_Date")?,
        page: number("Page")?,
        count: number("Count")?,
        ..Asked::default()
    };
    if let (Some(from), Some(through)) = (time("Updated_From")?, time("Updated_Through")?) {
        asked.updated = Some((from, through));
    }
    if let (Some(from), Some(through)) = (time("Effective_From")?, time("Effective_Through")?) {
        asked.effective_window = Some((from.date_naive(), through.date_naive()));
    }
    if let Some(references) = find("Request_References") {
        for id in references.descendants().filter(|n| n.is_element() && n.tag_name().name() == "ID") {
            let kind = id.attributes().find(|a| a.name() == "type").map(|a| a.value().to_owned()).unwrap_or_default();
            asked.ids.push((kind, id.text().unwrap_or_default().trim().to_owned()));
        }
    }
    Ok(asked)
}

async fn get_workers(
    State(fake): State<FakeWorkday>,
    headers: HeaderMap,
    Path((tenant, _version)): Path<(String, String)>,
    body: String,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, &tenant, Some(&body)) {
        return refused.into_response().await;
    }
    let asked = match read_request(&body) {
        Ok(asked) => asked,
        Err(message) => return validation_fault(&[message]),
    };
    if asked.page.is_some() && asked.as_of.is_none() {
        let message = "If you set the Page parameter, you must also specify the As_Of_Entry_DateTime";
        return validation_fault(&[message.to_owned()]);
    }
    let count = asked.count.unwrap_or(100);
    if !(1..=999).contains(&count) {
        return validation_fault(&["Count must be between 1 and 999".to_owned()]);
    }
    let now = Utc::now();
    let as_of = asked.as_of.unwrap_or(now);
    let effective = asked.effective.unwrap_or_else(|| as_of.date_naive());
    let page = asked.page.unwrap_or(1).max(1);
    let company = fake.company();
    fake.sandbox.count(PAGES);
    let matching: Vec<(u64, &Worker, &Map<String, Value>)> = company
        .workers
        .iter()
        .filter_map(|(id, w)| w.as_of(as_of).map(|data| (*id, w, data)))
        .filter(|(id, w, data)| {
            asked.ids.is_empty()
                || asked.ids.iter().any(|(kind, value)| match kind.as_str() {
                    "WID" => *value == w.wid,
                    "Contingent_Worker_ID" => {
                        *value == id.to_string() && data.get("contingent").and_then(Value::as_bool) == Some(true)
                    }
                    _ => *value == id.to_string() && data.get("contingent").and_then(Value::as_bool) != Some(true),
                })
        })
        .filter(|(_, w, _)| {
            asked
                .updated
                .is_none_or(|(from, through)| w.versions.iter().any(|v| v.entered >= from && v.entered <= through))
        })
        .filter(|(_, w, _)| {
            asked.effective_window.is_none_or(|(from, through)| {
                w.versions.iter().any(|v| v.entered <= as_of && v.effective >= from && v.effective <= through)
            })
        })
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(count);
    let workers: String = matching
        .iter()
        .skip((page - 1) * count)
        .take(count)
        .map(|(id, w, data)| render(*id, &w.wid, data, effective, &company.workers))
        .collect();
    let results = matching.len().saturating_sub((page - 1) * count).min(count);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <env:Body><wd:Get_Workers_Response xmlns:wd=\"urn:com.workday/bsvc\" wd:version=\"v44.0\">\
         <wd:Response_Filter><wd:As_Of_Effective_Date>{effective}</wd:As_Of_Effective_Date>\
         <wd:As_Of_Entry_DateTime>{}</wd:As_Of_Entry_DateTime><wd:Page>{page}</wd:Page><wd:Count>{count}</wd:Count>\
         </wd:Response_Filter><wd:Response_Results><wd:Total_Results>{total}</wd:Total_Results>\
         <wd:Total_Pages>{pages}</wd:Total_Pages><wd:Page_Results>{results}</wd:Page_Results><wd:Page>{page}</wd:Page>\
         </wd:Response_Results><wd:Response_Data>{workers}</wd:Response_Data></wd:Get_Workers_Response></env:Body>\
         </env:Envelope>",
        as_of.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    (StatusCode::OK, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

async fn report(
    State(fake): State<FakeWorkday>,
    headers: HeaderMap,
    Path((tenant, _owner, _report)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&fake, &headers, &tenant, None) {
        return refused.into_response().await;
    }
    if query.get("format").map(String::as_str) != Some("json") {
        return (StatusCode::BAD_REQUEST, "this fake serves format=json").into_response();
    }
    let company = fake.company();
    let today = today();
    let rows: Vec<Value> = company
        .workers
        .iter()
        .filter_map(|(id, w)| w.current().map(|data| (id, data)))
        .filter(|(_, data)| termination_date(data).is_none_or(|d| d >= today))
        .map(|(id, data)| {
            let get = |k: &str| data.get(k).cloned().unwrap_or(Value::Null);
            json!({ "Employee_ID": id.to_string(), "First_Name": get("first_name"), "Last_Name": get("last_name"),
                    "Work_Email": get("work_email"), "Personal_Email": get("home_email"), "Phone": get("phone"),
                    "Job_Title": get("title"), "Department": get("department"), "Manager_ID": get("manager_id"),
                    "Hire_Date": get("hire_date"), "Termination_Date": get("termination_date"),
                    "Active": if hire_date(data) <= today { "1" } else { "0" },
                    "On_Leave": if data.get("on_leave").and_then(Value::as_bool) == Some(true) { "1" } else { "0" } })
        })
        .collect();
    axum::Json(json!({ "Report_Entry": rows })).into_response()
}

async fn sandbox_list(State(fake): State<FakeWorkday>) -> Response {
    let company = fake.company();
    let all: Vec<Value> = company
        .workers
        .iter()
        .filter_map(|(id, w)| w.current().map(|d| json!({ "id": id.to_string(), "worker": d })))
        .collect();
    axum::Json(json!({ "workers": all })).into_response()
}

async fn sandbox_hire(State(fake): State<FakeWorkday>, axum::Json(flat): axum::Json<Value>) -> Response {
    if flat.get("first_name").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, "send a JSON object with at least first_name").into_response();
    }
    let id = fake.hire(flat);
    (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()
}

async fn sandbox_change(
    State(fake): State<FakeWorkday>,
    Path(id): Path<String>,
    axum::Json(flat): axum::Json<Value>,
) -> Response {
    found(fake.change(&id, flat))
}

async fn sandbox_delete(State(fake): State<FakeWorkday>, Path(id): Path<String>) -> Response {
    found(fake.delete(&id))
}

async fn sandbox_terminate(
    State(fake): State<FakeWorkday>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    found(fake.terminate(&id, body.and_then(|b| b.0.date).unwrap_or_else(today)))
}

async fn sandbox_rehire(
    State(fake): State<FakeWorkday>,
    Path(id): Path<String>,
    body: Option<axum::Json<Dated>>,
) -> Response {
    found(fake.rehire(&id, body.and_then(|b| b.0.start_date).unwrap_or_else(today)))
}

impl Sandboxed for FakeWorkday {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn stats(&self) -> Value {
        let headcount = self.company().workers.values().filter(|w| w.current().is_some()).count();
        json!({ PAGES: self.pages_served(), "headcount": headcount })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contracted;

    const USER: &str = "ISU_ithub@acme";
    const PASSWORD: &str = "isu-password-1";

    /// A `Get_Workers_Request` envelope signed as the fake's user, with `inside` in the request element.
    fn envelope(inside: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope \
             xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:bsvc=\"urn:com.workday/bsvc\">\
             <soapenv:Header><wsse:Security \
             xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">\
             <wsse:UsernameToken><wsse:Username>{USER}</wsse:Username><wsse:Password>{PASSWORD}</wsse:Password>\
             </wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>\
             <bsvc:Get_Workers_Request bsvc:version=\"v44.0\">{inside}</bsvc:Get_Workers_Request></soapenv:Body>\
             </soapenv:Envelope>"
        )
    }

    fn filter(page: u32) -> String {
        format!(
            "<bsvc:Response_Filter><bsvc:As_Of_Entry_DateTime>{}</bsvc:As_Of_Entry_DateTime><bsvc:Page>{page}\
             </bsvc:Page><bsvc:Count>50</bsvc:Count></bsvc:Response_Filter>",
            // Past the transactions entered just now, which the millisecond would cut short.
            (Utc::now() + chrono::Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Millis, true)
        )
    }

    async fn company() -> FakeWorkday {
        let today = today();
        let mut people = sample(today);
        if let Some(first) = people.first_mut() {
            first["phone"] = json!("+44 7700 900000");
            first["home_email"] = json!("ada@home.example");
            first["postal_code"] = json!("N1 9GU");
            first["on_leave"] = json!(true);
        }
        people
            .push(json!({ "first_name": "Cy", "last_name": "Contractor", "contingent": true, "manager_id": "21001" }));
        let fake = FakeWorkday::start("127.0.0.1:0".parse().unwrap(), "acme", USER, PASSWORD, people).await.unwrap();
        let ids = fake.ids();
        fake.terminate(&ids[1], today);
        fake.rehire(&ids[2], today + chrono::Duration::days(3));
        fake
    }

    async fn post(fake: &FakeWorkday, body: String) -> (u16, String) {
        let url = format!("{}/ccx/service/acme/Human_Resources/v44.0", fake.base_url());
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn every_worker_the_fake_renders_is_valid_under_workdays_schema() {
        let fake = company().await;
        let (status, body) = post(&fake, envelope(&filter(1))).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<wd:Leave_Status_Data>") && body.contains("Contingent_Worker_ID"), "{body}");
        assert!(body.contains("<wd:Termination_Date>") && body.contains("<wd:Manager_Reference>"), "{body}");
        assert_eq!(fake.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_request_that_breaks_the_schema_gets_workdays_validation_fault_and_is_kept() {
        let fake = company().await;
        // `Page` before `As_Of_Entry_DateTime`: the schema's sequence has it after.
        let disordered = format!(
            "<bsvc:Response_Filter><bsvc:Page>1</bsvc:Page><bsvc:As_Of_Entry_DateTime>{}</bsvc:As_Of_Entry_DateTime>\
             </bsvc:Response_Filter>",
            Utc::now().to_rfc3339()
        );
        let (status, body) = post(&fake, envelope(&disordered)).await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("<faultcode>SOAP-ENV:Client.validationError</faultcode>"), "{body}");
        assert!(body.contains("<wd:Validation_Fault") && body.contains("As_Of_Entry_DateTime"), "{body}");
        let violations = fake.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].contains("the request breaks Workday's schema"), "{violations:?}");
        assert_eq!(fake.pages_served(), 0, "not answered");
    }

    #[tokio::test]
    async fn an_answer_that_breaks_the_schema_is_caught() {
        let fake = company().await;
        let (_, body) = post(&fake, envelope(&filter(1))).await;
        assert!(schema_problems(Bytes::from(body.clone())).await.is_empty());
        // The elements of the status data out of their order, and a value of the wrong type.
        let swapped = body.replacen("<wd:Active>", "<wd:Rehire>0</wd:Rehire><wd:Active>", 1);
        assert!(!schema_problems(Bytes::from(swapped)).await.is_empty());
        let count = body.replacen("<wd:Count>50</wd:Count>", "<wd:Count>fifty</wd:Count>", 1);
        let problems = schema_problems(Bytes::from(count)).await;
        assert!(problems.iter().any(|p| p.contains("Count")), "{problems:?}");
    }
}
