//! The queues: the FIFO change queue, whose messages are grouped per person and deduplicated per observation,
//! and the standard run queue, whose steps may be delayed (a run that the HR system throttles resumes later).

use crate::messages::Message;
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

    /// Puts messages on the queue, ten to a request (the SQS batch limit). Either all are accepted or an error
    /// says how many were not; a retry of the whole call is safe, since deduplication ids repeat.
    pub async fn send(&self, messages: &[Message]) -> Result<(), QueueError> {
        self.send_delayed(messages, 0).await
    }

    /// Like [`Queue::send`], the messages to be delivered `delay_secs` from now (at most 900): standard queues
    /// only, FIFO queues take no per-message delay.
    pub async fn send_delayed(&self, messages: &[Message], delay_secs: i32) -> Result<(), QueueError> {
        let fifo = self.url.ends_with(".fifo");
        for chunk in messages.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, message) in chunk.iter().enumerate() {
                let mut entry =
                    SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(message.to_json());
                entry = if fifo {
                    entry.message_group_id(message.group_id()).message_deduplication_id(message.deduplication_id())
                } else {
                    entry.delay_seconds(delay_secs.clamp(0, 900))
                };
                entries.push(entry.build().map_err(sqs)?);
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
