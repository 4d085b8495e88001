//! The SQS trigger, for running outside Lambda: receive a batch, hand it to the worker, and delete only the
//! messages that succeeded, as Lambda does with `ReportBatchItemFailures`. What is not deleted comes back after
//! the visibility timeout and, after `maxReceiveCount` receives, moves to the dead-letter queue.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use std::collections::HashSet;
use worker::Worker;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub received: usize,
    pub failed: usize,
}

/// Receives up to ten messages (long-polling for `wait_secs`), runs them through the worker and deletes the
/// successes.
pub async fn run_once(
    worker: &Worker,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait_secs: i32,
) -> Result<BatchOutcome, aws_sdk_sqs::Error> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_secs)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut message = SqsMessage::default();
            message.message_id = m.message_id.clone();
            message.receipt_handle = m.receipt_handle.clone();
            message.body = m.body.clone();
            message.attributes =
                m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect();
            message
        })
        .collect();
    let response = worker.handle(event).await;
    let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .filter(|m| !failed.contains(m.message_id.as_deref().unwrap_or_default()))
        .enumerate()
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        sqs.delete_message_batch().queue_url(queue_url).set_entries(Some(done)).send().await?;
    }
    Ok(BatchOutcome { received: messages.len(), failed: failed.len() })
}
