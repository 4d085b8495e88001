//! Helpers for the integration tests: a private set of AWS resources in moto per test, tenants with keys, BambooHR
//! connections to a fake server, and the HTTP routes served on a loopback port.
//!
//! Run through `make test`, which starts moto and sets `AWS_ENDPOINT_URL`.

pub mod faults;
pub mod scenario;

use chrono::{DateTime, Utc};
use fake_hr::FakeBamboo;
pub use fake_hr::contract::Contracted;
use ithub::domain::{ConnectionId, Employee, TenantId};
use ithub::messages::{EmployeeObserved, Source};
use ithub::providers::NewConnection;
use ithub::resources::{Names, QueueSettings};
use ithub::store::{Connection, RunMode, RunStatus, RunTrigger, SyncRun};
pub use local::Stack;
use std::net::SocketAddr;

pub const FAKE_COMPANY: &str = "acme";
pub const FAKE_KEY: &str = "0123456789abcdef0123456789abcdef01234567";

/// A fresh table, queue pair and bus in moto, named for this test alone.
pub async fn stack() -> Stack {
    stack_with(QueueSettings::default()).await
}

pub async fn stack_with(settings: QueueSettings) -> Stack {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| v.starts_with("http://127.0.0.1")),
        "integration tests need moto: run them with `make test`, which starts one and sets AWS_ENDPOINT_URL"
    );
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    Stack::bootstrap(&Names::prefixed(&prefix), settings).await.expect("bootstrap against moto")
}

/// A tenant and an admin key for it.
pub async fn tenant(stack: &Stack) -> (TenantId, String) {
    let tenant = TenantId::generate();
    stack.store.create_tenant(&tenant, "Test Co").await.expect("create tenant");
    let (key, hash) = ithub::apikey::generate();
    stack.store.put_api_key(&hash, &tenant, "test", None).await.expect("store key");
    (tenant, key)
}

/// A fake BambooHR on a free loopback port with the given people.
pub async fn fake_bamboo(people: Vec<(u32, serde_json::Value)>) -> FakeBamboo {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback");
    FakeBamboo::start(addr, FAKE_COMPANY, FAKE_KEY, people).await.expect("start fake BambooHR")
}

/// Connects `tenant` to `fake` through the service layer, as an admin would, then makes `secret` its one webhook
/// secret (so tests can sign deliveries with a secret they know).
pub async fn connect(stack: &Stack, tenant: &TenantId, fake: &FakeBamboo, secret: &str) -> Connection {
    connect_with(stack, tenant, fake.connection_request(), secret).await
}

/// Connects `tenant` with an admin's connection request for any HR system, then makes `secret` its one webhook
/// secret.
pub async fn connect_with(stack: &Stack, tenant: &TenantId, request: serde_json::Value, secret: &str) -> Connection {
    let request: NewConnection = serde_json::from_value(request).expect("a connection request");
    let acting =
        ithub::service::Acting { tenant: tenant.clone(), actor: ithub::domain::Actor::Admin { key: "test".into() } };
    let made = stack
        .service()
        .create_connection(&stack.secrets, stack.http.egress(), &acting, request)
        .await
        .expect("connect");
    let mut secrets = stack.secrets.get_fresh(&made.connection.secret_id).await.expect("the connection's secrets");
    secrets.webhook_secrets = vec![secret.to_owned()];
    stack.secrets.put(&made.connection.secret_id, &secrets).await.expect("store the webhook secret");
    made.connection
}

/// Sets up the fake BambooHR's global webhook to deliver to `url` and pastes the private key BambooHR generated
/// for it into the connection, as an admin would (the key is BambooHR's, never the test's); the connection's
/// other webhook secrets stay valid beside it. Returns the key.
pub async fn paste_bamboo_webhook(stack: &Stack, connection: &Connection, fake: &FakeBamboo, url: &str) -> String {
    let key = fake.set_webhook(url);
    let mut secrets = stack.secrets.get_fresh(&connection.secret_id).await.expect("the connection's secrets");
    secrets.webhook_secrets.insert(0, key.clone());
    stack.secrets.put(&connection.secret_id, &secrets).await.expect("store the pasted key");
    key
}

