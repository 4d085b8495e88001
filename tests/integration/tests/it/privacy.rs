//! What the audit trail keeps of people, and for how long: no phone, private email or home address in its
//! snapshots, and every entry expires (DynamoDB TTL) after the retention, 400 days unless configured.

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
    for item in items.items.unwrap_or_default() {
        if !item.contains_key("action") || !item.contains_key("actor") {
            continue;
        }
        audited += 1;
        let expires: i64 = item["expires_at"].as_n().expect("a TTL number").parse().unwrap();
        let days = (expires - now) as f64 / 86_400.0;
        assert!((399.9..400.1).contains(&days), "expires in {days} days");
    }
    assert!(audited >= trail.len(), "every audit entry was found ({audited})");
}
