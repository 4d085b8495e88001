//! ADP Workforce Now end to end, over mutual TLS against the fake ADP: the first import in `$top`/`$skip`
//! pages, hires, changes, leave, terminations and a rehire read from the event-notification queue (each message
//! acknowledged only after its changes are checkpointed), the every-minute queue drain, a client certificate ADP
//! does not know, and throttling and server errors survived with nothing lost.

use chrono::{Duration, Utc};
use fake_hr::{FakeAdp, Fault};
use integration_tests::*;
use ithub::schedule::Tick;
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn person(given: &str, family: &str, department: &str, hired: &str) -> Value {
    json!({ "givenName": given, "familyName1": family, "workEmail": format!("{}@acme.example", given.to_lowercase()),
            "personalEmail": format!("{}@home.example", given.to_lowercase()), "mobile": "(555) 555-0100",
            "jobTitle": "Engineer", "department": department, "hireDate": hired, "lineOne": "1 Main St",
            "cityName": "Roseland", "state": "NJ", "postalCode": "07068", "countryCode": "US" })
}

async fn adp(people: Vec<Value>) -> FakeAdp {
    let loopback = "127.0.0.1:0".parse().unwrap();
    FakeAdp::start(loopback, loopback, "adp-client", "adp-client-secret", people).await.expect("fake ADP")
}

async fn world(people: Vec<Value>) -> World<FakeAdp> {
    let fake = adp(people).await;
    let request = fake.connection_request();
    World::with(fake, request).await
}

/// The every-minute tick that drains event queues, then the worker.
async fn drain_queue(world: &World<FakeAdp>) -> ithub::store::SyncRun {
    let report = world.stack.poll(Utc::now(), Tick::Queues).await.unwrap();
    assert_eq!(report.started, 1, "the ADP connection is drained on the queue tick: {report:?}");
    drain(&world.stack).await;
    let run = world.runs().await.remove(0);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    run
}

#[tokio::test]
async fn an_adp_company_imports_over_mutual_tls_and_its_event_queue_drives_the_lifecycle() {
    let mut people: Vec<Value> =
        (0..120).map(|n| person(&format!("P{n}"), "Test", "Engineering", "2020-01-06")).collect();
    people.push(person("Dee", "Evans", "Design", &day(10)));
    let world = world(people).await;
    let aoids = world.fake.aoids();
    let (ada, bo, dee) = (&aoids[0], &aoids[1], &aoids[120]);

    // Two pages of workers ($top 100), the second short.
    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported, run.checkpoint.pages), (RunStatus::Succeeded, 120, 2), "{run:?}");
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(
        (first["hr"]["work_email"].as_str(), first["hr"]["department"].as_str()),
        (Some("p0@acme.example"), Some("Engineering"))
    );
    assert_eq!(first["hr"]["home_address"]["region"], "NJ");
    assert_eq!(world.tasks_of(dee, "onboarding").await[0]["due_date"], day(10));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // A hire is a queued notification: the next minute's drain brings it in, and acknowledges the message.
    let nia = world.fake.hire(json!({ "givenName": "Nia", "familyName1": "Okafor", "department": "IT" }));
    world.fake.change(bo, json!({ "jobTitle": "Controller" }));
    assert_eq!(world.fake.queued(), 2);
    let run = drain_queue(&world).await;
    assert_eq!((run.mode, run.counts.hired, run.counts.updated), (RunMode::Incremental, 1, 1), "{run:?}");
    assert_eq!(world.fake.queued(), 0, "each message acknowledged once its changes were checkpointed");
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hub"]["status"], "onboarding");
    assert_eq!(world.admin.employee_by_hr_id(bo).await["hr"]["title"], "Controller");
    assert!(world.tasks_of(bo, "offboarding").await.is_empty());

    // Leave, an immediate termination and a dated one; and a new manager, which ADP's notification names in its
    // event context alone (`data.eventContext.associateOID`, no worker in its output).
    world.fake.leave(&aoids[2]);
    world.fake.terminate(ada, Utc::now().date_naive());
    world.fake.terminate(bo, Utc::now().date_naive() + Duration::days(7));
    world.fake.change(&aoids[3], json!({ "managerAOID": dee }));
    drain_queue(&world).await;
    assert_eq!(world.fake.queued(), 0);
    assert_eq!(world.admin.employee_by_hr_id(&aoids[2]).await["hr"]["status"], "on_leave");
    let moved = world.admin.employee_by_hr_id(&aoids[3]).await;
    assert_eq!(
        (moved["hr"]["manager_hr_id"].as_str(), moved["hr"]["manager_name"].as_str()),
        (Some(dee.as_str()), Some("Dee Evans")),
        "the reports-to notification brought the new manager in"
    );
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!((ada_off.len(), ada_off[0]["due_date"].as_str()), (1, Some(day(0).as_str())));
    assert_eq!(world.admin.employee_by_hr_id(ada).await["hr"]["status"], "terminated");
    let bo_off = world.tasks_of(bo, "offboarding").await;
    assert_eq!((bo_off.len(), bo_off[0]["due_date"].as_str()), (1, Some(day(7).as_str())));

    // A rehire under the same associate id: a new cycle.
    let task_id = ada_off[0]["id"].as_str().unwrap();
    world.complete(task_id).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3));
    drain_queue(&world).await;
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));

    // An empty queue: a drain that reads one 204.
    let run = drain_queue(&world).await;
    assert_eq!((run.queued, run.counts.seen), (0, 0), "{run:?}");
}

