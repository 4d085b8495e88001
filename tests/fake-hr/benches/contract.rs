//! What holding a fake to its vendor's description costs per call (`make bench`): BambooHR's description loaded
//! once, then a Datasets v2 request and its answer of `--rows` rows (default 1,000, a full page) checked
//! `--runs` times (default 50). Prints the load time and the per-call median and 95th percentile.

use axum::http::{HeaderMap, Method, StatusCode, header};
use fake_hr::contract::Contract;
use serde_json::json;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn main() {
    let (rows, runs) = (arg("--rows", 1000), arg("--runs", 50));
    let started = Instant::now();
    let contract = Contract::load("BambooHR", &["bamboohr/bamboohr-public.yaml"]);
    let loaded = started.elapsed();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "application/json".parse().expect("a header"));
    let request = json!({ "fields": ["eeid", "firstName", "lastName", "status", "hireDate", "terminationDate"],
                          "filter": "status eq 'Active'", "orderBy": "eeid asc", "page": 1, "pageSize": 1000 })
    .to_string();
    let data: Vec<_> = (0..rows)
        .map(|n| {
            json!({ "fields": { "eeid": n.to_string(), "firstName": "Ada", "lastName": "Lovelace",
                                     "status": "Active", "hireDate": "2020-01-06", "terminationDate": "" } })
        })
        .collect();
    let answer =
        json!({ "data": data, "links": { "next": null }, "meta": { "page": 1, "pageSize": 1000 } }).to_string();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let path = "/api/v2/datasets/employee/data";
        let operation = contract.check_request(&Method::POST, path, None, &headers, request.as_bytes());
        let operation = operation.expect("a conforming request").expect("a described operation");
        let problems = contract.check_response(&operation, StatusCode::OK, &headers, answer.as_bytes());
        assert!(problems.is_empty(), "{problems:?}");
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "contract: BambooHR description loaded in {:.0} ms; a {rows}-row dataset page checked (request and answer) in \
         p50 {:.2} ms, p95 {:.2} ms over {runs} runs (the first compiles the schemas)",
        loaded.as_secs_f64() * 1e3,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
    );
}
