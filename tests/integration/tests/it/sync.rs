//! The sync engine end to end, against moto and the fake BambooHR over HTTP: pages of whole records, runs that
//! resume from their checkpoint, removals under the mass-change safeguard, previews, and failures kept small.

use chrono::{Duration, Utc};
use fake_hr::{Fault, FaultKind};
use integration_tests::*;
use ithub::messages::RunStep;
use ithub::store::{RunMode, RunStatus};
use serde_json::json;

fn named<'a>(employees: &'a [serde_json::Value], first: &str) -> Option<&'a serde_json::Value> {
    employees.iter().find(|e| e["hr"]["first_name"] == first)
}

/// Every employee's id and version, to show that a run wrote nobody.
async fn versions(world: &World) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = world
        .admin
        .all("/v1/employees")
        .await
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e["version"].as_u64().unwrap()))
        .collect();
    all.sort();
    all
}

async fn status_of(world: &World, hr_id: u32) -> String {
    world.admin.employee_by_hr_id(&hr_id.to_string()).await["hr"]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_first_import_reads_pages_of_whole_records_and_a_resync_without_change_writes_nothing() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    let (calls, pages) = (world.fake.api_calls(), world.fake.dataset_calls());
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(world.fake.dataset_calls() - pages, 1, "fifty people are one page, not fifty requests");
    assert!(world.fake.api_calls() - calls <= 2, "and at most one read of the account's field list");
    assert_eq!((run.counts.seen, run.counts.imported, run.counts.hired), (50, 48, 2), "{:?}", run.counts);
    assert_eq!(run.queued, 2, "only the two pre-hires go through the worker (they are onboarded)");
    assert_eq!(run.applied, 2);
    let employees = world.admin.all("/v1/employees").await;
    assert_eq!(employees.len(), 50, "every person of the sample company, pre-hires included");
    let pending = employees.iter().filter(|e| e["hr"]["status"] == "pending").count();
    assert_eq!(pending, 2, "the two people starting in the future are pending");
    let (_, audit) = world.admin.get("/v1/audit?limit=100").await;
    let imports: Vec<_> = audit["items"].as_array().unwrap().iter().filter(|a| a["action"] == "hr.import").collect();
    assert_eq!(imports.len(), 1, "one audit entry for the import, not one per person");
    assert_eq!(imports[0]["after"]["imported"], 48);
    let before = versions(&world).await;

    // A full reconciliation with nothing changed: every record compares equal, nothing is queued or written.
    let resync = world.run(RunMode::Full, false).await;
    assert_eq!((resync.status, resync.counts.unchanged, resync.queued), (RunStatus::Succeeded, 50, 0), "{resync:?}");
    assert_eq!(versions(&world).await, before, "no employee was written");
    // An incremental run asks the change list once and finds nothing.
    let calls = world.fake.api_calls();
    let quiet = world.run(RunMode::Incremental, false).await;
    assert_eq!((quiet.counts.seen, quiet.queued), (0, 0), "{quiet:?}");
    assert_eq!(world.fake.api_calls() - calls, 1);
}

#[tokio::test]
async fn changes_since_the_state_the_hr_system_gave_out_bring_hires_edits_and_terminations() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.run(RunMode::Full, false).await;
    let hired = world.fake.hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "IT"})).await;
    world.fake.change(3, json!({"jobTitle": "Staff Engineer"})).await;
    let today = Utc::now().date_naive();
    world.fake.terminate(5, today - Duration::days(1)).await;
    world.fake.terminate(6, today + Duration::days(14)).await;
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let counts = &run.counts;
    assert_eq!((counts.seen, counts.hired, counts.updated, counts.terminated), (4, 1, 1, 2), "{counts:?}");
    let employees = world.admin.all("/v1/employees").await;
    assert_eq!(employees.len(), 51);
    let nia = named(&employees, "Nia").expect("the hire appears");
    assert_eq!(
        (nia["hr"]["hr_id"].as_str(), nia["hr"]["status"].as_str()),
        (Some(&*hired.to_string()), Some("active"))
    );
    assert_eq!(world.admin.employee_by_hr_id("3").await["hr"]["title"], "Staff Engineer");
    assert_eq!(status_of(&world, 5).await, "terminated");
    let six = world.admin.employee_by_hr_id("6").await;
    assert_eq!(
        (six["hr"]["status"].as_str(), six["hr"]["end_date"].as_str()),
        (Some("active"), Some(&*(today + Duration::days(14)).to_string())),
        "still employed until the date"
    );
}

