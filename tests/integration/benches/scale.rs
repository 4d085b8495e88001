//! `make bench` (scale): a company of `--people N` synced through the real functions' code (schedule, worker,
//! run steps) against moto, with the fake BambooHR holding the company in a separate process over HTTP, so this
//! process's peak RSS is the sync's own. Prints one Markdown table of figures:
//!
//! - the first import's wall time and throughput, and the HR requests it made (pages, not people);
//! - DynamoDB and SQS calls per person, by operation, counted by an SDK interceptor on every client;
//! - a no-change resync (messages queued, employee writes) and a 1% churn resync;
//! - moto's own batched write rate in the same run, and the import's ratio to it;
//! - this process's peak RSS (VmHWM).
//!
//! `cargo bench -p integration-tests --bench scale -- --people 10000 [--churn N]` (through `make bench`, which
//! starts moto).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use integration_tests::*;
use ithub::store::{RunMode, RunStatus, RunTrigger, SyncRun};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts every AWS request a client sends, by operation.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    /// Every request sent, retries included, by the operation its `X-Amz-Target` names (DynamoDB and SQS both
    /// speak the JSON protocol: `DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessageBatch`).
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self.0.lock().unwrap().entry(operation).or_default() += 1;
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The fake BambooHR in a child process (this same binary, `--serve-fake N`), so its company's memory is not
/// counted as the sync's. Returns the child and its base URL.
fn spawn_fake(people: u32) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .args(["--serve-fake", &people.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the fake");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("its URL");
    (child, line.trim().to_owned())
}

async fn serve_fake(people: u32) {
    let fake = fake_hr::FakeBamboo::start(
        "127.0.0.1:0".parse().unwrap(),
        FAKE_COMPANY,
        FAKE_KEY,
        fake_hr::generated_company(people),
    )
    .await
    .expect("start");
    println!("{}", fake.base_url());
    // Until the parent goes away: its end of our standard input closes.
    tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut byte = [0u8; 1];
        while std::io::stdin().read(&mut byte).is_ok_and(|n| n > 0) {}
    })
    .await
    .ok();
}

struct Stats {
    api_calls: u64,
    dataset_calls: u64,
}

async fn stats(fake: &str) -> Stats {
    let body: serde_json::Value =
        reqwest::get(format!("{fake}/sandbox/stats")).await.expect("stats").json().await.expect("json");
    Stats { api_calls: body["api_calls"].as_u64().unwrap(), dataset_calls: body["dataset_calls"].as_u64().unwrap() }
}

