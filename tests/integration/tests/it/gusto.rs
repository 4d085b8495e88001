//! Gusto end to end, over real HTTP against the fake Gusto: the subscription handshake, the first import in
//! pages, hires, changes, terminations and a rehire pushed as signed events, the `/v1/events` change feed,
//! access tokens that expire and refresh tokens that rotate on every use, refused forgeries and replays, and
//! throttling and server errors survived.

use chrono::{Duration, Utc};
use fake_hr::{FakeGusto, Fault};
use integration_tests::*;
use ithub::resources::QueueSettings;
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn person(first: &str, last: &str, department: &str, hired: &str) -> Value {
    json!({ "first_name": first, "last_name": last, "work_email": format!("{}@acme.example", first.to_lowercase()),
            "email": format!("{}@home.example", first.to_lowercase()), "phone": "5555550100", "title": "Engineer",
            "department": department, "hired_at": hired, "street_1": "412 Kiera Stravenue", "city": "San Francisco",
            "state": "CA", "zip": "94107", "country": "USA" })
}

async fn world_with(people: Vec<Value>, queues: QueueSettings) -> World<FakeGusto> {
    let addr = "127.0.0.1:0".parse().unwrap();
    let fake = FakeGusto::start(addr, "gusto-client", "gusto-client-secret", "gusto-refresh-0", people).await.unwrap();
    let request = fake.connection_request();
    World::with_queues(fake, request, queues).await
}

async fn world(people: Vec<Value>) -> World<FakeGusto> {
    world_with(people, QueueSettings::default()).await
}

/// The refresh token the connection keeps now.
async fn kept_refresh_token(world: &World<FakeGusto>) -> Option<String> {
    world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap().refresh_token
}

#[tokio::test]
async fn a_gusto_company_imports_verifies_its_subscription_and_its_events_drive_the_lifecycle() {
    let world = world(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
        person("Cy", "Diaz", "Engineering", "2019-05-01"),
        person("Dee", "Evans", "Design", &day(10)),
    ])
    .await;
    let uuids = world.fake.uuids();
    let (ada, bo, dee) = (&uuids[0], &uuids[1], &uuids[3]);

    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported), (RunStatus::Succeeded, 3), "{run:?}");
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(
        (first["hr"]["work_email"].as_str(), first["hr"]["personal_email"].as_str()),
        (Some("ada@acme.example"), Some("ada@home.example"))
    );
    assert_eq!(first["hr"]["home_address"]["postal_code"], "94107");
    assert_eq!(world.tasks_of(dee, "onboarding").await[0]["due_date"], day(10));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // Creating the subscription: Gusto posts the verification token, IT Hub confirms it with Gusto and keeps it
    // as the webhook secret.
    assert_eq!(world.fake.subscribe(&world.webhook_url()).await, 200);
    assert!(world.fake.verified(), "IT Hub confirmed the token with Gusto");
    let secret = world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap();
    assert_eq!(secret.webhook_secrets[0], world.fake.verification_token());

    let nia = world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor", "department": "IT" })).await;
    assert_eq!(world.fake.deliveries().last().unwrap().2, 202);
    drain(&world.stack).await;
    let hired = world.admin.employee_by_hr_id(&nia).await;
    assert_eq!((hired["hr"]["department"].as_str(), hired["hub"]["status"].as_str()), (Some("IT"), Some("onboarding")));

    world.fake.change(bo, json!({ "title": "Controller" })).await;
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(bo).await["hr"]["title"], "Controller");
    assert!(world.tasks_of(bo, "offboarding").await.is_empty());

    // Last day worked yesterday (in effect at once), and a last day a week ahead.
    world.fake.terminate(ada, Utc::now().date_naive() - Duration::days(1)).await;
    world.fake.terminate(bo, Utc::now().date_naive() + Duration::days(7)).await;
    drain(&world.stack).await;
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!(ada_off.len(), 1);
    assert_eq!(world.admin.employee_by_hr_id(ada).await["hr"]["status"], "terminated");
    let bo_off = world.tasks_of(bo, "offboarding").await;
    assert_eq!((bo_off.len(), bo_off[0]["due_date"].as_str()), (1, Some(day(7).as_str())));

    let task_id = ada_off[0]["id"].as_str().unwrap();
    world.complete(task_id).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3)).await;
    drain(&world.stack).await;
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));

    // The event feed holds the same events: an incremental run after them has nothing left to apply.
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.queued), (RunStatus::Succeeded, 0), "{run:?}");
}

