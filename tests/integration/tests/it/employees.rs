//! Employees through the admin API: HR owns its fields, IT owns its notes, and lists filter.

use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn hr_owned_fields_are_refused_with_the_reason_and_nothing_is_applied() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    world.sync().await;
    let ada = world.admin.employee_by_hr_id("1").await;
    let path = format!("/v1/employees/{}", ada["id"].as_str().unwrap());

    let (status, problem) = world.admin.patch(&path, json!({"first_name": "Augusta", "it_notes": "VIP"})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:ithub:problem:hr-owned-field");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("first_name") && detail.contains("BambooHR"), "says which field and where: {detail}");
    let (_, unchanged) = world.admin.get(&path).await;
    assert_eq!(unchanged["hr"]["first_name"], "Ada");
    assert!(unchanged["fields"].get("it_notes").is_none(), "the allowed part of a refused request is not applied");
    assert_eq!(unchanged["version"], ada["version"]);

    let (status, _) = world.admin.patch(&path, json!({"hr": {"first_name": "Augusta"}})).await;
    assert_eq!(status, 409);
    let (status, problem) = world.admin.patch(&path, json!({"shoe_size": 9})).await;
    assert_eq!((status, problem["type"].as_str()), (400, Some("urn:ithub:problem:bad-request")));
    let (status, _) = world.admin.patch(&path, json!({"label": "x".repeat(65)})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn it_notes_and_labels_are_written_audited_and_survive_hr_syncs() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    world.sync().await;
    let id = world.admin.employee_by_hr_id("1").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/employees/{id}");
    let (status, body) = world.admin.patch(&path, json!({"it_notes": "Needs a standing desk", "label": "vip"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fields"]["label"], "vip");

    world.fake.change(1, json!({"jobTitle": "Countess"})).await;
    world.sync().await;
    let (_, after) = world.admin.get(&path).await;
    assert_eq!(after["hr"]["title"], "Countess");
    assert_eq!(after["fields"]["it_notes"], "Needs a standing desk", "an HR sync keeps what IT wrote");

    let (status, cleared) = world.admin.patch(&path, json!({"label": null})).await;
    assert_eq!(status, 200);
    assert!(cleared["fields"].get("label").is_none());
    assert_eq!(cleared["fields"]["it_notes"], "Needs a standing desk");
    let trail = world.admin.all(&format!("/v1/audit?employee_id={id}")).await;
    let edits = trail.iter().filter(|a| a["action"] == "employee.fields_updated").count();
    assert_eq!(edits, 2);
}

#[tokio::test]
async fn lists_filter_by_status_department_license_setup_and_text() {
    let people = vec![
        (1, person("Ada", "Lovelace", "Engineering")),
        (2, person("Grace", "Hopper", "Engineering")),
        (3, person("Mary", "Jackson", "Sales")),
        (4, person("Katherine", "Johnson", "Sales")),
    ];
    let world = World::new(people).await;
    world.sync().await;
    let grace = world.admin.employee_by_hr_id("2").await["id"].clone();
    let (status, _) = world.admin.post("/v1/employees/setup", json!({"employee_ids": [grace]})).await;
    assert_eq!(status, 200);

    let names = |items: Vec<serde_json::Value>| {
        let mut names: Vec<String> = items.iter().map(|e| e["hr"]["first_name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(world.admin.all("/v1/employees?department=Sales").await), ["Katherine", "Mary"]);
    assert_eq!(names(world.admin.all("/v1/employees?license=true").await), ["Grace"]);
    assert_eq!(names(world.admin.all("/v1/employees?set_up=false").await), ["Ada", "Katherine", "Mary"]);
    assert_eq!(names(world.admin.all("/v1/employees?status=active").await), ["Grace"]);
    assert_eq!(names(world.admin.all("/v1/employees?q=JACK").await), ["Mary"], "names, ignoring case");
    assert_eq!(names(world.admin.all("/v1/employees?q=grace%40acme").await), ["Grace"], "and emails");
    assert_eq!(names(world.admin.all("/v1/employees?department=Engineering&set_up=true").await), ["Grace"]);
    let (status, _) = world.admin.get("/v1/employees?status=retired").await;
    assert_eq!(status, 400);
}