/// How many employees the tenant has stored, counted in DynamoDB directly (the test watches a step at work).
async fn stored(world: &World) -> usize {
    let pages = world
        .stack
        .dynamodb
        .query()
        .table_name(&world.stack.deployed.table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :e)")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{}", world.tenant)))
        .expression_attribute_values(":e", aws_sdk_dynamodb::types::AttributeValue::S("E#".into()))
        .select(aws_sdk_dynamodb::types::Select::Count)
        .into_paginator()
        .send();
    let pages: Vec<_> = pages.collect::<Result<Vec<_>, _>>().await.unwrap();
    pages.iter().map(|p| p.count as usize).sum()
}

/// A syncer that reads one page per step (with a one-second lease), and a full run of the world's connection,
/// started and not yet stepped.
async fn run_a_page_per_step(
    world: &World<fake_hr::FakeBamboo>,
) -> (ithub::sync::Syncer, ithub::store::Connection, ithub::store::SyncRun) {
    let syncer = world.stack.syncer().with_budget(std::time::Duration::ZERO, std::time::Duration::from_secs(1));
    let connection = world.stored_connection().await;
    let trigger = ithub::store::RunTrigger::Manual;
    let run =
        ithub::schedule::start_run(&world.stack.store, &world.stack.runs, &connection, trigger, RunMode::Full, false)
            .await
            .unwrap();
    (syncer, connection, run)
}

