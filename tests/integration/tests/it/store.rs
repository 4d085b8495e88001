//! The worker's writes against DynamoDB (moto): versions, unchanged observations, order, tenants, idempotency.

use chrono::{Duration, NaiveDate, Utc};
use integration_tests::*;
use ithub::domain::{ConnectionId, Employee, EmployeeId, EmploymentStatus, Hub, HubStatus, TenantId};
use ithub::service::Applied;
use ithub::store::{StoreError, StoredEmployee};

fn ada() -> Employee {
    Employee {
        hr_id: "42".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        work_email: Some("ada@corp.example".into()),
        personal_email: None,
        phone: None,
        home_address: None,
        title: Some("Engineer".into()),
        department: Some("Engineering".into()),
        manager_hr_id: None,
        manager_name: None,
        status: EmploymentStatus::Active,
        start_date: NaiveDate::from_ymd_opt(2020, 1, 6),
        end_date: None,
        withheld: Vec::new(),
    }
}

#[tokio::test]
async fn a_write_based_on_a_stale_version_is_refused() {
    let stack = stack().await;
    let tenant = TenantId::generate();
    let connection = ConnectionId::generate();
    let now = Utc::now();
    let v1 = StoredEmployee {
        tenant_id: tenant.clone(),
        id: EmployeeId::derive(&connection, "42"),
        connection_id: connection,
        hr: ada(),
        hub: Hub { status: HubStatus::Active, license: false, cycle: 1, manual_offboard: None },
        fields: Default::default(),
        outbox: Vec::new(),
        hr_hash: ada().content_hash(),
        version: 1,
        observed_at: now,
        created_at: now,
        updated_at: now,
        imported_by: None,
    };
    stack.store.put_employee(&v1).await.unwrap();
    assert!(matches!(stack.store.put_employee(&v1).await, Err(StoreError::Conflict)), "v1 exists already");

    let mut writer_a = v1.clone();
    writer_a.version = 2;
    writer_a.hr.title = Some("Staff Engineer".into());
    let mut writer_b = v1.clone();
    writer_b.version = 2;
    writer_b.hr.title = Some("Countess".into());
    stack.store.put_employee(&writer_a).await.unwrap();
    assert!(matches!(stack.store.put_employee(&writer_b).await, Err(StoreError::Conflict)), "b read v1 too");

    let stored = stack.store.get_employee(&tenant, &v1.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.hr.title.as_deref()), (2, Some("Staff Engineer")));
}

#[tokio::test]
async fn a_second_identical_observation_writes_nothing() {
    let stack = stack().await;
    let worker = stack.worker();
    let tenant = TenantId::generate();
    let connection = ConnectionId::generate();
    let first = Utc::now();
    assert_eq!(worker.apply(observed(&tenant, &connection, ada(), first)).await.unwrap(), Applied::Created);
    let id = EmployeeId::derive(&connection, "42");
    let before = stack.store.get_employee(&tenant, &id).await.unwrap().unwrap();

    let again = observed(&tenant, &connection, ada(), first + Duration::seconds(30));
    assert_eq!(worker.apply(again).await.unwrap(), Applied::Unchanged);
    let after = stack.store.get_employee(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(after, before, "not a single attribute was rewritten");

    let mut promoted = ada();
    promoted.title = Some("Staff Engineer".into());
    let change = observed(&tenant, &connection, promoted, first + Duration::seconds(60));
    assert_eq!(worker.apply(change).await.unwrap(), Applied::Updated);
    assert_eq!(stack.store.get_employee(&tenant, &id).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn an_older_observation_never_overwrites_a_newer_one() {
    let stack = stack().await;
    let worker = stack.worker();
    let tenant = TenantId::generate();
    let connection = ConnectionId::generate();
    let now = Utc::now();
    let mut newer = ada();
    newer.title = Some("Staff Engineer".into());
    worker.apply(observed(&tenant, &connection, newer, now)).await.unwrap();
    let late = observed(&tenant, &connection, ada(), now - Duration::seconds(10));
    assert_eq!(worker.apply(late).await.unwrap(), Applied::Stale);
    let stored = stack.store.get_employee(&tenant, &EmployeeId::derive(&connection, "42")).await.unwrap().unwrap();
    assert_eq!(stored.hr.title.as_deref(), Some("Staff Engineer"));
}

#[tokio::test]
async fn one_tenant_cannot_read_another_tenants_employee() {
    let stack = stack().await;
    let worker = stack.worker();
    let (mine, other) = (TenantId::generate(), TenantId::generate());
    let connection = ConnectionId::generate();
    worker.apply(observed(&mine, &connection, ada(), Utc::now())).await.unwrap();
    let id = EmployeeId::derive(&connection, "42");
    assert!(stack.store.get_employee(&mine, &id).await.unwrap().is_some());
    assert!(stack.store.get_employee(&other, &id).await.unwrap().is_none());
    assert!(stack.store.list_employees(&other, &Default::default(), 10, None).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn delivery_claims_are_in_progress_then_done_and_a_dead_claim_frees_itself() {
    use ithub::store::DeliveryClaim::*;
    let stack = stack().await;
    let now = Utc::now();
    let (minute, day) = (Duration::seconds(60), Duration::hours(24));
    let claim = |key: &'static str, at| {
        let store = stack.store.clone();
        async move { store.claim_delivery(key, minute, at).await.unwrap() }
    };
    assert_eq!(claim("delivery-1", now).await, Claimed);
    assert_eq!(claim("delivery-1", now).await, InProgress, "a concurrent copy is told to retry");
    assert_eq!(claim("delivery-2", now).await, Claimed, "keys are independent");
    stack.store.finish_delivery("delivery-1", day, now).await.unwrap();
    assert_eq!(claim("delivery-1", now + Duration::hours(1)).await, Done, "a redelivery is a duplicate");
    // DynamoDB deletes expired items lazily; an expired claim must not block a new delivery meanwhile.
    assert_eq!(claim("delivery-1", now + Duration::hours(25)).await, Claimed);
    // A claim whose process died before queueing frees itself after a minute, not a day.
    assert_eq!(claim("delivery-2", now + Duration::seconds(61)).await, Claimed);
    stack.store.release_claim("delivery-2").await.unwrap();
    assert_eq!(claim("delivery-2", now).await, Claimed, "a released claim can be taken again");
}

#[tokio::test]
async fn the_schedules_two_laps_from_any_point_list_every_connection_once() {
    use ithub::store::Lap;
    let stack = stack().await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let mut made = Vec::new();
    for n in 0..6 {
        let (tenant, _) = tenant(&stack).await;
        made.push(connect(&stack, &tenant, &fake, &format!("secret-{n}")).await.id.to_string());
    }
    made.sort();
    for from in ["C#con_0", "C#con_7", "C#con_f", "C#con_ffffffff", &format!("C#{}", made[3])] {
        let mut laps = Vec::new();
        for lap in [Lap::From, Lap::Before] {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = stack.store.page_connections_lap(from, lap, cursor.as_deref()).await.expect("a page");
                ids.extend(page.items.iter().map(|c| c.id.to_string()).filter(|id| made.contains(id)));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            laps.push(ids);
        }
        let point = &from[2..];
        assert!(laps[0].iter().all(|id| id.as_str() >= point), "{from}: {laps:?}");
        assert!(laps[1].iter().all(|id| id.as_str() < point), "{from}: {laps:?}");
        let mut all: Vec<String> = laps.concat();
        all.sort();
        assert_eq!(all, made, "{from}: every connection once");
    }
}
