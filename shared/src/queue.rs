//! The FIFO change queue. Messages are grouped per person and deduplicated by content.

use crate::messages::{EmployeeObserved, SyncRequested};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("SQS: {0}")]
    Sqs(String),
    #[error("SQS refused {failed} of {total} messages: {first}")]
    Partial { failed: usize, total: usize, first: String },
}

fn sqs(err: impl std::error::Error) -> QueueError {
    QueueError::Sqs(DisplayErrorContext(err).to_string())
}

#[derive(Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Puts an admin's sync request on the queue.
    pub async fn request_sync(&self, request: &SyncRequested) -> Result<(), QueueError> {
        let body = serde_json::json!({ "sync_requested": request }).to_string();
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(request.group_id())
            .message_deduplication_id(&request.run_id)
            .send()
            .await
            .map(drop)
            .map_err(sqs)
    }

    /// Puts observations on the queue, ten to a request (the SQS batch limit). Either all are accepted or an
    /// error says how many were not; a retry of the whole call is safe, since deduplication ids repeat.
    pub async fn send(&self, observations: &[EmployeeObserved]) -> Result<(), QueueError> {
        for chunk in observations.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, observation) in chunk.iter().enumerate() {
                let body = serde_json::to_string(observation).map_err(|e| QueueError::Sqs(e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .message_group_id(observation.group_id())
                    .message_deduplication_id(observation.deduplication_id())
                    .build()
                    .map_err(sqs)?;
                entries.push(entry);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs)?;
            if let Some(first) = out.failed.first() {
                return Err(QueueError::Partial {
                    failed: out.failed.len(),
                    total: chunk.len(),
                    first: first.message.clone().unwrap_or_else(|| first.code.clone()),
                });
            }
        }
        Ok(())
    }
}
