//! An HR system that misbehaves harms only its own connection: a `Retry-After` of 10^14 s, a listing that never
//! ends, a 100 MB page and an answer that takes a minute each fail that connection's run with a named error,
//! while another tenant's hire, in the same schedule tick and the same worker, applies; a token lifetime of
//! 10^18 s is kept as a day.

use chrono::Utc;
use fake_hr::sandbox::Sandboxed;
use fake_hr::{FakeBamboo, FakePersonio, Fault, FaultKind};
use integration_tests::*;
use ithub::schedule::Tick;
use ithub::store::{Connection, RunMode, RunStatus, RunTrigger, SyncRun};
use serde_json::json;

async fn latest_run(stack: &Stack, connection: &Connection) -> SyncRun {
    let page = stack.store.list_runs(&connection.tenant_id, &connection.id, 1, None).await.expect("runs");
    page.items.into_iter().next().expect("a run")
}

async fn full_run(stack: &Stack, connection: &Connection) {
    let stored = stack.store.get_connection(&connection.tenant_id, &connection.id).await.expect("read");
    let stored = stored.expect("the connection");
    ithub::schedule::start_run(&stack.store, &stack.runs, &stored, RunTrigger::Manual, RunMode::Full, false)
        .await
        .expect("start a run");
}

/// What to make the misbehaving HR system do, and the words its run's error must carry.
enum Misbehaviour {
    Fault(Fault),
    Endless,
}

fn people(n: u32) -> Vec<(u32, serde_json::Value)> {
    (1..=n).map(|i| (i, person(&format!("P{i}"), "Doe", "Engineering"))).collect()
}

#[tokio::test]
async fn a_misbehaving_hr_system_fails_its_own_run_by_name_while_another_tenants_hire_applies() {
    let stack = stack().await;
    let (bad_tenant, _) = tenant(&stack).await;
    let (good_tenant, _) = tenant(&stack).await;
    let (bad, good): (FakeBamboo, FakeBamboo) = (fake_bamboo(people(3)).await, fake_bamboo(people(3)).await);
    let bad_connection = connect(&stack, &bad_tenant, &bad, "bad-secret").await;
    let good_connection = connect(&stack, &good_tenant, &good, "good-secret").await;
    stack.poll(Utc::now(), Tick::All).await.expect("schedule");
    drain(&stack).await;
    for connection in [&bad_connection, &good_connection] {
        assert_eq!(latest_run(&stack, connection).await.status, RunStatus::Succeeded);
    }

    let cases = [
        (
            Misbehaviour::Fault(Fault { retry_after: Some(100_000_000_000_000), ..Fault::status(429) }),
            "longer than a run waits",
        ),
        (Misbehaviour::Endless, "listing does not end"),
        (Misbehaviour::Fault(Fault { kind: FaultKind::Huge, ..Fault::status(200) }), "answer is larger than"),
        (Misbehaviour::Fault(Fault { kind: FaultKind::Slow, ..Fault::status(503) }), "did not answer within 20 s"),
    ];
    for (n, (misbehaviour, named)) in cases.into_iter().enumerate() {
        match misbehaviour {
            Misbehaviour::Fault(fault) => bad.inject(fault),
            Misbehaviour::Endless => bad.set_endless(true),
        }
        let hire = good.hire(json!({ "firstName": format!("Hire{n}"), "lastName": "Okafor" })).await;
        full_run(&stack, &bad_connection).await;
        full_run(&stack, &good_connection).await;
        drain(&stack).await;
        let failed = latest_run(&stack, &bad_connection).await;
        let error = failed.error.clone().unwrap_or_default();
        assert_eq!(failed.status, RunStatus::Failed, "{named}: {failed:?}");
        assert!(error.contains(named), "{named}: {error}");
        let applied = latest_run(&stack, &good_connection).await;
        assert_eq!((applied.status, applied.counts.hired), (RunStatus::Succeeded, 1), "{named}: {applied:?}");
        let id = ithub::domain::EmployeeId::derive(&good_connection.id, &hire.to_string());
        let stored = stack.store.get_employee(&good_tenant, &id).await.expect("read");
        assert!(stored.is_some(), "{named}: the other tenant's hire is stored");
        bad.set_endless(false);
        assert_eq!(bad.sandbox().faults_left(), 0, "{named}: the fault was served");
    }
}

#[tokio::test]
async fn a_token_lifetime_of_ten_to_the_eighteen_seconds_is_kept_as_a_day_and_the_run_succeeds() {
    let fake = FakePersonio::start(
        "127.0.0.1:0".parse().unwrap(),
        "client-1",
        "client-secret-1",
        vec![json!({ "first_name": "Ada", "last_name": "Lovelace", "start_date": "2020-01-06" })],
    )
    .await
    .expect("fake Personio");
    fake.set_token_lifetime(1_000_000_000_000_000_000);
    let request = fake.connection_request();
    let world = World::with_queues(fake, request, Default::default()).await;
    world.sync().await;
    let run = world.runs().await.remove(0);
    assert_eq!((run.status, run.counts.imported), (RunStatus::Succeeded, 1), "{run:?}");
    assert_eq!(world.fake.token_grants(), 1, "one token, kept for the run");
}
