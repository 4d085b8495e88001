//! BambooHR as each account has it: IT Hub reads the employee dataset's field list
//! (`GET /api/v1_2/datasets/employee/fields`) and asks only for fields the account has and the key may read. A
//! Datasets v2 request naming a field the key may not read is refused whole (403 naming the fields), so such a
//! field is left out (or, if a sync cannot do without it, the run fails naming it); an account whose dataset has
//! no `lastChanged` has its changed people read by the ids `employees/changed` names.

use chrono::{Duration, Utc};
use integration_tests::*;
use ithub::store::{RunMode, RunStatus};
use serde_json::json;

#[tokio::test]
async fn an_account_without_last_changed_has_its_changed_people_read_by_id() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.fake.set_fields(&["lastChanged"], &[]);
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let hired = world.fake.hire(json!({ "firstName": "Nia", "lastName": "Okafor", "department": "IT" })).await;
    world.fake.change(2, json!({ "jobTitle": "Staff Engineer" })).await;
    world.fake.terminate(3, Utc::now().date_naive() - Duration::days(1)).await;
    let pages = world.fake.dataset_calls();
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!((run.counts.seen, run.counts.hired, run.counts.updated, run.counts.terminated), (3, 1, 1, 1));
    assert_eq!(world.fake.dataset_calls() - pages, 1, "the three people named by the change list, in one request");
    let nia = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!(nia["hr"]["department"], "IT");
    assert_eq!(world.admin.employee_by_hr_id("2").await["hr"]["title"], "Staff Engineer");
}

#[tokio::test]
async fn optional_fields_the_key_may_not_read_are_left_out_and_the_rest_syncs() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.fake.set_fields(&["homeEmail"], &["mobilePhone", "supervisorEid"]);
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let people = world.admin.all("/v1/employees").await;
    assert_eq!(people.len(), world.fake.headcount());
    let first = world.admin.employee_by_hr_id("1").await;
    assert!(first["hr"]["first_name"].as_str().is_some_and(|n| !n.is_empty()), "{first}");
    assert!(first["hr"]["phone"].is_null(), "a field the key may not read is not read: {first}");
}

#[tokio::test]
async fn a_field_a_sync_cannot_do_without_fails_the_run_naming_it() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.fake.set_fields(&[], &["hireDate"]);
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    let error = run.error.unwrap_or_default();
    assert!(error.contains("hireDate") && error.contains("may not read"), "{error}");

    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.fake.set_fields(&["terminationDate"], &[]);
    let run = world.run(RunMode::Full, false).await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    let error = run.error.unwrap_or_default();
    assert!(error.contains("terminationDate") && error.contains("has no"), "{error}");
    assert!(world.admin.all("/v1/employees").await.is_empty(), "nobody imported from a half-read account");
}
