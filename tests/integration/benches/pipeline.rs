//! `make bench`: how fast the sync path runs against moto and the fake BambooHR, on this machine.
//!
//! Moto answers in-process Python, far slower per call than DynamoDB or SQS, so these figures are an upper bound on
//! the hub's own cost per call; the CPU-only rows measure the hub's code alone.

use chrono::Utc;
use integration_tests::*;
use ithub::providers::WebhookDelivery;
use std::time::{Duration, Instant};

struct Row {
    what: String,
    n: usize,
    total: Duration,
    p50: Option<Duration>,
    p95: Option<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn timed(what: &str, mut samples: Vec<Duration>) -> Row {
    samples.sort_unstable();
    Row {
        what: what.into(),
        n: samples.len(),
        total: samples.iter().sum(),
        p50: Some(percentile(&samples, 0.50)),
        p95: Some(percentile(&samples, 0.95)),
    }
}

fn company(size: u32) -> Vec<(u32, serde_json::Value)> {
    (1..=size).map(|n| (n, person(&format!("P{n}"), "Bench", ["Eng", "Sales", "IT"][n as usize % 3]))).collect()
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let people: u32 = 200;

    // The worker's commit for a hire (employee, onboarding task and audit entry in one transaction), on an empty
    // table: the same measurement after the import below shows how moto's transactions grow with the table.
    let empty = stack().await;
    let (empty_tenant, _) = tenant(&empty).await;
    let empty_connection = ithub::domain::ConnectionId::generate();
    let mut hires = Vec::new();
    for n in 0..20 {
        let observation = observed(&empty_tenant, &empty_connection, record(&format!("hire-{n}"), "H"), Utc::now());
        let t = Instant::now();
        empty.worker().apply(observation).await.expect("apply");
        hires.push(t.elapsed());
    }
    rows.push(timed("worker: a hire, on an empty table", hires));

    // Full import: the schedule starts the first run, the worker carries it out (pages, compare, import).
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(company(people)).await;
    let connection = connect(&stack, &tenant, &fake, "bench-secret").await;
    let started = Instant::now();
    ithub::schedule::schedule(&stack.store, &stack.runs, Utc::now()).await.expect("schedule");
    drain(&stack).await;
    let total = started.elapsed();
    let imported =
        stack.store.list_runs(&tenant, &connection.id, 1, None).await.expect("runs").items[0].counts.imported;
    assert_eq!(imported, u64::from(people));
    rows.push(Row {
        what: format!("full import, schedule + run ({people} people)"),
        n: 1,
        total,
        p50: None,
        p95: None,
    });

    // The worker's commit on a table of this size: one new hire (employee, task, audit in one transaction).
    let mut hires = Vec::new();
    for n in 0..20 {
        let observation = observed(&tenant, &connection.id, record(&format!("hire-{n}"), "H"), Utc::now());
        let t = Instant::now();
        stack.worker().apply(observation).await.expect("apply");
        hires.push(t.elapsed());
    }
    rows.push(timed(&format!("worker: a hire, after the import ({people} people in the table)"), hires));

    // Quiet runs: nothing changed since the connection's state.
    let mut quiet = Vec::new();
    for _ in 0..20 {
        let connection = stack.store.get_connection(&tenant, &connection.id).await.expect("read").expect("exists");
        let t = Instant::now();
        let mode = ithub::store::RunMode::Incremental;
        let trigger = ithub::store::RunTrigger::Manual;
        ithub::schedule::start_run(&stack.store, &stack.runs, &connection, trigger, mode, false).await.expect("start");
        drain(&stack).await;
        quiet.push(t.elapsed());
    }
    rows.push(timed("quiet incremental run (1 connection)", quiet));

    // Unchanged observations reaching the worker: one read, no write.
    let worker = stack.worker();
    let mut unchanged = Vec::new();
    for n in 1..=100u32 {
        let record = stack
            .secrets
            .connect(&connection, stack.http.clone(), &stack.store)
            .await
            .unwrap()
            .fetch(&n.to_string())
            .await
            .expect("fetch")
            .expect("exists");
        let observation = observed(&tenant, &connection.id, record, Utc::now());
        let t = Instant::now();
        worker.apply(observation).await.expect("apply");
        unchanged.push(t.elapsed());
    }
    rows.push(timed("worker: unchanged observation (read, no write)", unchanged));

    // Webhook intake: verify, claim, enqueue, answer.
    let api = serve(&stack).await;
    let url = format!("{api}/webhooks/{}", connection.id);
    let client = reqwest::Client::new();
    let mut intake = Vec::new();
    for n in 0..200 {
        let body = serde_json::json!({"type": "employee.updated", "data": {"employeeId": (n % people + 1).to_string(), "n": n}})
            .to_string();
        let ts = Utc::now().timestamp().to_string();
        let signature = fake_hr::sign("bench-secret", &body, &ts);
        let t = Instant::now();
        let status = client
            .post(&url)
            .header("x-bamboohr-timestamp", &ts)
            .header("x-bamboohr-signature", signature)
            .body(body)
            .send()
            .await
            .expect("post")
            .status();
        intake.push(t.elapsed());
        assert_eq!(status, 202);
    }
    rows.push(timed("webhook intake: verify + dedupe + enqueue (HTTP round trip)", intake));

    // Moto's own cost per call, for reading the rows above: a read, a FIFO send, and a transaction on the table that
    // now holds the import (moto copies the whole table for every item of a TransactWriteItems).
    let mut reads = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        stack.store.get_employee(&tenant, &ithub::domain::EmployeeId::derive(&connection.id, "1")).await.expect("get");
        reads.push(t.elapsed());
    }
    rows.push(timed("moto baseline: one GetItem", reads));
    let mut sends = Vec::new();
    for n in 0..50 {
        let observation = observed(&tenant, &connection.id, record(&format!("baseline-{n}"), "B"), Utc::now());
        let t = Instant::now();
        stack.queue.send(&[ithub::messages::Message::EmployeeObserved(observation)]).await.expect("send");
        sends.push(t.elapsed());
    }
    rows.push(timed("moto baseline: one FIFO SendMessageBatch (1 message)", sends));
    let mut claims = Vec::new();
    for n in 0..50 {
        let t = Instant::now();
        stack
            .store
            .claim_delivery(&format!("baseline-{n}"), chrono::Duration::hours(1), Utc::now())
            .await
            .expect("claim");
        claims.push(t.elapsed());
    }
    rows.push(timed("moto baseline: one conditional PutItem", claims));