/// The message for step `n` of `run`.
fn step_of(
    world: &World<fake_hr::FakeBamboo>,
    connection: &ithub::store::Connection,
    run: &ithub::store::SyncRun,
    n: u64,
) -> RunStep {
    RunStep {
        tenant_id: world.tenant.clone(),
        connection_id: connection.id.clone(),
        run_id: run.run_id.clone(),
        step: n,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_some_pages_resumes_from_its_checkpoint_and_imports_everyone_once() {
    let world = World::new(fake_hr::generated_company(2_100)).await;
    // One page per step, and a short lease so the killed step's run is taken over quickly.
    let (syncer, connection, run) = run_a_page_per_step(&world).await;
    let worker = world.stack.worker_with(syncer.clone());
    let step = |n: u64| step_of(&world, &connection, &run, n);

    // The first step reads page one and checkpoints. The second is killed half way through writing page two.
    syncer.step(&step(0)).await.unwrap();
    let after_one = world.run_of(&run.run_id).await;
    assert_eq!((after_one.checkpoint.pages, after_one.counts.imported), (1, 1000), "{after_one:?}");
    let killed = {
        let syncer = syncer.clone();
        let message = step(after_one.checkpoint.step);
        tokio::spawn(async move { syncer.step(&message).await })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while stored(&world).await < 1_100 {
        assert!(std::time::Instant::now() < deadline, "the second step never wrote page two");
        assert!(!killed.is_finished(), "the second step ended before it could be killed");
    }
    killed.abort();
    let _ = killed.await;
    let stuck = world.run_of(&run.run_id).await;
    assert_eq!(stuck.checkpoint.pages, 1, "killed before its checkpoint: {stuck:?}");

    // The killed step's message comes back (here: sent again by hand) once its lease has passed; the run goes on
    // from its last checkpoint, finds the people page two already wrote, and counts them once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while world.run_of(&run.run_id).await.lease_until.is_some_and(|t| t > Utc::now()) {
        assert!(std::time::Instant::now() < deadline, "the lease never passed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    syncer.step(&step(stuck.checkpoint.step - 1)).await.unwrap();
    drain_with(&world.stack, &worker).await;

    let done = world.run_of(&run.run_id).await;
    assert_eq!(done.status, RunStatus::Succeeded, "{done:?}");
    assert_eq!((done.counts.seen, done.counts.imported), (2_100, 2_100), "counted once: {:?}", done.counts);
    let employees = world.admin.all("/v1/employees").await;
    assert_eq!(employees.len(), 2_100);
    assert!(employees.iter().all(|e| e["version"] == 1), "nobody written twice");
    let (_, audit) = world.admin.get("/v1/audit?limit=100").await;
    let imports: Vec<_> = audit["items"].as_array().unwrap().iter().filter(|a| a["action"] == "hr.import").collect();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0]["after"]["imported"], 2_100, "the audit agrees with the counts");
}

#[tokio::test]
async fn removals_within_the_safeguard_apply_and_beyond_it_the_run_waits_for_an_admin() {
    let world = World::new(fake_hr::generated_company(50)).await;
    world.run(RunMode::Full, false).await;
    // Two of the people who will vanish are set up, so their removal opens offboarding.
    let ids: Vec<String> = ["1", "2"]
        .iter()
        .map(|hr| async { world.admin.employee_by_hr_id(hr).await["id"].as_str().unwrap().to_owned() })
        .collect::<futures::future::JoinAll<_>>()
        .await;
    let (status, body) = world.admin.post("/v1/employees/setup", json!({"employee_ids": ids})).await;
    assert_eq!(status, 200, "{body}");

    // 3 of 50 gone: within 10% (at least 5), applied.
    world.fake.vanish(&[1, 2, 3]);
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.counts.removed, run.threshold), (RunStatus::Succeeded, 3, 5), "{run:?}");
    for id in [1, 2, 3] {
        assert_eq!(status_of(&world, id).await, "terminated", "person {id} was removed");
    }
    let tasks = world.admin.all("/v1/tasks?kind=offboarding").await;
    assert_eq!(tasks.len(), 2, "the two who were set up are offboarded: {tasks:?}");

    // 10 more of the 47 left: beyond the safeguard. The run is held, nobody is removed.
    let gone: Vec<u32> = (10..20).collect();
    world.fake.vanish(&gone);
    let held = world.run(RunMode::Full, false).await;
    assert_eq!((held.status, held.pending), (RunStatus::Held, 10), "{held:?}");
    for id in &gone {
        assert_eq!(status_of(&world, *id).await, "active", "person {id} waits for the admin");
    }
    let path = format!("/v1/connections/{}", world.connection.id);
    let (_, connection) = world.admin.get(&path).await;
    assert_eq!(connection["held_run_ids"], json!([held.run_id]), "the connection shows the held run");
    let (_, listed) = world.admin.get(&format!("{path}/runs")).await;
    assert_eq!(listed["items"][0]["status"], "held");

    // Approved: all ten are applied, and the approval is audited.
    let (status, approved) = world.admin.post(&format!("{path}/runs/{}/approve", held.run_id), json!({})).await;
    assert_eq!(status, 200, "{approved}");
    drain(&world.stack).await;
    for id in &gone {
        assert_eq!(status_of(&world, *id).await, "terminated", "person {id} removed once approved");
    }
    let done = world.run_of(&held.run_id).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    assert!(done.safeguard.as_ref().is_some_and(|s| s.approved));
    assert_eq!(world.admin.post(&format!("{path}/runs/{}/approve", held.run_id), json!({})).await.0, 409);

    // Another ten gone, rejected: none is removed.
    let rejected: Vec<u32> = (20..30).collect();
    world.fake.vanish(&rejected);
    let held = world.run(RunMode::Full, false).await;
    assert_eq!(held.status, RunStatus::Held, "{held:?}");
    let (status, body) = world.admin.post(&format!("{path}/runs/{}/reject", held.run_id), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("succeeded")), "{body}");
    drain(&world.stack).await;
    for id in &rejected {
        assert_eq!(status_of(&world, *id).await, "active", "person {id} stays: the removal was rejected");
    }
    let (_, audit) = world.admin.get("/v1/audit?limit=100").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(
        actions.contains(&"connection.run_approved") && actions.contains(&"connection.run_rejected"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn terminations_an_incremental_run_finds_count_against_the_safeguard_too() {
    let world = World::new(fake_hr::generated_company(50)).await;
    world.run(RunMode::Full, false).await;
    assert_eq!(world.stored_connection().await.active_people, 50, "the import counted who is active");
    let yesterday = Utc::now().date_naive() - Duration::days(1);
    for id in 31..=40 {
        world.fake.terminate(id, yesterday).await;
    }
    let held = world.run(RunMode::Incremental, false).await;
    assert_eq!((held.status, held.counts.terminated, held.threshold), (RunStatus::Held, 10, 5), "{held:?}");
    assert_eq!(status_of(&world, 31).await, "active", "nobody is terminated while the run waits");
    let path = format!("/v1/connections/{}/runs/{}/approve", world.connection.id, held.run_id);
    assert_eq!(world.admin.post(&path, json!({})).await.0, 200);
    drain(&world.stack).await;
    for id in 31..=40 {
        assert_eq!(status_of(&world, id).await, "terminated", "person {id}");
    }
    assert!(!world.stored_connection().await.busy(Utc::now()), "the approved run let go of the connection");
}

#[tokio::test]
async fn a_listing_that_fails_part_way_removes_nobody() {
    let world = World::new(fake_hr::generated_company(2_100)).await;
    world.run(RunMode::Full, false).await;
    world.fake.vanish(&[7, 8, 9]);
    for kind in [FaultKind::Status, FaultKind::Truncated, FaultKind::Drop] {
        // Pages one and two answer; page three fails (a 500, a body cut short, a dropped connection).
        world.fake.inject(Fault { after: 2, kind, ..Fault::status(500) });
        let run = world.run(RunMode::Full, false).await;
        assert_eq!((run.status, run.counts.removed), (RunStatus::Failed, 0), "{kind:?}: {run:?}");
        assert!(run.error.is_some(), "{kind:?}");
        assert_eq!(status_of(&world, 7).await, "active", "{kind:?}: a cut listing never reads as removals");
    }
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.counts.removed), (RunStatus::Succeeded, 3), "{run:?}");
}