#[tokio::test]
async fn the_event_feed_finds_changes_and_rotated_refresh_tokens_survive_expiry_and_new_processes() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    assert_eq!(world.fake.grants(), 1, "one refresh for the whole import");
    assert_eq!(kept_refresh_token(&world).await, Some(world.fake.current_refresh_token()), "the rotated token is kept");

    // No subscription: the change reaches IT Hub through the event feed. Every access token has expired, so
    // the run (a new provider, as a new process would make) refreshes with the token kept last time.
    let ada = world.fake.uuids()[0].clone();
    world.fake.change(&ada, json!({ "last_name": "King" })).await;
    world.fake.expire_tokens();
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.mode, run.status, run.counts.updated), (RunMode::Incremental, RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ada).await["hr"]["last_name"], "King");
    assert_eq!(world.fake.grants(), 2);
    assert_eq!(kept_refresh_token(&world).await, Some(world.fake.current_refresh_token()));

    world.fake.expire_tokens();
    world.fake.change(&ada, json!({ "title": "CTO" })).await;
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.counts.updated), (RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.fake.grants(), 3, "no spent token was offered");
}

#[tokio::test]
async fn forged_replayed_and_unconfirmed_gusto_deliveries_queue_nothing() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let url = world.webhook_url();
    assert_eq!(world.fake.subscribe(&url).await, 200);
    // A handshake with a token Gusto never issued is not confirmed and becomes no secret; a flood of them costs
    // Gusto one confirmation call.
    let calls = world.fake.api_calls();
    for n in 0..5 {
        let bogus = json!({ "verification_token": format!("made-up-{n}") }).to_string();
        assert_eq!(world.fake.post(&url, &bogus, "").await, 401);
    }
    // The genuine handshake just now holds the connection's confirmation slot for a few seconds: at most one call.
    assert!(world.fake.api_calls() - calls <= 1, "a flood of handshakes costs Gusto at most one call");
    let secret = world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap();
    assert!(!secret.webhook_secrets.iter().any(|s| s.starts_with("made-up")));
    // The genuine token, sent again, is already kept: no call at all.
    let genuine = json!({ "verification_token": world.fake.verification_token() }).to_string();
    let before = world.fake.api_calls();
    assert_eq!(world.fake.post(&url, &genuine, "").await, 200);
    assert_eq!(world.fake.api_calls(), before, "the kept token needs no call");

    let ada = world.fake.uuids()[0].clone();
    world.fake.change(&ada, json!({ "title": "CTO" })).await;
    let (body, signature, status) = world.fake.deliveries().pop().unwrap();
    assert_eq!(status, 202);
    let forged = fake_hr::gusto_sign("not-the-token", body.as_bytes());
    assert_eq!(world.fake.post(&url, &body, &forged).await, 401, "wrong key");
    assert_eq!(world.fake.post(&url, &body.replace(&ada, "someone-else"), &signature).await, 401, "tampered");
    assert_eq!(world.fake.post(&url, &body, "").await, 401, "unsigned");
    let unknown = format!("{}/webhooks/conn_00000000000000000000000000", world.api);
    assert_eq!(world.fake.post(&unknown, &body, &signature).await, 401, "unknown connection");
    assert_eq!(world.fake.post(&url, &body, &signature).await, 200, "a replay of the same event is a duplicate");
    let queued = peek(&world.stack, &world.stack.deployed.queue_url).await;
    assert_eq!(queued.len(), 1, "only the genuine event: {queued:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_from_gusto_lose_nothing() {
    let queues = QueueSettings { visibility_timeout_secs: 1, ..QueueSettings::default() };
    let world = world_with(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")], queues).await;
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0);
    assert_eq!(world.admin.all("/v1/employees").await.len(), 1);

    assert_eq!(world.fake.subscribe(&world.webhook_url()).await, 200);
    world.fake.inject(Fault { count: 2, ..Fault::status(500) });
    let nia = world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor" })).await;
    world
        .drain_until("the hire to be applied", || async {
            world.admin.all("/v1/employees").await.iter().any(|e| e["hr"]["hr_id"] == nia.as_str())
        })
        .await;
    assert_eq!(world.fake.faults_left(), 0, "both 500s were served");
    assert_eq!(world.tasks_of(&nia, "onboarding").await.len(), 1);
}
