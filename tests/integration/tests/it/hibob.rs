//! HiBob end to end, over real HTTP against the fake Bob: the first import through `people/search`, then
//! hires, changes, terminations and a rehire pushed as signed webhooks, refused forgeries and replays, and
//! throttling and server errors survived. Connections are made through the admin API, and their webhook secret is
//! the one Bob issues, read from the fake's settings page and pasted: Bob's connection test is answered before
//! it is, and changes nothing.

use chrono::{Duration, Utc};
use fake_hr::{FakeBob, Fault};
use integration_tests::*;
use ithub::resources::QueueSettings;
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn person(first: &str, surname: &str, department: &str, start: &str) -> Value {
    json!({ "firstName": first, "surname": surname, "email": format!("{}@acme.example", first.to_lowercase()),
            "title": "Engineer", "department": department, "startDate": start,
            "privateEmail": format!("{}@home.example", first.to_lowercase()), "mobilePhone": "+44 20 0000 0000",
            "line1": "1 Dock St", "city": "Leeds", "postCode": "LS1", "country": "United Kingdom" })
}

async fn bob(people: Vec<Value>) -> FakeBob {
    FakeBob::start("127.0.0.1:0".parse().unwrap(), "SERVICE-42", "bob-token-0123", people).await.expect("fake Bob")
}

async fn world(people: Vec<Value>) -> World<FakeBob> {
    let fake = bob(people).await;
    let request = fake.connection_request();
    World::through_api(fake, request, QueueSettings::default()).await
}

/// The secret Bob's Settings → Integrations → Webhooks page shows.
async fn bobs_secret(world: &World<FakeBob>) -> String {
    let page: Value =
        reqwest::get(format!("{}/sandbox/webhook", world.fake.base_url())).await.unwrap().json().await.unwrap();
    page["secret"].as_str().expect("Bob shows the secret").to_owned()
}

/// Pastes `secret` as the connection's webhook secret, as an admin does; returns the API's answer.
async fn paste(world: &World<FakeBob>, secret: &str) -> (u16, Value) {
    let path = format!("/v1/connections/{}/rotate-webhook-secret", world.connection.id);
    world.admin.post(&path, json!({ "webhook_secret": secret })).await
}

/// Waits until the webhook receiver verifies deliveries signed with `secret` (it reads a connection's secrets again
/// at most every few seconds, so one pasted a moment ago may not be seen yet; Bob retries what is refused). The
/// probe is a signed event that names nobody: refused as unreadable (400) once verified, unverified (401) before,
/// and never queued.
async fn until_verified(world: &World<FakeBob>, secret: &str) {
    let probe = r#"{"companyId":636192,"type":"company.updated","version":"v2","data":{}}"#.to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status =
            world.fake.post(&world.webhook_url(), probe.clone(), fake_hr::bob_sign(secret, probe.as_bytes())).await;
        if status == 400 {
            return;
        }
        assert_eq!(status, 401, "the probe is refused as unverified or unreadable, nothing else");
        assert!(std::time::Instant::now() < deadline, "the pasted secret was never used");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Adds IT Hub's webhook in Bob (its connection test answered), then pastes the secret Bob issued for it.
async fn connect_webhook(world: &World<FakeBob>) -> String {
    assert!(world.fake.configure_webhook(&world.webhook_url()).await, "Bob's connection test was answered");
    let secret = bobs_secret(world).await;
    let (status, answer) = paste(world, &secret).await;
    assert_eq!(status, 200, "{answer}");
    until_verified(world, &secret).await;
    secret
}

#[tokio::test]
async fn a_bob_company_imports_and_its_webhooks_drive_the_lifecycle() {
    let world = world(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
        person("Cy", "Diaz", "Engineering", "2019-05-01"),
        person("Dee", "Evans", "Design", &day(10)),
    ])
    .await;
    let ids = world.fake.ids();
    let (ada, bo, dee) = (&ids[0], &ids[1], &ids[3]);

    // The first import: everyone, with department names (not Bob's list ids), and the pre-hire's onboarding.
    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.mode, run.status, run.counts.imported), (RunMode::Full, RunStatus::Succeeded, 3), "{run:?}");
    let employees = world.admin.all("/v1/employees").await;
    assert_eq!(employees.len(), 4);
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(first["hr"]["department"], "Engineering");
    assert_eq!(first["hr"]["personal_email"], "ada@home.example");
    assert_eq!(first["hr"]["home_address"]["postal_code"], "LS1");
    assert_eq!(first["hr"]["start_date"], "2020-01-06");
    let onboarding = world.tasks_of(dee, "onboarding").await;
    assert_eq!((onboarding.len(), onboarding[0]["due_date"].as_str()), (1, Some(day(10).as_str())));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // Bob's webhook added and its secret pasted, then a hire pushed as a webhook: onboarding with no poll.
    connect_webhook(&world).await;
    assert_eq!(world.fake.ping().await, 200, "a signed ping is acknowledged");
    let nia = world.fake.hire(json!({ "firstName": "Nia", "surname": "Okafor", "department": "IT" })).await;
    assert_eq!(world.fake.deliveries().last().unwrap().status, 202);
    drain(&world.stack).await;
    let hired = world.admin.employee_by_hr_id(&nia).await;
    assert_eq!((hired["hr"]["department"].as_str(), hired["hub"]["status"].as_str()), (Some("IT"), Some("onboarding")));
    assert_eq!(world.tasks_of(&nia, "onboarding").await[0]["due_date"], day(0));

    // A field change updates the person and opens nothing.
    world.fake.change(bo, json!({ "title": "Controller", "city": "York" })).await;
    drain(&world.stack).await;
    let changed = world.admin.employee_by_hr_id(bo).await;
    assert_eq!(
        (changed["hr"]["title"].as_str(), changed["hr"]["home_address"]["city"].as_str()),
        (Some("Controller"), Some("York"))
    );
    assert!(world.tasks_of(bo, "offboarding").await.is_empty() && world.tasks_of(bo, "onboarding").await.is_empty());

    // An immediate termination and a dated one: offboarding due on each date.
    world.fake.terminate(ada, Utc::now().date_naive()).await;
    world.fake.terminate(bo, Utc::now().date_naive() + Duration::days(7)).await;
    drain(&world.stack).await;
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!((ada_off.len(), ada_off[0]["due_date"].as_str()), (1, Some(day(0).as_str())));
    let bo_off = world.tasks_of(bo, "offboarding").await;
    assert_eq!((bo_off.len(), bo_off[0]["due_date"].as_str()), (1, Some(day(7).as_str())));
    assert_eq!(world.admin.employee_by_hr_id(bo).await["hr"]["status"], "active", "employed until the date");

    // Ada is offboarded, then rehired under the same id: a new cycle with its own onboarding.
    let task_id = ada_off[0]["id"].as_str().unwrap();
    world.complete(task_id).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3)).await;
    drain(&world.stack).await;
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));
    let again = world.tasks_of(ada, "onboarding").await;
    assert_eq!((again.len(), again[0]["due_date"].as_str()), (1, Some(day(3).as_str())));

    // A full reconciliation afterwards finds nothing left to do.
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.queued, run.counts.removed), (RunStatus::Succeeded, 0, 0), "{run:?}");
}

