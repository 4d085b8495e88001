//! SCIM intake: an identity provider's first push of a company (`--users`, 1,000 by default) into a connection whose
//! initial-import window is open, then hires pushed one by one after it (`--hires`), then the provider's import
//! read (`GET /Users` in pages of 100, as Okta reads). Everything runs for real: moto, the admin API's SCIM routes
//! on a loopback port, each write applied to the person before it is answered.
//!
//! `infra/local/with-moto.sh cargo bench -p integration-tests --bench scim -- [--users N] [--hires N] [--parallel N]`

use futures::{StreamExt, stream};
use integration_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn user(n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("person{n}@bench.example"),
        "externalId": format!("ext-{n}"),
        "name": {"givenName": format!("Given{n}"), "familyName": "Bench"},
        "emails": [{"primary": true, "type": "work", "value": format!("person{n}@bench.example")}],
        "title": "Engineer",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering"}
    })
}

struct Pushed {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn push(base: &str, token: &str, range: std::ops::Range<usize>, parallel: usize) -> Pushed {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let latencies: Vec<Duration> = stream::iter(range)
        .map(|n| {
            let http = http.clone();
            async move {
                let began = Instant::now();
                let response = http
                    .post(format!("{base}/Users"))
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(user(n).to_string())
                    .send()
                    .await
                    .expect("SCIM answers");
                assert_eq!(response.status().as_u16(), 201, "user {n}: {}", response.text().await.unwrap_or_default());
                began.elapsed()
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    Pushed { elapsed: started.elapsed(), latencies }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, mut pushed: Pushed) {
    pushed.latencies.sort();
    let n = pushed.latencies.len();
    println!(
        "{label}: {n} creates in {:.1} s = {:.1}/s; latency p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        pushed.elapsed.as_secs_f64(),
        n as f64 / pushed.elapsed.as_secs_f64(),
        percentile(&pushed.latencies, 0.5),
        percentile(&pushed.latencies, 0.95),
        percentile(&pushed.latencies, 1.0),
    );
}

async fn connection(admin: &Admin, settings: Value) -> String {
    let request = json!({"provider": "scim", "settings": settings, "credentials": {}});
    let (status, created) = admin.post("/v1/connections", request).await;
    assert_eq!(status, 201, "{created}");
    created["scim_token"].as_str().unwrap().to_owned()
}

#[tokio::main]
async fn main() {
    let users = arg("--users", 1000);
    let hires = arg("--hires", 200);
    let parallel = arg("--parallel", 8);
    let stack = stack().await;
    let api = serve(&stack).await;
    let (_, key) = tenant(&stack).await;
    let admin = Admin::new(&api, &key);
    let base = format!("{api}/scim/v2");

    println!("SCIM intake through the local runner's routes, {parallel} requests in flight");
    let first = connection(&admin, json!({"initial_import_hours": 24})).await;
    report("initial push (imported for setup)", push(&base, &first, 0..users, parallel).await);
    let listed = admin.all("/v1/employees?set_up=false").await.len();
    assert!(listed >= users, "every pushed person is listed for setup ({listed} of {users})");

    let later = connection(&admin, json!({})).await;
    report("hires (onboarding task each)", push(&base, &later, users..users + hires, parallel).await);

    // The provider's import: every user, in pages of 100 by startIndex.
    let http = reqwest::Client::new();
    let started = Instant::now();
    let (mut start, mut seen, mut pages) = (1, 0, 0);
    loop {
        let url = format!("{base}/Users?startIndex={start}&count=100");
        let page: Value = http.get(url).bearer_auth(&first).send().await.unwrap().json().await.unwrap();
        let got = page["Resources"].as_array().map_or(0, Vec::len);
        seen += got;
        pages += 1;
        start += 100;
        if got == 0 || start > page["totalResults"].as_u64().unwrap_or(0) as usize {
            break;
        }
    }
    assert_eq!(seen, users, "the import read every user once");
    println!(
        "provider import: {seen} users in {pages} pages in {:.2} s ({:.0} ms a page)",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1000.0 / pages as f64
    );
}
