//! Freshness: how long from a change in an HR system (a hire in its fake) until the onboarding task is visible
//! through the admin API, for each provider, over the webhook path and over the poll path; then the webhook
//! receiver's intake throughput. Everything runs for real: moto, the fakes over HTTP (ADP over mutual TLS), the
//! admin API and webhook routes on a loopback port, the worker fed from SQS as the local runner feeds it.
//!
//! `infra/local/with-moto.sh cargo bench -p integration-tests --bench freshness -- [--changes N] [--deliveries N]`

use chrono::Utc;
use fake_hr::{FakeAdp, FakeBamboo, FakeBob, FakeGusto, FakePersonio};
use integration_tests::*;
use ithub::domain::{EmployeeId, TaskId, TaskKind};
use ithub::schedule::{Tick, schedule_tick};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Where changes are sent nowhere: a closed loopback port.
const NOWHERE: &str = "http://127.0.0.1:9/";
/// The poll path's schedule tick here (in AWS: 15 minutes for incremental polls, 1 minute for ADP's queue).
const TICK: Duration = Duration::from_secs(1);

enum Fake {
    Bamboo(FakeBamboo),
    Bob(FakeBob),
    Personio(FakePersonio),
    Gusto(FakeGusto),
    Adp(FakeAdp),
}

impl fake_hr::contract::Contracted for Fake {
    fn violations(&self) -> Vec<String> {
        match self {
            Fake::Bamboo(f) => f.violations(),
            Fake::Bob(f) => f.violations(),
            Fake::Personio(f) => f.violations(),
            Fake::Gusto(f) => f.violations(),
            Fake::Adp(f) => f.violations(),
        }
    }
}

impl Fake {
    fn name(&self) -> &'static str {
        match self {
            Self::Bamboo(_) => "BambooHR",
            Self::Bob(_) => "HiBob",
            Self::Personio(_) => "Personio",
            Self::Gusto(_) => "Gusto",
            Self::Adp(_) => "ADP Workforce Now",
        }
    }

    fn request(&self) -> serde_json::Value {
        match self {
            Self::Bamboo(f) => f.connection_request(),
            Self::Bob(f) => f.connection_request(),
            Self::Personio(f) => f.connection_request(),
            Self::Gusto(f) => f.connection_request(),
            Self::Adp(f) => f.connection_request(),
        }
    }

    /// Points the HR system's pushes at `url` (or nowhere); `false` when it has no push.
    async fn push_to(&self, url: &str) -> bool {
        match self {
            // BambooHR generates the global webhook's key; `paste_issued_secret` gives it to IT Hub.
            Self::Bamboo(f) => {
                f.set_webhook(url);
            }
            // Bob issues the secret as the webhook is added; `paste_issued_secret` gives it to IT Hub.
            Self::Bob(f) => {
                f.configure_webhook(url).await;
            }
            Self::Personio(f) => f.set_webhook(url, WORLD_SECRET),
            Self::Gusto(f) => {
                f.subscribe(url).await;
            }
            Self::Adp(_) => return false,
        }
        true
    }

    /// Pastes the webhook secret the HR system issued (Bob's) into the world's connection, as an admin does.
    async fn paste_issued_secret(&self, world: &World<Arc<Fake>>) {
        if let Self::Bamboo(f) = self {
            let key = f.webhook_key(&world.webhook_url()).expect("BambooHR generated a key");
            let mut secrets = world.stack.secrets.get_fresh(&world.connection.secret_id).await.expect("secrets");
            secrets.webhook_secrets.insert(0, key);
            world.stack.secrets.put(&world.connection.secret_id, &secrets).await.expect("paste the key");
        }
        if let Self::Bob(f) = self {
            let path = format!("/v1/connections/{}/rotate-webhook-secret", world.connection.id);
            let secret = f.webhook_secret().expect("Bob issued a secret");
            let (status, answer) = world.admin.post(&path, json!({ "webhook_secret": secret })).await;
            assert_eq!(status, 200, "{answer}");
            // The receiver reads secrets again at most every few seconds: wait until a signed event naming nobody
            // is refused as unreadable (400), not unverified (401), so no measured delivery meets the old copy.
            let probe = r#"{"type":"company.updated","version":"v2","data":{}}"#.to_owned();
            while f.post(&world.webhook_url(), probe.clone(), fake_hr::bob_sign(&secret, probe.as_bytes())).await != 400
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Hires someone starting today; returns their HR id.
    async fn hire(&self, n: usize) -> String {
        let first = format!("Fresh{n}");
        match self {
            Self::Bamboo(f) => f.hire(json!({ "firstName": first, "lastName": "Hire" })).await.to_string(),
            Self::Bob(f) => f.hire(json!({ "firstName": first, "surname": "Hire" })).await,
            Self::Personio(f) => f.hire(json!({ "first_name": first, "last_name": "Hire" })).await,
            Self::Gusto(f) => f.hire(json!({ "first_name": first, "last_name": "Hire" })).await,
            Self::Adp(f) => f.hire(json!({ "givenName": first, "familyName1": "Hire" })),
        }
    }
}

async fn fakes() -> Vec<Fake> {
    let loopback = "127.0.0.1:0".parse().unwrap();
    let today = Utc::now().date_naive();
    vec![
        Fake::Bamboo(fake_bamboo(fake_hr::sample_company(today)).await),
        Fake::Bob(FakeBob::start(loopback, "SERVICE-1", "token-1", fake_hr::bob_sample(today)).await.unwrap()),
        Fake::Personio(FakePersonio::start(loopback, "id", "secret", fake_hr::personio_sample(today)).await.unwrap()),
        Fake::Gusto(
            FakeGusto::start(loopback, "id", "secret", "refresh-0", fake_hr::gusto_sample(today)).await.unwrap(),
        ),
        Fake::Adp(FakeAdp::start(loopback, loopback, "id", "secret", fake_hr::adp_sample(today)).await.unwrap()),
    ]
}

/// Hires `changes` people one after another; for each, the time until its onboarding task is served.
async fn freshness(world: &World<Arc<Fake>>, changes: usize, offset: usize) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let mut took = Vec::with_capacity(changes);
    for n in 0..changes {
        let started = Instant::now();
        let hr_id = world.fake.hire(offset + n).await;
        let task = TaskId::derive(&EmployeeId::derive(&world.connection.id, &hr_id), TaskKind::Onboarding, 1);
        let url = format!("{}/v1/tasks/{}", world.api, task.as_str());
        let deadline = started + Duration::from_secs(60);
        loop {
            let response = http.get(&url).bearer_auth(&world.admin.key).send().await.expect("the admin API answers");
            if response.status() == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "{}: hire {n} never showed its task", world.fake.name());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took.push(started.elapsed());
    }
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn row(provider: &str, path: &str, mut took: Vec<Duration>) -> String {
    took.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    format!(
        "| {provider} | {path} | {} | {} | {} | {} |",
        took.len(),
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.99)),
        ms(*took.last().unwrap())
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let changes: usize = arg("--changes").map(|v| v.parse().expect("a number")).unwrap_or(100);
    let deliveries: usize = arg("--deliveries").map(|v| v.parse().expect("a number")).unwrap_or(1000);
    let mut rows = Vec::new();
    for fake in fakes().await {
        let fake = Arc::new(fake);
        let request = fake.request();
        let world = World::with(fake.clone(), request).await;
        world.sync().await;
        let feeding = world.stack.start_feeding();
        let name = fake.name();
        if fake.push_to(&world.webhook_url()).await {
            fake.paste_issued_secret(&world).await;
            rows.push(row(name, "webhook", freshness(&world, changes, 0).await));
            fake.push_to(NOWHERE).await;
        }
        let has_poll_path = !matches!(*fake, Fake::Bob(_));
        if has_poll_path {
            let tick = if matches!(*fake, Fake::Adp(_)) { Tick::Queues } else { Tick::All };
            let stack = world.stack.clone();
            let polling = tokio::spawn(async move {
                let mut ticks = tokio::time::interval(TICK);
                loop {
                    ticks.tick().await;
                    let _ = schedule_tick(&stack.store, &stack.runs, Utc::now(), tick).await;
                }
            });
            let path = if tick == Tick::Queues { "event queue (1 s drain tick)" } else { "poll (1 s schedule tick)" };
            rows.push(row(name, path, freshness(&world, changes, changes).await));
            polling.abort();
        }
        feeding.stop().await;
        eprintln!("{name}: done");
    }
    println!("| provider | path | changes | p50 | p99 | max |\n| --- | --- | ---: | ---: | ---: | ---: |");
    for line in rows {
        println!("{line}");
    }
    intake(deliveries).await;
}

