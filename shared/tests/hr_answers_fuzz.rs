//! Whatever an HR system answers (any status but a throttle, any header, `Content-Length` or `Content-Type`, any body:
//! bytes, JSON of every shape, XML, huge numbers, far dates), every connector's listing, change feed and read of one
//! person give a result (records or a named error) and never panic. Token endpoints get the same answers, so an
//! `expires_in` of any size is in it. A property test standing in for `cargo fuzz` (`make fuzz` runs more cases).

use chrono::{DateTime, NaiveDate, Utc};
use ithub::providers::{Egress, Http, Link, NewConnection, connect};
use proptest::prelude::*;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer, as bytes on the wire (status line, headers, body), given to every request while it is set.
static ANSWER: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| Arc::new(Mutex::new(Vec::new())));

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());

/// A loopback HR system that answers every request with [`ANSWER`], then closes the connection.
static SERVER: LazyLock<String> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = ANSWER.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 8192];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        url
    })
});

/// A client certificate and key for the connector that needs one (the fake server speaks plain HTTP: unused).
static IDENTITY: LazyLock<(String, String)> = LazyLock::new(|| {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["it-hub-client".into()]).unwrap().self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
});

/// Every connector that reads an HR system, connected to the fake server.
fn connections(base: &str) -> Vec<serde_json::Value> {
    let (certificate, key) = IDENTITY.clone();
    vec![
        serde_json::json!({ "provider": "bamboohr", "settings": { "company_domain": "acme", "base_url": base },
                            "credentials": { "api_key": "k" } }),
        serde_json::json!({ "provider": "hibob", "settings": { "base_url": base },
                            "credentials": { "service_user_id": "u", "service_user_token": "t" } }),
        serde_json::json!({ "provider": "personio", "settings": { "base_url": base, "personal_email_attribute": "dynamic_1" },
                            "credentials": { "client_id": "c", "client_secret": "s" } }),
        serde_json::json!({ "provider": "gusto", "settings": { "company_uuid": "c0c0c0c0-0000-4000-8000-000000000001", "base_url": base },
                            "credentials": { "client_id": "c", "client_secret": "s", "refresh_token": "r" } }),
        serde_json::json!({ "provider": "rippling", "settings": { "base_url": base }, "credentials": { "api_token": "t" } }),
        serde_json::json!({ "provider": "workday", "settings": { "base_url": base, "tenant": "acme" },
                            "credentials": { "username": "isu", "password": "p" } }),
        serde_json::json!({ "provider": "workday", "settings": { "base_url": base, "tenant": "acme",
                                                                  "report": { "owner": "ISU_ithub", "name": "Workers" } },
                            "credentials": { "username": "isu", "password": "p" } }),
        serde_json::json!({ "provider": "adp", "settings": { "base_url": base },
                            "credentials": { "client_id": "c", "client_secret": "s",
                                             "client_certificate": certificate, "client_key": key } }),
    ]
}

/// Any status but the throttles (429, 503), which are waited out and retried in place: `http`'s own tests hold
/// those, a `Retry-After` of any size among them.
fn status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(204), Just(401), Just(403), Just(404), 200u16..600]
        .prop_filter("not a throttle", |s| !matches!(s, 429 | 503))
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        "retry-after: (-?[0-9]{1,25}|[A-Za-z, 0-9:]{0,40})",
        "content-length: [0-9]{1,20}",
        "content-type: (application/json|text/xml|application/problem\\+json|text/html)",
        "x-total-pages: -?[0-9]{1,25}",
        "link: <[ -~]{0,60}>; rel=\"next\"",
    ]
}

/// A JSON value of any shape, with the numbers and dates that overflow arithmetic and time.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        Just(serde_json::json!(1e308)),
        "[0-9]{4,6}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?".prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    let keys = "(id|data|_data|employees|workers|results|items|next|next_link|links|_meta|meta|expires_in|\
                access_token|token_type|refresh_token|employees_count|status|fields|firstName|hireDate|\
                terminationDate|start_date|end_date|employment_status|page|totalPages|count|offset)";
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        "<\\?xml version=\"1.0\"\\?><[A-Za-z:_]{1,20}>[ -~]{0,80}".prop_map(String::into_bytes),
    ]
}

fn wire(status: u16, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

proptest! {
    // 200 cases with every test run (a few seconds); `make fuzz` sets PROPTEST_CASES higher.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(200)
    ))]

    #[test]
    fn every_connector_gives_a_result_for_any_answer(
        status in status(),
        headers in prop::collection::vec(header(), 0..3),
        body in body(),
        now in -8_000_000_000_000i64..8_000_000_000_000,
    ) {
        *ANSWER.lock().unwrap() = wire(status, &headers, &body);
        let base = SERVER.clone();
        let now = DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now);
        let today: NaiveDate = now.date_naive();
        RUNTIME.block_on(async {
            for request in connections(&base) {
                let new: NewConnection = serde_json::from_value(request).unwrap();
                let (settings, credentials, _) = new.validate(Egress::LoopbackOnly).expect("a valid connection");
                let link = Link::new(Http::new(Egress::LoopbackOnly));
                let provider = connect(&settings, &credentials, link).expect("a connector");
                // Each call ends, with records or a named error; a panic fails the property.
                let _ = provider.list_page(None, today).await;
                let _ = provider.list_page(Some("2"), today).await;
                let state = provider.start_state(now).await.unwrap_or_default();
                let _ = provider.changes_page(&state, None, now).await;
                let _ = provider.fetch("123").await;
                let _ = provider.fetch_many(&["1".into(), "2".into()]).await;
            }
        });
    }
}
