//! Cold start: how long each function's release binary takes from exec to its first request for work
//! (`GET /2018-06-01/runtime/invocation/next` on a local stand-in for the Lambda Runtime API), beside a hello-world
//! Rust Lambda (`tests/hello-lambda`) built with the same profile and measured in the same run, and each one's peak
//! resident memory at that moment. The functions get the environment Lambda gives them (credentials, region, the
//! template's variables) and nothing else: no HOME, no AWS config files.
//!
//! `make bench-cold` builds the binaries (one cargo build per function, as `make package` does) and runs this:
//! `cargo bench --profile dev -p integration-tests --bench cold_start -- [--runs N] [--dir target/release]`

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

const BINARIES: [&str; 5] = ["hello-lambda", "webhook", "poller", "worker", "admin-api"];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// What Lambda sets for a function, and what the template sets for IT Hub's.
fn lambda_environment(name: &str, runtime_api: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("ithub-{name}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/ithub-{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/03/[$LATEST]0123456789abcdef".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_rust".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_DEFAULT_REGION", "eu-west-1".into()),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00".into()),
        ("AWS_SECRET_ACCESS_KEY", "example-secret-access-key-example-000000".into()),
        ("AWS_SESSION_TOKEN", "example-session-token".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("TZ", ":UTC".into()),
        (ithub::config::TABLE, "ithub-Table-ABC".into()),
        (ithub::config::QUEUE_URL, "https://sqs.eu-west-1.amazonaws.com/123456789012/ithub-changes.fifo".into()),
        (ithub::config::RUN_QUEUE_URL, "https://sqs.eu-west-1.amazonaws.com/123456789012/ithub-runs".into()),
        (ithub::config::EVENT_BUS, "ithub-events".into()),
        (ithub::config::SECRET_PREFIX, "ithub/ithub".into()),
    ]
}

struct Start {
    init: Duration,
    peak_rss_kib: u64,
}

/// Starts `binary` once and waits for its first request for work.
async fn start(binary: &Path, name: &str) -> Start {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let runtime_api = listener.local_addr().expect("an address").to_string();
    let began = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(lambda_environment(name, &runtime_api))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .unwrap_or_else(|_| panic!("{name} asked for no work within 10 s"))
        .expect("accept");
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = socket.read(&mut buffer).await.expect("read the request");
        assert!(read > 0, "{name} closed the connection before asking for work");
        head.extend_from_slice(&buffer[..read]);
    }
    let init = began.elapsed();
    let request_line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    assert!(request_line.starts_with("GET /2018-06-01/runtime/invocation/next"), "{name}: {request_line}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id().expect("running"))).unwrap_or_default();
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().await.expect("stop");
    Start { init, peak_rss_kib }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = PathBuf::from(
        arg("--dir").unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release").into()),
    );
    println!(
        "cold start: exec to the first `GET …/invocation/next`, {runs} starts each, interleaved; {}",
        dir.display()
    );
    let built: Vec<&str> = BINARIES.iter().copied().filter(|name| dir.join(name).exists()).collect();
    assert!(built.first() == Some(&"hello-lambda"), "build the hello-world first: `make bench-cold` builds them all");
    for missing in BINARIES.iter().filter(|name| !built.contains(name)) {
        println!("{missing}: not built, left out");
    }
    let mut samples: Vec<Vec<Start>> = built.iter().map(|_| Vec::new()).collect();
    // Interleaved rounds, so a busy moment of the machine falls on every binary alike.
    for _ in 0..runs {
        for (i, name) in built.iter().enumerate() {
            samples[i].push(start(&dir.join(name), name).await);
        }
    }
    let median = |s: &[Start]| {
        let mut ms: Vec<f64> = s.iter().map(|x| x.init.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        (percentile(&ms, 0.5), percentile(&ms, 0.9))
    };
    let (hello, _) = median(&samples[0]);
    println!("| binary | size | median | p90 | × hello | peak RSS |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, s) in built.iter().zip(&samples) {
        let (p50, p90) = median(s);
        let size = std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0) as f64 / 1024.0 / 1024.0;
        let mut rss: Vec<u64> = s.iter().map(|x| x.peak_rss_kib).collect();
        rss.sort_unstable();
        println!(
            "| {name} | {size:.1} MiB | {p50:.1} ms | {p90:.1} ms | {:.1} | {:.1} MiB |",
            p50 / hello,
            rss[rss.len() / 2] as f64 / 1024.0
        );
    }
}
