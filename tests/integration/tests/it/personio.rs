//! Personio end to end, over real HTTP against the fake Personio (API v2): the first import through persons
//! and employments, then hires, changes, terminations and a rehire pushed as token-authenticated webhooks that
//! carry only ids (the person is re-read), the `updated_at` change feed (asked with a date-time), departments
//! Personio will not show, people asked for by id fifty to a request, the webhook IT Hub registers with its
//! secret as the token (or the admin types into Personio), expiring access tokens, refused forgeries and replays, and throttling and server errors survived.

use chrono::{Duration, Utc};
use fake_hr::{FakePersonio, Fault};
use integration_tests::*;
use ithub::resources::QueueSettings;
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

/// What Personio sends in `Authorization`: the token configured on the webhook, verbatim.
const TOKEN: &str = "Bearer personio-webhook-token";

fn person(first: &str, last: &str, department: &str, start: &str) -> Value {
    json!({ "first_name": first, "last_name": last, "email": format!("{}@acme.example", first.to_lowercase()),
            "title": "Engineer", "department": department, "start_date": start,
            "personal_email": format!("{}@home.example", first.to_lowercase()), "phone": "+49 30 000",
            "address": "1 Hauptstr., Berlin" })
}

async fn world_with(people: Vec<Value>, queues: QueueSettings) -> World<FakePersonio> {
    let fake = FakePersonio::start("127.0.0.1:0".parse().unwrap(), "client-1", "client-secret-1", people)
        .await
        .expect("fake Personio");
    let request = fake.connection_request();
    let world = World::with_queues(fake, request, queues).await;
    // Personio's webhook "secret" is the token it sends; the connection keeps it like any webhook secret.
    let mut secrets = world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap();
    secrets.webhook_secrets = vec![TOKEN.to_owned()];
    world.stack.secrets.put(&world.connection.secret_id, &secrets).await.unwrap();
    world
}

async fn world(people: Vec<Value>) -> World<FakePersonio> {
    world_with(people, QueueSettings::default()).await
}

#[tokio::test]
async fn a_personio_company_imports_and_its_webhooks_drive_the_lifecycle() {
    let world = world(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
        person("Cy", "Diaz", "Engineering", "2019-05-01"),
        person("Dee", "Evans", "Design", &day(10)),
    ])
    .await;
    let ids = world.fake.ids();
    let (ada, bo, dee) = (&ids[0], &ids[1], &ids[3]);

    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported), (RunStatus::Succeeded, 3), "{run:?}");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 4);
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(first["hr"]["department"], "Engineering", "the org unit's name, not its id");
    assert_eq!(first["hr"]["personal_email"], "ada@home.example", "from the configured custom attribute");
    assert_eq!(first["hr"]["home_address"]["line1"], "1 Hauptstr., Berlin");
    assert_eq!(first["hr"]["title"], "Engineer");
    assert_eq!(world.tasks_of(dee, "onboarding").await[0]["due_date"], day(10));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // A hire pushed as two dataless events; the worker re-reads the person and the employment.
    world.fake.set_webhook(&world.webhook_url(), TOKEN);
    let nia = world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor", "department": "IT" })).await;
    assert!(world.fake.deliveries().iter().all(|(_, status)| *status == 202), "{:?}", world.fake.deliveries());
    drain(&world.stack).await;
    let hired = world.admin.employee_by_hr_id(&nia).await;
    assert_eq!((hired["hr"]["department"].as_str(), hired["hub"]["status"].as_str()), (Some("IT"), Some("onboarding")));

    // A field change opens nothing.
    world.fake.change(bo, json!({ "title": "Controller" })).await;
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(bo).await["hr"]["title"], "Controller");
    assert!(world.tasks_of(bo, "offboarding").await.is_empty());

    // Terminations, immediate and dated.
    world.fake.terminate(ada, Utc::now().date_naive()).await;
    world.fake.terminate(bo, Utc::now().date_naive() + Duration::days(7)).await;
    drain(&world.stack).await;
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!((ada_off.len(), ada_off[0]["due_date"].as_str()), (1, Some(day(0).as_str())));
    let bo_off = world.tasks_of(bo, "offboarding").await;
    assert_eq!((bo_off.len(), bo_off[0]["due_date"].as_str()), (1, Some(day(7).as_str())));

    // A rehire is a new employment: a new cycle.
    let task_id = ada_off[0]["id"].as_str().unwrap();
    world.complete(task_id).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3)).await;
    drain(&world.stack).await;
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));

    // A deletion ends in a removal, and the change feed then finds only what the webhooks already applied.
    world.fake.delete(&ids[2]).await;
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(&ids[2]).await["hr"]["status"], "terminated");
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.queued), (RunStatus::Succeeded, 0), "{run:?}");
}