#[tokio::test]
async fn an_empty_first_listing_imports_nothing_and_is_tried_again() {
    let world = World::new(Vec::new()).await;
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.as_deref().is_some_and(|e| e.contains("listed nobody")), "{run:?}");
    assert!(world.stored_connection().await.cursor.is_none(), "the next run is a first import again");
    world.fake.hire(json!({"firstName": "Ada", "lastName": "Lovelace", "hireDate": "2020-01-01"})).await;
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.mode, run.status, run.counts.imported), (RunMode::Full, RunStatus::Succeeded, 1), "{run:?}");
}

#[tokio::test]
async fn a_webhook_for_someone_the_hr_system_deleted_ends_in_a_removal() {
    let world = World::new(fake_hr::generated_company(5)).await;
    world.run(RunMode::Full, false).await;
    world.paste_webhook().await;
    assert!(world.fake.delete(4).await);
    assert_eq!(world.fake.deliveries().last().map(|d| d.status), Some(202));
    drain(&world.stack).await;
    assert_eq!(status_of(&world, 4).await, "terminated");
    let (_, audit) = world.admin.get("/v1/audit?limit=10").await;
    assert_eq!(audit["items"][0]["action"], "hr.removed");
}

#[tokio::test]
async fn a_preview_records_what_a_run_would_do_and_applies_nothing() {
    let world = World::new(fake_hr::generated_company(50)).await;
    world.run(RunMode::Full, false).await;
    world.fake.hire(json!({"firstName": "Nia", "lastName": "Okafor"})).await;
    world.fake.change(3, json!({"jobTitle": "Staff Engineer"})).await;
    world.fake.vanish(&[4, 5]);
    let before = versions(&world).await;
    let (_, audit_before) = world.admin.get("/v1/audit?limit=100").await;
    let tasks_before = world.admin.all("/v1/tasks").await.len();

    let (status, queued) = world
        .admin
        .post(&format!("/v1/connections/{}/sync", world.connection.id), json!({"full": true, "dry_run": true}))
        .await;
    assert_eq!((status, queued["dry_run"].as_bool()), (202, Some(true)), "{queued}");
    drain(&world.stack).await;
    let preview = world.run_of(queued["run_id"].as_str().unwrap()).await;
    assert_eq!(preview.status, RunStatus::Succeeded, "{preview:?}");
    let counts = &preview.counts;
    assert_eq!((counts.hired, counts.updated, counts.removed), (1, 1, 2), "{counts:?}");
    assert_eq!(preview.samples["hired"], vec!["Nia Okafor".to_owned()]);
    assert_eq!(preview.samples["removed"].len(), 2);

    assert_eq!(versions(&world).await, before, "no employee written");
    assert_eq!(world.admin.all("/v1/tasks").await.len(), tasks_before, "no task opened");
    let (_, audit_after) = world.admin.get("/v1/audit?limit=100").await;
    let new: Vec<_> = audit_after["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !audit_before["items"].as_array().unwrap().contains(a))
        .collect();
    assert!(new.iter().all(|a| a["action"] == "connection.sync_requested"), "only the request is audited: {new:?}");
    assert_eq!(status_of(&world, 4).await, "active");
}

#[tokio::test]
async fn a_hundred_previews_asked_for_at_once_make_one_run() {
    let world = World::new(fake_hr::generated_company(20)).await;
    world.run(RunMode::Full, false).await;
    let path = format!("/v1/connections/{}/sync", world.connection.id);
    let asks = (0..100).map(|_| world.admin.post(&path, json!({"full": true, "dry_run": true})));
    let answers = futures::future::join_all(asks).await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, run) in &answers {
        assert!(matches!(status, 200 | 202), "{status}: {run}");
        ids.insert(run["run_id"].as_str().expect("a run").to_owned());
    }
    assert_eq!(ids.len(), 1, "one run answers every preview: {ids:?}");
    drain(&world.stack).await;
    let runs = world.runs().await;
    assert_eq!(runs.len(), 2, "the import and one preview");
    assert_eq!((runs[0].dry_run, runs[0].status), (true, RunStatus::Succeeded), "{:?}", runs[0]);
    // Done, the preview let go of the connection: the next run starts.
    assert_eq!(world.run(RunMode::Incremental, false).await.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn one_unreadable_person_does_not_stop_the_others() {
    let mut people = fake_hr::generated_company(50);
    people[9].1["hireDate"] = json!("31/02/2021");
    let world = World::new(people).await;
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.counts.imported, run.counts.failed), (RunStatus::Succeeded, 49, 1), "{run:?}");
    assert_eq!(run.failures[0].hr_id, "10");
    assert_eq!(run.failures[0].reason, "hireDate is not a date", "the field, never its value");
    assert_eq!(world.stored_connection().await.retry_ids, vec!["10".to_owned()]);
    assert_eq!(world.admin.all("/v1/employees").await.len(), 49);

    // Fixed in HR: the next run reads them again (by id) and imports them as someone who already worked there.
    world.fake.change(10, json!({"hireDate": "2021-02-28"})).await;
    let next = world.run(RunMode::Incremental, false).await;
    assert_eq!((next.status, next.counts.failed), (RunStatus::Succeeded, 0), "{next:?}");
    assert_eq!((next.counts.imported, next.counts.hired), (1, 0), "{next:?}");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 50);
    assert!(world.admin.all("/v1/tasks").await.is_empty(), "no onboarding for someone employed since 2021");

    // Later someone's record breaks again: a full reconciliation lists them unreadable, and never removes them.
    world.fake.change(20, json!({"terminationDate": "soon"})).await;
    let full = world.run(RunMode::Full, false).await;
    assert_eq!((full.status, full.counts.failed, full.counts.removed), (RunStatus::Succeeded, 1, 0), "{full:?}");
    assert_eq!(status_of(&world, 20).await, "active");
}