/// Signed BambooHR deliveries, each about a different change, posted by 16 concurrent clients; then the worker
/// until every change is applied.
async fn intake(deliveries: usize) {
    let fake = fake_bamboo(fake_hr::generated_company(deliveries as u32)).await;
    let request = fake.connection_request();
    let world = World::with(fake, request).await;
    world.sync().await;
    // Every person changes in HR with no webhook sent; the deliveries below announce the changes.
    for id in 1..=deliveries as u32 {
        world.fake.change(id, json!({ "jobTitle": format!("Load {id}") })).await;
    }
    let url = world.webhook_url();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let acks: Vec<(u16, Duration)> = futures::stream::iter(1..=deliveries as u32)
        .map(|id| {
            let (http, url) = (http.clone(), url.clone());
            async move { deliver_bamboo_update(&http, &url, id).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let accepted = acks.iter().filter(|(status, _)| *status == 202).count();
    let mut latencies: Vec<Duration> = acks.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let feeding = world.stack.start_feeding();
    let applied_by = Instant::now() + Duration::from_secs(600);
    let mut applied = 0;
    for id in 1..=deliveries as u32 {
        let employee = EmployeeId::derive(&world.connection.id, &id.to_string());
        let path = format!("/v1/employees/{}", employee.as_str());
        loop {
            let (_, body) = world.admin.get(&path).await;
            if body["hr"]["title"] == format!("Load {id}") {
                applied += 1;
                break;
            }
            assert!(Instant::now() < applied_by, "delivery {id} was never applied");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    feeding.stop().await;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "\n| webhook intake (BambooHR, 16 concurrent senders) | figure |\n| --- | --- |\n\
         | deliveries | {deliveries} ({accepted} answered 202) |\n| throughput | {:.0} deliveries/s |\n\
         | ack latency p50 / p99 | {} / {} |\n| applied afterwards | {applied} of {deliveries} |",
        deliveries as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
    );
}

use futures::StreamExt;