    // CPU only: signature verification and the content hash.
    let body = br#"{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}"#;
    let ts = Utc::now().timestamp().to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-bamboohr-timestamp", ts.parse().unwrap());
    headers
        .insert("x-bamboohr-signature", fake_hr::sign("k", std::str::from_utf8(body).unwrap(), &ts).parse().unwrap());
    let secrets = vec!["k".to_owned()];
    let rounds = 20_000;
    let t = Instant::now();
    for _ in 0..rounds {
        let d: WebhookDelivery =
            connection.provider.kind().verify_webhook(&secrets, &headers, body, Utc::now()).expect("valid");
        std::hint::black_box(d);
    }
    rows.push(Row {
        what: "CPU: verify one BambooHR signature + parse".into(),
        n: rounds,
        total: t.elapsed(),
        p50: None,
        p95: None,
    });
    let employee = record("1", "Ada");
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(std::hint::black_box(&employee).content_hash());
    }
    rows.push(Row {
        what: "CPU: content hash of one employee".into(),
        n: rounds,
        total: t.elapsed(),
        p50: None,
        p95: None,
    });

    println!("| measurement | n | total | per item | p50 | p95 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    for row in rows {
        let per = row.total / row.n as u32;
        let per = if per < Duration::from_millis(1) { format!("{:.2} µs", per.as_secs_f64() * 1e6) } else { ms(per) };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.what,
            row.n,
            ms(row.total),
            per,
            row.p50.map(ms).unwrap_or_else(|| "–".into()),
            row.p95.map(ms).unwrap_or_else(|| "–".into()),
        );
    }
}