#[tokio::test]
async fn the_change_feed_reads_people_updated_since_the_last_run() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let ada = world.fake.ids()[0].clone();
    // No webhook configured: only the poll can see this.
    world.fake.change(&ada, json!({ "last_name": "King" })).await;
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.mode, run.status, run.counts.updated), (RunMode::Incremental, RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ada).await["hr"]["last_name"], "King");
    // The feed asks Personio with a date-time, as its description requires (the fake refuses a date with a 400);
    // the state kept for the next run is one.
    let state = world.stored_connection().await.cursor.expect("a change state");
    assert!(chrono::DateTime::parse_from_rfc3339(&state).is_ok(), "{state}");
}

#[tokio::test]
async fn a_department_personio_will_not_show_leaves_the_person_synced_and_the_run_says_so() {
    let world = world(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
    ])
    .await;
    let ids = world.fake.ids();
    // API credentials without access to org units: Personio answers each lookup 403.
    world.fake.refuse_org_units(Some(403));
    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported, run.counts.failed), (RunStatus::Succeeded, 2, 2), "{run:?}");
    let mut named: Vec<&str> = run.failures.iter().map(|f| f.hr_id.as_str()).collect();
    named.sort();
    assert_eq!(named, vec![ids[0].as_str(), ids[1].as_str()], "{:?}", run.failures);
    assert!(run.failures.iter().all(|f| f.reason.contains("department") && f.reason.contains("403")), "{run:?}");
    let ada = world.admin.employee_by_hr_id(&ids[0]).await;
    assert!(ada["hr"]["department"].is_null(), "left unresolved: {ada}");
    assert_eq!((ada["hr"]["title"].as_str(), ada["hr"]["last_name"].as_str()), (Some("Engineer"), Some("Lovelace")));

    // Access granted: the next run reads the two again by id, in one request, and fills their departments in.
    world.fake.refuse_org_units(None);
    let persons = world.fake.requests("persons");
    let next = world.run(RunMode::Incremental, false).await;
    assert_eq!((next.status, next.counts.failed), (RunStatus::Succeeded, 0), "{next:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ids[0]).await["hr"]["department"], "Engineering");
    assert_eq!(world.admin.employee_by_hr_id(&ids[1]).await["hr"]["department"], "Finance");
    assert_eq!(world.fake.requests("persons") - persons, 2, "the two re-read together, then the change feed's page");

    // Refused again: a webhook still applies the person's change, and their department stays as it was.
    world.fake.refuse_org_units(Some(403));
    world.fake.set_webhook(&world.webhook_url(), TOKEN);
    world.fake.change(&ids[0], json!({ "last_name": "King" })).await;
    drain(&world.stack).await;
    let ada = world.admin.employee_by_hr_id(&ids[0]).await;
    assert_eq!(
        (ada["hr"]["last_name"].as_str(), ada["hr"]["department"].as_str()),
        (Some("King"), Some("Engineering"))
    );
}

