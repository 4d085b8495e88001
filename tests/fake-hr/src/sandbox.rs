//! The sandbox harness every fake embeds: the queue of injected faults, the call counters, the contract
//! violations, the step that lets an API call through or refuses it, and the two sandbox routes every fake has:
//!
//! - `POST /sandbox/faults` (a [`Fault`]): queued behind the ones not yet served
//! - `GET  /sandbox/stats`: `api_calls` (API calls so far, the token endpoints not counted), then what the fake
//!   adds ([`Sandboxed::stats`]: its own counts, its headcount)
//!
//! What a fake does with people (hire, change, terminate, webhooks) stays in its own module, as do its own
//! sandbox routes.

use crate::contract::{Contracted, Violations};
use crate::faults::{Fault, Refusal, next_fault};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Faults, counters and violations of one fake; clones share them.
#[derive(Clone, Default)]
pub struct Sandbox {
    state: Arc<Mutex<Ledger>>,
    violations: Violations,
}

#[derive(Default)]
struct Ledger {
    faults: VecDeque<Fault>,
    api_calls: u64,
    /// API calls answered with an injected fault.
    refused: u64,
    /// The fake's own counts, by name (pages served, requests per endpoint, redirects).
    counts: BTreeMap<&'static str, u64>,
}

impl Sandbox {
    fn state(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.state)
    }

    /// An API call: counted, then refused by the next injected fault that is due, or else by `deny`, the
    /// vendor's own check of the caller (a wrong key, an expired token); `None` lets the call through. `deny` runs
    /// after the sandbox's lock is let go, so it may take the fake's own.
    pub fn refuse_or_count(&self, deny: impl FnOnce() -> Option<Refusal>) -> Option<Refusal> {
        {
            let mut state = self.state();
            state.api_calls += 1;
            if let Some(refused) = next_fault(&mut state.faults) {
                state.refused += 1;
                return Some(refused);
            }
        }
        deny()
    }

    /// The next injected fault that is due, for a call not counted as an API call (a token endpoint).
    pub fn fault(&self) -> Option<Refusal> {
        next_fault(&mut self.state().faults)
    }

    /// Queues a fault behind the ones not yet served.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    /// Injected faults not yet served (an `every` fault stays until the fake ends).
    pub fn faults_left(&self) -> usize {
        self.state().faults.len()
    }

    /// API calls so far (sandbox controls and token endpoints not counted).
    pub fn api_calls(&self) -> u64 {
        self.state().api_calls
    }

    /// API calls refused by an injected fault so far.
    pub fn refused_calls(&self) -> u64 {
        self.state().refused
    }

    /// Counts one more of `name` (a page served, a request to an endpoint).
    pub fn count(&self, name: &'static str) {
        *self.state().counts.entry(name).or_default() += 1;
    }

    /// How many of `name` so far.
    pub fn counted(&self, name: &str) -> u64 {
        self.state().counts.get(name).copied().unwrap_or_default()
    }

    /// Every count so far, by name (a name never counted is absent).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.state().counts.clone()
    }

    /// Where the contract layer keeps what broke the vendor's description.
    pub fn violations(&self) -> &Violations {
        &self.violations
    }
}

/// A fake built on the harness.
pub trait Sandboxed: Clone + Send + Sync + 'static {
    fn sandbox(&self) -> &Sandbox;

    /// What `GET /sandbox/stats` shows after `api_calls`: a JSON object of the fake's own counts.
    fn stats(&self) -> Value;
}

impl<F: Sandboxed> Contracted for F {
    fn violations(&self) -> Vec<String> {
        self.sandbox().violations.all()
    }
}

/// `POST /sandbox/faults` and `GET /sandbox/stats`, to merge into a fake's router before its state is given.
pub fn routes<F: Sandboxed>() -> Router<F> {
    Router::new().route("/sandbox/faults", post(inject::<F>)).route("/sandbox/stats", get(stats::<F>))
}