#[tokio::test]
async fn adp_s_own_sample_company_imports_as_adp_serves_it() {
    // ADP's 50-worker sample answer: 30 active, one on leave, 19 who left; some departments named by a long name
    // only, one worker whose primary assignment is the second.
    let fake = adp(Vec::new()).await;
    let aoids = fake.load_adp_sample_workers();
    assert_eq!(aoids.len(), 50);
    let request = fake.connection_request();
    let world = World::with(fake, request).await;
    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported), (RunStatus::Succeeded, 31), "{run:?}");
    let employees = world.admin.all("/v1/employees").await;
    assert_eq!(employees.len(), 31, "everyone employed, on leave included; nobody who left");
    assert!(!employees.iter().any(|e| e["hr"]["hr_id"] == "AOID4J5VGEX1620N"), "terminated in 2018");

    let analyst = world.admin.employee_by_hr_id("AOID6T12322HNF4C").await;
    assert_eq!(
        (analyst["hr"]["department"].as_str(), analyst["hr"]["title"].as_str()),
        (Some("Information Technology"), Some("IT Analyst")),
        "a department ADP names by its longName alone reads as that name, not its code"
    );
    assert_eq!(analyst["hr"]["manager_hr_id"], "G3AYSDP53E6TE5WQ");
    let two_jobs = world.admin.employee_by_hr_id("G39P8HJJ3AE0YZQ8").await;
    assert_eq!(two_jobs["hr"]["title"], "Administrative Assistant", "the primary assignment, listed second");
    assert_eq!(world.admin.employee_by_hr_id("AOIDVCBBYPWJ3CTF").await["hr"]["status"], "on_leave");
}

#[tokio::test]
async fn a_client_certificate_adp_does_not_know_fails_the_run_with_a_clear_connection_error() {
    let fake = adp(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    let request = fake.connection_request_with(&fake_hr::stranger_identity());
    let world = World::with(fake, request).await;
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    let error = run.error.unwrap_or_default();
    assert!(error.contains("client certificate"), "the error says what to fix: {error}");
    assert!(world.admin.all("/v1/employees").await.is_empty());

    // And a connection without a certificate is refused when it is made, naming the fields.
    let mut request = world.fake.connection_request();
    request["credentials"]["client_certificate"] = json!("");
    request["credentials"]["client_key"] = json!("");
    let (status, problem) = world.admin.post("/v1/connections", request).await;
    assert_eq!(status, 400, "{problem}");
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(
        fields.contains(&"credentials.client_certificate") && fields.contains(&"credentials.client_key"),
        "{problem}"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_while_draining_lose_no_message() {
    let world = world(vec![person("Ada", "Lovelace", "Engineering", "2020-01-06")]).await;
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!(world.fake.faults_left(), 0);

    // The message is read, then re-reading the worker fails: the run fails, the message stays queued.
    let nia = world.fake.hire(json!({ "givenName": "Nia", "familyName1": "Okafor" }));
    world.fake.inject(Fault { after: 1, ..Fault::status(500) });
    world.stack.poll(Utc::now(), Tick::Queues).await.unwrap();
    drain(&world.stack).await;
    let failed = world.runs().await.remove(0);
    assert_eq!(failed.status, RunStatus::Failed, "{failed:?}");
    assert_eq!(world.fake.queued(), 1, "not acknowledged: nothing is lost");

    let run = drain_queue(&world).await;
    assert_eq!(run.counts.hired, 1, "{run:?}");
    assert_eq!(world.fake.queued(), 0);
    assert_eq!(world.tasks_of(&nia, "onboarding").await.len(), 1);
}
