//! Workday end to end, over real HTTP against the fake Workday: `Get_Workers` (SOAP) pages pinned to one
//! snapshot, the first import, hires, changes, terminations and a rehire found by the transaction-log poll,
//! people who vanish removed by the reconciliation (held beyond the safeguard), the RaaS report as the
//! alternative, and throttling and server faults survived. Sign-in as Workday's web services take it: the
//! integration system user's WS-Security `UsernameToken` in the SOAP header (HTTP Basic alone is refused), or
//! an API client's bearer token, bought with a refresh token the fake issued.

use chrono::{Duration, Utc};
use fake_hr::{FakeWorkday, Fault};
use integration_tests::*;
use ithub::providers::workday::{Credentials, IntegrationUser, Settings, Workday};
use ithub::providers::{Egress, HrProvider, Http, Link};
use ithub::store::{RunMode, RunStatus};
use serde_json::{Value, json};
use std::collections::HashSet;

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn person(first: &str, last: &str, department: &str, hire: &str) -> Value {
    json!({ "first_name": first, "last_name": last, "work_email": format!("{}@acme.example", first.to_lowercase()),
            "home_email": format!("{}@home.example", first.to_lowercase()), "phone": "+44 7700 900000",
            "title": "Engineer", "department": department, "hire_date": hire, "street": "1 Main St",
            "city": "London", "postal_code": "N1 9GU", "country": "GB" })
}

fn company(n: usize) -> Vec<Value> {
    (0..n).map(|i| person(&format!("P{i}"), "Worker", "Engineering", "2020-01-06")).collect()
}

async fn fake(people: Vec<Value>) -> FakeWorkday {
    FakeWorkday::start("127.0.0.1:0".parse().unwrap(), "acme", "ISU_ithub@acme", "isu-password-1", people)
        .await
        .expect("fake Workday")
}

async fn world_reading(people: Vec<Value>, report: bool) -> World<FakeWorkday> {
    let fake = fake(people).await;
    let request = fake.connection_request(report);
    World::with(fake, request).await
}

async fn world(people: Vec<Value>) -> World<FakeWorkday> {
    world_reading(people, false).await
}

#[tokio::test]
async fn a_workday_tenant_imports_and_the_transaction_log_drives_the_lifecycle() {
    let world = world(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
        person("Cy", "Diaz", "Engineering", "2019-05-01"),
        person("Dee", "Evans", "Design", &day(10)),
    ])
    .await;
    let ids = world.fake.ids();
    let (ada, bo, dee) = (&ids[0], &ids[1], &ids[3]);
    world.fake.change(bo, json!({ "manager_id": ada }));

    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.mode, run.status, run.counts.imported), (RunMode::Full, RunStatus::Succeeded, 3), "{run:?}");
    assert_eq!(world.admin.all("/v1/employees").await.len(), 4, "the future hire too");
    let first = world.admin.employee_by_hr_id(ada).await;
    assert_eq!(
        (first["hr"]["work_email"].as_str(), first["hr"]["personal_email"].as_str()),
        (Some("ada@acme.example"), Some("ada@home.example"))
    );
    assert_eq!(
        (first["hr"]["department"].as_str(), first["hr"]["home_address"]["postal_code"].as_str()),
        (Some("Engineering"), Some("N1 9GU"))
    );
    assert_eq!(world.admin.employee_by_hr_id(bo).await["hr"]["manager_hr_id"], ada.as_str(), "by Employee_ID");
    assert_eq!(world.tasks_of(dee, "onboarding").await[0]["due_date"], day(10));
    world.set_up(&[ada.as_str(), bo.as_str()]).await;

    // A hire, a change and a termination, entered in Workday: one poll of the transaction log finds them.
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    world.fake.change(&ids[2], json!({ "title": "Principal Engineer" }));
    world.fake.terminate(ada, Utc::now().date_naive());
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.mode, run.status), (RunMode::Incremental, RunStatus::Succeeded), "{run:?}");
    assert_eq!((run.counts.hired, run.counts.updated, run.counts.terminated), (1, 1, 1), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hub"]["status"], "onboarding");
    assert_eq!(world.admin.employee_by_hr_id(&ids[2]).await["hr"]["title"], "Principal Engineer");
    let ada_off = world.tasks_of(ada, "offboarding").await;
    assert_eq!((ada_off.len(), ada_off[0]["due_date"].as_str()), (1, Some(day(0).as_str())));

    // The window overlaps the last hour (the log can lag): the same changes again apply nothing.
    let quiet = world.run(RunMode::Incremental, false).await;
    assert_eq!((quiet.status, quiet.queued), (RunStatus::Succeeded, 0), "{quiet:?}");

    // A termination entered three hours ago and effective today: outside the entered window, inside the
    // effective one.
    world.fake.terminate_entered_earlier(bo, Utc::now().date_naive(), 3);
    let effective = world.run(RunMode::Incremental, false).await;
    assert_eq!((effective.status, effective.counts.terminated), (RunStatus::Succeeded, 1), "{effective:?}");
    assert_eq!(world.tasks_of(bo, "offboarding").await.len(), 1);

    // A rehire: a new hire date ahead, a new cycle.
    world.complete(ada_off[0]["id"].as_str().unwrap()).await;
    world.fake.rehire(ada, Utc::now().date_naive() + Duration::days(3));
    let rehire = world.run(RunMode::Incremental, false).await;
    assert_eq!((rehire.status, rehire.counts.hired), (RunStatus::Succeeded, 1), "{rehire:?}");
    let back = world.admin.employee_by_hr_id(ada).await;
    assert_eq!((back["hub"]["status"].as_str(), back["hub"]["cycle"].as_u64()), (Some("onboarding"), Some(2)));
}

