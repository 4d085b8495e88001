//! What the audit trail keeps of people, and for how long: no phone, private email or home address in its
//! snapshots, and every entry, and every sync run's record, expires (DynamoDB TTL) after the retention, 400 days
//! unless configured.

use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn audit_entries_keep_no_private_contact_details_and_expire_after_the_retention() {
    let mut ada = person("Ada", "Lovelace", "Engineering");
    ada["mobilePhone"] = json!("+1 555 0100 777");
    ada["addressLineOne"] = json!("12 Sentinel Lane");
    let world = World::new(vec![(1, ada)]).await;
    world.sync().await;
    world.set_up(&["1"]).await;
    world.fake.change(1, json!({"jobInformationDepartment": "Research", "mobilePhone": "+1 555 0199 888"})).await;
    world.sync().await;

    let employee = world.admin.employee_by_hr_id("1").await;
    assert_eq!(employee["hr"]["phone"], "+1 555 0199 888", "the employee keeps the phone: {employee}");
    let id = employee["id"].as_str().unwrap();
    let trail = world.admin.all(&format!("/v1/audit?employee_id={id}")).await;
    assert!(trail.len() >= 2, "{trail:?}");
    let text = serde_json::to_string(&trail).unwrap();
    for private in ["555 0100 777", "555 0199 888", "Sentinel Lane"] {
        assert!(!text.contains(private), "the audit trail keeps {private}: {text}");
    }
    assert!(text.contains("Research"), "it keeps the work fields: {text}");

    let items = world.stack.dynamodb.scan().table_name(&world.stack.deployed.table).send().await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut audited = 0;
    let mut runs = 0;
    for item in items.items.unwrap_or_default() {
        if item.contains_key("run_id") && item.contains_key("checkpoint") {
            // Run records (a preview keeps a few names) expire with the audit trail.
            runs += 1;
            let expires: i64 = item["expires_at"].as_n().expect("a run's TTL").parse().unwrap();
            let days = (expires - now) as f64 / 86_400.0;
            assert!((399.9..400.1).contains(&days), "a run expires in {days} days");
            continue;
        }
        if !item.contains_key("action") || !item.contains_key("actor") {
            continue;
        }
        audited += 1;
        let expires: i64 = item["expires_at"].as_n().expect("a TTL number").parse().unwrap();
        let days = (expires - now) as f64 / 86_400.0;
        assert!((399.9..400.1).contains(&days), "expires in {days} days");
    }
    assert!(audited >= trail.len(), "every audit entry was found ({audited})");
    assert!(runs >= 2, "both runs were found ({runs})");
}

/// Admin keys and SCIM tokens are stored hashed: nothing in the table holds one as it was given out.
#[tokio::test]
async fn no_admin_key_or_scim_token_is_stored_as_given() {
    let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let request = json!({"provider": "scim", "settings": {}, "credentials": {}});
    let (status, created) = world.admin.post("/v1/connections", request).await;
    assert_eq!(status, 201, "{created}");
    let token = created["scim_token"].as_str().expect("a SCIM token, shown once").to_owned();
    let (status, _) = world.admin.get("/v1/employees").await;
    assert_eq!(status, 200, "the key works");

    let mut start = None;
    let mut items = 0;
    loop {
        let page = world
            .stack
            .dynamodb
            .scan()
            .table_name(&world.stack.deployed.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            items += 1;
            let text = format!("{item:?}");
            assert!(!text.contains(&world.admin.key), "an admin key is stored as given: {text}");
            assert!(!text.contains(&token), "a SCIM token is stored as given: {text}");
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert!(items > 3, "the table was read ({items} items)");
}
