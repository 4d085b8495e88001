//! A fault-injecting proxy between the functions' AWS clients and moto: each call is forwarded, except that a
//! chosen fraction of them (or of one operation's) is answered with a throttling error or a 500, has its connection
//! reset before or after moto applied it, or is answered late. What it injected and what it forwarded is counted,
//! for the tests' and benchmarks' figures.
//!
//! The operation is read from `X-Amz-Target` (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`,
//! `AWSEvents.PutEvents`, `secretsmanager.GetSecretValue`): every client this project uses speaks AWS JSON.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an injected fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AwsFault {
    /// A 400 `ThrottlingException`, before the call reaches moto (the SDK retries it with backoff).
    Throttle,
    /// A 500 `InternalFailure`, before the call reaches moto.
    ServerError,
    /// A 400 `AccessDeniedException` (not retried), before the call reaches moto: a permission missing from the
    /// function's role, say. Its message names a role ARN, which no answer of IT Hub's may pass on.
    Denied,
    /// The connection closes before the call reaches moto.
    Reset,
    /// moto applies the call, then the connection closes before its answer: the caller cannot know it happened.
    LostAnswer,
    /// The answer comes this many milliseconds late (the call is applied).
    Slow(u64),
}

/// Which calls get faults: `rate` of them (0.0 to 1.0), drawn from a seeded generator so a run can be repeated,
/// each fault picked in turn from `kinds`; only calls whose operation is in `operations`, when it is not empty.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rate: f64,
    pub kinds: Vec<AwsFault>,
    pub operations: Vec<String>,
    pub seed: u64,
}

impl Plan {
    /// No faults: every call is forwarded.
    pub fn none() -> Self {
        Self { rate: 0.0, kinds: Vec::new(), operations: Vec::new(), seed: 1 }
    }

    /// `rate` of all calls, each kind in turn.
    pub fn mixed(rate: f64, seed: u64) -> Self {
        let kinds =
            vec![AwsFault::Throttle, AwsFault::ServerError, AwsFault::Reset, AwsFault::LostAnswer, AwsFault::Slow(300)];
        Self { rate, kinds, operations: Vec::new(), seed }
    }

    /// `rate` of the calls to these operations only (`PutItem`, `TransactWriteItems`, …), with these faults.
    pub fn only(operations: &[&str], rate: f64, kinds: &[AwsFault]) -> Self {
        Self { rate, kinds: kinds.to_vec(), operations: operations.iter().map(|o| (*o).to_owned()).collect(), seed: 7 }
    }
}

/// What the proxy saw: calls by operation, and faults injected by operation and kind.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub calls: BTreeMap<String, u64>,
    pub faults: BTreeMap<(String, AwsFault), u64>,
}

impl Tally {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn total_faults(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Faults of one kind, whatever the operation.
    pub fn faults_of(&self, kind: impl Fn(AwsFault) -> bool) -> u64 {
        self.faults.iter().filter(|((_, k), _)| kind(*k)).map(|(_, n)| n).sum()
    }
}

struct State {
    plan: Plan,
    rng: u64,
    turn: usize,
    tally: Tally,
}

/// The proxy, listening on a loopback port until dropped.
#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (moto's URL) that injects nothing until [`FaultProxy::set`].
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { plan: Plan::none(), rng: 1, turn: 0, tally: Tally::default() }));
        let forward = Forward {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build().expect("an HTTP client"),
            state: state.clone(),
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await; // out of descriptors, say: let some close
                    continue;
                };
                let forward = forward.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| forward.clone().call(request));
                    // A service error closes the connection without an answer: that is how resets are injected.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, state, _task: Arc::new(AbortOnDrop(task)) }
    }

    /// Injects faults by `plan` from now on.
    pub fn set(&self, plan: Plan) {
        let mut state = self.state.lock().expect("proxy state");
        state.rng = plan.seed.max(1);
        state.turn = 0;
        state.plan = plan;
    }

    /// What the proxy has seen so far.
    pub fn tally(&self) -> Tally {
        self.state.lock().expect("proxy state").tally.clone()
    }

    /// An SDK configuration like `aws`, whose calls go through this proxy. The endpoint is also what the clients
    /// read from the environment (`AWS_ENDPOINT_URL`, which a client prefers to the configuration's own).
    pub fn config(&self, aws: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let environment = ThroughProxy { url: self.url.clone(), inner: aws.service_config().map(|_| aws.clone()) };
        aws.to_builder().endpoint_url(&self.url).service_config(environment).build()
    }
}

/// The environment as the clients read it, with the proxy for every endpoint URL.
#[derive(Debug)]
struct ThroughProxy {
    url: String,
    inner: Option<aws_config::SdkConfig>,
}

impl aws_types::service_config::LoadServiceConfig for ThroughProxy {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.env().starts_with("AWS_ENDPOINT_URL") {
            return Some(self.url.clone());
        }
        self.inner.as_ref()?.service_config()?.load_config(key)
    }
}

#[derive(Clone)]
struct Forward {
    upstream: String,
    http: reqwest::Client,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct Injected;

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for Injected {}

/// splitmix64: a small, well-mixed generator, enough to pick which calls fail.
fn next_random(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The role name in the message of every injected error: a test can look for it where it must not be.
pub const ROLE: &str = "fault-proxy-role";

fn error_answer(status: u16, code: &str) -> Response<Full<Bytes>> {
    let body = format!(
        r#"{{"__type":"{code}","message":"injected by the fault proxy for arn:aws:iam::123456789012:role/{ROLE}"}}"#
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", code)
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid answer")
}

impl Forward {
    /// The fault for this call, if it gets one, and the tally updated.
    fn decide(&self, operation: &str) -> Option<AwsFault> {
        let mut state = self.state.lock().expect("proxy state");
        *state.tally.calls.entry(operation.to_owned()).or_default() += 1;
        let State { plan, rng, turn, tally } = &mut *state;
        if plan.kinds.is_empty() || plan.rate <= 0.0 {
            return None;
        }
        if !plan.operations.is_empty() && !plan.operations.iter().any(|o| o == operation) {
            return None;
        }
        if next_random(rng) >= plan.rate {
            return None;
        }
        let kind = plan.kinds[*turn % plan.kinds.len()];
        *turn += 1;
        *tally.faults.entry((operation.to_owned(), kind)).or_default() += 1;
        Some(kind)
    }

    async fn call(self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Injected> {
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
        let operation = target.rsplit('.').next().unwrap_or("").to_owned();
        let fault = self.decide(&operation);
        match fault {
            Some(AwsFault::Throttle) => return Ok(error_answer(400, "ThrottlingException")),
            Some(AwsFault::ServerError) => return Ok(error_answer(500, "InternalFailure")),
            Some(AwsFault::Denied) => return Ok(error_answer(400, "AccessDeniedException")),
            Some(AwsFault::Reset) => return Err(Injected),
            _ => {}
        }
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map_err(|_| Injected)?.to_bytes();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut forwarded = self.http.request(parts.method, format!("{}{path}", self.upstream)).body(body);
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                forwarded = forwarded.header(name, value);
            }
        }
        let answer = forwarded.send().await.map_err(|_| Injected)?;
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.map_err(|_| Injected)?;
        match fault {
            Some(AwsFault::LostAnswer) => Err(Injected),
            Some(AwsFault::Slow(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(response.body(Full::new(bytes)).expect("a valid answer"))
            }
            _ => Ok(response.body(Full::new(bytes)).expect("a valid answer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_draws_about_the_rate_asked() {
        let mut rng = 42;
        let hits = (0..100_000).filter(|_| next_random(&mut rng) < 0.1).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }
}