/// A connection check's steps by name: (outcome, detail).
pub fn check_steps(check: &serde_json::Value) -> std::collections::BTreeMap<String, (String, String)> {
    let steps = check["steps"].as_array().cloned().unwrap_or_default();
    steps
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (text("step"), (text("outcome"), text("detail")))
        })
        .collect()
}

/// Serves the stack's HTTP routes (admin API and webhooks) on a free loopback port; returns its base URL.
pub async fn serve(stack: &Stack) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    // The API names its own address in webhook URLs (and registers them with HR systems that let it).
    let mut served = stack.clone();
    served.public_url.get_or_insert_with(|| url.clone());
    let router = served.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Runs the worker until neither queue (run steps, changes) has anything visible left; returns how many
/// messages were received.
pub async fn drain(stack: &Stack) -> usize {
    drain_with(stack, &stack.worker()).await
}

/// [`drain`] with a worker of the test's making (a shorter step budget, say).
pub async fn drain_with(stack: &Stack, worker: &worker::Worker) -> usize {
    let mut total = 0;
    loop {
        let mut received = 0;
        for queue in [&stack.deployed.run_queue_url, &stack.deployed.queue_url] {
            let outcome = stack.trigger_once(worker, queue, 0).await.expect("receive from moto");
            received += outcome.received;
        }
        if received == 0 {
            return total;
        }
        total += received;
    }
}

/// Every message body on a queue, deleted as it is read: for a queue too long to read within a visibility timeout
/// (with [`peek`], the first messages read would come back before the last were, and the reading would never end).
pub async fn take_all(stack: &Stack, queue_url: &str) -> Vec<String> {
    receive_all(stack, queue_url, 300, true).await
}

/// Every message body currently visible on a queue (they become visible again after the visibility timeout, 30 s:
/// for a short queue).
pub async fn peek(stack: &Stack, queue_url: &str) -> Vec<String> {
    receive_all(stack, queue_url, 30, false).await
}

/// Receives until the queue answers empty, hiding each message for `visibility` seconds, deleting it if `delete`.
async fn receive_all(stack: &Stack, queue_url: &str, visibility: i32, delete: bool) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let out = stack
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility)
            .send()
            .await
            .expect("receive from moto");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        let mut batch = stack.sqs.delete_message_batch().queue_url(queue_url);
        for (n, message) in messages.into_iter().enumerate() {
            let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .set_receipt_handle(message.receipt_handle)
                .build()
                .expect("a delete entry");
            batch = batch.entries(entry);
            bodies.extend(message.body);
        }
        if delete {
            batch.send().await.expect("delete from moto");
        }
    }
}

/// A person record in BambooHR's shape, for seeding the fake.
pub fn person(first: &str, last: &str, department: &str) -> serde_json::Value {
    serde_json::json!({
        "firstName": first, "lastName": last, "workEmail": format!("{}@acme.example", first.to_lowercase()),
        "jobTitle": "Engineer", "department": department, "status": "Active",
        "employmentHistoryStatus": "Full-Time", "hireDate": "2020-01-06", "terminationDate": "0000-00-00",
    })
}

/// Posts a BambooHR `employee.updated` delivery about `hr_id` to `url`, signed with [`WORLD_SECRET`]; returns the
/// receiver's status (0 when it did not answer) and how long the answer took.
pub async fn deliver_bamboo_update(http: &reqwest::Client, url: &str, hr_id: u32) -> (u16, std::time::Duration) {
    let body = serde_json::json!({ "type": "employee.updated", "timestamp": Utc::now().to_rfc3339(),
                       "data": { "companyId": "1", "employeeId": hr_id.to_string(), "changedFields": ["jobTitle"] } })
    .to_string();
    let timestamp = Utc::now().timestamp().to_string();
    let signature = fake_hr::sign(WORLD_SECRET, &body, &timestamp);
    let sent = std::time::Instant::now();
    let status = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-bamboohr-timestamp", timestamp)
        .header("x-bamboohr-signature", signature)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, sent.elapsed())
}

