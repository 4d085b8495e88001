//! Hostile and broken input at the edges: bodies over the limits, JSON nested too deep, arrays too long, bytes that
//! are not UTF-8 — each refused with a clear 4xx and nothing queued — and a failure behind the API answered with a
//! generic problem and a correlation id, never with what failed.

use integration_tests::faults::{AwsFault, FaultProxy, Plan, ROLE};
use integration_tests::*;
use serde_json::{Value, json};

async fn send(url: &str, key: Option<&str>, body: Vec<u8>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json").body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.unwrap_or_default();
    (status, content_type, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = String::from(r#"{"employee_ids":"#);
    body.push_str(&"[".repeat(depth));
    body.push_str(&"]".repeat(depth));
    body.push('}');
    body.into_bytes()
}

#[tokio::test]
async fn the_admin_api_refuses_oversized_deep_long_and_non_utf8_bodies_with_a_reason() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let url = format!("{}/v1/employees/setup", world.api);
    let key = Some(world.admin.key.as_str());

    let mut huge = br#"{"employee_ids":[""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 70 * 1024));
    huge.extend(br#""]}"#);
    let (status, content_type, problem) = send(&url, key, huge).await;
    assert_eq!((status, content_type.as_str()), (413, "application/problem+json"), "{problem}");
    assert_eq!(problem["type"], "urn:ithub:problem:too-large");

    let (status, _, problem) = send(&url, key, nested(10_000)).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["type"], "urn:ithub:problem:bad-request");

    let ids: Vec<String> = (0..1_000).map(|n| format!("emp_{n:024}")).collect();
    let (status, _, problem) = send(&url, key, serde_json::to_vec(&json!({ "employee_ids": ids })).unwrap()).await;
    assert_eq!(status, 400, "at most 100 people at once: {problem}");

    let mut not_utf8 = br#"{"employee_ids":[""#.to_vec();
    not_utf8.extend([0xff, 0xfe, 0xc3]);
    not_utf8.extend(br#""]}"#);
    let (status, _, problem) = send(&url, key, not_utf8).await;
    assert_eq!(status, 400, "{problem}");

    // A credential sent in the wrong shape is not quoted back.
    let connections = format!("{}/v1/connections", world.api);
    let body = json!({"provider": "bamboohr", "settings": {"company_domain": "acme"}, "credentials": "s3cr3t-key-1"});
    let (status, _, problem) = send(&connections, key, serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, 400, "{problem}");
    assert!(!problem.to_string().contains("s3cr3t-key-1"), "{problem}");

    // Nothing of it reached a queue.
    assert!(peek(&world.stack, &world.stack.deployed.queue_url).await.is_empty());
}

#[tokio::test]
async fn the_webhook_refuses_oversized_and_broken_deliveries_and_queues_nothing() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let url = world.webhook_url();
    let mut huge = br#"{"type":"employee.updated","data":{"employeeId":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'1', 300 * 1024));
    huge.extend(br#""}}"#);
    let (status, content_type, answer) = send(&url, None, huge).await;
    assert_eq!((status, content_type.as_str()), (413, "application/problem+json"), "{answer}");
    assert!(answer["detail"].as_str().is_some_and(|d| d.contains("larger than 262144 bytes")), "{answer}");

    // Signed correctly, but not JSON, or nested past any sense: 400 with a reason.
    for body in [vec![0xff, 0xfe, 0x00, 0x7b], nested(10_000)] {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = fake_hr::sign_bytes(WORLD_SECRET, &body, &timestamp);
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-bamboohr-timestamp", &timestamp)
            .header("x-bamboohr-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer = response.text().await.unwrap();
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("bad-webhook-payload"), "{answer}");
    }
    assert!(peek(&world.stack, &world.stack.deployed.queue_url).await.is_empty());
}

/// AWS refuses the functions' calls (a permission missing, say): the admin API and the webhook answer a generic
/// 503 problem with a correlation id, and nothing of the AWS error (its role ARN) is in the answer.
#[tokio::test]
async fn a_failure_behind_the_api_answers_a_correlation_id_and_no_detail() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let aws = ithub::aws_config().await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let faulty = world.stack.with_functions_through(&proxy.config(&aws));
    let api = serve(&faulty).await;
    proxy.set(Plan::only(&["Query", "GetItem", "TransactWriteItems", "PutItem"], 1.0, &[AwsFault::Denied]));

    let admin = Admin::new(&api, &world.admin.key);
    let (status, problem) = admin.get("/v1/connections").await;
    // The key is checked first (GetItem): that failing is the same generic answer.
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:ithub:problem:unavailable");
    assert_eq!(problem["detail"], "please retry");
    let id = problem["correlation_id"].as_str().expect("a correlation id");
    assert_eq!(id.len(), 32);
    assert!(!problem.to_string().contains(ROLE) && !problem.to_string().contains("AccessDenied"), "{problem}");
    let (_, again) = admin.get("/v1/connections").await;
    assert_ne!(again["correlation_id"], problem["correlation_id"], "each failure has its own id");

    let url = format!("{api}/webhooks/{}", world.connection.id);
    let body = r#"{"type":"employee.updated","data":{"employeeId":"1"}}"#;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("x-bamboohr-timestamp", &timestamp)
        .header("x-bamboohr-signature", fake_hr::sign(WORLD_SECRET, body, &timestamp))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let problem: Value = response.json().await.unwrap();
    assert!(problem["correlation_id"].as_str().is_some_and(|id| id.len() == 32), "{problem}");
    assert!(!problem.to_string().contains(ROLE), "{problem}");
}
