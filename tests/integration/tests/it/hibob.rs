//! HiBob end to end, over real HTTP against the fake Bob: the first import through `people/search`, then
//! hires, changes, terminations and a rehire pushed as signed webhooks, refused forgeries and replays, and
//! throttling and server errors survived.

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
    World::with(fake, request).await
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

    // Bob's connection test, then a hire pushed as a webhook: onboarding with no poll.
    world.fake.set_webhook(&world.webhook_url(), WORLD_SECRET);
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
    world.fake.set_webhook(&url, WORLD_SECRET);
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
    let world = World::with_queues(fake, request, queues).await;
    // The first import meets a 429 with Retry-After, which is waited out in place.
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0, "the 429 was served");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 1);

    // A webhook's re-read meets a 500: the change is retried from the queue and applied once.
    world.fake.set_webhook(&world.webhook_url(), WORLD_SECRET);
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
