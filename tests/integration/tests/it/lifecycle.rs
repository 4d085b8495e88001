//! The employee lifecycle end to end: HR changes through the fake BambooHR, the poller, the queue and the worker,
//! and admin actions through the API.

use chrono::{Duration, Utc};
use integration_tests::*;
use serde_json::json;

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

async fn tasks_of(world: &World, employee_id: &str, query: &str) -> Vec<serde_json::Value> {
    let all = world.admin.all(&format!("/v1/tasks?{query}")).await;
    all.into_iter().filter(|t| t["employee_id"] == employee_id).collect()
}

async fn license_count(world: &World) -> u64 {
    let (status, licenses) = world.admin.get("/v1/licenses").await;
    assert_eq!(status, 200);
    licenses["count"].as_u64().unwrap()
}

/// A world after its first import, with the named people set up.
async fn set_up(people: &[u32]) -> World {
    let world = World::new((1..=10).map(|n| (n, person(&format!("P{n}"), "Test", "Engineering"))).collect()).await;
    world.sync().await;
    let mut ids = Vec::new();
    for hr_id in people {
        ids.push(world.admin.employee_by_hr_id(&hr_id.to_string()).await["id"].clone());
    }
    if !ids.is_empty() {
        let (status, result) = world.admin.post("/v1/employees/setup", json!({ "employee_ids": ids })).await;
        assert_eq!(status, 200, "{result}");
        assert!(result["refused"].as_array().unwrap().is_empty(), "{result}");
    }
    world
}

#[tokio::test]
async fn the_first_import_lists_staff_for_setup_and_setup_grants_licenses() {
    let world = World::new(fake_hr::sample_company(Utc::now().date_naive())).await;
    world.sync().await;
    let employees = world.admin.all("/v1/employees").await;
    let not_set_up = employees.iter().filter(|e| e["hub"]["status"] == "not_set_up").count();
    assert_eq!(not_set_up, 48, "people already working there are not onboarded");
    let tasks = world.admin.all("/v1/tasks").await;
    assert_eq!(tasks.len(), 2, "only the two future starters get onboarding tasks");
    assert!(tasks.iter().all(|t| t["kind"] == "onboarding"));
    assert_eq!(tasks[0]["due_date"], day(14), "ordered by due date: the start dates");
    assert_eq!(tasks[1]["due_date"], day(30));
    assert_eq!(license_count(&world).await, 0);

    let pick: Vec<serde_json::Value> = employees
        .iter()
        .filter(|e| e["hub"]["status"] == "not_set_up" && e["hr"]["status"] == "active")
        .take(3)
        .map(|e| e["id"].clone())
        .collect();
    let starter = tasks[0]["employee_id"].clone();
    let (status, _) = world.admin.post("/v1/employees/setup", json!({ "employee_ids": [pick[0], ""] })).await;
    assert_eq!(status, 400, "a malformed id fails the whole request");
    assert_eq!(license_count(&world).await, 0, "and nothing was set up");
    let body = json!({ "employee_ids": [pick[0], pick[1], pick[2], starter, "emp_000000000000000000000000"] });
    let (status, result) = world.admin.post("/v1/employees/setup", body).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["set_up"].as_array().unwrap().len(), 3);
    let refused: Vec<u64> =
        result["refused"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(refused.len(), 2, "{result}");
    assert!(refused.contains(&404) && refused.contains(&409));
    assert_eq!(license_count(&world).await, 3);
    let (_, first_page) = world.admin.get("/v1/licenses?limit=2").await;
    assert_eq!(first_page["count"], 3, "the count is of everyone, whatever the page size");
    assert_eq!(first_page["items"].as_array().unwrap().len(), 2);
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let (_, rest) = world.admin.get(&format!("/v1/licenses?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let (_, again) = world.admin.post("/v1/employees/setup", json!({ "employee_ids": [pick[0]] })).await;
    assert_eq!(again["refused"][0]["status"], 409, "a license is granted once");
    assert_eq!(license_count(&world).await, 3);

    let too_many: Vec<String> = (0..101).map(|n| format!("emp_{n:024}")).collect();
    let (status, problem) = world.admin.post("/v1/employees/setup", json!({ "employee_ids": too_many })).await;
    assert_eq!((status, problem["type"].as_str()), (400, Some("urn:ithub:problem:bad-request")));
}

#[tokio::test]
async fn a_hire_opens_onboarding_and_completing_it_with_hub_access_grants_a_license() {
    let world = set_up(&[]).await;
    let hired = world
        .fake
        .hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "Engineering",
        "address1": "1 Dock St", "city": "Leeds", "country": "United Kingdom"}))
        .await;
    world.sync().await;
    let nia = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!(nia["hub"]["status"], "onboarding");
    let tasks = tasks_of(&world, nia["id"].as_str().unwrap(), "kind=onboarding").await;
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task["due_date"], day(0));
    let laptop = task["items"].as_array().unwrap().iter().find(|i| i["id"] == "device-laptop").unwrap();
    assert_eq!(laptop["detail"], "Developer laptop, 32 GB", "the Engineering rule of the default playbook");
    assert_eq!(laptop["shipping_address"]["city"], "Leeds", "devices ship to the HR home address");
    let task_id = task["id"].as_str().unwrap();

    let (status, problem) =
        world.admin.post(&format!("/v1/tasks/{task_id}/complete"), json!({"hub_access": true})).await;
    assert_eq!((status, problem["type"].as_str()), (409, Some("urn:ithub:problem:items-open")));
    let (status, body) = world
        .admin
        .patch(&format!("/v1/tasks/{task_id}/items/app-chat"), json!({"status": "skipped", "note": "no chat"}))
        .await;
    assert_eq!(status, 200, "{body}");
    world.admin.tick_all(task_id).await;
    let (status, done) = world.admin.post(&format!("/v1/tasks/{task_id}/complete"), json!({"hub_access": true})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(license_count(&world).await, 1);
    let nia = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!((nia["hub"]["status"].as_str(), nia["hub"]["license"].as_bool()), (Some("active"), Some(true)));

    let (status, problem) = world.admin.post(&format!("/v1/tasks/{task_id}/complete"), json!({})).await;
    assert_eq!((status, problem["type"].as_str()), (409, Some("urn:ithub:problem:task-closed")), "not twice");
    let (status, _) =
        world.admin.patch(&format!("/v1/tasks/{task_id}/items/app-chat"), json!({"status": "open"})).await;
    assert_eq!(status, 409, "a completed task is read-only");
}