/// Runs one sync of the connection to its end through the worker; returns the run and how long it took.
async fn run(
    stack: &Stack,
    tenant: &ithub::domain::TenantId,
    id: &ithub::domain::ConnectionId,
    mode: RunMode,
) -> (SyncRun, Duration) {
    let connection = stack.store.get_connection(tenant, id).await.unwrap().unwrap();
    let started = Instant::now();
    let run = ithub::schedule::start_run(&stack.store, &stack.runs, &connection, RunTrigger::Manual, mode, false)
        .await
        .expect("start");
    loop {
        drain(stack).await;
        let now = stack.store.get_run(tenant, id, &run.run_id).await.unwrap().unwrap();
        if now.status.is_finished() || now.status == RunStatus::Held {
            return (now, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn per_person(calls: &BTreeMap<String, u64>, people: u64) -> String {
    calls.iter().map(|(op, n)| format!("{op} {:.3}", *n as f64 / people as f64)).collect::<Vec<_>>().join(", ")
}

fn writes(calls: &BTreeMap<String, u64>) -> u64 {
    ["PutItem", "TransactWriteItems"].iter().map(|op| calls.get(*op).copied().unwrap_or(0)).sum()
}

#[tokio::main]
async fn main() {
    if let Some(people) = arg("--serve-fake") {
        serve_fake(people.parse().expect("a number")).await;
        return;
    }
    let people: u32 = arg("--people").map(|p| p.parse().expect("a number")).unwrap_or(10_000);
    let (mut fake_process, fake) = spawn_fake(people);

    let aws = ithub::aws_config().await;
    let calls = Calls::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws).interceptor(calls.clone()).build(),
    );
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&aws).interceptor(calls.clone()).build());
    let prefix = format!("scale{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let names = ithub::resources::Names::prefixed(&prefix);
    let stack =
        Stack::bootstrap_with(&aws, &names, Default::default(), dynamodb.clone(), sqs).await.expect("bootstrap");
    let (tenant, _) = tenant(&stack).await;
    let request = serde_json::json!({"provider": "bamboohr", "settings": {"company_domain": FAKE_COMPANY, "base_url": fake},
                                     "credentials": {"api_key": FAKE_KEY}});
    let acting =
        ithub::service::Acting { tenant: tenant.clone(), actor: ithub::domain::Actor::Admin { key: "bench".into() } };
    let connection = stack
        .service()
        .create_connection(&stack.secrets, stack.http.egress(), &acting, serde_json::from_value(request).unwrap())
        .await
        .expect("connect")
        .connection;
    let mut rows: Vec<(String, String)> = Vec::new();
    let n = u64::from(people);

    // The first import.
    calls.take();
    let hr_before = stats(&fake).await;
    let (import, took) = run(&stack, &tenant, &connection.id, RunMode::Full).await;
    assert_eq!((import.status, import.counts.imported), (RunStatus::Succeeded, n), "{import:?}");
    let hr = stats(&fake).await;
    let import_calls = calls.take();
    let rate = n as f64 / took.as_secs_f64();
    rows.push(("first import: wall time".into(), format!("{:.1} s ({rate:.0} people/s)", took.as_secs_f64())));
    rows.push((
        "first import: HR requests".into(),
        format!(
            "{} ({} dataset pages of up to 1,000)",
            hr.api_calls - hr_before.api_calls,
            hr.dataset_calls - hr_before.dataset_calls
        ),
    ));
    rows.push(("first import: AWS requests per person (retries included)".into(), per_person(&import_calls, n)));
    rows.push(("first import: run steps (pages checkpointed)".into(), format!("{} pages", import.checkpoint.pages)));

    // A resync with nothing changed: a full reconciliation compares everyone.
    let (quiet, took) = run(&stack, &tenant, &connection.id, RunMode::Full).await;
    let quiet_calls = calls.take();
    assert_eq!((quiet.status, quiet.counts.unchanged), (RunStatus::Succeeded, n), "{quiet:?}");
    rows.push((
        "no-change full resync".into(),
        format!(
            "{:.1} s; {} changes queued; {} employee writes; calls per person: {}",
            took.as_secs_f64(),
            quiet.queued,
            writes(&quiet_calls),
            per_person(&quiet_calls, n)
        ),
    ));

    // Churn: a title change for one person in a hundred (or `--churn N` people), read through the change feed.
    // Each change is a lifecycle update the worker commits in a transaction, which moto serves by copying the
    // whole table: a smaller churn keeps a 10,000-person run within minutes there.
    let churn: u32 = arg("--churn").map(|c| c.parse().expect("a number")).unwrap_or((people / 100).max(1));
    let http = reqwest::Client::new();
    for id in (1..=people).step_by((people / churn) as usize).take(churn as usize) {
        let url = format!("{fake}/sandbox/employees/{id}");
        let status = http.patch(&url).json(&serde_json::json!({"jobTitle": "Churned"})).send().await.unwrap().status();
        assert!(status.is_success());
    }
    let hr_before = stats(&fake).await;
    let (changed, took) = run(&stack, &tenant, &connection.id, RunMode::Incremental).await;
    let churn_calls = calls.take();
    let hr = stats(&fake).await;
    assert_eq!((changed.status, changed.counts.updated), (RunStatus::Succeeded, u64::from(churn)), "{changed:?}");
    rows.push((
        format!(
            "churn incremental resync ({churn} people changed, {:.1}%)",
            f64::from(churn) * 100.0 / f64::from(people)
        ),
        format!(
            "{:.1} s; {} HR requests; {} changes queued; {} employee writes ({:.2} per change)",
            took.as_secs_f64(),
            hr.api_calls - hr_before.api_calls,
            changed.queued,
            writes(&churn_calls),
            writes(&churn_calls) as f64 / f64::from(churn)
        ),
    ));

    // moto's own rate for batched writes of items of the same size, in the same run.
    let sample = stack
        .store
        .get_employee(&tenant, &ithub::domain::EmployeeId::derive(&connection.id, "1"))
        .await
        .unwrap()
        .unwrap();
    let item =
        serde_dynamo::to_item::<_, std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>(&sample)
            .unwrap();
    let baseline = 10_000usize;
    let started = Instant::now();
    let batches = (0..baseline / 25).map(|b| {
        let requests: Vec<_> = (0..25)
            .map(|i| {
                let mut item = item.clone();
                item.insert("PK".into(), aws_sdk_dynamodb::types::AttributeValue::S(format!("BASELINE#{b}")));
                item.insert("SK".into(), aws_sdk_dynamodb::types::AttributeValue::S(format!("{i}")));
                let put = aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(item)).build().unwrap();
                aws_sdk_dynamodb::types::WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let dynamodb = dynamodb.clone();
        let table = stack.deployed.table.clone();
        async move { dynamodb.batch_write_item().request_items(table, requests).send().await.expect("batch write") }
    });
    use futures::StreamExt;
    futures::stream::iter(batches).buffer_unordered(16).collect::<Vec<_>>().await;
    let moto_rate = baseline as f64 / started.elapsed().as_secs_f64();
    rows.push((
        "moto baseline: BatchWriteItem, 25 items a call, 16 in flight".into(),
        format!("{moto_rate:.0} items/s"),
    ));
    rows.push(("first import throughput / moto batched write rate".into(), format!("{:.2}", rate / moto_rate)));
    rows.push(("peak RSS of the process running the sync (VmHWM)".into(), format!("{:.1} MiB", peak_rss_mib())));

    println!("\n| {people} people | figure |\n| --- | --- |");
    for (what, figure) in rows {
        println!("| {what} | {figure} |");
    }
    let _ = fake_process.kill();
    let _ = fake_process.wait();
}
