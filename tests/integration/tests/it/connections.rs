//! HR connections through the admin API: credentials and webhook secrets go to Secrets Manager (moto) and never
//! come back; the connection syncs; rotation keeps the previous secret valid once; deletion stops syncing.

use chrono::Utc;
use integration_tests::*;
use serde_json::json;

const CREDENTIAL: &str = FAKE_KEY;

async fn signed_post(url: &str, secret: &str) -> u16 {
    let body =
        json!({"type": "employee.updated", "data": {"employeeId": "1"}, "nonce": uuid::Uuid::new_v4().to_string()})
            .to_string();
    let ts = Utc::now().timestamp().to_string();
    let response = reqwest::Client::new()
        .post(url)
        .header("x-bamboohr-timestamp", &ts)
        .header("x-bamboohr-signature", fake_hr::sign(secret, &body, &ts))
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// Whether a delivery signed with `secret` is accepted, as an HR system that retries a refused delivery would find:
/// the webhook function keeps its own copy of the secrets (as in AWS, where it is another Lambda than the admin
/// API's), and after a failed signature reads them again at most every 10 seconds.
async fn accepted_after_retries(url: &str, secret: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if signed_post(url, secret).await == 202 {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

async fn create(admin: &Admin, fake: &fake_hr::FakeBamboo) -> (u16, serde_json::Value) {
    admin.post("/v1/connections", fake.connection_request()).await
}

async fn setup() -> (Stack, Admin, fake_hr::FakeBamboo, String) {
    let stack = stack().await;
    let (_, key) = tenant(&stack).await;
    let api = serve(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    (stack, Admin::new(&api, &key), fake, api)
}

#[tokio::test]
async fn a_connection_made_through_the_api_syncs_and_never_shows_its_secrets_again() {
    let (stack, admin, fake, _) = setup().await;
    let (status, created) = create(&admin, &fake).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let webhook_url = created["webhook_url"].as_str().unwrap().to_owned();
    // BambooHR issues the key: connecting registered IT Hub's webhook, whose key IT Hub keeps and never shows.
    assert!(created.get("webhook_secret").is_none(), "{created}");
    let secret = fake.webhook_key(&webhook_url).expect("the key BambooHR issued");
    assert_eq!(created["check"]["ok"], true, "{created}");
    assert!(webhook_url.ends_with(&format!("/webhooks/{id}")), "{webhook_url}");
    assert!(created.get("credentials").is_none() && !created.to_string().contains(FAKE_KEY));
    assert_eq!((created["provider"].as_str(), created["provider_name"].as_str()), (Some("bamboohr"), Some("BambooHR")));
    assert_eq!(created["settings"]["company_domain"], FAKE_COMPANY);

    let report = stack.poll(chrono::Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    assert_eq!(report.started, 1);
    drain(&stack).await;
    let run = runs(&admin, &id).await.remove(0);
    assert_eq!(run["status"], "succeeded", "the run signs in with the stored credential: {run}");
    assert_eq!(admin.all("/v1/employees").await.len(), 1);

    // The webhook URL works with the secret given out (the test server stands in for the public URL's host).
    let local = format!("{}/webhooks/{id}", admin.base);
    assert_eq!(signed_post(&local, &secret).await, 202);

    for path in ["/v1/connections".to_owned(), format!("/v1/connections/{id}")] {
        let (status, body) = admin.get(&path).await;
        assert_eq!(status, 200);
        let text = body.to_string();
        assert!(!text.contains(CREDENTIAL) && !text.contains(&secret), "{path} shows a secret: {text}");
        assert!(text.contains(&id));
    }
    let stored = stack.dynamodb.scan().table_name(&stack.deployed.table).send().await.unwrap();
    let dump = format!("{:?}", stored.items);
    assert!(!dump.contains(CREDENTIAL) && !dump.contains(&secret), "DynamoDB holds no secret");
}

#[tokio::test]
async fn rotation_keeps_the_previous_secret_valid_until_the_next_rotation() {
    let (_, admin, fake, _) = setup().await;
    let (_, created) = create(&admin, &fake).await;
    let id = created["id"].as_str().unwrap();
    let url = format!("{}/webhooks/{id}", admin.base);
    let first = fake.webhook_key(&url).expect("the key BambooHR issued");

    // Each rotation registers a new webhook, whose key BambooHR issues.
    let (status, rotated) = admin.post(&format!("/v1/connections/{id}/rotate-webhook-secret"), json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let second = fake.webhook_key(&url).expect("the new key");
    assert_ne!(first, second);
    assert_eq!(signed_post(&url, &second).await, 202);
    assert_eq!(signed_post(&url, &first).await, 202, "the previous secret still works");

    let (status, again) = admin.post(&format!("/v1/connections/{id}/rotate-webhook-secret"), json!({})).await;
    assert_eq!(status, 200, "{again}");
    let third = fake.webhook_key(&url).expect("the third key");
    assert!(accepted_after_retries(&url, &third).await, "the new secret works");
    assert_eq!(signed_post(&url, &second).await, 202);
    assert_eq!(signed_post(&url, &first).await, 401, "two rotations later the first secret is dead");
}

#[tokio::test]
async fn deleting_a_connection_stops_syncing_and_keeps_the_employees() {
    let (stack, admin, fake, _) = setup().await;
    let (_, created) = create(&admin, &fake).await;
    let id = created["id"].as_str().unwrap();
    let secret = &fake.webhook_key(&format!("{}/webhooks/{id}", admin.base)).expect("the key BambooHR issued");
    stack.poll(chrono::Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    drain(&stack).await;

    let response = reqwest::Client::new()
        .delete(format!("{}/v1/connections/{id}", admin.base))
        .bearer_auth(&admin.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let report = stack.poll(chrono::Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    assert_eq!((report.connections, report.started), (0, 0), "no longer polled");
    assert_eq!(signed_post(&format!("{}/webhooks/{id}", admin.base), secret).await, 401, "answered as a stranger");
    assert_eq!(admin.all("/v1/employees").await.len(), 1, "the employees stay");
    assert_eq!(admin.get(&format!("/v1/connections/{id}")).await.0, 404);
}

#[tokio::test]
async fn bad_connections_are_refused_and_other_tenants_connections_are_not_found() {
    let (stack, admin, fake, api) = setup().await;
    let good = fake.connection_request();
    // Not a connection request at all: 400 saying what is wrong with the body.
    let mut malformed = Vec::new();
    for (case, edit) in [
        ("unknown provider", ("", "provider", json!("peoplesoft"))),
        ("unknown field", ("", "colour", json!("blue"))),
        ("unknown setting", ("/settings", "region", json!("eu"))),
    ] {
        let (parent, field, value) = edit;
        let mut body = good.clone();
        body.pointer_mut(parent).unwrap()[field] = value;
        malformed.push((case, body));
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("credentials");
    malformed.push(("no credentials", missing));
    for (case, body) in malformed {
        let (status, problem) = admin.post("/v1/connections", body).await;
        assert_eq!(status, 400, "{case}: {problem}");
        assert_eq!(problem["type"], "urn:ithub:problem:bad-request", "{case}: {problem}");
    }
    // Well formed, with fields at fault: each is named.
    for (parent, name, value, field) in [
        ("/settings", "company_domain", json!("acme inc/../x"), "settings.company_domain"),
        ("/credentials", "api_key", json!(""), "credentials.api_key"),
        ("/settings", "base_url", json!("ftp://example.com"), "settings.base_url"),
        ("", "schedule", json!({"poll_interval_minutes": 0}), "schedule.poll_interval_minutes"),
    ] {
        let mut body = good.clone();
        body.pointer_mut(parent).unwrap()[name] = value;
        let (status, problem) = admin.post("/v1/connections", body).await;
        assert_eq!(status, 400, "{field}: {problem}");
        assert_eq!(problem["type"], "urn:ithub:problem:invalid-fields", "{field}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert!(admin.get("/v1/connections").await.1["items"].as_array().unwrap().is_empty(), "nothing was created");

    let (_, created) = admin.post("/v1/connections", good).await;
    let id = created["id"].as_str().unwrap();
    let (_, other_key) = tenant(&stack).await;
    let other = Admin::new(&api, &other_key);
    assert_eq!(other.get(&format!("/v1/connections/{id}")).await.0, 404);
    assert_eq!(other.post(&format!("/v1/connections/{id}/rotate-webhook-secret"), json!({})).await.0, 404);
    assert!(other.get("/v1/connections").await.1["items"].as_array().unwrap().is_empty());
    assert_eq!(admin.get(&format!("/v1/connections/{id}")).await.0, 200, "still there for its owner");
}

async fn runs(admin: &Admin, id: &str) -> Vec<serde_json::Value> {
    admin.all(&format!("/v1/connections/{id}/runs")).await
}

#[tokio::test]
async fn sync_now_is_queued_run_by_the_worker_and_recorded_with_its_counts() {
    let (stack, admin, fake, _) = setup().await;
    let (_, created) = create(&admin, &fake).await;
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, queued) = admin.post(&format!("/v1/connections/{id}/sync"), json!({})).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!((queued["status"].as_str(), queued["started"].as_bool()), (Some("queued"), Some(true)));
    assert_eq!(queued["mode"], "full", "a connection's first run is always its full import");
    let run_id = queued["run_id"].as_str().unwrap().to_owned();
    let listed = runs(&admin, &id).await;
    assert_eq!((listed.len(), listed[0]["run_id"].as_str()), (1, Some(run_id.as_str())));
    assert_eq!(listed[0]["status"], "queued");
    // Asked again while it is queued: the same run is the answer.
    let (_, again) = admin.post(&format!("/v1/connections/{id}/sync"), serde_json::Value::Null).await;
    assert_eq!((again["run_id"].as_str(), again["started"].as_bool()), (Some(run_id.as_str()), Some(false)));

    drain(&stack).await; // runs the sync, then applies what it queued
    let (status, run) = admin.get(queued["run_url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!((run["counts"]["seen"].as_u64(), run["counts"]["imported"].as_u64()), (Some(1), Some(1)));
    assert!(run["ended_at"].is_string());
    assert_eq!(admin.all("/v1/employees").await.len(), 1);
    assert_eq!(admin.get(&format!("/v1/connections/{id}/runs/run_0000000000000000")).await.0, 404);

    // The schedule records its runs too; a failing HR system is recorded as a failed run.
    fake.inject(fake_hr::Fault::status(500));
    stack.poll(chrono::Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    drain(&stack).await;
    let latest = runs(&admin, &id).await.remove(0);
    assert_eq!((latest["trigger"].as_str(), latest["status"].as_str()), (Some("schedule"), Some("failed")));
    assert!(latest["error"].as_str().unwrap().contains("500"), "{latest}");
    assert_eq!(runs(&admin, &id).await.len(), 2, "newest first, both kept");
}

#[tokio::test]
async fn a_poll_interval_spaces_out_scheduled_polls_and_lists_page() {
    let (stack, admin, fake, _) = setup().await;
    let base = fake.connection_request();
    let mut hourly = base.clone();
    hourly["schedule"] = json!({"poll_interval_minutes": 60, "full_sync_interval_hours": 12, "safeguard_percent": 20});
    let (status, slow) = admin.post("/v1/connections", hourly).await;
    assert_eq!(status, 201, "{slow}");
    assert_eq!(
        slow["schedule"],
        json!({"poll_interval_minutes": 60, "full_sync_interval_hours": 12, "safeguard_percent": 20})
    );
    let (_, every_tick) = admin.post("/v1/connections", base.clone()).await;
    for bad in [
        json!({"poll_interval_minutes": 0}),
        json!({"full_sync_interval_hours": 721}),
        json!({"safeguard_percent": 101}),
    ] {
        let mut request = base.clone();
        request["schedule"] = bad.clone();
        assert_eq!(admin.post("/v1/connections", request).await.0, 400, "{bad}");
    }

    let schedule = || stack.poll(chrono::Utc::now(), ithub::schedule::Tick::All);
    assert_eq!(schedule().await.unwrap().started, 2, "both are due at first");
    assert_eq!(schedule().await.unwrap().started, 0, "a connection with a run in progress gets no second one");
    drain(&stack).await;
    let second = schedule().await.unwrap();
    assert_eq!(second.started, 1, "the hourly one waits: {second:?}");
    let every_tick_runs = runs(&admin, every_tick["id"].as_str().unwrap()).await;
    assert_eq!(every_tick_runs.len(), 2);
    assert_eq!(every_tick_runs[0]["mode"], "incremental", "after the first import, changes only");

    let (status, first_page) = admin.get("/v1/connections?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(first_page["items"].as_array().unwrap().len(), 1);
    let cursor = first_page["next_cursor"].as_str().expect("a second page");
    let (_, second_page) = admin.get(&format!("/v1/connections?limit=1&cursor={cursor}")).await;
    assert_ne!(first_page["items"][0]["id"], second_page["items"][0]["id"]);
    assert_eq!(admin.all("/v1/connections").await.len(), 2);
}

/// A run whose step died with its message (its lease passed, nothing on the queue) is resumed by the next tick of
/// the schedule, which reads the run to find where it stood, and then finishes: the company is imported.
#[tokio::test]
async fn the_schedule_resumes_a_run_whose_step_died() {
    let (stack, admin, fake, _) = setup().await;
    let (status, created) = create(&admin, &fake).await;
    assert_eq!(status, 201, "{created}");
    let first = stack.poll(Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    assert_eq!((first.started, first.resumed), (1, 0));

    // The step's message is lost: taken off the run queue and never handled.
    let queue = &stack.deployed.run_queue_url;
    assert_eq!(take_all(&stack, queue).await.len(), 1, "the run's first step");
    drain(&stack).await;
    assert!(admin.get("/v1/employees").await.1["items"].as_array().unwrap().is_empty(), "nothing ran");

    // A tick after the run's lease has passed.
    let later = Utc::now() + chrono::Duration::seconds(i64::from(ithub::resources::RUN_LEASE_SECS) + 60);
    let resumed = stack.poll(later, ithub::schedule::Tick::All).await.unwrap();
    assert_eq!((resumed.started, resumed.resumed), (0, 1));
    drain(&stack).await;
    let (_, employees) = admin.get("/v1/employees").await;
    let names: Vec<&str> =
        employees["items"].as_array().unwrap().iter().filter_map(|e| e["hr"]["first_name"].as_str()).collect();
    assert_eq!(names, ["Ada"], "{employees}");
}

/// One run per connection at a time, carried on rather than replaced: a run whose step died (its lease passed) is
/// resumed by the next tick even while the connection's own claim lasts; the schedule, working from a read made
/// before an admin's "sync now", starts no second run beside it; and neither the schedule nor "sync now" replaces
/// it once the connection's claim has lapsed: they put its step back on the queue, and it finishes.
#[tokio::test]
async fn a_stalled_run_is_carried_on_never_run_beside_or_replaced() {
    let stack = stack().await;
    let (tenant_id, key) = tenant(&stack).await;
    let admin = Admin::new(&serve(&stack).await, &key);
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let (_, created) = create(&admin, &fake).await;
    let id = ithub::domain::ConnectionId::parse(created["id"].as_str().unwrap()).unwrap();
    let stale = stack.store.get_connection(&tenant_id, &id).await.unwrap().unwrap();

    let (status, queued) = admin.post(&format!("/v1/connections/{id}/sync"), json!({})).await;
    assert_eq!((status, queued["started"].as_bool()), (202, Some(true)), "{queued}");
    let run_id = queued["run_id"].as_str().unwrap().to_owned();
    // The schedule's tick read the connection before the admin's run took it: it finds it taken and starts nothing.
    let late = ithub::schedule::start_run(
        &stack.store,
        &stack.runs,
        &stale,
        ithub::store::RunTrigger::Schedule,
        ithub::store::RunMode::Full,
        false,
    )
    .await;
    assert!(matches!(late, Err(ithub::schedule::StartError::Busy)), "{late:?}");
    // A retry of the winning start's own take (its answer lost, the SDK sending it again) finds its own hold, not a
    // refusal; any other run is refused.
    let until = Utc::now() + chrono::Duration::seconds(60);
    assert!(stack.store.take_connection(&tenant_id, &id, &run_id, None, until).await.unwrap(), "its own hold");
    assert!(!stack.store.take_connection(&tenant_id, &id, "run_other", None, until).await.unwrap());
    assert_eq!(runs(&admin, id.as_str()).await.len(), 1, "one run");

    // Its step claimed it and died: the message gone, the run running with a lease that has passed.
    let queue = &stack.deployed.run_queue_url;
    assert_eq!(take_all(&stack, queue).await.len(), 1, "the run's first step");
    let mut run = stack.store.get_run(&tenant_id, &id, &run_id).await.unwrap().unwrap();
    run.status = ithub::store::RunStatus::Running;
    run.lease_until = Some(Utc::now() - chrono::Duration::seconds(1));
    assert!(stack.store.advance_run(&tenant_id, &mut run).await.unwrap());

    // Now, while the connection's claim (set when the run started) still lasts: the run is resumed.
    let tick = stack.poll(Utc::now(), ithub::schedule::Tick::All).await.unwrap();
    assert_eq!((tick.started, tick.resumed), (0, 1), "resumed at once");
    // Lost again (taken off the queue); later, the connection's claim has lapsed too: still that run, never a new one.
    let resent = take_all(&stack, queue).await;
    assert_eq!(resent.len(), 1, "its step, back on the queue");
    assert!(resent[0].contains(&run_id), "{resent:?}");
    let later = Utc::now() + chrono::Duration::seconds(i64::from(ithub::resources::RUN_LEASE_SECS) + 60);
    let tick = stack.poll(later, ithub::schedule::Tick::All).await.unwrap();
    assert_eq!((tick.started, tick.resumed), (0, 1), "resumed, not replaced");
    take_all(&stack, queue).await;
    let (status, again) = admin.post(&format!("/v1/connections/{id}/sync"), json!({"full": true})).await;
    assert_eq!((status, again["started"].as_bool()), (202, Some(false)), "{again}");
    assert_eq!(again["run_id"], run_id.as_str(), "sync now answers the run in progress");

    // Nothing else is on the queue: only "sync now" can have put its step back for the worker to finish it.
    drain(&stack).await;
    let all = runs(&admin, id.as_str()).await;
    assert_eq!(all.len(), 1, "one run in all: {all:?}");
    assert_eq!(all[0]["status"], "succeeded", "{all:?}");
    let (_, employees) = admin.get("/v1/employees").await;
    assert_eq!(employees["items"].as_array().unwrap().len(), 1, "Ada, imported once: {employees}");
}

#[tokio::test]
async fn a_tenant_may_make_as_many_connections_as_its_cap_and_one_more_after_deleting_one() {
    let stack = stack().await.with_connection_cap(2);
    let (_, key) = tenant(&stack).await;
    let admin = Admin::new(&serve(&stack).await, &key);
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let (first, made) = create(&admin, &fake).await;
    let (second, _) = create(&admin, &fake).await;
    assert_eq!((first, second), (201, 201));
    let (status, problem) = create(&admin, &fake).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("connection-limit")), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("2 connections")), "{problem}");
    assert_eq!(admin.all("/v1/connections").await.len(), 2, "the refused one was not made");
    // Another tenant has a cap of its own.
    let (_, other) = tenant(&stack).await;
    let (status, _) = create(&Admin::new(&admin.base, &other), &fake).await;
    assert_eq!(status, 201);

    let (deleted, _) = admin.delete(&format!("/v1/connections/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(deleted, 204);
    assert_eq!(create(&admin, &fake).await.0, 201, "room again after a delete");
}