#[tokio::test]
async fn onboarding_without_hub_access_grants_no_license() {
    let world = set_up(&[]).await;
    let hired = world.fake.hire(json!({"firstName": "Ola", "lastName": "Berg"})).await;
    world.sync().await;
    let ola = world.admin.employee_by_hr_id(&hired.to_string()).await;
    let task = &tasks_of(&world, ola["id"].as_str().unwrap(), "").await[0];
    let task_id = task["id"].as_str().unwrap();
    world.admin.tick_all(task_id).await;
    let (status, _) = world.admin.post(&format!("/v1/tasks/{task_id}/complete"), json!({"hub_access": false})).await;
    assert_eq!(status, 200);
    assert_eq!(license_count(&world).await, 0);
}

#[tokio::test]
async fn a_future_start_date_makes_the_hire_pending_with_the_task_due_that_day() {
    let world = set_up(&[]).await;
    let hired = world.fake.hire(json!({"firstName": "Sam", "lastName": "Reyes", "hireDate": day(10)})).await;
    world.sync().await;
    let sam = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!((sam["hr"]["status"].as_str(), sam["hub"]["status"].as_str()), (Some("pending"), Some("onboarding")));
    let tasks = tasks_of(&world, sam["id"].as_str().unwrap(), "kind=onboarding").await;
    assert_eq!(tasks[0]["due_date"], day(10));

    // HR moves the start date: the same task follows, no second one.
    world.fake.change(hired, json!({"hireDate": day(20)})).await;
    world.sync().await;
    let tasks = tasks_of(&world, sam["id"].as_str().unwrap(), "kind=onboarding").await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["due_date"], day(20));
}

