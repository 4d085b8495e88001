//! The polling path end to end: fake BambooHR → poller → FIFO queue → worker → DynamoDB → admin API.

use chrono::{Duration, Utc};
use fake_hr::Fault;
use integration_tests::*;
use serde_json::json;

async fn all_employees(api: &str, key: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{api}/v1/employees?limit=100&cursor={c}"),
            None => format!("{api}/v1/employees?limit=100"),
        };
        let (status, page) = get_json(&url, key).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn named<'a>(employees: &'a [serde_json::Value], first: &str) -> Option<&'a serde_json::Value> {
    employees.iter().find(|e| e["hr"]["first_name"] == first)
}

#[tokio::test]
async fn first_poll_imports_the_company_and_later_polls_bring_changes() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let fake = fake_bamboo(fake_hr::sample_company(Utc::now().date_naive())).await;
    connect(&stack, &tenant, &fake, "secret").await;
    let api = serve(&stack).await;
    let poller = stack.poller();

    let reports = poller.poll_all().await.unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].full_import && reports[0].error.is_none(), "{reports:?}");
    assert_eq!(drain(&stack).await, 50);
    let employees = all_employees(&api, &key).await;
    assert_eq!(employees.len(), 50, "every person of the sample company, pre-hires included");
    let pending = employees.iter().filter(|e| e["hr"]["status"] == "pending").count();
    assert_eq!(pending, 2, "the two people starting in the future are pending");

    // Nothing changed: the next poll queues nothing.
    let quiet = poller.poll_all().await.unwrap();
    assert_eq!((quiet[0].full_import, quiet[0].queued), (false, 0), "{quiet:?}");

    let hired = fake.hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "IT"})).await;
    fake.change(3, json!({"jobTitle": "Staff Engineer"})).await;
    let next = poller.poll_all().await.unwrap();
    assert_eq!(next[0].queued, 2, "{next:?}");
    drain(&stack).await;
    let employees = all_employees(&api, &key).await;
    assert_eq!(employees.len(), 51);
    let nia = named(&employees, "Nia").expect("the hire appears");
    assert_eq!(nia["hr"]["hr_id"], hired.to_string());
    assert_eq!(nia["hr"]["status"], "active");
    let changed = employees.iter().find(|e| e["hr"]["hr_id"] == "3").unwrap();
    assert_eq!(changed["hr"]["title"], "Staff Engineer");
    assert_eq!(changed["version"], 2);
}

#[tokio::test]
async fn terminations_sync_with_their_date() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let fake =
        fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering")), (2, person("Alan", "Turing", "Engineering"))])
            .await;
    connect(&stack, &tenant, &fake, "secret").await;
    let api = serve(&stack).await;
    let poller = stack.poller();
    poller.poll_all().await.unwrap();
    drain(&stack).await;

    let today = Utc::now().date_naive();
    fake.terminate(1, today - Duration::days(1)).await;
    fake.terminate(2, today + Duration::days(14)).await;
    poller.poll_all().await.unwrap();
    drain(&stack).await;
    let employees = all_employees(&api, &key).await;
    let ada = named(&employees, "Ada").unwrap();
    assert_eq!(ada["hr"]["status"], "terminated");
    let alan = named(&employees, "Alan").unwrap();
    assert_eq!(alan["hr"]["status"], "active", "still employed until the date");
    assert_eq!(alan["hr"]["end_date"], (today + Duration::days(14)).to_string());
}

#[tokio::test]
async fn throttling_is_waited_out_and_failures_leave_the_cursor_in_place() {
    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, "secret").await;
    let api = serve(&stack).await;
    let poller = stack.poller();

    // Two 429s with Retry-After: 1, then the real answers: the run still succeeds.
    fake.inject(Fault { status: 429, count: 2, retry_after: Some(1) });
    let calls_before = fake.api_calls();
    let report = poller.poll_all().await.unwrap();
    assert!(report[0].error.is_none(), "{report:?}");
    assert_eq!(fake.api_calls() - calls_before, 4, "two refused, then the directory and one employee");
    drain(&stack).await;
    let cursor = cursor_of(&stack, &connection).await;
    assert!(cursor.is_some());

    // A hire, then the HR system fails mid-run: nothing is queued and the cursor stays.
    fake.hire(json!({"firstName": "Grace", "lastName": "Hopper"})).await;
    fake.inject(Fault { status: 500, count: 1, retry_after: None });
    let failed = poller.poll_all().await.unwrap();
    assert!(failed[0].error.as_deref().is_some_and(|e| e.contains("500")), "{failed:?}");
    assert_eq!(drain(&stack).await, 0);
    let after = cursor_of(&stack, &connection).await;
    assert_eq!(after, cursor, "a failed run does not move the cursor");

    // The next run reads the same change again.
    let retried = poller.poll_all().await.unwrap();
    assert!(retried[0].error.is_none() && retried[0].queued == 1, "{retried:?}");
    drain(&stack).await;
    assert!(named(&all_employees(&api, &key).await, "Grace").is_some());
}

#[tokio::test]
async fn a_wrong_api_key_fails_the_run_with_a_clear_error() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant, &fake, "secret").await;
    let credentials = serde_json::from_value(json!({"provider": "bamboohr", "api_key": "not-the-key"})).unwrap();
    let wrong = ithub::secrets::ConnectionSecret { credentials, webhook_secrets: vec![], refresh_token: None };
    stack.secrets.put(&connection.secret_id, &wrong).await.unwrap();
    let report = stack.poller().poll_all().await.unwrap();
    assert_eq!(report[0].error.as_deref(), Some("the HR system refused our credentials (HTTP 401)"));
}