#[tokio::test]
async fn people_asked_for_by_id_are_read_fifty_to_a_request() {
    let people = (0..60).map(|n| person(&format!("P{n}"), "Test", "Engineering", "2020-01-06")).collect();
    let world = world(people).await;
    let provider = world.stack.secrets.connect(&world.connection, world.stack.http.clone(), &world.stack.store);
    let provider = provider.await.expect("connect");
    let mut ids = world.fake.ids();
    ids.push("999999".to_owned()); // someone Personio does not have
    ids.push(format!("{},{}", ids[0], ids[1])); // not an id: never reaches the comma-separated filter
    let persons = world.fake.requests("persons");
    let page = provider.fetch_many(&ids).await.expect("read by id");
    assert_eq!((page.records.len(), page.failures.len()), (60, 0), "{:?}", page.failures);
    assert_eq!(world.fake.requests("persons") - persons, 2, "61 ids in requests of 50, not a request each");

    let persons = world.fake.requests("persons");
    let one = provider.fetch(&ids[7]).await.expect("read one").expect("found");
    assert_eq!((one.first_name.as_str(), world.fake.requests("persons") - persons), ("P7", 1));
}

#[tokio::test]
async fn connecting_registers_a_webhook_with_the_secret_it_hub_made_and_rotating_and_deleting_follow_it() {
    let fake = FakePersonio::start("127.0.0.1:0".parse().unwrap(), "client-1", "client-secret-1", Vec::new())
        .await
        .expect("fake Personio");
    let request = fake.connection_request();
    let world = World::through_api(fake, request, Default::default()).await;
    // Connecting ran the check, which registered a webhook through Personio's API, its token the secret IT Hub
    // made; Personio issued the webhook's id.
    let registered = world.fake.webhooks();
    assert_eq!(registered.len(), 1, "{registered:?}");
    let (first_id, url, token) = registered[0].clone();
    assert_eq!(url, world.webhook_url());
    let kept = world.stack.secrets.get_fresh(&world.connection.secret_id).await.unwrap();
    assert_eq!((kept.webhook_secrets.first(), kept.registered_webhook.as_ref()), (Some(&token), Some(&first_id)));
    let (_, check) = world.admin.post(&format!("/v1/connections/{}/check", world.connection.id), json!({})).await;
    assert_eq!(check["ok"], true, "{check}");
    let webhook = &check_steps(&check)["webhook"];
    assert!(webhook.0 == "passed" && webhook.1.contains(&first_id), "{check}");
    assert_eq!(world.fake.webhooks().len(), 1, "a second check registers nothing more");

    // A hire in Personio is delivered with that token and applied.
    let nia = world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor" })).await;
    assert!(world.fake.deliveries().iter().all(|(_, status)| *status == 202), "{:?}", world.fake.deliveries());
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hr"]["first_name"], "Nia");

    // Rotating registers a new webhook carrying the new secret (shown once) and deletes the old one.
    let path = format!("/v1/connections/{}/rotate-webhook-secret", world.connection.id);
    let (status, rotated) = world.admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let now = world.fake.webhooks();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0].0, first_id, "a new webhook replaced the old");
    assert_eq!(rotated["webhook_secret"].as_str(), Some(now[0].2.as_str()), "{rotated}");
    assert_ne!(now[0].2, token);
    let before = world.fake.deliveries().len();
    world.fake.change(&nia, json!({ "last_name": "Adeyemi" })).await;
    let sent = world.fake.deliveries();
    assert!(sent.len() > before && sent[before..].iter().all(|(_, s)| *s == 202), "{sent:?}");
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hr"]["last_name"], "Adeyemi");

    // Deleting the connection deletes its webhook in Personio.
    let (status, _) = world.admin.delete(&format!("/v1/connections/{}", world.connection.id)).await;
    assert_eq!(status, 204);
    assert!(world.fake.webhooks().is_empty());
}

