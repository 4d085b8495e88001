//! The domain-event contract: `docs/events.md` is generated from the event types, and every event a full
//! lifecycle publishes on the bus (captured through an EventBridge rule into a queue on moto) validates against
//! the schema of its `detail-type` there, with no field the schema does not name.

use chrono::{Duration, Utc};
use integration_tests::*;
use ithub::events::EventKind;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The catalogue as `docs/events.md` holds it.
fn catalogue() -> String {
    let mut doc = String::from(
        "# Domain events\n\n\
         IT Hub publishes these on its EventBridge bus with `source` `ithub`. Each event's `detail-type` is its name\n\
         below and its `detail` a JSON object that carries `event_id` (the same on every publication of the event:\n\
         drop an id already seen), `tenant_id`, `occurred_at` and `type` (the name again), beside the payload.\n\
         Personal data (names, emails, phones, addresses) is never in an event: read the employee through the admin\n\
         API by `employee_id`. New fields may be added; a consumer should ignore fields it does not know.\n\n\
         Generated from `shared/src/events.rs` (`make docs`); a test fails when this file is stale.\n\n\
         | detail-type | when |\n| --- | --- |\n",
    );
    let schemas = ithub::events::schemas();
    for (kind, _) in &schemas {
        doc.push_str(&format!("| `{}` | {} |\n", kind.name(), kind.meaning()));
    }
    for (kind, schema) in &schemas {
        // Keys in order whatever serde_json's `preserve_order` (which a test dependency turns on) says.
        let mut schema = serde_json::to_value(schema).expect("a schema is JSON");
        sort_keys(&mut schema);
        let pretty = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
        doc.push_str(&format!("\n## `{}`\n\n{}\n\n```json\n{pretty}\n```\n", kind.name(), kind.meaning()));
    }
    doc
}

#[test]
fn the_committed_event_catalogue_is_current() {
    let generated = catalogue();
    if std::env::var("UPDATE_DOCS").is_ok() {
        std::fs::write(EVENTS_DOC, &generated).expect("write docs/events.md");
    }
    let committed = std::fs::read_to_string(EVENTS_DOC).unwrap_or_default();
    assert!(committed == generated, "docs/events.md is stale: run `make docs`");
}

/// Every event the tap has received so far (they stay on the tap queue for 30 s after a read).
async fn published(stack: &Stack, tap: &str) -> Vec<Value> {
    peek(stack, tap).await.iter().map(|body| serde_json::from_str(body).unwrap()).collect()
}

#[tokio::test]
async fn every_event_of_a_whole_lifecycle_matches_its_documented_schema() {
    let world = World::new((1..=4).map(|n| (n, person(&format!("P{n}"), "Test", "Engineering"))).collect()).await;
    let tap = tap(&world.stack).await;
    world.sync().await;
    let admin = &world.admin;

    // Setup, an edit of IT's fields, a hire worked through to completion, an HR change, a termination worked
    // through, a hire terminated at once, and an immediate offboarding.
    let set_up = admin.employee_by_hr_id("1").await["id"].clone();
    assert_eq!(admin.post("/v1/employees/setup", json!({ "employee_ids": [set_up] })).await.0, 200);
    let path = format!("/v1/employees/{}", set_up.as_str().unwrap());
    assert_eq!(admin.patch(&path, json!({"label": "VIP"})).await.0, 200);
    let hired = world.fake.hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "IT"})).await;
    world.sync().await;
    let onboarding = admin.all("/v1/tasks?kind=onboarding").await.remove(0);
    let task = onboarding["id"].as_str().unwrap();
    admin.tick_all(task).await;
    assert_eq!(admin.post(&format!("/v1/tasks/{task}/complete"), json!({"hub_access": true})).await.0, 200);
    world.fake.change(hired, json!({"jobTitle": "SRE"})).await;
    world.fake.terminate(1, Utc::now().date_naive() + Duration::days(3)).await;
    world.sync().await;
    let offboarding = admin.all("/v1/tasks?kind=offboarding").await.remove(0);
    let task = offboarding["id"].as_str().unwrap();
    admin.tick_all(task).await;
    assert_eq!(admin.post(&format!("/v1/tasks/{task}/complete"), json!({})).await.0, 200);
    // A hire terminated before onboarding is done: the onboarding is cancelled.
    let brief = world.fake.hire(json!({"firstName": "Ola", "lastName": "Brief", "department": "IT"})).await;
    world.sync().await;
    world.fake.terminate(brief, Utc::now().date_naive()).await;
    world.sync().await;
    let other = admin.employee_by_hr_id("2").await["id"].clone();
    let path = format!("/v1/employees/{}/offboard", other.as_str().unwrap());
    assert_eq!(admin.post(&path, json!({"reason": "left early"})).await.0, 201);

    let events = published(&world.stack, &tap).await;
    let seen: BTreeSet<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    let all: BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(seen, all, "the lifecycle publishes every kind of event");
    assert_events_match_their_schemas(&events);
    let text = serde_json::to_string(&events).unwrap();
    for personal in ["Nia", "Okafor", "Ola", "Brief", "P1", "@acme.example"] {
        assert!(!text.contains(personal), "no personal data in events: {personal}");
    }
}

#[tokio::test]
async fn an_edit_of_it_fields_publishes_which_fields_changed_but_not_their_values() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let tap = tap(&world.stack).await;
    world.sync().await;
    let id = world.admin.employee_by_hr_id("1").await["id"].as_str().unwrap().to_owned();
    let (status, _) = world.admin.patch(&format!("/v1/employees/{id}"), json!({"it_notes": "loaner 4471"})).await;
    assert_eq!(status, 200);
    let events = published(&world.stack, &tap).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0]["detail"];
    assert_eq!(
        (events[0]["detail-type"].as_str(), detail["employee_id"].as_str()),
        (Some("employee.fields_updated"), Some(id.as_str()))
    );
    assert_eq!(detail["fields"], json!(["it_notes"]));
    assert!(!events[0].to_string().contains("loaner 4471"), "the value stays in the hub");
    assert_events_match_their_schemas(&events);
}

#[tokio::test]
async fn checklist_progress_publishes_an_event_per_item_with_what_is_left() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    world.sync().await;
    let tap = tap(&world.stack).await;
    world.fake.hire(json!({"firstName": "Nia", "lastName": "Okafor", "department": "IT"})).await;
    world.sync().await;
    let task = world.admin.all("/v1/tasks").await.remove(0);
    let (id, items) = (task["id"].as_str().unwrap(), task["open_items"].as_array().unwrap().clone());
    for item in &items {
        let path = format!("/v1/tasks/{id}/items/{}", item.as_str().unwrap());
        assert_eq!(world.admin.patch(&path, json!({"status": "done"})).await.0, 200);
    }
    let events = published(&world.stack, &tap).await;
    let mut left: Vec<u64> = events
        .iter()
        .filter(|e| e["detail-type"] == "task.item_updated")
        .map(|e| e["detail"]["open_items"].as_u64().unwrap())
        .collect();
    left.sort_unstable();
    let expected: Vec<u64> = (0..items.len() as u64).collect();
    assert_eq!(left, expected, "one event per item, counting down to none open");
    assert_events_match_their_schemas(&events);
}