#[tokio::test]
async fn a_termination_opens_offboarding_due_on_the_date_and_completing_it_releases_the_license() {
    let world = set_up(&[5]).await;
    assert_eq!(license_count(&world).await, 1);
    world.fake.terminate(5, Utc::now().date_naive() + Duration::days(7)).await;
    world.sync().await;
    let leaver = world.admin.employee_by_hr_id("5").await;
    assert_eq!(leaver["hub"]["status"], "offboarding");
    let tasks = tasks_of(&world, leaver["id"].as_str().unwrap(), "kind=offboarding").await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["due_date"], day(7));
    assert_eq!(license_count(&world).await, 1, "held until the offboarding is done");

    let task_id = tasks[0]["id"].as_str().unwrap();
    world.admin.tick_all(task_id).await;
    // Offboarding needs no body; an empty one with a JSON content type is the same.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/tasks/{task_id}/complete", world.api))
        .bearer_auth(&world.admin.key)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(license_count(&world).await, 0);
    assert_eq!(world.admin.employee_by_hr_id("5").await["hub"]["status"], "offboarded");
}

#[tokio::test]
async fn manual_offboarding_then_the_hr_termination_leaves_exactly_one_task() {
    let world = set_up(&[6]).await;
    let id = world.admin.employee_by_hr_id("6").await["id"].as_str().unwrap().to_owned();
    let (status, task) =
        world.admin.post(&format!("/v1/employees/{id}/offboard"), json!({"reason": "left without notice"})).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["kind"], "offboarding");
    assert_eq!(task["reason"], "left without notice");
    assert_eq!(task["due_date"], day(0));
    let (status, problem) = world.admin.post(&format!("/v1/employees/{id}/offboard"), json!({"reason": "again"})).await;
    assert_eq!((status, problem["type"].as_str()), (409, Some("urn:ithub:problem:not-allowed")));

    // HR catches up a day later, through the webhook and the poll both.
    world.paste_webhook().await;
    world.fake.terminate(6, Utc::now().date_naive()).await;
    world.sync().await;
    let tasks = tasks_of(&world, &id, "kind=offboarding").await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["id"], task["id"]);
    let notes: Vec<&str> =
        tasks[0]["hr_notes"].as_array().unwrap().iter().map(|n| n["note"].as_str().unwrap()).collect();
    assert_eq!(notes, vec!["HR recorded the termination"]);

    let (_, trail) = world.admin.get(&format!("/v1/audit?employee_id={id}")).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    // The first import is one entry on the connection (`hr.import`), not one per person.
    assert_eq!(actions, vec!["hr.sync", "employee.offboard", "employee.setup"], "newest first");
    assert_eq!(trail["items"][1]["actor"]["type"], "admin");
}

#[tokio::test]
async fn a_rehire_opens_a_new_onboarding_task_in_a_new_cycle() {
    let world = set_up(&[7]).await;
    world.fake.terminate(7, Utc::now().date_naive()).await;
    world.sync().await;
    let id = world.admin.employee_by_hr_id("7").await["id"].as_str().unwrap().to_owned();
    let offboarding = &tasks_of(&world, &id, "kind=offboarding").await[0];
    let offboarding_id = offboarding["id"].as_str().unwrap();
    world.admin.tick_all(offboarding_id).await;
    world.admin.post(&format!("/v1/tasks/{offboarding_id}/complete"), json!({})).await;

    world
        .fake
        .change(
            7,
            json!({"status": "Active", "employmentHistoryStatus": "Full-Time", "terminationDate": "0000-00-00",
                          "hireDate": day(3)}),
        )
        .await;
    world.sync().await;
    let back = world.admin.employee_by_hr_id("7").await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));
    let onboarding = tasks_of(&world, &id, "kind=onboarding").await;
    assert_eq!(onboarding.len(), 1);
    assert_eq!((onboarding[0]["cycle"].as_u64(), onboarding[0]["due_date"].as_str()), (Some(2), Some(day(3).as_str())));
    let (_, old) = world.admin.get(&format!("/v1/tasks/{offboarding_id}")).await;
    assert_eq!(old["status"], "completed", "the old cycle's task is not reopened");
}