#[tokio::test]
async fn forged_and_replayed_bob_deliveries_are_refused_and_queue_nothing() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let url = world.webhook_url();
    connect_webhook(&world).await;
    let id = world.fake.ids()[0].clone();
    world.fake.change(&id, json!({ "title": "CTO" })).await;
    let delivery = world.fake.deliveries().pop().unwrap();
    assert_eq!(delivery.status, 202);

    let forged = fake_hr::bob_sign("not-the-secret", delivery.body.as_bytes());
    assert_eq!(world.fake.post(&url, delivery.body.clone(), forged).await, 401, "wrong secret");
    let tampered = delivery.body.replace(&id, "3332883800000000099");
    assert_eq!(world.fake.post(&url, tampered, delivery.signature.clone()).await, 401, "body changed after signing");
    assert_eq!(world.fake.post(&url, delivery.body.clone(), String::new()).await, 401, "no signature");
    let unknown = format!("{}/webhooks/conn_00000000000000000000000000", world.api);
    let signed = delivery.signature.clone();
    assert_eq!(world.fake.post(&unknown, delivery.body.clone(), signed.clone()).await, 401, "unknown connection");
    assert_eq!(world.fake.post(&url, delivery.body.clone(), signed).await, 200, "a replay is a duplicate");
    let queued = peek(&world.stack, &world.stack.deployed.queue_url).await;
    assert_eq!(queued.len(), 1, "only the genuine delivery was queued: {queued:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_from_bob_lose_nothing() {
    let fake = bob(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    let request = fake.connection_request();
    let queues = QueueSettings { visibility_timeout_secs: 1, ..QueueSettings::default() };
    let world = World::through_api(fake, request, queues).await;
    // The first import meets a 429 with Retry-After, which is waited out in place.
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0, "the 429 was served");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 1);

    // A webhook's re-read meets a 500: the change is retried from the queue and applied once.
    connect_webhook(&world).await;
    world.fake.inject(Fault { count: 2, ..Fault::status(500) });
    let nia = world.fake.hire(json!({ "firstName": "Nia", "surname": "Okafor" })).await;
    world
        .drain_until("the hire to be applied", || async {
            let found = world.admin.all("/v1/employees").await;
            found.iter().any(|e| e["hr"]["hr_id"] == nia.as_str())
        })
        .await;
    assert_eq!(world.fake.faults_left(), 0, "both 500s were served");
    assert_eq!(world.tasks_of(&nia, "onboarding").await.len(), 1, "one task, however many attempts");
}