/// An authenticated GET to the admin API.
pub async fn get_json(url: &str, key: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(key).send().await.expect("admin API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// A minimal HR record: an active person with a first name.
pub fn record(hr_id: &str, first: &str) -> Employee {
    serde_json::from_value(serde_json::json!({
        "hr_id": hr_id, "first_name": first, "last_name": "Test", "status": "active"
    }))
    .expect("a valid record")
}

/// What the poller would queue after reading `record` at `at`.
pub fn observed(tenant: &TenantId, connection: &ConnectionId, record: Employee, at: DateTime<Utc>) -> EmployeeObserved {
    EmployeeObserved {
        tenant_id: tenant.clone(),
        connection_id: connection.clone(),
        hr_id: record.hr_id.clone(),
        source: Source::Poll,
        observed_at: at,
        record: Some(record),
        delivery_key: None,
        initial_import: false,
        run_key: None,
    }
}

/// A connection's stored poll cursor.
pub async fn cursor_of(stack: &Stack, connection: &Connection) -> Option<String> {
    let stored = stack.store.get_connection(&connection.tenant_id, &connection.id).await.expect("read connection");
    stored.expect("connection exists").cursor
}

/// An admin API client for the tests: JSON in, status and JSON out.
#[derive(Clone)]
pub struct Admin {
    pub base: String,
    pub key: String,
    http: reqwest::Client,
}

impl Admin {
    pub fn new(base: &str, key: &str) -> Self {
        Self { base: base.to_owned(), key: key.to_owned(), http: reqwest::Client::new() }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let response = request.bearer_auth(&self.key).send().await.expect("admin API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.http.delete(format!("{}{path}", self.base))).await
    }

    /// Every item of a paginated list.
    pub async fn all(&self, path: &str) -> Vec<serde_json::Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut url = format!("{path}{separator}limit=100");
        loop {
            let (status, page) = self.get(&url).await;
            assert_eq!(status, 200, "{url}: {page}");
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(cursor) => url = format!("{path}{separator}limit=100&cursor={cursor}"),
                None => return items,
            }
        }
    }

    /// The employee whose HR id is `hr_id`.
    pub async fn employee_by_hr_id(&self, hr_id: &str) -> serde_json::Value {
        let all = self.all("/v1/employees").await;
        all.into_iter().find(|e| e["hr"]["hr_id"] == hr_id).unwrap_or_else(|| panic!("no employee with HR id {hr_id}"))
    }

    /// Marks every open item of a task done.
    pub async fn tick_all(&self, task_id: &str) {
        let (_, task) = self.get(&format!("/v1/tasks/{task_id}")).await;
        for item in task["open_items"].as_array().cloned().unwrap_or_default() {
            let path = format!("/v1/tasks/{task_id}/items/{}", item.as_str().unwrap());
            let (status, body) = self.patch(&path, serde_json::json!({"status": "done"})).await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// One company wired end to end: moto, the fake BambooHR, a connection, the HTTP routes and an admin client.
/// The webhook secret of a [`World`]'s connection.
pub const WORLD_SECRET: &str = "world-secret";

/// When a world ends, its fake must have seen no request, and given no answer, that breaks the vendor's published
/// description (`fake_hr::contract`): a test whose run tolerated such an answer fails here.
pub struct World<F: Contracted = FakeBamboo> {
    pub stack: Stack,
    pub tenant: TenantId,
    pub fake: F,
    pub connection: Connection,
    pub admin: Admin,
    pub api: String,
}

impl<F: Contracted> Drop for World<F> {
    fn drop(&mut self) {
        let violations = self.fake.violations();
        if violations.is_empty() {
            return;
        }
        let report = format!("the fake saw {} contract violations:\n{}", violations.len(), violations.join("\n"));
        // A test that failed already says why; the violations are often the cause.
        if std::thread::panicking() { eprintln!("{report}") } else { panic!("{report}") }
    }
}

impl World {
    /// Points the fake BambooHR's global webhook at this world's webhook URL, its key pasted into the connection.
    pub async fn paste_webhook(&self) -> String {
        paste_bamboo_webhook(&self.stack, &self.connection, &self.fake, &self.webhook_url()).await
    }

    pub async fn new(people: Vec<(u32, serde_json::Value)>) -> Self {
        let fake = fake_bamboo(people).await;
        let request = fake.connection_request();
        World::with(fake, request).await
    }
}

impl<F: Contracted> World<F> {
    /// A world connected to any fake HR system by the admin's connection request for it.
    pub async fn with(fake: F, request: serde_json::Value) -> Self {
        Self::with_queues(fake, request, QueueSettings::default()).await
    }

    /// [`World::with`] on queues of the test's making (a short visibility timeout, say).
    pub async fn with_queues(fake: F, request: serde_json::Value, queues: QueueSettings) -> Self {
        let stack = stack_with(queues).await;
        let (tenant, key) = tenant(&stack).await;
        let connection = connect_with(&stack, &tenant, request, WORLD_SECRET).await;
        let api = serve(&stack).await;
        Self { admin: Admin::new(&api, &key), stack, tenant, fake, connection, api }
    }

    /// A world whose connection an admin made through the API with `request`, holding exactly the webhook secret
    /// the API kept (for an HR system that issues it, whatever was pasted, if anything): no test-made secret.
    pub async fn through_api(fake: F, request: serde_json::Value, queues: QueueSettings) -> Self {
        let stack = stack_with(queues).await;
        let (tenant, key) = tenant(&stack).await;
        let api = serve(&stack).await;
        let admin = Admin::new(&api, &key);
        let (status, made) = admin.post("/v1/connections", request).await;
        assert_eq!(status, 201, "{made}");
        let id = ConnectionId::parse(made["id"].as_str().expect("an id")).expect("a connection id");
        let connection = stack.store.get_connection(&tenant, &id).await.expect("read").expect("the connection");
        Self { admin, stack, tenant, fake, connection, api }
    }

    /// The connection's webhook URL.
    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/{}", self.api, self.connection.id)
    }

    /// One tick of the schedule, then the worker until both queues are empty; the run it started must not fail.
    pub async fn sync(&self) {
        let report = self.stack.poll(Utc::now(), ithub::schedule::Tick::All).await.expect("schedule");
        assert!(report.started + report.resumed > 0, "nothing was due: {report:?}");
        drain(&self.stack).await;
        let latest = self.runs().await.into_iter().next().expect("a run");
        assert_ne!(latest.status, RunStatus::Failed, "{:?}", latest.error);
    }

    /// Runs a sync as an admin's "sync now" would (`full`, `dry_run`) to its end or its hold; returns the run.
    pub async fn run(&self, mode: RunMode, dry_run: bool) -> SyncRun {
        let connection = self.stored_connection().await;
        let run = ithub::schedule::start_run(
            &self.stack.store,
            &self.stack.runs,
            &connection,
            RunTrigger::Manual,
            mode,
            dry_run,
        )
        .await
        .expect("start a run");
        drain(&self.stack).await;
        self.run_of(&run.run_id).await
    }

    /// Runs the worker until `done` holds, for changes that wait on a redelivery; fails after 60 s.
    pub async fn drain_until<Fut: std::future::Future<Output = bool>>(&self, what: &str, done: impl Fn() -> Fut) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            drain(&self.stack).await;
            if done().await {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "gave up waiting for {what}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// The tasks of `kind` (`onboarding`, `offboarding`) of the person with this HR id.
    pub async fn tasks_of(&self, hr_id: &str, kind: &str) -> Vec<serde_json::Value> {
        let id = self.admin.employee_by_hr_id(hr_id).await["id"].clone();
        let all = self.admin.all(&format!("/v1/tasks?kind={kind}")).await;
        all.into_iter().filter(|t| t["employee_id"] == id).collect()
    }

    /// Sets up the people with these HR ids (each gets a license).
    pub async fn set_up(&self, hr_ids: &[&str]) {
        let mut ids = Vec::new();
        for hr_id in hr_ids {
            ids.push(self.admin.employee_by_hr_id(hr_id).await["id"].clone());
        }
        let (status, result) = self.admin.post("/v1/employees/setup", serde_json::json!({ "employee_ids": ids })).await;
        assert_eq!(status, 200, "{result}");
    }

    /// Ticks off every item of a task and completes it (no hub access).
    pub async fn complete(&self, task_id: &str) {
        self.admin.tick_all(task_id).await;
        let (status, body) = self.admin.post(&format!("/v1/tasks/{task_id}/complete"), serde_json::json!({})).await;
        assert_eq!(status, 200, "{body}");
    }

    /// A run as stored now.
    pub async fn run_of(&self, run_id: &str) -> SyncRun {
        let stored = self.stack.store.get_run(&self.tenant, &self.connection.id, run_id).await.expect("read run");
        stored.expect("the run exists")
    }

    /// The connection's runs, newest first.
    pub async fn runs(&self) -> Vec<SyncRun> {
        let page = self.stack.store.list_runs(&self.tenant, &self.connection.id, 100, None).await.expect("runs");
        page.items
    }

    /// The connection as stored now.
    pub async fn stored_connection(&self) -> Connection {
        let stored = self.stack.store.get_connection(&self.tenant, &self.connection.id).await.expect("read");
        stored.expect("the connection exists")
    }
}

/// A queue that receives every event IT Hub publishes on the stack's bus; returns its URL.
pub async fn tap(stack: &Stack) -> String {
    let aws = ithub::aws_config().await;
    let events = aws_sdk_eventbridge::Client::new(&aws);
    let target = stack
        .sqs
        .create_queue()
        .queue_name(format!("{}-events-tap", stack.deployed.bus))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&target)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap();
    events
        .put_rule()
        .name("tap")
        .event_bus_name(&stack.deployed.bus)
        .event_pattern(r#"{"source":["ithub"]}"#)
        .send()
        .await
        .unwrap();
    let sqs_target = aws_sdk_eventbridge::types::Target::builder().id("tap").arn(arn).build().unwrap();
    events.put_targets().rule("tap").event_bus_name(&stack.deployed.bus).targets(sqs_target).send().await.unwrap();
    target
}

/// `docs/events.md`, the domain-event catalogue.
pub const EVENTS_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");

/// The schemas of `docs/events.md`, by `detail-type`, made strict: a field the schema does not name fails.
fn event_schemas() -> std::collections::HashMap<String, jsonschema::Validator> {
    let doc = std::fs::read_to_string(EVENTS_DOC).expect("docs/events.md");
    let mut schemas = std::collections::HashMap::new();
    for section in doc.split("\n## `").skip(1) {
        let name = section.split('`').next().unwrap().to_owned();
        let json = section.split("```json\n").nth(1).and_then(|rest| rest.split("\n```").next()).unwrap();
        let mut schema: serde_json::Value = serde_json::from_str(json).unwrap();
        schema["additionalProperties"] = serde_json::json!(false);
        schemas.insert(name, jsonschema::validator_for(&schema).expect("a valid JSON Schema"));
    }
    assert_eq!(schemas.len(), ithub::events::EventKind::ALL.len(), "every event is documented");
    schemas
}

/// Every event validates against the schema of its `detail-type` in `docs/events.md`, and each has its own id.
pub fn assert_events_match_their_schemas(events: &[serde_json::Value]) {
    let schemas = event_schemas();
    for event in events {
        let name = event["detail-type"].as_str().unwrap();
        let validator = schemas.get(name).unwrap_or_else(|| panic!("{name} is not in docs/events.md"));
        let errors: Vec<String> = validator.iter_errors(&event["detail"]).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{}", event["detail"]);
    }
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["detail"]["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "each event has its own id");
}
