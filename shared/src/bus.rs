//! Domain events out, on an EventBridge bus, so other systems can automate from what IT Hub sees.

use crate::events::Event;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// The `source` of every event IT Hub publishes.
pub const SOURCE: &str = "ithub";

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("EventBridge: {0}")]
    EventBridge(String),
    #[error("EventBridge refused {0} events")]
    Refused(i32),
}

#[derive(Clone)]
pub struct Bus {
    client: Client,
    name: String,
}

impl Bus {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self { client, name: name.into() }
    }

    /// Publishes events, ten to a request (the PutEvents limit). Each event's `detail` carries its `event_id`,
    /// the same on every retry, so consumers can drop what a retry publishes twice.
    pub async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.name)
                        .source(SOURCE)
                        .detail_type(e.name())
                        .detail(serde_json::to_string(e).unwrap_or_default())
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| BusError::EventBridge(DisplayErrorContext(e).to_string()))?;
            if out.failed_entry_count > 0 {
                return Err(BusError::Refused(out.failed_entry_count));
            }
        }
        Ok(())
    }
}