#[tokio::test]
async fn a_long_retry_after_is_honoured_by_resuming_the_run_later() {
    let world = World::new(fake_hr::generated_company(5)).await;
    world.fake.inject(Fault { retry_after: Some(12), ..Fault::status(429) });
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Running, "waiting, not failed: {run:?}");
    assert!(run.resumes_at.is_some_and(|at| at > Utc::now() + Duration::seconds(5)), "{run:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        drain(&world.stack).await;
        let current = world.run_of(&run.run_id).await;
        if current.status == RunStatus::Succeeded {
            assert_eq!(current.counts.imported, 5);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the run never resumed: {current:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// A listing throttled part way (a 429 with `Retry-After` on its third page) waits and then resumes at that page:
/// the two pages already read are not read again, and the listing ends complete (it finds who left).
#[tokio::test]
async fn a_listing_throttled_part_way_resumes_at_its_page() {
    let world = World::new(fake_hr::generated_company(2_100)).await;
    world.run(RunMode::Full, false).await;
    world.fake.vanish(&[7]);
    let before = world.fake.dataset_calls();
    world.fake.inject(Fault { after: 2, retry_after: Some(12), ..Fault::status(429) });
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.checkpoint.pages), (RunStatus::Running, 2), "waiting after two pages: {run:?}");
    assert!(run.resumes_at.is_some(), "{run:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let done = loop {
        drain(&world.stack).await;
        let current = world.run_of(&run.run_id).await;
        if current.status.is_finished() {
            break current;
        }
        assert!(std::time::Instant::now() < deadline, "the run never resumed: {current:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!((done.status, done.counts.seen, done.counts.removed), (RunStatus::Succeeded, 2_099, 1), "{done:?}");
    assert_eq!(status_of(&world, 7).await, "terminated", "the listing ended complete");
    let calls = world.fake.dataset_calls() - before;
    assert_eq!(calls, 4, "pages one and two once, page three throttled and then read");
}

#[tokio::test]
async fn a_wrong_api_key_fails_the_run_with_a_clear_error() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let credentials = serde_json::from_value(json!({"provider": "bamboohr", "api_key": "not-the-key"})).unwrap();
    let wrong = ithub::secrets::ConnectionSecret {
        credentials,
        webhook_secrets: vec![],
        refresh_token: None,
        registered_webhook: None,
    };
    world.stack.secrets.put(&world.connection.secret_id, &wrong).await.unwrap();
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.error.as_deref(), Some("the HR system refused our credentials (HTTP 401)"));
}

#[tokio::test]
async fn a_deployed_stack_refuses_base_urls_that_are_not_public_https() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let acting = ithub::service::Acting { tenant, actor: ithub::domain::Actor::Admin { key: "test".into() } };
    for bad in ["http://169.254.169.254/", "https://hr.example.com/#x", "https://10.0.0.8", "http://hr.example.com"] {
        let request = serde_json::from_value(json!({"provider": "bamboohr",
            "settings": {"company_domain": "acme", "base_url": bad}, "credentials": {"api_key": FAKE_KEY}}))
        .unwrap();
        let refused =
            stack.service().create_connection(&stack.secrets, ithub::providers::Egress::Public, &acting, request).await;
        match refused {
            Err(ithub::service::ServiceError::InvalidFields(fields)) => {
                assert!(fields.iter().any(|f| f.field == "settings.base_url"), "{bad}: {fields:?}")
            }
            other => panic!("{bad} was not refused: {:?}", other.map(|c| c.connection.id)),
        }
    }
}

