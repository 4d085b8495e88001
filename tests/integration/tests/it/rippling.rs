//! Rippling end to end, over real HTTP against the fake Rippling: the first import through cursor pages of
//! workers (`next_link`), then hires, changes, terminations and a rehire found by the `updated_at` poll, people
//! who vanish removed by the reconciliation (and held beyond the safeguard), redacted fields kept rather than
//! cleared, and throttling and server errors survived.

use chrono::{Duration, Utc};
use fake_hr::{FakeRippling, Fault};
use integration_tests::*;
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn person(first: &str, last: &str, department: &str, start: &str) -> Value {
    json!({ "first_name": first, "last_name": last, "work_email": format!("{}@acme.example", first.to_lowercase()),
            "personal_email": format!("{}@home.example", first.to_lowercase()), "phone": "+1 555 0100",
            "title": "Engineer", "department": department, "start_date": start, "street": "1 Main St",
            "city": "Springfield" })
}

async fn world(people: Vec<Value>) -> World<FakeRippling> {
    let fake =
        FakeRippling::start("127.0.0.1:0".parse().unwrap(), "rippling-api-key-1", people).await.expect("fake Rippling");
    let request = fake.connection_request();
    World::with(fake, request).await
}

fn company(n: usize) -> Vec<Value> {
    (0..n).map(|i| person(&format!("P{i}"), "Worker", "Engineering", "2020-01-06")).collect()
}

#[tokio::test]
async fn a_rippling_company_imports_and_the_poll_drives_the_lifecycle() {
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
    assert_eq!((run.mode, run.status, run.counts.imported), (RunMode::Full, RunStatus::Succeeded, 3), "{run:?}");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 4);
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(first["hr"]["department"], "Engineering", "the expanded department's name");
    assert_eq!((first["hr"]["first_name"].as_str(), first["hr"]["phone"].as_str()), (Some("Ada"), Some("+1 555 0100")));
    assert_eq!(first["hr"]["home_address"]["city"], "Springfield");
    assert_eq!(world.tasks_of(dee, "onboarding").await[0]["due_date"], day(10));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // A hire, a change, and two terminations (today, and in a week), all found by one incremental poll.
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    world.fake.change(&ids[2], json!({ "title": "Controller" }));
    world.fake.terminate(ada, Utc::now().date_naive());
    world.fake.terminate(bo, Utc::now().date_naive() + Duration::days(7));
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.mode, run.status), (RunMode::Incremental, RunStatus::Succeeded), "{run:?}");
    assert_eq!((run.counts.hired, run.counts.updated, run.counts.terminated), (1, 1, 2), "{run:?}");
    let hired = world.admin.employee_by_hr_id(&nia).await;
    assert_eq!((hired["hr"]["department"].as_str(), hired["hub"]["status"].as_str()), (Some("IT"), Some("onboarding")));
    assert_eq!(world.admin.employee_by_hr_id(&ids[2]).await["hr"]["title"], "Controller");
    assert!(world.tasks_of(&ids[2], "offboarding").await.is_empty(), "a field change opens nothing");
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!((ada_off.len(), ada_off[0]["due_date"].as_str()), (1, Some(day(0).as_str())));
    assert_eq!(world.tasks_of(bo, "offboarding").await[0]["due_date"], day(7), "due on the last day");

    // The same poll again finds nothing new.
    let quiet = world.run(RunMode::Incremental, false).await;
    assert_eq!((quiet.status, quiet.queued), (RunStatus::Succeeded, 0), "{quiet:?}");

    // A rehire on the same worker: a new cycle.
    world.complete(ada_off[0]["id"].as_str().unwrap()).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3));
    let rehire = world.run(RunMode::Incremental, false).await;
    assert_eq!((rehire.status, rehire.counts.hired), (RunStatus::Succeeded, 1), "{rehire:?}");
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));
}

#[tokio::test]
async fn rippling_is_read_at_the_paths_its_api_description_names_with_no_redirect_followed() {
    // Three pages of listing, a poll, and a reconciliation that asks for a vanished worker by id.
    let world = world(company(150)).await;
    world.sync().await;
    assert_eq!(world.admin.all("/v1/employees").await.len(), 150);
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    let poll = world.run(RunMode::Incremental, false).await;
    assert_eq!((poll.status, poll.counts.hired), (RunStatus::Succeeded, 1), "{poll:?}");
    let gone = world.fake.ids()[0].clone();
    world.fake.delete(&gone);
    let full = world.run(RunMode::Full, false).await;
    assert_eq!((full.status, full.counts.removed), (RunStatus::Succeeded, 1), "{full:?}");
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hr"]["department"], "IT");
    // Every request went to `/workers/` or `/workers/{id}/` itself: none paid a redirect's extra round trip
    // against Rippling's rate limit.
    assert_eq!(world.fake.redirects_served(), 0, "requests for a path without its trailing slash");
}