#[tokio::test]
async fn pages_pinned_to_one_entry_time_read_one_snapshot() {
    let fake = fake(company(250)).await;
    let before: HashSet<String> = fake.ids().into_iter().collect();
    let settings: Settings = serde_json::from_value(fake.connection_request(false)["settings"].clone()).unwrap();
    let isu = IntegrationUser { username: "ISU_ithub@acme".into(), password: "isu-password-1".into() };
    let workday = Workday::new(&settings, &Credentials::UsernameToken(isu), Link::new(Http::new(Egress::LoopbackOnly)));
    let today = Utc::now().date_naive();

    let first = workday.list_page(None, today).await.unwrap();
    assert_eq!(first.records.len(), 100);
    // Between pages, five people on the first page go and someone is hired: unpinned, the pages would shift
    // and five people on page two would never be read.
    for record in &first.records[..5] {
        fake.delete(&record.hr_id);
    }
    fake.hire(person("Late", "Hire", "IT", &day(0)));
    let mut read: Vec<String> = first.records.iter().map(|r| r.hr_id.clone()).collect();
    let mut next = first.next;
    while let Some(token) = next {
        let page = workday.list_page(Some(&token), today).await.unwrap();
        read.extend(page.records.into_iter().map(|r| r.hr_id));
        next = page.next;
    }
    let unique: HashSet<String> = read.iter().cloned().collect();
    assert_eq!((read.len(), unique), (250, before), "everyone once, as the company stood when the listing began");
    assert_eq!(fake.pages_served(), 3, "pages of 100");

    // The next listing sees the company as it is now.
    let now = workday.list_page(None, today).await.unwrap();
    assert!(!now.records.iter().any(|r| r.hr_id == first.records[0].hr_id));
    assert_eq!(fake.violations(), Vec::<String>::new(), "every request and answer held to Workday's schema");
}

#[tokio::test]
async fn people_gone_from_workday_are_removed_within_the_safeguard_and_faults_lose_nothing() {
    let world = world(company(60)).await;
    // A 429 waited out in place during the import.
    world.fake.inject(Fault { retry_after: Some(1), ..Fault::status(429) });
    world.sync().await;
    assert_eq!((world.admin.all("/v1/employees").await.len(), world.fake.faults_left()), (60, 0));
    let ids = world.fake.ids();

    for id in &ids[..3] {
        world.fake.delete(id);
    }
    let run = world.run(RunMode::Full, false).await;
    assert_eq!((run.status, run.counts.removed), (RunStatus::Succeeded, 3), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ids[0]).await["hr"]["status"], "terminated");

    for id in &ids[3..13] {
        world.fake.delete(id);
    }
    let held = world.run(RunMode::Full, false).await;
    assert_eq!((held.status, held.pending), (RunStatus::Held, 10), "{held:?}");
    let path = format!("/v1/connections/{}/runs/{}/reject", world.connection.id, held.run_id);
    assert_eq!(world.admin.post(&path, json!({})).await.0, 200);
    drain(&world.stack).await;
    assert_eq!(world.admin.employee_by_hr_id(&ids[5]).await["hr"]["status"], "active", "rejected: nobody goes");

    // A SOAP fault (500) fails the run and moves no state; the next poll reads the change.
    world.fake.change(&ids[20], json!({ "title": "Lead" }));
    world.fake.inject(Fault::status(500));
    let failed = world.run(RunMode::Incremental, false).await;
    assert_eq!(failed.status, RunStatus::Failed, "{failed:?}");
    let next = world.run(RunMode::Incremental, false).await;
    assert_eq!((next.status, next.counts.updated), (RunStatus::Succeeded, 1), "{next:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ids[20]).await["hr"]["title"], "Lead");
}

#[tokio::test]
async fn a_raas_report_is_the_alternative_reading() {
    let world = world_reading(
        vec![person("Ada", "Lovelace", "Engineering", "2020-01-06"), person("Bo", "Chen", "Finance", &day(5))],
        true,
    )
    .await;
    world.sync().await;
    let ids = world.fake.ids();
    assert_eq!(world.admin.employee_by_hr_id(&ids[0]).await["hr"]["department"], "Engineering");
    assert_eq!(world.tasks_of(&ids[1], "onboarding").await[0]["due_date"], day(5));
    world.set_up(&[ids[0].as_str()]).await;
    world.fake.terminate(&ids[0], Utc::now().date_naive() - Duration::days(1));
    world.fake.change(&ids[1], json!({ "title": "Analyst" }));
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.counts.updated), (RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&ids[1]).await["hr"]["title"], "Analyst");
    // Someone who has left drops out of the report: the reconciliation finds them gone.
    let full = world.run(RunMode::Full, false).await;
    assert_eq!(full.status, RunStatus::Succeeded, "{full:?}");
    assert_eq!(world.tasks_of(&ids[0], "offboarding").await.len(), 1);
}

