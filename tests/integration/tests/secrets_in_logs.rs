//! No secret and no personal data reaches a log line: every line logged while a connection is created, polled,
//! sent webhooks (good and bad), rotated and refused by its HR system, and fed a record it cannot read, then while
//! a whole scenario runs under AWS and HR faults (the fault tests' short scenario), is captured at debug level and searched for the secrets and for the people's names, emails, phones and addresses; the run
//! records the admin API serves are searched for the personal data too.

use chrono::Utc;
use integration_tests::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_or_personal_data_appears_in_any_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .json()
        .init();

    let stack = stack().await;
    let (tenant, key) = tenant(&stack).await;
    let api = serve(&stack).await;
    let admin = Admin::new(&api, &key);
    let mut ada = person("Ada", "Lovelace", "Engineering");
    ada["mobilePhone"] = json!("+1 555 0100 777");
    ada["addressLineOne"] = json!("12 Sentinel Lane");
    ada["city"] = json!("Sentinelville");
    ada["zipcode"] = json!("98765-4321");
    // A record the connector cannot read: its start date is someone's private email.
    let mut grace = person("Grace", "Hopper", "Engineering");
    grace["hireDate"] = json!("grace.private@home.example");
    let fake = fake_bamboo(vec![(1, ada), (2, grace)]).await;
    let (status, created) = admin.post("/v1/connections", fake.connection_request()).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    // Connecting registered IT Hub's webhook with BambooHR, which issued its key.
    assert_eq!(fake.registered_webhooks().len(), 1, "{created}");
    let first = fake.webhook_key(&format!("{api}/webhooks/{id}")).expect("the key BambooHR issued");
    stack.poll(Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    drain(&stack).await;
    fake.change(1, json!({"jobTitle": "Countess"})).await;
    drain(&stack).await;
    let (status, rotated) = admin.post(&format!("/v1/connections/{id}/rotate-webhook-secret"), json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    // Rotating registered a new webhook, whose key BambooHR issued.
    let second = fake.webhook_key(&format!("{api}/webhooks/{id}")).expect("the new key");
    assert_ne!(first, second);
    // A forged delivery and a refused credential, so the error paths log too.
    let body = r#"{"type":"employee.updated","data":{"employeeId":"1"}}"#;
    let ts = Utc::now().timestamp().to_string();
    let forged = reqwest::Client::new()
        .post(format!("{api}/webhooks/{id}"))
        .header("x-bamboohr-timestamp", &ts)
        .header("x-bamboohr-signature", fake_hr::sign("guess", body, &ts))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let connection_id = ithub::domain::ConnectionId::parse(&id).unwrap();
    let connection = stack.store.get_connection(&tenant, &connection_id).await.unwrap().unwrap();
    let credentials =
        serde_json::from_value(serde_json::json!({"provider": "bamboohr", "api_key": "wrong-credential-7f3a"}))
            .unwrap();
    let wrong = ithub::secrets::ConnectionSecret {
        credentials,
        webhook_secrets: vec![second.clone()],
        refresh_token: None,
        registered_webhook: None,
    };
    stack.secrets.put(&connection.secret_id, &wrong).await.unwrap();
    // The worker's instance has the good credential cached; a new one reads the wrong one.
    let stack = stack.new_instances();
    let connection = stack.store.get_connection(&tenant, &connection_id).await.unwrap().unwrap();
    let run = ithub::schedule::start_run(
        &stack.store,
        &stack.runs,
        &connection,
        ithub::store::RunTrigger::Manual,
        ithub::store::RunMode::Incremental,
        false,
    )
    .await
    .unwrap();
    drain(&stack).await;
    let refused = stack.store.get_run(&tenant, &connection_id, &run.run_id).await.unwrap().unwrap();
    assert!(refused.error.is_some(), "{refused:?}");

    // A whole scenario on a company of its own (import, setup, hires, terminations, edits, rehires), with a tenth of
    // the AWS calls and of the HR calls failing, so the retry and error paths log too.
    let scenario = integration_tests::scenario::Scenario {
        people: 40,
        changes: 10,
        aws: integration_tests::faults::Plan::mixed(0.1, 3),
        hr_every: 10,
        deadline: std::time::Duration::from_secs(900),
    };
    let outcome = scenario.run().await;
    assert!(outcome.aws.total_faults() > 0 && outcome.hr_faults > 0, "faults were injected");
    let mut company: Vec<(&str, String)> = Vec::new();
    for (_, record) in fake_hr::generated_company(scenario.people) {
        for (what, field) in
            [("name", "lastName"), ("email", "email"), ("phone", "mobilePhone"), ("address", "addressLineOne")]
        {
            company.push((what, record[field].as_str().unwrap().to_owned()));
        }
    }
    company.extend((0..scenario.script().hires).map(|n| ("email", format!("hire{n}@bigco.example"))));

    let (_, runs) = admin.get(&format!("/v1/connections/{id}/runs")).await;
    let runs = runs.to_string();
    assert!(runs.contains("\"2\""), "the unreadable record is on a run, by its HR id: {runs}");
    let personal = [
        ("name", "Lovelace"),
        ("name", "Hopper"),
        ("work email", "ada@acme.example"),
        ("private email", "grace.private@home.example"),
        ("phone", "555 0100 777"),
        ("address", "12 Sentinel Lane"),
        ("city", "Sentinelville"),
        ("postcode", "98765-4321"),
    ];
    for (what, value) in personal {
        assert!(!runs.contains(value), "a {what} is on a run record: {runs}");
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() > 20, "the flows above were logged: {} lines", logs.lines().count());
    for (what, secret) in [
        ("HR credential", FAKE_KEY),
        ("refused credential", "wrong-credential-7f3a"),
        ("webhook secret", first.as_str()),
        ("rotated webhook secret", second.as_str()),
        ("admin key", key.as_str()),
    ]
    .into_iter()
    .chain(personal)
    .chain(company.iter().map(|(what, value)| (*what, value.as_str())))
    {
        let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(secret)).collect();
        assert!(leaks.is_empty(), "the {what} appears in {} log lines, e.g. {}", leaks.len(), leaks[0]);
    }
}