#[tokio::test]
async fn bobs_connection_test_is_answered_before_and_after_the_secret_is_pasted_and_changes_nothing() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let before = (world.admin.all("/v1/employees").await, world.runs().await.len());

    // Bob tests the listener as the webhook is added, before its secret can be in IT Hub: the plain `Ping test`
    // is answered 200 at once, so the webhook is established.
    assert!(world.fake.configure_webhook(&world.webhook_url()).await);
    assert_eq!(world.fake.pings(), vec![200], "the first ping, with no secret pasted yet");
    let secret = bobs_secret(&world).await;
    assert_eq!(paste(&world, &secret).await.0, 200);
    until_verified(&world, &secret).await;
    // Tested again from Bob's settings, and the JSON form Bob falls back to: answered, signed or not.
    assert_eq!(world.fake.ping().await, 200);
    let url = world.webhook_url();
    let json_ping = r#"{"text":"Ping test"}"#.to_owned();
    assert_eq!(world.fake.post(&url, json_ping.clone(), fake_hr::bob_sign(&secret, json_ping.as_bytes())).await, 200);
    assert_eq!(world.fake.post(&url, json_ping, String::new()).await, 200);

    // Nothing queued, no run, nobody changed.
    assert!(peek(&world.stack, &world.stack.deployed.queue_url).await.is_empty(), "no change queued");
    assert!(peek(&world.stack, &world.stack.deployed.run_queue_url).await.is_empty(), "no run step queued");
    assert_eq!(drain(&world.stack).await, 0);
    assert_eq!((world.admin.all("/v1/employees").await, world.runs().await.len()), before);
}

#[tokio::test]
async fn the_secret_bob_issues_is_pasted_never_shown_back_and_rotated_keeping_the_previous() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let id = world.connection.id.to_string();
    let stored = || async { world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap().webhook_secrets };
    assert!(stored().await.is_empty(), "IT Hub made no secret of its own for Bob to be given");

    // Rotating without the secret Bob shows is refused as not fitting this connection, naming the field.
    let (status, problem) = world.admin.post(&format!("/v1/connections/{id}/rotate-webhook-secret"), json!({})).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem.to_string().contains("webhook_secret"), "{problem}");

    // The webhook added in Bob; its secret pasted: kept, never shown back, and Bob's deliveries are accepted.
    let first = connect_webhook(&world).await;
    assert_eq!(stored().await, vec![first.clone()]);
    let (status, answer) = paste(&world, &first).await;
    assert_eq!(status, 200);
    assert!(!answer.to_string().contains(&first), "the pasted secret is not in the answer");
    assert!(answer.get("webhook_secret").is_none(), "{answer}");
    let (_, shown) = world.admin.get(&format!("/v1/connections/{id}")).await;
    assert!(!shown.to_string().contains(&first), "nor in the connection");
    let ada = world.fake.ids()[0].clone();
    world.fake.change(&ada, json!({ "title": "CTO" })).await;
    assert_eq!(world.fake.deliveries().last().unwrap().status, 202);

    // Bob's webhook re-added: a new secret, refused until pasted; then both are valid until the next paste.
    assert!(world.fake.configure_webhook(&world.webhook_url()).await);
    let second = bobs_secret(&world).await;
    assert_ne!(second, first);
    world.fake.change(&ada, json!({ "title": "CEO" })).await;
    assert_eq!(world.fake.deliveries().last().unwrap().status, 401, "not pasted yet");
    assert_eq!(paste(&world, &second).await.0, 200);
    assert_eq!(stored().await, vec![second.clone(), first.clone()]);
    until_verified(&world, &second).await;
    let late = r#"{"companyId":636192,"type":"employee.updated","version":"v2","data":{"employeeId":"LATE"}}"#;
    let late = late.replace("LATE", &ada);
    let status = world.fake.post(&world.webhook_url(), late.clone(), fake_hr::bob_sign(&first, late.as_bytes())).await;
    assert_eq!(status, 202, "a delivery signed with the previous secret during the rotation");
    assert!(world.fake.configure_webhook(&world.webhook_url()).await);
    let third = bobs_secret(&world).await;
    assert_eq!(paste(&world, &third).await.0, 200);
    assert_eq!(stored().await, vec![third, second], "the first no longer signs anything");

    // A second connection made with Bob's secret pasted among the credentials keeps it as its webhook secret.
    let mut request = world.fake.connection_request();
    request["credentials"]["webhook_secret"] = json!(bobs_secret(&world).await);
    let (status, made) = world.admin.post("/v1/connections", request.clone()).await;
    assert_eq!(status, 201, "{made}");
    assert!(made.get("webhook_secret").is_none() && !made.to_string().contains(&bobs_secret(&world).await));
    let made_id = ithub::domain::ConnectionId::parse(made["id"].as_str().unwrap()).unwrap();
    let other = world.stack.store.get_connection(&world.tenant, &made_id).await.unwrap().unwrap();
    let kept = world.stack.secrets.get_fresh(&other.secret_id).await.unwrap();
    assert_eq!(kept.webhook_secrets, vec![bobs_secret(&world).await]);
    // Blank or padded secrets are refused, naming the field.
    request["credentials"]["webhook_secret"] = json!(" padded ");
    let (status, problem) = world.admin.post("/v1/connections", request).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.to_string().contains("credentials.webhook_secret"), "{problem}");
}
