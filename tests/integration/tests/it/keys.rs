//! Tenants and admin keys: the operator CLI issues, lists and revokes them; the Lambda authorizer and the admin
//! API apply the same check; behind API Gateway the tenant comes from the authorizer's context.

use aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request;
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

fn authorizer_request(authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
    if let Some(value) = authorization {
        request.headers.insert("authorization", value.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn the_authorizer_passes_the_tenant_on_and_refuses_everything_else() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let allowed = authorizer::authorize(&stack.store, &authorizer_request(Some(&format!("Bearer {key}")))).await;
    assert!(allowed.is_authorized);
    assert_eq!(allowed.context[authorizer::TENANT], tenant.as_str());
    assert_eq!(allowed.context[authorizer::KEY_LABEL], "test");
    for refused in [None, Some("Bearer ithub_nope".to_owned()), Some(format!("Basic {key}")), Some("Bearer ".into())] {
        let response = authorizer::authorize(&stack.store, &authorizer_request(refused.as_deref())).await;
        assert!(!response.is_authorized, "{refused:?}");
        assert!(response.context.is_null(), "nothing is passed on for a refused key");
    }
}

/// A request as API Gateway hands it to the admin API after the authorizer allowed it for `tenant`.
fn behind_gateway(path: &str, tenant: &str) -> axum::http::Request<axum::body::Body> {
    let mut context = aws_lambda_events::event::apigw::ApiGatewayV2httpRequestContext::default();
    let mut authorizer = aws_lambda_events::event::apigw::ApiGatewayRequestAuthorizer::default();
    authorizer.fields.insert("tenant_id".into(), serde_json::json!(tenant));
    authorizer.fields.insert("key_label".into(), serde_json::json!("gateway"));
    context.authorizer = Some(authorizer);
    let mut request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    request.extensions_mut().insert(lambda_http::request::RequestContext::ApiGatewayV2(context));
    request
}

#[tokio::test]
async fn behind_api_gateway_the_tenant_comes_from_the_authorizer() {
    let stack = stack().await;
    let (mine, _) = tenant(&stack).await;
    let (other, _) = tenant(&stack).await;
    let worker = stack.worker();
    let connection = ithub::domain::ConnectionId::generate();
    let theirs = observed(&other, &connection, record("1", "Theirs"), chrono::Utc::now());
    worker.apply(theirs.clone()).await.unwrap();

    let router = stack.router();
    let response = router.clone().oneshot(behind_gateway("/v1/employees", mine.as_str())).await.unwrap();
    assert_eq!(response.status(), 200, "no key header needed: the authorizer checked it");
    let path = format!("/v1/employees/{}", theirs.employee_id());
    let response = router.clone().oneshot(behind_gateway(&path, mine.as_str())).await.unwrap();
    assert_eq!(response.status(), 404, "the authorizer's tenant, not the path, decides what is visible");
    let response = router.clone().oneshot(behind_gateway(&path, other.as_str())).await.unwrap();
    assert_eq!(response.status(), 200);
    let plain = axum::http::Request::get("/v1/employees").body(axum::body::Body::empty()).unwrap();
    assert_eq!(router.oneshot(plain).await.unwrap().status(), 401, "without the gateway's context, a key is needed");
}
