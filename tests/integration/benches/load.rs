//! Load: signed BambooHR webhook deliveries at a steady rate for a while (open loop: one every 1/rate seconds,
//! whatever the answers take), with the worker fed from SQS as the local runner feeds it and admins reading the
//! API at the same time; then the queue is drained. Each delivery announces a change to a different person, so
//! "applied once" is checkable: each person's new title is shown, the audit trail has one HR sync for them, and
//! the bus one `employee.updated` event.
//!
//! `infra/local/with-moto.sh cargo bench -p integration-tests --bench load -- [--rate 20] [--seconds 60] [--readers 2]`

use integration_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned());
    value.map(|v| v.parse().expect("a number")).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

type Answers = Arc<Mutex<Vec<(u16, Duration)>>>;

fn summary(answers: &[(u16, Duration)]) -> (usize, usize, usize, Vec<Duration>) {
    let ok = answers.iter().filter(|(s, _)| (200..300).contains(s)).count();
    let client = answers.iter().filter(|(s, _)| (400..500).contains(s)).count();
    let server = answers.iter().filter(|(s, _)| *s >= 500 || *s == 0).count();
    let mut latencies: Vec<Duration> = answers.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    (ok, client, server, latencies)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let rate = arg("--rate", 20);
    let seconds = arg("--seconds", 60);
    let readers = arg("--readers", 2);
    let people = (rate * seconds) as u32;

    let fake = fake_bamboo(fake_hr::generated_company(people)).await;
    let request = fake.connection_request();
    let world = World::with(fake, request).await;
    let tap = tap(&world.stack).await;
    let imported = Instant::now();
    world.sync().await;
    eprintln!("imported {people} people in {:.1} s", imported.elapsed().as_secs_f64());
    // Every person changes in HR with no webhook sent; the deliveries below announce the changes.
    for id in 1..=people {
        world.fake.change(id, json!({ "jobInformationJobTitle": format!("Load {id}") })).await;
    }
    let feeding = world.stack.start_feeding();
    eprintln!("sending {people} deliveries at {rate}/s");

    // Admins reading while the deliveries arrive.
    let reads: Answers = Arc::default();
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut reading = Vec::new();
    for n in 0..readers {
        let (admin, reads, sending) = (world.admin.clone(), reads.clone(), sending.clone());
        reading.push(tokio::spawn(async move {
            let paths = ["/v1/employees?limit=50", "/v1/tasks?limit=50", "/v1/licenses"];
            let mut i = n as usize;
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let (status, _) = admin.get(paths[i % paths.len()]).await;
                reads.lock().unwrap().push((status, started.elapsed()));
                i += 1;
            }
        }));
    }

    let url = world.webhook_url();
    let http = reqwest::Client::new();
    let deliveries: Answers = Arc::default();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = Vec::with_capacity(people as usize);
    for id in 1..=people {
        ticks.tick().await;
        let (http, url, deliveries) = (http.clone(), url.clone(), deliveries.clone());
        in_flight.push(tokio::spawn(async move {
            let answer = deliver_bamboo_update(&http, &url, id).await;
            deliveries.lock().unwrap().push(answer);
        }));
    }
    futures::future::join_all(in_flight).await;
    let sent_in = started.elapsed();
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    futures::future::join_all(reading).await;

    // Drained: every person shows their new title.
    let deadline = Instant::now() + Duration::from_secs(900);
    let titles = |page: &Vec<Value>| {
        page.iter().filter(|e| e["hr"]["title"].as_str().is_some_and(|t| t.starts_with("Load "))).count()
    };
    loop {
        let shown = titles(&world.admin.all("/v1/employees").await);
        if shown == people as usize {
            break;
        }
        eprintln!("{shown} of {people} applied");
        assert!(Instant::now() < deadline, "only {shown} of {people} changes were applied");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drained_in = started.elapsed();
    feeding.stop().await;

    // Once each: one HR sync in the audit trail and one `employee.updated` event per person.
    let mut syncs: BTreeMap<String, u32> = BTreeMap::new();
    for entry in world.admin.all("/v1/audit").await {
        if entry["action"] == "hr.sync" {
            *syncs.entry(entry["employee_id"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
        }
    }
    let mut events: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for body in peek(&world.stack, &tap).await {
        let event: Value = serde_json::from_str(&body).expect("JSON");
        if event["detail-type"] == "employee.updated" {
            let employee = event["detail"]["employee_id"].as_str().unwrap_or_default().to_owned();
            events.entry(employee).or_default().insert(event["detail"]["event_id"].as_str().unwrap_or_default().into());
        }
    }
    let synced_once = syncs.values().filter(|n| **n == 1).count();
    let published_once = events.values().filter(|ids| ids.len() == 1).count();

    let (accepted, refused, failed, latencies) = summary(&deliveries.lock().unwrap());
    let (read_ok, read_refused, read_failed, read_latencies) = summary(&reads.lock().unwrap());
    println!(
        "| load: BambooHR webhooks at {rate}/s for {seconds} s, {readers} admins reading | figure |\n| --- | --- |\n\
         | deliveries | {people} sent in {:.1} s ({:.1}/s) |\n\
         | answered 2xx / 4xx / 5xx or no answer | {accepted} / {refused} / {failed} |\n\
         | delivery answer p50 / p99 / max | {} / {} / {} |\n\
         | all applied after | {:.1} s ({:.1} s after the last delivery) |\n\
         | people with exactly one HR sync in the audit trail | {synced_once} of {people} ({} with any) |\n\
         | people with exactly one `employee.updated` event | {published_once} of {people} ({} with any) |\n\
         | admin reads | {} (2xx {read_ok}, 4xx {read_refused}, 5xx {read_failed}) |\n\
         | admin read p50 / p99 / max | {} / {} / {} |",
        sent_in.as_secs_f64(),
        people as f64 / sent_in.as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        drained_in.as_secs_f64(),
        (drained_in - sent_in).as_secs_f64(),
        syncs.len(),
        events.len(),
        read_latencies.len(),
        ms(percentile(&read_latencies, 0.5)),
        ms(percentile(&read_latencies, 0.99)),
        ms(read_latencies.last().copied().unwrap_or_default()),
    );
    assert_eq!(failed, 0, "no delivery may fail");
    assert_eq!(read_failed, 0, "no read may fail");
    assert_eq!(synced_once, people as usize, "each change synced once");
    assert_eq!(published_once, people as usize, "each change published once");
}