#[tokio::test]
async fn hr_field_changes_update_the_open_task_and_open_nothing() {
    let world = set_up(&[]).await;
    let hired =
        world.fake.hire(json!({"firstName": "Kim", "lastName": "Lee", "city": "Austin", "address1": "1 A St"})).await;
    world.sync().await;
    world.fake.change(hired, json!({"city": "Boston", "jobTitle": "Designer", "department": "Design"})).await;
    world.sync().await;
    let kim = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!((kim["hr"]["title"].as_str(), kim["hr"]["department"].as_str()), (Some("Designer"), Some("Design")));
    let tasks = tasks_of(&world, kim["id"].as_str().unwrap(), "").await;
    assert_eq!(tasks.len(), 1);
    let laptop = tasks[0]["items"].as_array().unwrap().iter().find(|i| i["id"] == "device-laptop").unwrap();
    assert_eq!(laptop["shipping_address"]["city"], "Boston");
}

#[tokio::test]
async fn the_same_change_twice_or_out_of_order_reaches_the_same_state() {
    let world = set_up(&[]).await;
    let hired = world.fake.hire(json!({"firstName": "Ana", "lastName": "Silva", "city": "Lisbon"})).await;
    let stack = &world.stack;
    let provider = stack.secrets.connect(&world.connection, stack.http.clone(), &stack.store).await.unwrap();
    let first = provider.fetch(&hired.to_string()).await.unwrap().unwrap();
    let at_first = Utc::now();
    world.fake.change(hired, json!({"city": "Porto"})).await;
    let second = provider.fetch(&hired.to_string()).await.unwrap().unwrap();
    let at_second = Utc::now();
    let older = observed(&world.tenant, &world.connection.id, first, at_first);
    let newer = observed(&world.tenant, &world.connection.id, second, at_second);
    // Newest first, then the older one, then both again.
    for observation in [&newer, &older, &newer, &older] {
        stack.worker().apply(observation.clone()).await.unwrap();
    }
    let ana = world.admin.employee_by_hr_id(&hired.to_string()).await;
    assert_eq!(ana["hr"]["home_address"]["city"], "Porto");
    assert_eq!(ana["version"], 1, "one write: the rest were stale or unchanged");
    assert_eq!(tasks_of(&world, ana["id"].as_str().unwrap(), "").await.len(), 1);
}

#[tokio::test]
async fn playbooks_choose_the_checklist_of_new_tasks() {
    let world = set_up(&[]).await;
    let (status, default) = world.admin.get("/v1/playbooks").await;
    assert_eq!(status, 200);
    assert!(default["onboarding"].as_array().unwrap().iter().any(|i| i["id"] == "device-laptop"));

    let custom = json!({
        "onboarding": [{"id": "device-phone", "kind": "device", "name": "Phone", "detail": "Pixel"}],
        "offboarding": [{"id": "revoke-all", "kind": "revoke_access", "name": "Revoke everything"}],
        "rules": [{"name": "Sales", "when": {"department": "sales"},
                   "onboarding": [{"id": "app-crm", "kind": "application", "name": "CRM"}]}]
    });
    let (status, body) = world.admin.put("/v1/playbooks", custom.clone()).await;
    assert_eq!(status, 200, "{body}");
    let hired = world.fake.hire(json!({"firstName": "Lou", "lastName": "Ma", "department": "Sales"})).await;
    world.sync().await;
    let lou = world.admin.employee_by_hr_id(&hired.to_string()).await;
    let task = &tasks_of(&world, lou["id"].as_str().unwrap(), "").await[0];
    let ids: Vec<&str> = task["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["device-phone", "app-crm"]);

    let wrong_kind = json!({"onboarding": [{"id": "x", "kind": "recover_device", "name": "X"}], "offboarding": []});
    assert_eq!(world.admin.put("/v1/playbooks", wrong_kind).await.0, 400);
    let unknown_field = json!({"onboarding": [], "offboarding": [], "colour": "blue"});
    assert_eq!(world.admin.put("/v1/playbooks", unknown_field).await.0, 400);
    let (_, stored) = world.admin.get("/v1/playbooks").await;
    assert_eq!(stored["onboarding"], custom["onboarding"], "a refused write changes nothing");
}