#[tokio::test]
async fn credentials_that_may_not_make_webhooks_leave_the_admin_to_type_the_secret_into_personio() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    // API credentials made without the webhooks scope: IT Hub cannot register its webhook, and the check says
    // what to do instead. IT Hub shows the webhook URL and its secret once, and the admin types the secret into
    // the token of a Personio webhook (`auth_type: TOKEN`). Personio adds no prefix, so some put `Bearer ` before
    // it themselves.
    world.fake.set_scopes(&["personio:persons:read"]);
    let (status, created) = world.admin.post("/v1/connections", world.fake.connection_request()).await;
    assert_eq!(status, 201, "{created}");
    let webhook = &check_steps(&created["check"])["webhook"];
    assert_eq!(webhook.0, "warning", "{created}");
    assert!(webhook.1.contains("personio:webhooks:write") && webhook.1.contains("give Personio"), "{created}");
    assert!(world.fake.webhooks().is_empty(), "nothing registered");
    // (The URL shown names the public host; the test's routes are served on a loopback port.)
    let url = format!("{}/webhooks/{}", world.api, created["id"].as_str().expect("an id"));
    assert!(created["webhook_url"].as_str().is_some_and(|u| u.ends_with(&url[world.api.len()..])), "{created}");
    let secret = created["webhook_secret"].as_str().expect("a webhook secret").to_owned();
    for token in [secret.clone(), format!("Bearer {secret}")] {
        world.fake.set_webhook(&url, &token);
        let before = world.fake.deliveries().len();
        world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor" })).await;
        let sent = world.fake.deliveries();
        assert!(sent.len() > before && sent[before..].iter().all(|(_, s)| *s == 202), "{token:?}: {sent:?}");
    }
    let (body, _) = world.fake.deliveries().pop().unwrap();
    assert_eq!(world.fake.post(&url, &format!("Bearer {secret}x"), body.clone()).await, 401);
    assert_eq!(world.fake.post(&url, &format!("Basic {secret}"), body).await, 401);
}

#[tokio::test]
async fn an_expired_access_token_is_replaced_and_forgeries_and_replays_queue_nothing() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let grants = world.fake.token_grants();
    world.fake.expire_tokens();
    let ada = world.fake.ids()[0].clone();
    world.fake.change(&ada, json!({ "last_name": "King" })).await;
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.counts.updated), (RunStatus::Succeeded, 1), "{run:?}");
    assert!(world.fake.token_grants() > grants, "a new token was fetched");

    let url = world.webhook_url();
    world.fake.set_webhook(&url, TOKEN);
    world.fake.change(&ada, json!({ "first_name": "Augusta" })).await;
    let (body, status) = world.fake.deliveries().pop().unwrap();
    assert_eq!(status, 202);
    assert_eq!(world.fake.post(&url, "Bearer guessed", body.clone()).await, 401, "wrong token");
    assert_eq!(world.fake.post(&url, "", body.clone()).await, 401, "no token");
    let unknown = format!("{}/webhooks/conn_00000000000000000000000000", world.api);
    assert_eq!(world.fake.post(&unknown, TOKEN, body.clone()).await, 401, "unknown connection");
    assert_eq!(world.fake.post(&url, TOKEN, body).await, 200, "a replay is a duplicate");
    let queued = peek(&world.stack, &world.stack.deployed.queue_url).await;
    assert_eq!(queued.len(), 1, "only the genuine delivery: {queued:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_from_personio_lose_nothing() {
    let queues = QueueSettings { visibility_timeout_secs: 1, ..QueueSettings::default() };
    let world = world_with(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")], queues).await;
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0);
    assert_eq!(world.admin.all("/v1/employees").await.len(), 1);

    world.fake.set_webhook(&world.webhook_url(), TOKEN);
    world.fake.inject(Fault { count: 2, ..Fault::status(502) });
    let nia = world.fake.hire(json!({ "first_name": "Nia", "last_name": "Okafor" })).await;
    world
        .drain_until("the hire to be applied", || async {
            world.admin.all("/v1/employees").await.iter().any(|e| e["hr"]["hr_id"] == nia.as_str())
        })
        .await;
    assert_eq!(world.fake.faults_left(), 0, "both 502s were served");
    assert_eq!(world.tasks_of(&nia, "onboarding").await.len(), 1);
}
