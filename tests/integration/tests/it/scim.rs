//! The SCIM 2.0 endpoint as Okta and Microsoft Entra drive it (the fact sheet's "What real clients send"): each
//! provisioning step lands on the person with the lifecycle's tasks, the token alone picks the connection, and
//! one tenant's token never reaches another's users.

use integration_tests::*;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM client holding one connection's token.
struct Scim {
    base: String,
    /// The base URL IT Hub names in `meta.location` (its public URL; https behind API Gateway).
    public: String,
    token: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Scim {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>, if_match: Option<&str>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/scim+json").body(body.to_string());
        }
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        let response = request.send().await.expect("the SCIM endpoint answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body, headers }
    }
    async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body), None).await
    }
    async fn put(&self, path: &str, body: Value, if_match: Option<&str>) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body), if_match).await
    }
    async fn patch(&self, path: &str, operations: Value) -> Answer {
        let body = json!({ "schemas": [PATCH_OP], "Operations": operations });
        self.send(reqwest::Method::PATCH, path, Some(body), None).await
    }
    async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None, None).await
    }
}

/// A company with a SCIM connection: its admin client and a SCIM client with the connection's token.
async fn company(stack: &Stack, api: &str) -> (Admin, Scim, String) {
    company_with(stack, api, json!({})).await
}

async fn company_with(stack: &Stack, api: &str, schedule: Value) -> (Admin, Scim, String) {
    company_set(stack, api, json!({}), schedule).await
}

async fn company_set(stack: &Stack, api: &str, settings: Value, schedule: Value) -> (Admin, Scim, String) {
    let (_, key) = tenant(stack).await;
    let admin = Admin::new(api, &key);
    let request = json!({"provider": "scim", "settings": settings, "credentials": {}, "schedule": schedule});
    let (status, created) = admin.post("/v1/connections", request).await;
    assert_eq!(status, 201, "{created}");
    let token = created["scim_token"].as_str().expect("the token is shown once, at creation").to_owned();
    let public = created["scim_url"].as_str().unwrap().to_owned();
    assert!(public.ends_with(&format!("{}/scim/v2", api.trim_start_matches("http://"))), "{public}");
    let scim = Scim { base: format!("{api}/scim/v2"), public, token, http: reqwest::Client::new() };
    (admin, scim, created["id"].as_str().unwrap().to_owned())
}

async fn tasks_of(admin: &Admin, hr_id: &str, kind: &str) -> Vec<Value> {
    let id = admin.employee_by_hr_id(hr_id).await["id"].clone();
    admin.all(&format!("/v1/tasks?kind={kind}")).await.into_iter().filter(|t| t["employee_id"] == id).collect()
}

