//! The admin API's first routes: keys, tenants, pagination and problem+json errors.

use chrono::{Duration, Utc};
use integration_tests::*;
use ithub::domain::{ConnectionId, EmploymentStatus, TenantId};

async fn seed(stack: &Stack, tenant: &TenantId, count: usize) -> ConnectionId {
    let connection = ConnectionId::generate();
    let worker = stack.worker();
    for n in 0..count {
        let observation = observed(tenant, &connection, record(&n.to_string(), &format!("Person{n}")), Utc::now());
        worker.apply(observation).await.unwrap();
    }
    connection
}

async fn request(url: &str, auth: Option<&str>) -> (u16, Option<String>, serde_json::Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = auth {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, content_type, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn every_admin_route_needs_a_valid_key() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let (expired, expired_hash) = ithub::apikey::generate();
    stack.store.put_api_key(&expired_hash, &tenant, "old", Some(Utc::now() - Duration::minutes(1))).await.unwrap();
    let connection = seed(&stack, &tenant, 1).await;
    let api = serve(&stack).await;
    let employee = ithub::domain::EmployeeId::derive(&connection, "0");

    let routes =
        [format!("{api}/v1/employees"), format!("{api}/v1/employees/{employee}"), format!("{api}/v1/no-such-route")];
    let wrong = format!("Bearer {}", ithub::apikey::generate().0);
    let expired = format!("Bearer {expired}");
    let basic = format!("Basic {key}");
    let bad_credentials = [None, Some("Bearer "), Some(wrong.as_str()), Some(expired.as_str()), Some(basic.as_str())];
    for route in &routes {
        for auth in bad_credentials {
            let (status, content_type, body) = request(route, auth).await;
            assert_eq!(status, 401, "{route} with {auth:?}");
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(body["type"], "urn:ithub:problem:unauthorized");
        }
    }
    let good = format!("Bearer {key}");
    assert_eq!(request(&routes[0], Some(&good)).await.0, 200);
    assert_eq!(request(&routes[1], Some(&good)).await.0, 200);
    assert_eq!(request(&routes[2], Some(&good)).await.0, 404);
    let (status, _, body) = request(&format!("{api}/health"), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "health is open");
}

#[tokio::test]
async fn employees_page_through_with_opaque_cursors() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    seed(&stack, &tenant, 7).await;
    let api = serve(&stack).await;
    let mut seen = Vec::new();
    let mut url = format!("{api}/v1/employees?limit=3");
    let mut pages = 0;
    loop {
        let (status, page) = get_json(&url, &key).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|e| e["hr"]["first_name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{api}/v1/employees?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    let expected: Vec<String> = (0..7).map(|n| format!("Person{n}")).collect();
    assert_eq!(seen, expected, "every employee exactly once");
    assert!(pages >= 3);
}

#[tokio::test]
async fn another_tenants_employee_is_not_found() {
    let stack = stack().await;
    let (mine, my_key) = tenant(&stack).await;
    let (other, other_key) = tenant(&stack).await;
    let connection = seed(&stack, &other, 2).await;
    seed(&stack, &mine, 1).await;
    let api = serve(&stack).await;
    let theirs = ithub::domain::EmployeeId::derive(&connection, "0");

    let (status, body) = get_json(&format!("{api}/v1/employees/{theirs}"), &my_key).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["type"], "urn:ithub:problem:not-found");
    let (_, list) = get_json(&format!("{api}/v1/employees"), &my_key).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "only my own employee is listed");
    let (status, body) = get_json(&format!("{api}/v1/employees/{theirs}"), &other_key).await;
    assert_eq!((status, body["hr"]["first_name"].as_str()), (200, Some("Person0")));
    assert_eq!(body["hr"]["status"], serde_json::to_value(EmploymentStatus::Active).unwrap());
}

#[tokio::test]
async fn bad_list_parameters_get_problem_details() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    seed(&stack, &tenant, 1).await;
    let api = serve(&stack).await;
    for query in ["limit=0", "limit=101", "limit=ten", "limit=2.5", "colour=blue"] {
        let (status, body) = get_json(&format!("{api}/v1/employees?{query}"), &key).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["type"], "urn:ithub:problem:bad-request", "{query}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{query}");
    }
    // A cursor this list never gave out names no page; an empty one is no cursor at all.
    let (status, body) = get_json(&format!("{api}/v1/employees?cursor=not-a-cursor"), &key).await;
    assert_eq!((status, body["type"].as_str()), (404, Some("urn:ithub:problem:unknown-cursor")), "{body}");
    let (status, body) = get_json(&format!("{api}/v1/employees?cursor=&limit=1.0"), &key).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    let (status, _) = get_json(&format!("{api}/v1/employees/emp_nope"), &key).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_openapi_document_is_served_to_admins() {
    let stack = stack().await;
    let (_, key) = tenant(&stack).await;
    let api = serve(&stack).await;
    let (status, served) = get_json(&format!("{api}/v1/openapi.json"), &key).await;
    assert_eq!(status, 200);
    let generated: serde_json::Value = serde_json::from_str(&admin_api::document()).unwrap();
    assert_eq!(served, generated);
    let (status, _, _) = request(&format!("{api}/v1/openapi.json"), None).await;
    assert_eq!(status, 401);
}