#[tokio::test]
async fn a_cancelled_run_stops_at_its_next_checkpoint_and_lets_the_connection_go() {
    let world = World::new(fake_hr::generated_company(2_100)).await;
    // One page per step, so the run can be cancelled between two.
    let (syncer, connection, run) = run_a_page_per_step(&world).await;
    let step = |n: u64| step_of(&world, &connection, &run, n);
    syncer.step(&step(0)).await.unwrap();
    let after_one = world.run_of(&run.run_id).await;
    assert_eq!((after_one.checkpoint.pages, after_one.counts.imported), (1, 1000), "{after_one:?}");

    let path = format!("/v1/connections/{}/runs/{}/cancel", connection.id, run.run_id);
    let (status, cancelled) = world.admin.post(&path, json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    // The step the worker would run next finds the run cancelled and reads nothing more.
    syncer.step(&step(after_one.checkpoint.step)).await.unwrap();
    drain(&world.stack).await;
    let stopped = world.run_of(&run.run_id).await;
    assert_eq!((stopped.status, stopped.checkpoint.pages), (RunStatus::Cancelled, 1), "{stopped:?}");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 1000, "what it applied stays");
    let (_, audit) = world.admin.get("/v1/audit?limit=5").await;
    assert_eq!(audit["items"][0]["action"], "connection.run_cancelled", "{audit}");
    let (again, problem) = world.admin.post(&path, json!({})).await;
    assert_eq!(again, 409, "{problem}");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("run-finished")), "{problem}");

    // The connection is free: the next run starts and reads everyone, the rest imported.
    let next = world.run(RunMode::Full, false).await;
    assert_eq!((next.status, next.counts.imported), (RunStatus::Succeeded, 1100), "{next:?}");
}
