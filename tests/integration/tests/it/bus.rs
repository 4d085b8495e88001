//! Domain events reach the EventBridge bus (moto), where a rule can route them on.

use chrono::Utc;
use integration_tests::*;
use ithub::domain::{ConnectionId, TenantId};

#[tokio::test]
async fn applied_changes_publish_domain_events_once() {
    let stack = stack().await;
    let target = tap(&stack).await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let observation = observed(&tenant, &connection, record("9", "Ada"), Utc::now());
    let employee_id = observation.employee_id();
    let worker = stack.worker();
    worker.apply(observation.clone()).await.unwrap();
    worker.apply(observation).await.unwrap();

    let delivered: Vec<serde_json::Value> =
        peek(&stack, &target).await.iter().map(|body| serde_json::from_str(body).unwrap()).collect();
    let mut names: Vec<&str> = delivered.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["employee.hired", "task.opened"], "the unchanged second observation publishes nothing");
    for event in &delivered {
        assert_eq!(event["source"], "ithub");
        assert_eq!(event["detail"]["tenant_id"], tenant.as_str());
        assert_eq!(event["detail"]["employee_id"], employee_id.as_str());
        assert_eq!(event["detail"]["type"], event["detail-type"], "the detail names its own type");
    }
    assert_events_match_their_schemas(&delivered);
    let hired = delivered.iter().find(|e| e["detail-type"] == "employee.hired").unwrap();
    assert_eq!(hired["detail"]["hub_status"], "onboarding");
    let opened = delivered.iter().find(|e| e["detail-type"] == "task.opened").unwrap();
    assert_eq!(
        (opened["detail"]["kind"].as_str(), opened["detail"]["status"].as_str()),
        (Some("onboarding"), Some("open"))
    );
    assert_ne!(hired["detail"]["event_id"], opened["detail"]["event_id"], "each event has its own id");
}

#[tokio::test]
async fn events_whose_publish_failed_go_out_with_the_redelivery() {
    let stack = stack().await;
    let aws = ithub::aws_config().await;
    let target = tap(&stack).await;
    // A worker whose bus cannot be reached: the change commits, the publish fails, the message will be retried.
    // One attempt: the SDK's retries against a closed port would only make the test slow.
    let once = aws_sdk_eventbridge::config::retry::RetryConfig::standard().with_max_attempts(1);
    let unreachable =
        aws_sdk_eventbridge::config::Builder::from(&aws).endpoint_url("http://127.0.0.1:9").retry_config(once).build();
    let bus = ithub::bus::Bus::new(aws_sdk_eventbridge::Client::from_conf(unreachable), &stack.deployed.bus);
    let broken = worker::Worker::new(ithub::service::Service::new(stack.store.clone(), bus), stack.syncer());
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let observation = observed(&tenant, &connection, record("5", "Grace"), Utc::now());
    let failed = broken.apply(observation.clone()).await;
    assert!(
        matches!(failed, Err(worker::WorkerError::Service(ithub::service::ServiceError::Publish(_)))),
        "{failed:?}"
    );
    let stored = stack.store.get_employee(&tenant, &observation.employee_id()).await.unwrap().unwrap();
    assert_eq!(stored.outbox.len(), 2, "the change is stored with its events owed");
    assert!(peek(&stack, &target).await.is_empty());

    // The redelivery finds nothing new to write, and publishes what is owed.
    let applied = stack.worker().apply(observation.clone()).await.unwrap();
    assert_eq!(applied, ithub::service::Applied::Unchanged);
    let delivered = peek(&stack, &target).await;
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    let parsed: Vec<serde_json::Value> = delivered.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    assert_events_match_their_schemas(&parsed);
    let stored = stack.store.get_employee(&tenant, &observation.employee_id()).await.unwrap().unwrap();
    assert!(stored.outbox.is_empty());
    assert_eq!(stored.version, 1, "emptying the outbox is not a new version");
}
