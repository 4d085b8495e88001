//! The FIFO change queue in moto: deduplication, ordering within a person, partial batch failures and the
//! dead-letter queue.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::Utc;
use integration_tests::*;
use ithub::domain::{ConnectionId, EmployeeId, TenantId};
use ithub::messages::{EmployeeObserved, Message};
use ithub::resources::{MAX_RECEIVE_COUNT, QueueSettings};

fn queued(observation: &EmployeeObserved) -> Message {
    Message::EmployeeObserved(observation.clone())
}

#[tokio::test]
async fn a_retried_send_is_queued_once_and_a_new_observation_is_not_dropped() {
    let stack = stack().await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let first = observed(&tenant, &connection, record("1", "Ada"), Utc::now());
    let mut later = first.clone();
    later.observed_at = Utc::now() + chrono::Duration::seconds(5);
    stack.queue.send(&[queued(&first)]).await.unwrap();
    stack.queue.send(&[queued(&first)]).await.unwrap();
    stack.queue.send(&[queued(&later)]).await.unwrap();
    let bodies = peek(&stack, &stack.deployed.queue_url).await;
    assert_eq!(bodies.len(), 2, "the retried send is dropped, the later observation is not: {bodies:?}");
}

#[tokio::test]
async fn a_field_changed_from_a_to_b_and_back_to_a_ends_at_a() {
    let stack = stack().await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let start = Utc::now();
    let mut changes = Vec::new();
    for (n, title) in ["Engineer", "Manager", "Engineer"].into_iter().enumerate() {
        let mut person = record("1", "Ada");
        person.title = Some(title.into());
        changes.push(queued(&observed(&tenant, &connection, person, start + chrono::Duration::seconds(n as i64))));
    }
    stack.queue.send(&changes).await.unwrap();
    assert_eq!(drain(&stack).await, 3, "three observations, three messages");
    let id = EmployeeId::derive(&connection, "1");
    let stored = stack.store.get_employee(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(stored.hr.title.as_deref(), Some("Engineer"), "the hub shows what HR shows now");
    assert_eq!(stored.version, 3, "each change was applied");
}

#[tokio::test]
async fn a_message_with_a_field_from_a_newer_deploy_is_applied() {
    let stack = stack().await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let message = queued(&observed(&tenant, &connection, record("7", "Grace"), Utc::now()));
    let mut body: serde_json::Value = serde_json::from_str(&message.to_json()).unwrap();
    body["v"] = 2.into();
    body["added_in_a_later_version"] = serde_json::json!({"anything": true});
    stack
        .sqs
        .send_message()
        .queue_url(&stack.deployed.queue_url)
        .message_body(body.to_string())
        .message_group_id(message.group_id())
        .message_deduplication_id(message.deduplication_id())
        .send()
        .await
        .unwrap();
    assert_eq!(drain(&stack).await, 1);
    let stored = stack.store.get_employee(&tenant, &EmployeeId::derive(&connection, "7")).await.unwrap();
    assert_eq!(stored.map(|e| e.hr.first_name), Some("Grace".to_owned()), "applied, not dead-lettered");
    assert!(peek(&stack, &stack.deployed.queue_url).await.is_empty());
}

fn message(id: &str, group: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    m.attributes.insert("MessageGroupId".into(), group.into());
    m
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_group_only() {
    let stack = stack().await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let a2 = observed(&tenant, &connection, record("a", "Second"), Utc::now());
    let b = observed(&tenant, &connection, record("b", "Bea"), Utc::now());
    let mut event = SqsEvent::default();
    event.records = vec![
        message("a1", &queued(&a2).group_id(), "{not json"),
        message("a2", &queued(&a2).group_id(), &queued(&a2).to_json()),
        message("b1", &queued(&b).group_id(), &queued(&b).to_json()),
    ];
    let response = stack.worker().handle(event).await;
    let mut failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["a1", "a2"], "a2 waits behind a1; b is not held back");
    assert!(stack.store.get_employee(&tenant, &EmployeeId::derive(&connection, "a")).await.unwrap().is_none());
    assert!(stack.store.get_employee(&tenant, &EmployeeId::derive(&connection, "b")).await.unwrap().is_some());
}

#[tokio::test]
async fn a_poison_message_reaches_the_dead_letter_queue_while_its_batch_succeeds() {
    // A one-second visibility timeout lets the test watch each redelivery; the receive count is production's.
    let stack = stack_with(QueueSettings { visibility_timeout_secs: 1, ..QueueSettings::default() }).await;
    let (tenant, connection) = (TenantId::generate(), ConnectionId::generate());
    let good: Vec<Message> = ["1", "2", "3"]
        .iter()
        .map(|id| queued(&observed(&tenant, &connection, record(id, "Good"), Utc::now())))
        .collect();
    stack
        .sqs
        .send_message()
        .queue_url(&stack.deployed.queue_url)
        .message_body("this is not an observation")
        .message_group_id("poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .unwrap();
    stack.queue.send(&good).await.unwrap();

    let worker = stack.worker();
    let mut failures = 0;
    for _ in 0..(MAX_RECEIVE_COUNT * 4) {
        let outcome = stack.trigger_once(&worker, &stack.deployed.queue_url, 2).await.unwrap();
        failures += outcome.failed;
        let dead = peek(&stack, &stack.deployed.dead_letter_queue_url).await;
        if !dead.is_empty() {
            assert_eq!(dead, vec!["this is not an observation".to_owned()]);
            break;
        }
    }
    assert_eq!(failures, MAX_RECEIVE_COUNT as usize, "retried exactly maxReceiveCount times, then dead-lettered");
    for id in ["1", "2", "3"] {
        let stored = stack.store.get_employee(&tenant, &EmployeeId::derive(&connection, id)).await.unwrap();
        assert!(stored.is_some(), "neighbour {id} was applied");
    }
    assert!(peek(&stack, &stack.deployed.queue_url).await.is_empty(), "nothing is left on the change queue");
}
