//! Tenants and admin keys: the operator CLI issues, lists and revokes them; the admin API checks them on every
//! request, behind API Gateway as locally.

use integration_tests::*;
use operator::{Command, run};
use tower::ServiceExt;

async fn issue(stack: &Stack, tenant: &str, label: &str, expires_in_days: Option<u32>) -> (String, String) {
    let out = run(&stack.store, Command::IssueKey { tenant: tenant.into(), label: label.into(), expires_in_days })
        .await
        .unwrap();
    let key = out.lines().next().unwrap().to_owned();
    let key_id = out.split("key id ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    (key, key_id)
}

async fn status(api: &str, key: &str) -> u16 {
    get_json(&format!("{api}/v1/employees"), key).await.0
}

#[tokio::test]
async fn operators_issue_list_and_revoke_keys() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let tenant = run(&stack.store, Command::CreateTenant { name: "Acme".into() }).await.unwrap().trim().to_owned();
    let (key, key_id) = issue(&stack, &tenant, "ci-bot", None).await;
    assert!(key.starts_with("ithub_"));
    assert_eq!(status(&api, &key).await, 200);

    let (expiring, _) = issue(&stack, &tenant, "contractor", Some(0)).await;
    assert_eq!(status(&api, &expiring).await, 401, "a key past its expiry is refused");

    let listing = run(&stack.store, Command::ListKeys { tenant: tenant.clone() }).await.unwrap();
    assert!(listing.contains(&key_id) && listing.contains("ci-bot") && listing.contains("live"), "{listing}");
    assert!(listing.contains("expired"), "{listing}");
    assert!(!listing.contains(&key[6..]), "a listing never shows a key");

    let revoked =
        run(&stack.store, Command::RevokeKey { tenant: tenant.clone(), key_id: key_id.clone() }).await.unwrap();
    assert!(revoked.contains(&key_id));
    assert_eq!(status(&api, &key).await, 401, "a revoked key is refused at once");
    let again = run(&stack.store, Command::RevokeKey { tenant: tenant.clone(), key_id: key_id.clone() }).await;
    assert!(again.is_err(), "revoking twice says so");

    // One tenant cannot revoke another's key, nor issue keys for a tenant that does not exist.
    let other = run(&stack.store, Command::CreateTenant { name: "Other".into() }).await.unwrap().trim().to_owned();
    let (other_key, other_id) = issue(&stack, &other, "admin", None).await;
    assert!(run(&stack.store, Command::RevokeKey { tenant: tenant.clone(), key_id: other_id }).await.is_err());
    assert_eq!(status(&api, &other_key).await, 200);
    let missing = run(
        &stack.store,
        Command::IssueKey {
            tenant: "ten_00000000000000000000000000000000".into(),
            label: "x".into(),
            expires_in_days: None,
        },
    )
    .await;
    assert!(missing.is_err());
}

/// An API Gateway HTTP API (payload 2.0) event for `GET path`, as the admin API's Lambda receives it, read by
/// `lambda_http` as `lambda_http::run` reads it. `forged` puts a Lambda authorizer's context on it, as a request
/// would carry one if an authorizer were ever put in front: the function must not take the tenant from it.
fn gateway_event(
    path: &str,
    authorization: Option<&str>,
    forged: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut headers = serde_json::json!({ "host": "abc123.execute-api.eu-west-1.amazonaws.com" });
    if let Some(value) = authorization {
        headers["authorization"] = value.into();
    }
    let mut context = serde_json::json!({
        "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "abc123", "requestId": "req-1", "routeKey": "ANY /v1/{proxy+}", "stage": "$default",
        "time": "02/Dec/2026:10:00:00 +0000", "timeEpoch": 1796205600000u64,
        "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t" },
    });
    if let Some(tenant) = forged {
        context["authorizer"] = serde_json::json!({ "lambda": { "tenant_id": tenant, "key_label": "forged" } });
    }
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "ANY /v1/{proxy+}", "rawPath": path, "rawQueryString": "",
        "headers": headers, "requestContext": context, "isBase64Encoded": false,
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event");
    assert!(matches!(
        request.extensions().get::<lambda_http::request::RequestContext>(),
        Some(lambda_http::request::RequestContext::ApiGatewayV2(_))
    ));
    request.map(|body| axum::body::Body::from(body.to_vec()))
}

#[tokio::test]
async fn behind_api_gateway_the_function_checks_the_key_and_refuses_with_problem_json() {
    let stack = stack().await;
    let (mine, key) = tenant(&stack).await;
    let (other, _) = tenant(&stack).await;
    let worker = stack.worker();
    let connection = ithub::domain::ConnectionId::generate();
    let theirs = observed(&other, &connection, record("1", "Theirs"), chrono::Utc::now());
    worker.apply(theirs.clone()).await.unwrap();
    let router = stack.router();
    let bearer = format!("Bearer {key}");

    let response = router.clone().oneshot(gateway_event("/v1/employees", Some(&bearer), None)).await.unwrap();
    assert_eq!(response.status(), 200);
    let path = format!("/v1/employees/{}", theirs.employee_id());
    let response = router.clone().oneshot(gateway_event(&path, Some(&bearer), None)).await.unwrap();
    assert_eq!(response.status(), 404, "the key's tenant, not the path, decides what is visible");

    let refusals = [
        (None, None, "send an admin key"),
        (Some("Bearer ithub_nope"), None, "not valid"),
        (Some("Basic abc"), None, "send an admin key"),
        (None, Some(other.as_str()), "send an admin key"),
        (Some("Bearer ithub_nope"), Some(mine.as_str()), "not valid"),
    ];
    for (authorization, forged, reason) in refusals {
        let response = router.clone().oneshot(gateway_event(&path, authorization, forged)).await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?} {forged:?}");
        let content_type = response.headers()[axum::http::header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert_eq!(content_type, "application/problem+json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], 401);
        assert!(problem["detail"].as_str().unwrap().contains(reason), "{problem}");
    }
}
