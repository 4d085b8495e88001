//! The real-time path: signed BambooHR webhooks → receiver → queue → worker (which re-reads the person).

use chrono::Utc;
use integration_tests::*;
use serde_json::json;

const SECRET: &str = "whsec-test-private-key";

async fn post(url: &str, body: &str, headers: &[(&str, String)]) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().post(url).body(body.to_owned()).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("receiver answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_signed_webhook_makes_a_change_visible_without_a_poll() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, SECRET).await;
    let api = serve(&stack).await;
    paste_bamboo_webhook(&stack, &connection, &fake, &format!("{api}/webhooks/{}", connection.id)).await;

    let id = fake.hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "IT"})).await;
    let deliveries = fake.deliveries();
    assert_eq!(deliveries.len(), 2, "employee.created then employee.updated");
    assert!(deliveries.iter().all(|d| d.status == 202), "{deliveries:?}");
    assert_eq!(drain(&stack).await, 2);

    let (status, list) = get_json(&format!("{api}/v1/employees"), &key).await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the webhook's person: no poll has run");
    assert_eq!(items[0]["hr"]["hr_id"], id.to_string());
    assert_eq!(items[0]["hr"]["department"], "IT", "the worker re-read the full record");
    assert_eq!(items[0]["version"], 1, "the second hint found nothing new");
}

#[tokio::test]
async fn unverified_deliveries_get_401_and_queue_nothing() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, SECRET).await;
    let api = serve(&stack).await;
    let url = format!("{api}/webhooks/{}", connection.id);
    let body = json!({"type": "employee.updated", "timestamp": "2026-01-31T18:42:00+0000",
                      "data": {"companyId": "1", "employeeId": "1", "changedFields": ["firstName"]}})
    .to_string();
    let now = Utc::now().timestamp().to_string();
    let stale = (Utc::now().timestamp() - 301).to_string();

    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no headers", vec![]),
        ("no signature", vec![("x-bamboohr-timestamp", now.clone())]),
        (
            "wrong secret",
            vec![
                ("x-bamboohr-timestamp", now.clone()),
                ("x-bamboohr-signature", fake_hr::sign("another-secret", &body, &now)),
            ],
        ),
        (
            "signature of another timestamp",
            vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", fake_hr::sign(SECRET, &body, &stale))],
        ),
        (
            "stale timestamp",
            vec![
                ("x-bamboohr-timestamp", stale.clone()),
                ("x-bamboohr-signature", fake_hr::sign(SECRET, &body, &stale)),
            ],
        ),
        ("not hex", vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", "zz".into())]),
    ];
    for (case, headers) in cases {
        let (status, problem) = post(&url, &body, &headers).await;
        assert_eq!(status, 401, "{case}: {problem}");
        assert_eq!(problem["type"], "urn:ithub:problem:bad-webhook-signature", "{case}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{case}: a reason is given");
    }
    assert!(peek(&stack, &stack.deployed.queue_url).await.is_empty(), "nothing was queued");

    // The same body, correctly signed, is accepted: the refusals above were about the signature alone.
    let signed =
        vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", fake_hr::sign(SECRET, &body, &now))];
    assert_eq!(post(&url, &body, &signed).await.0, 202);
}

#[tokio::test]
async fn the_same_delivery_twice_queues_one_change() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, SECRET).await;
    let api = serve(&stack).await;
    paste_bamboo_webhook(&stack, &connection, &fake, &format!("{api}/webhooks/{}", connection.id)).await;

    fake.change(1, json!({"jobTitle": "Countess"})).await;
    let delivery = fake.deliveries().pop().unwrap();
    assert_eq!(delivery.status, 202);
    assert_eq!(fake.send(&delivery).await, 200, "a redelivery is acknowledged");
    let queued = peek(&stack, &stack.deployed.queue_url).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
}

#[tokio::test]
async fn unknown_connections_look_like_bad_signatures_and_unreadable_payloads_get_a_reason() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![]).await;
    let connection = connect(&stack, &tenant, &fake, SECRET).await;
    let api = serve(&stack).await;
    let now = Utc::now().timestamp().to_string();

    // An unknown connection is answered exactly as a bad signature to a known one: nothing tells a stranger
    // which ids exist.
    let body = r#"{"type":"employee.updated","data":{"employeeId":"1"}}"#;
    let forged =
        vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", fake_hr::sign("guess", body, &now))];
    let known = post(&format!("{api}/webhooks/{}", connection.id), body, &forged).await;
    let unknown = post(&format!("{api}/webhooks/con_00000000000000000000000000000000"), body, &forged).await;
    assert_eq!(known.0, 401, "{:?}", known.1);
    assert_eq!(unknown, known);
    let (status, _) = post(&format!("{api}/webhooks/..%2Fadmin"), "{}", &[]).await;
    assert_eq!(status, 401);

    let body = r#"{"type":"company.updated","data":{}}"#;
    let headers =
        vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", fake_hr::sign(SECRET, body, &now))];
    let (status, problem) = post(&format!("{api}/webhooks/{}", connection.id), body, &headers).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["type"], "urn:ithub:problem:bad-webhook-payload");
    assert!(peek(&stack, &stack.deployed.queue_url).await.is_empty());
}

#[tokio::test]
async fn during_a_secret_rotation_both_secrets_verify() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, SECRET).await;
    let mut rotating = stack.secrets.get_fresh(&connection.secret_id).await.unwrap();
    rotating.webhook_secrets = vec!["whsec-new".into(), SECRET.into()];
    stack.secrets.put(&connection.secret_id, &rotating).await.unwrap();
    let api = serve(&stack).await;
    let url = format!("{api}/webhooks/{}", connection.id);
    for (n, secret) in ["whsec-new", SECRET].into_iter().enumerate() {
        let body = json!({"type": "employee.updated", "data": {"employeeId": "1", "n": n}}).to_string();
        let now = Utc::now().timestamp().to_string();
        let headers =
            vec![("x-bamboohr-timestamp", now.clone()), ("x-bamboohr-signature", fake_hr::sign(secret, &body, &now))];
        assert_eq!(post(&url, &body, &headers).await.0, 202, "signed with {secret}");
    }
}