fn is_scim_error(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/scim+json");
    assert_eq!(answer.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(answer.body["status"], status.to_string(), "status is a string");
}

#[tokio::test]
async fn an_okta_sequence_hires_updates_by_put_and_deactivates_by_patch() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin, scim, _) = company(&stack, &api).await;

    // Okta asks whether the user exists before creating them.
    let check = scim.get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").await;
    assert_eq!((check.status, check.body["totalResults"].clone()), (200, json!(0)), "{}", check.body);
    assert_eq!(check.body["Resources"], json!([]));

    let sent = json!({
        "schemas": [USER], "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    });
    let created = scim.post("/Users", sent.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("{}/Users/{id}", scim.public));
    assert_eq!(created.body["meta"]["location"], format!("{}/Users/{id}", scim.public));
    assert!(created.body.get("password").is_none(), "a password is never returned");
    assert_eq!(
        (created.body["locale"].clone(), created.body["displayName"].clone()),
        (json!("en-US"), json!("Test User"))
    );
    let version = created.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(created.body["meta"]["version"], version.as_str());

    // The person is hired: an onboarding task for them, HR fields from the SCIM user.
    let employee = admin.employee_by_hr_id(&id).await;
    assert_eq!(
        (employee["hr"]["first_name"].clone(), employee["hr"]["work_email"].clone()),
        (json!("Test"), json!("test.user@okta.local"))
    );
    assert_eq!(tasks_of(&admin, &id, "onboarding").await.len(), 1);

    // A second user with the same userName (any case) is refused.
    let mut twin = sent.clone();
    twin["userName"] = json!("TEST.USER@okta.local");
    let duplicate = scim.post("/Users", twin).await;
    is_scim_error(&duplicate, 409);
    assert_eq!(duplicate.body["scimType"], "uniqueness");

    // Okta updates a profile with GET then PUT of the whole resource.
    let mut updated = scim.get(&format!("/Users/{id}")).await.body;
    updated["title"] = json!("Staff Engineer");
    let put = scim.put(&format!("/Users/{id}"), updated.clone(), Some(&version)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["title"], "Staff Engineer");
    assert_eq!(admin.employee_by_hr_id(&id).await["hr"]["title"], "Staff Engineer");
    assert_eq!(tasks_of(&admin, &id, "onboarding").await.len(), 1, "an update is no second hire");
    let stale = scim.put(&format!("/Users/{id}"), updated, Some(&version)).await;
    is_scim_error(&stale, 412);

    // Deactivation: a PATCH with no path and an object value. The person is offboarded.
    let off = scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_eq!((off.status, off.body["active"].clone()), (200, json!(false)), "{}", off.body);
    assert_eq!(admin.employee_by_hr_id(&id).await["hr"]["status"], "terminated");
    assert_eq!(tasks_of(&admin, &id, "offboarding").await.len(), 1);
    let again = scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_eq!(again.status, 200);
    assert_eq!(tasks_of(&admin, &id, "offboarding").await.len(), 1, "deactivating twice offboards once");
}

#[tokio::test]
async fn an_entra_sequence_filters_patches_with_its_own_habits_deactivates_and_deletes() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin, scim, _) = company(&stack, &api).await;
    let created = scim
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE], "externalId": "ada", "userName": "ada@corp.example", "active": true,
                "emails": [{"primary": true, "type": "work", "value": "ada@corp.example"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"}, "roles": [],
                ENTERPRISE: {"department": "Engineering"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(tasks_of(&admin, &id, "onboarding").await.len(), 1);

    // Entra finds users by externalId, userName or work email, with eq and and.
    for filter in [
        "externalId eq \"ada\"",
        "userName eq \"ADA@corp.example\"",
        "emails[type eq \"work\"].value eq \"ada@corp.example\"",
        "userName eq \"ada@corp.example\" and externalId eq \"ada\"",
    ] {
        let found = scim.get(&format!("/Users?filter={}", urlencode(filter))).await;
        assert_eq!(found.body["totalResults"], 1, "{filter}: {}", found.body);
        assert_eq!(found.body["Resources"][0]["id"], id.as_str(), "{filter}");
    }
    let none = scim.get(&format!("/Users?filter={}", urlencode("externalId eq \"ADA\""))).await;
    assert_eq!(none.body["totalResults"], 0, "externalId is case-exact");
    let huge = json!({"schemas": [USER], "userName": "big@corp.example", "title": "x".repeat(70 * 1024)});
    is_scim_error(&scim.post("/Users", huge).await, 413);
    let garbled = scim.send(reqwest::Method::POST, "/Users", None, None).await;
    is_scim_error(&garbled, 400);
    assert_eq!(garbled.body["scimType"], "invalidSyntax");
    let bad = scim.get(&format!("/Users?filter={}", urlencode("userName eq"))).await;
    is_scim_error(&bad, 400);
    assert_eq!(bad.body["scimType"], "invalidFilter");

    // Updates with capitalised ops, filtered paths and the enterprise extension's qualified names.
    let patched = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "name.familyName", "value": "King"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.king@corp.example"},
                {"op": "Add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "42"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "m-1"}
            ]),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let employee = admin.employee_by_hr_id(&id).await;
    assert_eq!(employee["hr"]["last_name"], "King");
    assert_eq!(employee["hr"]["work_email"], "ada.king@corp.example");
    assert_eq!(employee["hr"]["manager_hr_id"], "m-1");
    let by_new_email =
        scim.get(&format!("/Users?filter={}", urlencode("emails.value eq \"ada.king@corp.example\""))).await;
    assert_eq!(by_new_email.body["totalResults"], 1, "the email lookup follows the change");
    let by_old_email = scim.get(&format!("/Users?filter={}", urlencode("emails.value eq \"ada@corp.example\""))).await;
    assert_eq!(by_old_email.body["totalResults"], 0);

    // A failing operation leaves the user as it was: PATCH is atomic.
    let refused = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "title", "value": "CTO"}, {"op": "Replace", "path": "id", "value": "x"}]),
        )
        .await;
    is_scim_error(&refused, 400);
    assert_eq!(refused.body["scimType"], "mutability");
    assert!(scim.get(&format!("/Users/{id}")).await.body.get("title").is_none());

    // Entra's default disable: the string "False".
    let disabled =
        scim.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!((disabled.status, disabled.body["active"].clone()), (200, json!(false)), "{}", disabled.body);
    assert_eq!(tasks_of(&admin, &id, "offboarding").await.len(), 1);

    // Out of scope: deleted. Gone from SCIM; the person stays terminated, offboarded once.
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204);
    is_scim_error(&scim.get(&format!("/Users/{id}")).await, 404);
    is_scim_error(&scim.delete(&format!("/Users/{id}")).await, 404);
    assert_eq!(admin.employee_by_hr_id(&id).await["hr"]["status"], "terminated");
    assert_eq!(tasks_of(&admin, &id, "offboarding").await.len(), 1);
}

