//! Fault injection and the reading of HTTP Basic and bearer credentials, shared by every fake.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use std::collections::VecDeque;

/// What the next API calls get instead of an answer: after `after` calls pass, `count` calls answer `status` (with
/// `Retry-After` if given), or with `kind` `truncated` a 200 whose body stops half way, or with `drop` no answer
/// at all (the connection closes).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    #[serde(default = "server_error")]
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub after: u32,
    #[serde(default)]
    pub kind: FaultKind,
    /// Instead of `count` calls in a row: every `every`-th call from now on, without end, each refused in turn
    /// with 429 (`Retry-After: 1`), 500, 503, a truncated body and a dropped connection (`kind` and `status` are
    /// not read). `every: 10` fails a tenth of the calls.
    #[serde(default)]
    pub every: u32,
    /// Calls seen by an `every` fault so far.
    #[serde(skip)]
    pub seen: u32,
}

/// What a fault with `every` does on its n-th refusal.
const MIXED: [Fault; 5] = [
    Fault { status: 429, count: 1, retry_after: Some(1), after: 0, kind: FaultKind::Status, every: 0, seen: 0 },
    Fault { status: 500, count: 1, retry_after: None, after: 0, kind: FaultKind::Status, every: 0, seen: 0 },
    Fault { status: 503, count: 1, retry_after: None, after: 0, kind: FaultKind::Status, every: 0, seen: 0 },
    Fault { status: 200, count: 1, retry_after: None, after: 0, kind: FaultKind::Truncated, every: 0, seen: 0 },
    Fault { status: 500, count: 1, retry_after: None, after: 0, kind: FaultKind::Drop, every: 0, seen: 0 },
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    #[default]
    Status,
    Truncated,
    Drop,
    /// A 200 whose body goes on for 100 MB (streamed, never held).
    Huge,
    /// An answer that takes a minute to start.
    Slow,
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Self { status, count: 1, retry_after: None, after: 0, kind: FaultKind::Status, every: 0, seen: 0 }
    }

    /// Every `every`-th call from now on refused, each in turn by a 429, a 500, a 503, a truncated body and a
    /// dropped connection.
    pub fn every(every: u32) -> Self {
        Self { every: every.max(1), ..Self::status(500) }
    }
}

fn server_error() -> u16 {
    500
}

fn one() -> u32 {
    1
}

/// The next queued fault, if one is due: after `after` calls pass, each of the next `count` calls is refused.
pub fn next_fault(faults: &mut VecDeque<Fault>) -> Option<Refusal> {
    let fault = faults.front_mut()?;
    if fault.after > 0 {
        fault.after -= 1;
        return None;
    }
    if fault.every > 0 {
        fault.seen += 1;
        if fault.seen % fault.every != 0 {
            return None;
        }
        return Some(refusal(MIXED[(fault.seen / fault.every - 1) as usize % MIXED.len()]));
    }
    let fault = *fault;
    let front = faults.front_mut().expect("just seen");
    front.count = front.count.saturating_sub(1);
    if front.count == 0 {
        faults.pop_front();
    }
    Some(refusal(fault))
}

fn refusal(fault: Fault) -> Refusal {
    match fault.kind {
        FaultKind::Truncated => Refusal::Truncated,
        FaultKind::Drop => Refusal::Drop,
        FaultKind::Huge => Refusal::Huge,
        FaultKind::Slow => Refusal::Slow,
        FaultKind::Status => {
            let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = (status, "injected fault").into_response();
            if let Some(secs) = fault.retry_after {
                response.headers_mut().insert("retry-after", HeaderValue::from(secs));
            }
            Refusal::Answer(response)
        }
    }
}

/// The body of a sandbox's terminate (`{"date"}`: the last day) or rehire (`{"start_date"}`); either may be
/// left out (today).
#[derive(Debug, Default, Deserialize)]
pub struct Dated {
    #[serde(default)]
    pub date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub start_date: Option<chrono::NaiveDate>,
}

/// A sandbox control's answer: 204 when it found the person, 404 when not.
pub fn found(ok: bool) -> Response {
    if ok { StatusCode::NO_CONTENT.into_response() } else { StatusCode::NOT_FOUND.into_response() }
}

/// The user name and password of an HTTP Basic `Authorization` header.
pub fn basic_user(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let pair = String::from_utf8(raw).ok()?;
    let (user, password) = pair.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")
}

pub enum Refusal {
    Answer(Response),
    /// A 200 whose JSON body stops half way.
    Truncated,
    /// No answer: the connection is closed.
    Drop,
    /// A 200 whose JSON body is 100 MB of whitespace after its opening brace, streamed a MiB at a time.
    Huge,
    /// A 503 after a minute.
    Slow,
}

impl Refusal {
    pub async fn into_response(self) -> Response {
        match self {
            Self::Answer(response) => response,
            Self::Truncated => {
                let mut response =
                    ([("content-type", "application/json")], r#"{"data":[{"fields":{"eeid":"1","firstN"#)
                        .into_response();
                // Broken on purpose: the contract guard lets it through.
                response.extensions_mut().insert(crate::contract::InjectedFault);
                response
            }
            // Panicking in a handler makes hyper drop the connection without a response.
            Self::Drop => panic!("fault injection: drop the connection"),
            Self::Huge => {
                const MIB: usize = 1024 * 1024;
                let chunks = std::iter::once(axum::body::Bytes::from_static(b"{"))
                    .chain(std::iter::repeat_n(axum::body::Bytes::from(vec![b' '; MIB]), 100));
                let stream = futures::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
                let mut response =
                    ([("content-type", "application/json")], axum::body::Body::from_stream(stream)).into_response();
                response.extensions_mut().insert(crate::contract::InjectedFault);
                response
            }
            Self::Slow => {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, "injected fault: slow").into_response();
                response.extensions_mut().insert(crate::contract::InjectedFault);
                response
            }
        }
    }
}