async fn inject<F: Sandboxed>(State(fake): State<F>, axum::Json(fault): axum::Json<Fault>) -> Response {
    fake.sandbox().inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn stats<F: Sandboxed>(State(fake): State<F>) -> Response {
    let mut stats = Map::new();
    stats.insert("api_calls".into(), json!(fake.sandbox().api_calls()));
    if let Value::Object(own) = fake.stats() {
        stats.extend(own);
    }
    axum::Json(Value::Object(stats)).into_response()
}

/// A fake's state, even if a handler panicked holding it (an injected dropped connection does).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves `app` on `listener` until the process ends.
pub fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultKind;

    #[test]
    fn a_fault_refuses_before_the_vendors_check_and_is_counted_as_a_refused_call() {
        let sandbox = Sandbox::default();
        sandbox.inject(Fault { count: 2, after: 1, ..Fault::status(503) });
        let mut checked = 0;
        let mut call = || {
            sandbox.refuse_or_count(|| {
                checked += 1;
                None
            })
        };
        assert!(call().is_none(), "the first call passes (after: 1)");
        assert!(matches!(call(), Some(Refusal::Answer(r)) if r.status() == StatusCode::SERVICE_UNAVAILABLE));
        assert!(call().is_some());
        assert!(call().is_none(), "two refused, then through again");
        assert_eq!(checked, 2, "the vendor's check runs only on calls the faults let through");
        assert_eq!((sandbox.api_calls(), sandbox.refused_calls(), sandbox.faults_left()), (4, 2, 0));
    }

    #[test]
    fn a_token_endpoints_fault_is_not_an_api_call() {
        let sandbox = Sandbox::default();
        sandbox.inject(Fault { kind: FaultKind::Drop, ..Fault::status(500) });
        assert!(matches!(sandbox.fault(), Some(Refusal::Drop)));
        assert!(sandbox.fault().is_none());
        assert_eq!((sandbox.api_calls(), sandbox.refused_calls()), (0, 0));
    }

    /// The shared routes over HTTP, on BambooHR's fake: a fault posted to `/sandbox/faults` refuses the next API
    /// call, and `/sandbox/stats` reads as it did before the harness (the scale bench reads it).
    #[tokio::test]
    async fn a_fault_posted_to_the_sandbox_refuses_the_next_call_and_the_stats_count_it() {
        let today = chrono::Utc::now().date_naive();
        let people = crate::sample_company(today);
        let headcount = people.len();
        let fake = crate::FakeBamboo::start("127.0.0.1:0".parse().unwrap(), "acme", "key", people).await.unwrap();
        let http = reqwest::Client::new();
        let posted = http
            .post(format!("{}/sandbox/faults", fake.base_url()))
            .json(&json!({ "status": 429, "retryAfter": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::NO_CONTENT);
        let page = || {
            http.post(format!("{}/api/v2/datasets/employee/data", fake.base_url()))
                .basic_auth("key", Some("x"))
                .json(&json!({ "fields": ["eeid"] }))
                .send()
        };
        let refused = page().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()["retry-after"], "1");
        assert_eq!(page().await.unwrap().status(), StatusCode::OK);
        let stats: Value =
            reqwest::get(format!("{}/sandbox/stats", fake.base_url())).await.unwrap().json().await.unwrap();
        assert_eq!(stats, json!({ "api_calls": 2, "dataset_calls": 1, "headcount": headcount }));
        assert_eq!((fake.refused_calls(), fake.dataset_calls()), (1, 1));
    }

    #[test]
    fn counts_are_kept_by_name() {
        let sandbox = Sandbox::default();
        sandbox.count("pages");
        sandbox.count("pages");
        sandbox.count("redirects");
        assert_eq!((sandbox.counted("pages"), sandbox.counted("redirects"), sandbox.counted("other")), (2, 1, 0));
        assert_eq!(sandbox.counts().len(), 2);
    }
}
