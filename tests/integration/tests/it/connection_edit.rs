//! Editing a connection through the admin API (`PATCH /v1/connections/{id}`): a rotated API key, settings and the
//! schedule, checked as a new connection's are; the connection, its employees and its runs stay; the audit keeps
//! no credential.

use integration_tests::*;
use serde_json::{Value, json};

async fn setup() -> (Stack, Admin, fake_hr::FakeBamboo, String, String) {
    let stack = stack().await;
    let (_, key) = tenant(&stack).await;
    let api = serve(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let admin = Admin::new(&api, &key);
    let (status, created) = admin.post("/v1/connections", fake.connection_request()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    (stack, admin, fake, api, id)
}

/// "Sync now", run by the worker to its end; the run as the API then shows it.
async fn sync_now(stack: &Stack, admin: &Admin, id: &str) -> Value {
    let (status, queued) = admin.post(&format!("/v1/connections/{id}/sync"), json!({})).await;
    assert_eq!(status, 202, "{queued}");
    drain(stack).await;
    let run_url = queued["run_url"].as_str().unwrap();
    admin.get(run_url).await.1
}

/// The tenant's `connection.updated` audit entries, newest first.
async fn edits(admin: &Admin) -> Vec<Value> {
    admin.all("/v1/audit").await.into_iter().filter(|e| e["action"] == "connection.updated").collect()
}

#[tokio::test]
async fn a_rotated_api_key_sent_by_patch_makes_the_next_run_succeed_where_the_old_key_fails() {
    let (stack, admin, fake, _, id) = setup().await;
    let path = format!("/v1/connections/{id}");
    assert_eq!(sync_now(&stack, &admin, &id).await["status"], "succeeded", "the first import");
    let secret_id = stored(&stack, &id).await.secret_id;
    let webhook_secrets = stack.secrets.get_fresh(&secret_id).await.unwrap().webhook_secrets;

    // BambooHR issues a new key and refuses the old one: the connection's runs fail until it is given the new key.
    let new_key = fake.rotate_api_key();
    let failed = sync_now(&stack, &admin, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"], "the HR system refused our credentials (HTTP 401)");

    let (status, edited) = admin.patch(&path, json!({"credentials": {"api_key": new_key}})).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["id"], id.as_str(), "the same connection");
    assert!(!edited.to_string().contains(&new_key), "the credential is not shown back: {edited}");
    assert_eq!(edited, admin.get(&path).await.1, "answered as GET shows it");

    // The worker, which read the old key before, signs in with the new one.
    hire_in(&fake, "Grace", "Hopper").await;
    let run = sync_now(&stack, &admin, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(admin.all("/v1/employees").await.len(), 2, "the employees stay, and the new hire is read");
    assert_eq!(admin.all(&format!("{path}/runs")).await.len(), 3, "the runs stay");
    let stored = stack.secrets.get_fresh(&secret_id).await.unwrap();
    assert_eq!(stored.webhook_secrets, webhook_secrets, "the webhook secrets stay");

    // Audited, without the credential; DynamoDB holds no credential either.
    let audit = edits(&admin).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["connection_id"], id.as_str());
    assert_eq!(audit[0]["after"]["credentials_replaced"], true, "{}", audit[0]);
    let text = audit[0].to_string();
    assert!(!text.contains(&new_key) && !text.contains(FAKE_KEY), "the audit holds a credential: {text}");
    let items = stack.dynamodb.scan().table_name(&stack.deployed.table).send().await.unwrap();
    let dump = format!("{:?}", items.items);
    assert!(!dump.contains(&new_key), "DynamoDB holds the new key");
}

#[tokio::test]
async fn a_schedule_and_settings_edit_shows_on_get_keeps_the_rest_and_is_audited_before_and_after() {
    let (stack, admin, fake, _, id) = setup().await;
    let path = format!("/v1/connections/{id}");
    sync_now(&stack, &admin, &id).await;
    let before = admin.get(&path).await.1;

    let schedule = json!({"poll_interval_minutes": 30, "full_sync_interval_hours": 12, "safeguard_percent": 20});
    let (status, edited) = admin.patch(&path, json!({"schedule": schedule})).await;
    assert_eq!(status, 200, "{edited}");
    let shown = admin.get(&path).await.1;
    assert_eq!(shown["schedule"], schedule, "{shown}");
    assert_eq!(shown["settings"], before["settings"], "settings not sent stay");
    assert_eq!((&shown["created_at"], &shown["webhook_url"]), (&before["created_at"], &before["webhook_url"]));

    // Settings replaced whole; the schedule stays as last set, and the connection still syncs with its key.
    let settings = json!({"company_domain": "acme-hr", "base_url": fake.base_url()});
    let (status, edited) = admin.patch(&path, json!({"settings": settings})).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!((&edited["settings"], &edited["schedule"]), (&settings, &schedule));
    assert_eq!(sync_now(&stack, &admin, &id).await["status"], "succeeded");
    assert_eq!(admin.all("/v1/employees").await.len(), 1);

    let audit = edits(&admin).await;
    assert_eq!(audit.len(), 2);
    let (settings_edit, schedule_edit) = (&audit[0], &audit[1]);
    assert_eq!(schedule_edit["before"]["schedule"]["poll_interval_secs"], Value::Null);
    assert_eq!(schedule_edit["after"]["schedule"]["poll_interval_secs"], 1800);
    assert_eq!(schedule_edit["after"]["credentials_replaced"], false);
    assert_eq!(settings_edit["after"]["settings"]["base_url"], settings["base_url"], "{settings_edit}");
    assert!(!settings_edit.to_string().contains(FAKE_KEY));
}

#[tokio::test]
async fn a_bad_edit_names_each_field_changes_nothing_and_another_tenant_finds_no_connection() {
    let (stack, admin, _, api, id) = setup().await;
    let path = format!("/v1/connections/{id}");
    let before = admin.get(&path).await.1;
    // Well formed, with fields at fault: each named, as on connecting.
    for (body, field) in [
        (json!({"settings": {"company_domain": "acme inc/../x"}}), "settings.company_domain"),
        (json!({"credentials": {"api_key": ""}}), "credentials.api_key"),
        (json!({"settings": {"company_domain": "acme", "base_url": "ftp://example.com"}}), "settings.base_url"),
        (json!({"schedule": {"poll_interval_minutes": 0}}), "schedule.poll_interval_minutes"),
    ] {
        let (status, problem) = admin.patch(&path, body.clone()).await;
        assert_eq!(status, 400, "{field}: {problem}");
        assert_eq!(problem["type"], "urn:ithub:problem:invalid-fields", "{field}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert!(!problem.to_string().contains("acme inc"), "no value is quoted back: {problem}");
    }
    // Well formed for some connection, not for this one (another HR system's fields, a provider): refused as not
    // fitting it (409), each part named.
    for (body, field) in [
        (json!({"settings": {"company_domain": "acme", "region": "eu"}}), "settings"),
        (json!({"credentials": {"service_user_id": "u", "service_user_token": "t"}}), "credentials"),
        (json!({"provider": "hibob"}), "provider"),
    ] {
        let (status, problem) = admin.patch(&path, body.clone()).await;
        assert_eq!(status, 409, "{field}: {problem}");
        assert_eq!(problem["type"], "urn:ithub:problem:not-this-connections-fields", "{field}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with(&format!("{field}:"))), "{problem}");
    }
    // Not an edit at all.
    for body in [json!({"colour": "blue"}), json!({"schedule": [30]}), json!({"credentials": "s3cr3t"})] {
        let (status, problem) = admin.patch(&path, body.clone()).await;
        assert_eq!((status, problem["type"].as_str()), (400, Some("urn:ithub:problem:bad-request")), "{body}");
        assert!(!problem.to_string().contains("s3cr3t"), "{problem}");
    }
    assert_eq!(admin.get(&path).await.1, before, "nothing changed");
    assert!(edits(&admin).await.is_empty(), "nothing audited");

    let (_, other_key) = tenant(&stack).await;
    let other = Admin::new(&api, &other_key);
    let (status, _) = other.patch(&path, json!({"schedule": {"poll_interval_minutes": 5}})).await;
    assert_eq!(status, 404, "another tenant's connection is not found");
    assert_eq!(admin.patch("/v1/connections/nonsense", json!({})).await.0, 404);
    assert_eq!(admin.get(&path).await.1, before, "still as it was");
}

/// Connection `id` as stored.
async fn stored(stack: &Stack, id: &str) -> ithub::store::Connection {
    let id = ithub::domain::ConnectionId::parse(id).expect("a connection id");
    stack.store.find_connection(&id).await.unwrap().expect("the connection")
}

async fn hire_in(fake: &fake_hr::FakeBamboo, first: &str, last: &str) {
    let mut fields = person(first, last, "Engineering");
    fields["hireDate"] = json!(chrono::Utc::now().date_naive().to_string());
    fake.hire(fields).await;
}