#[tokio::test]
async fn paging_renames_concurrent_writes_and_deletions_behave_as_a_client_expects() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin, scim, _) = company(&stack, &api).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let user = json!({"schemas": [USER], "userName": format!("user{n}@corp.example"), "name": {"givenName": format!("U{n}"), "familyName": "X"}});
        let created = scim.post("/Users", user).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    // Okta's import: pages by startIndex until totalResults.
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = scim.get(&format!("/Users?startIndex={start}&count=2")).await;
        assert_eq!(page.body["totalResults"], 5, "{}", page.body);
        assert_eq!(page.body["startIndex"], start);
        let resources = page.body["Resources"].as_array().unwrap().clone();
        assert_eq!(page.body["itemsPerPage"], resources.len());
        seen.extend(resources.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        start += 2;
        if start > 5 {
            break;
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "every user once, in a stable order");
    let direct = scim.get("/Users?startIndex=4&count=10").await;
    assert_eq!(direct.body["Resources"].as_array().unwrap().len(), 2, "a startIndex no page ended at still works");

    // A rename into a taken userName is refused; a free one moves the lookup with it.
    let mut renamed = scim.get(&format!("/Users/{}", ids[1])).await.body;
    renamed["userName"] = json!("USER2@corp.example");
    let clash = scim.put(&format!("/Users/{}", ids[1]), renamed.clone(), None).await;
    is_scim_error(&clash, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    renamed["userName"] = json!("renamed@corp.example");
    assert_eq!(scim.put(&format!("/Users/{}", ids[1]), renamed, None).await.status, 200);
    let by = |name: &str| format!("/Users?filter={}", urlencode(&format!("userName eq \"{name}\"")));
    assert_eq!(scim.get(&by("renamed@corp.example")).await.body["totalResults"], 1);
    assert_eq!(scim.get(&by("user1@corp.example")).await.body["totalResults"], 0);

    // Concurrent PATCHes without If-Match all land: a write that loses the race is made again on the newer user.
    let patches = (0..6).map(|n| {
        let ops = json!([{"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": format!("+1-555-010{n}")}]}]);
        let path = format!("/Users/{}", ids[2]);
        let scim = &scim;
        async move { scim.patch(&path, ops).await.status }
    });
    let statuses = futures::future::join_all(patches).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let phones = scim.get(&format!("/Users/{}", ids[2])).await.body["phoneNumbers"].as_array().unwrap().len();
    assert_eq!(phones, 6, "no concurrent change lost");

    // A stale If-Match on DELETE is refused and deletes nothing.
    let stale = scim.send(reqwest::Method::DELETE, &format!("/Users/{}", ids[0]), None, Some("W/\"0\"")).await;
    is_scim_error(&stale, 412);
    assert_eq!(scim.get(&format!("/Users/{}", ids[0])).await.status, 200);

    // Deleting an active user removes the person: offboarded.
    assert_eq!(scim.delete(&format!("/Users/{}", ids[0])).await.status, 204);
    assert_eq!(admin.employee_by_hr_id(&ids[0]).await["hr"]["status"], "terminated");
    assert_eq!(tasks_of(&admin, &ids[0], "offboarding").await.len(), 1);
    assert_eq!(scim.get("/Users?count=0").await.body["totalResults"], 4);
    // The deleted user's userName is free again.
    let again = scim.post("/Users", json!({"schemas": [USER], "userName": "user0@corp.example"})).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(scim.get("/Users?count=0").await.body["totalResults"], 5);
}