/// A `Get_Workers` request for page one, with `header` in the envelope (`Response_Filter`'s fields in the order
/// Workday's schema has them).
fn get_workers(header: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope \
         xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:bsvc=\"urn:com.workday/bsvc\">{header}\
         <soapenv:Body><bsvc:Get_Workers_Request bsvc:version=\"v44.0\"><bsvc:Response_Filter>\
         <bsvc:As_Of_Entry_DateTime>{}</bsvc:As_Of_Entry_DateTime><bsvc:Page>1</bsvc:Page></bsvc:Response_Filter>\
         </bsvc:Get_Workers_Request></soapenv:Body></soapenv:Envelope>",
        Utc::now().to_rfc3339()
    )
}

fn username_token(user: &str, password: &str, kind: &str) -> String {
    format!(
        "<soapenv:Header><wsse:Security \
         xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">\
         <wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password \
         Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#{kind}\">{password}\
         </wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>"
    )
}

#[tokio::test]
async fn soap_requests_sign_in_by_username_token_and_http_basic_alone_is_refused() {
    let fake = fake(company(2)).await;
    let url = format!("{}/ccx/service/acme/Human_Resources/v44.0", fake.base_url());
    let client = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder, body: String| async move {
        let response = request.header("content-type", "text/xml; charset=utf-8").body(body).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    // What IT Hub sent before: the right user and password by HTTP Basic, and an empty SOAP header.
    let (status, body) =
        send(client.post(&url).basic_auth("ISU_ithub@acme", Some("isu-password-1")), get_workers("<soapenv:Header/>"))
            .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("<faultcode>SOAP-ENV:Client.authenticationError</faultcode>"), "a SOAP fault: {body}");
    assert!(!body.contains("Get_Workers_Response"));

    // The same user in a UsernameToken is let in; a wrong password, another tenant, a digest or a bearer token
    // Workday never issued is not.
    let (status, body) =
        send(client.post(&url), get_workers(&username_token("ISU_ithub@acme", "isu-password-1", "PasswordText"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<wd:Total_Results>2</wd:Total_Results>"), "{body}");
    for header in [
        username_token("ISU_ithub@acme", "isu-password-2", "PasswordText"),
        username_token("ISU_ithub@globex", "isu-password-1", "PasswordText"),
        username_token("ISU_ithub@acme", "isu-password-1", "PasswordDigest"),
    ] {
        let (status, body) = send(client.post(&url), get_workers(&header)).await;
        assert_eq!(status, 401, "{header}: {body}");
    }
    let (status, _) = send(client.post(&url).bearer_auth("made-up"), get_workers("")).await;
    assert_eq!(status, 401);

    // IT Hub's own connector signs in and reads both workers.
    let settings: Settings = serde_json::from_value(fake.connection_request(false)["settings"].clone()).unwrap();
    let isu = IntegrationUser { username: "ISU_ithub@acme".into(), password: "isu-password-1".into() };
    let workday = Workday::new(&settings, &Credentials::UsernameToken(isu), Link::new(Http::new(Egress::LoopbackOnly)));
    assert_eq!(workday.list_page(None, Utc::now().date_naive()).await.unwrap().records.len(), 2);
    // And one by its id (Request_References), held to Workday's schema like the rest.
    let id = fake.ids().remove(0);
    assert_eq!(workday.fetch(&id).await.unwrap().map(|e| e.hr_id), Some(id));
    assert_eq!(fake.violations(), Vec::<String>::new(), "every request and answer held to Workday's schema");
}

#[tokio::test]
async fn a_tenant_connected_by_an_api_client_syncs_with_the_bearer_tokens_workday_issues() {
    let fake = fake(vec![
        person("Ada", "Lovelace", "Engineering", "2020-01-06"),
        person("Bo", "Chen", "Finance", "2021-02-01"),
    ])
    .await;
    let request = fake.oauth_connection_request();
    assert!(request["credentials"]["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "issued by the fake");
    let world = World::with(fake, request).await;

    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported), (RunStatus::Succeeded, 2), "{run:?}");
    let ids = world.fake.ids();
    assert_eq!(world.admin.employee_by_hr_id(&ids[0]).await["hr"]["work_email"], "ada@acme.example");
    assert_eq!(world.fake.token_grants(), 1, "one access token for the whole import");

    // The access token lapses: Workday refuses it, a new one is bought with the refresh token, and the poll
    // finds the hire.
    world.fake.expire_tokens();
    let nia = world.fake.hire(person("Nia", "Okafor", "IT", &day(0)));
    let run = world.run(RunMode::Incremental, false).await;
    assert_eq!((run.status, run.counts.hired), (RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.admin.employee_by_hr_id(&nia).await["hr"]["first_name"], "Nia");
    assert_eq!(world.fake.token_grants(), 2);
}
