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

#[tokio::test]
async fn connecting_registers_a_webhook_with_the_key_bamboohr_issues_and_rotating_and_deleting_follow_it() {
    let fake = fake_bamboo(fake_hr::sample_company(Utc::now().date_naive())).await;
    let request = fake.connection_request();
    let world = World::through_api(fake, request, Default::default()).await;
    // Connecting ran the check, which registered a permissioned webhook: BambooHR issued its key, IT Hub kept it.
    let registered = world.fake.registered_webhooks();
    assert_eq!(registered.len(), 1, "{registered:?}");
    let (first_id, url, monitored) = registered[0].clone();
    assert_eq!(url, world.webhook_url());
    assert!(monitored.contains(&"jobInformationJobTitle".to_owned()) && !monitored.contains(&"eeid".to_owned()));
    let (_, check) = world.admin.post(&format!("/v1/connections/{}/check", world.connection.id), json!({})).await;
    assert_eq!(check["ok"], true, "{check}");
    let found = check_steps(&check);
    for step in ["fields", "list", "one_person", "webhook"] {
        assert_eq!(found[step].0, "passed", "{step}: {check}");
    }
    assert!(found["webhook"].1.contains(&format!("webhook {first_id}")), "{check}");
    assert_eq!(world.fake.registered_webhooks().len(), 1, "a second check registers nothing more");

    // A change in BambooHR is delivered, signed with the key BambooHR issued, and applied.
    world.run(RunMode::Full, false).await;
    world.fake.change(3, json!({ "jobTitle": "Staff Engineer" })).await;
    let deliveries = world.fake.deliveries();
    assert_eq!(deliveries.last().map(|d| d.status), Some(202), "{deliveries:?}");
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id("3").await["hr"]["title"], "Staff Engineer");

    // Rotating registers a new webhook (a new key from BambooHR) and deletes the old one.
    let path = format!("/v1/connections/{}/rotate-webhook-secret", world.connection.id);
    let (status, rotated) = world.admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    assert!(rotated.get("webhook_secret").is_none(), "BambooHR's key is never shown: {rotated}");
    let now = world.fake.registered_webhooks();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0].0, first_id, "a new webhook replaced the old");
    world.fake.change(4, json!({ "jobTitle": "Principal Engineer" })).await;
    // The receiver sees the new key at once: the rotation marked when the connection's secrets changed.
    let delivery = world.fake.deliveries().last().cloned().expect("a delivery");
    assert_eq!(delivery.status, 202, "signed with the new key: {delivery:?}");
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id("4").await["hr"]["title"], "Principal Engineer");

    // Deleting the connection deletes its webhook in BambooHR.
    let (status, _) = world.admin.delete(&format!("/v1/connections/{}", world.connection.id)).await;
    assert_eq!(status, 204);
    assert!(world.fake.registered_webhooks().is_empty());
}

#[tokio::test]
async fn the_check_names_what_fails_and_why() {
    let fake = fake_bamboo(fake_hr::sample_company(Utc::now().date_naive())).await;
    fake.set_fields(&["homeEmail"], &["hireDate"]);
    let request = fake.connection_request();
    let world = World::through_api(fake, request, Default::default()).await;
    let (status, check) = world.admin.post(&format!("/v1/connections/{}/check", world.connection.id), json!({})).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["ok"], false, "{check}");
    let found = check_steps(&check);
    assert_eq!(found["list"].0, "failed", "{check}");
    assert!(found["list"].1.contains("hireDate"), "the field the key may not read is named: {check}");
    assert_eq!(found["one_person"].0, "skipped", "{check}");
    assert_eq!(found["fields"].0, "warning", "{check}");
    assert!(found["fields"].1.contains("homeEmail (not in the employee dataset)"), "{check}");

    // A wrong key: the reads fail with the reason, never a value.
    let fake = fake_bamboo(fake_hr::sample_company(Utc::now().date_naive())).await;
    let mut request = fake.connection_request();
    request["credentials"]["api_key"] = json!("not-the-key");
    let world = World::through_api(fake, request, Default::default()).await;
    let (_, check) = world.admin.post(&format!("/v1/connections/{}/check", world.connection.id), json!({})).await;
    let found = check_steps(&check);
    assert_eq!(found["fields"].0, "failed", "{check}");
    assert!(found["fields"].1.contains("refused our credentials"), "{check}");
    assert_eq!(found["webhook"].0, "failed", "no webhook can be registered with a refused key: {check}");
    assert!(!check.to_string().contains("not-the-key"));
}