#[tokio::test]
async fn a_relative_next_link_is_followed_under_the_api() {
    let world = world(company(120)).await;
    world.fake.give_relative_links();
    world.sync().await;
    assert_eq!(world.admin.all("/v1/employees").await.len(), 120, "every page read");
    assert_eq!(world.fake.pages_served(), 3);
    // A poll's pages carry the filter through the relative link too.
    for n in 0..60 {
        world.fake.change(&world.fake.ids()[n], json!({ "title": "Lead" }));
    }
    let poll = world.run(RunMode::Incremental, false).await;
    assert_eq!((poll.status, poll.counts.updated), (RunStatus::Succeeded, 60), "{poll:?}");
}

#[tokio::test]
async fn the_poll_gives_rippling_its_time_unquoted() {
    // Rippling quotes text in a filter but refuses a quoted time (400): a poll that quoted it would fail its run.
    let world = world(company(2)).await;
    world.sync().await;
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    let poll = world.run(RunMode::Incremental, false).await;
    assert_eq!((poll.status, poll.counts.hired), (RunStatus::Succeeded, 1), "{poll:?}");
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hr"]["department"], "IT");
}

#[tokio::test]
async fn people_gone_from_rippling_are_removed_by_the_reconciliation_within_the_safeguard() {
    let world = world(company(250)).await;
    world.sync().await;
    assert_eq!(world.admin.all("/v1/employees").await.len(), 250);
    assert_eq!(world.fake.pages_served(), 5, "250 people in Rippling's pages of 50 by next_link, not one request each");
    let ids = world.fake.ids();

    // Three vanish: a full reconciliation removes them (a termination effective today).
    for id in &ids[..3] {
        world.fake.delete(id);
    }
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.counts.removed), (RunStatus::Succeeded, 3), "{run:?}");
    for id in &ids[..3] {
        assert_eq!(world.admin.employee_by_hr_id(id).await["hr"]["status"], "terminated");
    }

    // Thirty more vanish: beyond the safeguard (10% of 247), the run is held and nobody goes until approved.
    for id in &ids[3..33] {
        world.fake.delete(id);
    }
    let held = world.run(RunMode::Full, false).await;
    assert_eq!((held.status, held.pending), (RunStatus::Held, 30), "{held:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ids[5]).await["hr"]["status"], "active");
    let path = format!("/v1/connections/{}/runs/{}/approve", world.connection.id, held.run_id);
    assert_eq!(world.admin.post(&path, json!({})).await.0, 200);
    drain(&world.stack).await;
    for id in &ids[3..33] {
        assert_eq!(world.admin.employee_by_hr_id(id).await["hr"]["status"], "terminated", "{id}");
    }
}

#[tokio::test]
async fn a_field_rippling_redacts_keeps_its_value() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.sync().await;
    let ada = world.fake.ids()[0].clone();
    // The token loses the scope for titles and phones; then a real change arrives.
    world.fake.redact(&["title", "user.phone_numbers"]);
    world.fake.change(&ada, json!({ "last_name": "King" }));
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.counts.updated), (RunStatus::Succeeded, 1), "{run:?}");
    let stored = world.admin.employee_by_hr_id(&ada).await;
    assert_eq!(stored["hr"]["last_name"], "King", "what Rippling sent applies");
    assert_eq!(
        (stored["hr"]["title"].as_str(), stored["hr"]["phone"].as_str()),
        (Some("Engineer"), Some("+1 555 0100"))
    );
    // A full reconciliation under the same redaction writes nothing.
    let again = world.run(RunMode::Full, false).await;
    assert_eq!((again.status, again.queued, again.counts.unchanged), (RunStatus::Succeeded, 0, 1), "{again:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_from_rippling_lose_nothing() {
    let world = world(company(3)).await;
    // A 429 with Retry-After, then two 503s: waited out in place.
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.fake.inject(Fault { count: 2, ..Fault::status(503) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0);
    assert_eq!(world.admin.all("/v1/employees").await.len(), 3);

    // A 502 fails the run without moving its change state: the next poll finds the hire.
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    world.fake.inject(Fault::status(502));
    let failed = world.run(RunMode::Incremental, false).await;
    assert_eq!((failed.status, failed.counts.hired), (RunStatus::Failed, 0), "{failed:?}");
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("502")), "{failed:?}");
    let next = world.run(RunMode::Incremental, false).await;
    assert_eq!((next.status, next.counts.hired), (RunStatus::Succeeded, 1), "{next:?}");
    assert_eq!(world.fake.faults_left(), 0, "the 502 was served");
    assert_eq!(world.tasks_of(&nia, "onboarding").await.len(), 1);
}
