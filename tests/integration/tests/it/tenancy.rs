//! Two companies on one deployment: every route of the OpenAPI document refuses a missing, wrong, revoked or
//! expired key, and no route lets one tenant see or touch the other's objects.

use chrono::{Duration, Utc};
use integration_tests::*;
use serde_json::json;

/// One tenant with an employee, an open onboarding task and a connection.
struct Company {
    admin: Admin,
    employee: String,
    task: String,
    item: String,
    connection: String,
}

async fn company(stack: &Stack, api: &str, name: &str) -> Company {
    let (tenant, key) = tenant(stack).await;
    let connection = ithub::domain::ConnectionId::generate();
    let hire = observed(&tenant, &connection, record("1", name), Utc::now());
    stack.worker().apply(hire.clone()).await.unwrap();
    let admin = Admin::new(api, &key);
    let tasks = admin.all("/v1/tasks").await;
    let fake = fake_bamboo(vec![]).await;
    let (_, created) = admin.post("/v1/connections", fake.connection_request()).await;
    Company {
        employee: hire.employee_id().to_string(),
        task: tasks[0]["id"].as_str().unwrap().to_owned(),
        item: tasks[0]["items"][0]["id"].as_str().unwrap().to_owned(),
        connection: created["id"].as_str().unwrap().to_owned(),
        admin,
    }
}

/// Every operation of the served OpenAPI document, with its path filled in with `owner`'s ids.
async fn operations(admin: &Admin, owner: &Company) -> Vec<(String, String)> {
    let (_, doc) = admin.get("/v1/openapi.json").await;
    let mut operations = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let filled = path.replace("{item}", &owner.item).replace(
                "{id}",
                if path.starts_with("/v1/tasks") {
                    &owner.task
                } else if path.starts_with("/v1/connections") {
                    &owner.connection
                } else {
                    &owner.employee
                },
            );
            operations.push((method.to_uppercase(), filled));
        }
    }
    operations
}

async fn send(
    api: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), format!("{api}{path}"));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if method != "GET" && method != "DELETE" {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// A body each write route accepts, so that a refusal is about the caller, not the body.
fn body_for(path: &str, other: &Company) -> serde_json::Value {
    match path {
        p if p.ends_with("/setup") => json!({"employee_ids": [other.employee]}),
        p if p.ends_with("/offboard") => json!({"reason": "test"}),
        p if p.contains("/items/") => json!({"status": "done"}),
        p if p.ends_with("/complete") => json!({"hub_access": false}),
        "/v1/playbooks" => json!({"onboarding": [], "offboarding": []}),
        "/v1/connections" => {
            json!({"provider": "bamboohr", "settings": {"company_domain": "acme"}, "credentials": {"api_key": "k"}})
        }
        p if p.starts_with("/v1/employees/") => json!({"label": "x"}),
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_route_but_health_refuses_a_bad_key() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let a = company(&stack, &api, "Ada").await;
    let (tenant, _) = tenant(&stack).await;
    let (expired, hash) = ithub::apikey::generate();
    stack.store.put_api_key(&hash, &tenant, "old", Some(Utc::now() - Duration::minutes(1))).await.unwrap();
    let (revoked, hash) = ithub::apikey::generate();
    stack.store.put_api_key(&hash, &tenant, "gone", None).await.unwrap();
    assert!(stack.store.revoke_api_key(&tenant, &hash[..12], Utc::now()).await.unwrap());
    let wrong = format!("Bearer {}", ithub::apikey::generate().0);
    let bad = [None, Some(wrong), Some(format!("Bearer {expired}")), Some(format!("Bearer {revoked}"))];

    let operations = operations(&a.admin, &a).await;
    assert!(operations.len() >= 20, "{operations:?}");
    for (method, path) in &operations {
        for auth in &bad {
            let (status, problem) = send(&api, method, path, auth.as_deref(), body_for(path, &a)).await;
            if path == "/health" {
                assert_eq!(status, 200);
                continue;
            }
            assert_eq!(status, 401, "{method} {path} with {auth:?}: {problem}");
            assert_eq!(problem["type"], "urn:ithub:problem:unauthorized");
        }
    }
}

#[tokio::test]
async fn no_route_reaches_another_tenants_objects() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let a = company(&stack, &api, "Ada").await;
    let b = company(&stack, &api, "Bea").await;
    let auth = format!("Bearer {}", a.admin.key);

    for (method, path) in operations(&a.admin, &b).await {
        let names_b = [&b.employee, &b.task, &b.connection].iter().any(|id| path.contains(id.as_str()));
        if !names_b {
            continue;
        }
        let (status, body) = send(&api, &method, &path, Some(&auth), body_for(&path, &b)).await;
        assert_eq!(status, 404, "{method} {path} reached the other tenant: {body}");
    }
    // Setup names ids in the body: the other tenant's employee is not found there either.
    let (status, result) = a.admin.post("/v1/employees/setup", json!({"employee_ids": [b.employee]})).await;
    assert_eq!((status, result["refused"][0]["status"].as_u64()), (200, Some(404)));

    // Lists show only the caller's own objects, and B's objects were left as they were.
    for list in ["/v1/employees", "/v1/tasks", "/v1/audit", "/v1/licenses", "/v1/connections"] {
        let (_, body) = a.admin.get(list).await;
        let text = body.to_string();
        for id in [&b.employee, &b.task, &b.connection] {
            assert!(!text.contains(id.as_str()), "{list} shows {id}");
        }
    }
    let (_, task) = b.admin.get(&format!("/v1/tasks/{}", b.task)).await;
    assert_eq!(task["status"], "open");
    assert_eq!(task["items"][0]["status"], "open");
    let (status, _) = b.admin.get(&format!("/v1/connections/{}", b.connection)).await;
    assert_eq!(status, 200, "A's DELETE did not remove B's connection");
}