#[tokio::test]
async fn a_wrong_or_revoked_token_is_refused_and_tenants_never_meet() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin_a, scim_a, connection_a) = company(&stack, &api).await;
    let (_, scim_b, _) = company(&stack, &api).await;
    let created = scim_a.post("/Users", json!({"schemas": [USER], "userName": "only-a@corp.example"})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();

    for token in ["", "scim_wrong", "ithub_not-a-scim-token"] {
        let stranger = Scim {
            base: scim_a.base.clone(),
            public: scim_a.public.clone(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        };
        is_scim_error(&stranger.get("/Users").await, 401);
        is_scim_error(&stranger.get("/ServiceProviderConfig").await, 401);
    }
    let admin_key = Scim {
        base: scim_a.base.clone(),
        public: scim_a.public.clone(),
        token: admin_a.key.clone(),
        http: reqwest::Client::new(),
    };
    is_scim_error(&admin_key.get("/Users").await, 401);

    // Tenant B's token sees none of A's users, by any route.
    let filter = urlencode("userName eq \"only-a@corp.example\"");
    assert_eq!(scim_b.get(&format!("/Users?filter={filter}")).await.body["totalResults"], 0);
    assert_eq!(scim_b.get("/Users").await.body["totalResults"], 0);
    is_scim_error(&scim_b.get(&format!("/Users/{id}")).await, 404);
    is_scim_error(&scim_b.put(&format!("/Users/{id}"), json!({"schemas": [USER], "userName": "x"}), None).await, 404);
    is_scim_error(&scim_b.delete(&format!("/Users/{id}")).await, 404);
    assert_eq!(scim_a.get(&format!("/Users/{id}")).await.status, 200, "A's user is untouched");

    // Rotating the connection's secret issues a new token; the old one stops at once.
    let (status, rotated) =
        admin_a.post(&format!("/v1/connections/{connection_a}/rotate-webhook-secret"), json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_token = rotated["scim_token"].as_str().unwrap().to_owned();
    is_scim_error(&scim_a.get("/Users").await, 401);
    let renewed = Scim {
        base: scim_a.base.clone(),
        public: scim_a.public.clone(),
        token: new_token,
        http: reqwest::Client::new(),
    };
    assert_eq!(renewed.get(&format!("/Users/{id}")).await.status, 200);

    // Nothing is ever read from a SCIM client: "sync now" says so.
    let (status, refused) = admin_a.post(&format!("/v1/connections/{connection_a}/sync"), json!({})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["type"], "urn:ithub:problem:pushed-connection");

    // A deleted connection's token opens nothing.
    let (status, _) = admin_a.delete(&format!("/v1/connections/{connection_a}")).await;
    assert_eq!(status, 204);
    is_scim_error(&renewed.get("/Users").await, 401);
}

#[tokio::test]
async fn deletions_past_the_safeguard_wait_for_an_admin() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin, scim, connection) =
        company_with(&stack, &api, json!({"safeguard_percent": 10, "safeguard_minimum": 2})).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = scim.post("/Users", json!({"schemas": [USER], "userName": format!("p{n}@corp.example")})).await;
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    // A client that de-scopes four of five people in a day: the first two are within the safeguard (at least 2).
    for id in &ids[..4] {
        assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204, "the client is answered as it expects");
    }
    let status = |e: Value| e["hr"]["status"].as_str().unwrap().to_owned();
    for id in &ids[..2] {
        assert_eq!(status(admin.employee_by_hr_id(id).await), "terminated");
    }
    for id in &ids[2..4] {
        assert_eq!(status(admin.employee_by_hr_id(id).await), "active", "held for an admin");
        assert!(tasks_of(&admin, id, "offboarding").await.is_empty());
    }
    let (_, shown) = admin.get(&format!("/v1/connections/{connection}")).await;
    let held = shown["held_run_ids"].as_array().unwrap().clone();
    assert_eq!(held.len(), 1, "one hold gathers the day's excess: {shown}");
    let path = format!("/v1/connections/{connection}/runs/{}", held[0].as_str().unwrap());
    let (_, run) = admin.get(&path).await;
    assert_eq!(
        (run["status"].clone(), run["trigger"].clone(), run["pending"].clone()),
        (json!("held"), json!("push"), json!(2)),
        "{run}"
    );

    let (code, approved) = admin.post(&format!("{path}/approve"), json!({})).await;
    assert_eq!(code, 200, "{approved}");
    drain(&stack).await;
    for id in &ids[2..4] {
        assert_eq!(status(admin.employee_by_hr_id(id).await), "terminated", "removed once approved");
        assert_eq!(tasks_of(&admin, id, "offboarding").await.len(), 1);
    }
    assert_eq!(status(admin.employee_by_hr_id(&ids[4]).await), "active");
    let (_, run) = admin.get(&path).await;
    assert_eq!(run["status"], "succeeded", "{run}");

    // Deactivations count with the day's deletions (Okta never deletes): past the safeguard, the termination is
    // held too, and applied once approved.
    let off = scim.patch(&format!("/Users/{}", ids[4]), json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_eq!((off.status, off.body["active"].clone()), (200, json!(false)), "the client sees its write kept");
    assert_eq!(status(admin.employee_by_hr_id(&ids[4]).await), "active", "held for an admin");
    let (_, shown) = admin.get(&format!("/v1/connections/{connection}")).await;
    let held = shown["held_run_ids"].as_array().unwrap().clone();
    assert_eq!(held.len(), 1, "{shown}");
    let path = format!("/v1/connections/{connection}/runs/{}", held[0].as_str().unwrap());
    assert_eq!(admin.post(&format!("{path}/approve"), json!({})).await.0, 200);
    drain(&stack).await;
    assert_eq!(status(admin.employee_by_hr_id(&ids[4]).await), "terminated");
    assert_eq!(tasks_of(&admin, &ids[4], "offboarding").await.len(), 1);
}

#[tokio::test]
async fn a_first_push_within_the_import_window_lists_people_for_setup_instead_of_hiring_them() {
    let stack = stack().await;
    let api = serve(&stack).await;
    let (admin, scim, _) = company_set(&stack, &api, json!({"initial_import_hours": 24}), json!({})).await;
    let created = scim.post("/Users", json!({"schemas": [USER], "userName": "existing@corp.example"})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let employee = admin.employee_by_hr_id(&id).await;
    assert_eq!(employee["hub"]["status"], "not_set_up", "{employee}");
    assert!(tasks_of(&admin, &id, "onboarding").await.is_empty(), "someone who already works there is not onboarded");
    let (status, refused) = admin
        .post(
            "/v1/connections",
            json!({"provider": "scim", "settings": {"initial_import_hours": 9999}, "credentials": {}}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("settings.initial_import_hours"), "{refused}");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
