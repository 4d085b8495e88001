//! Domain events out, on an EventBridge bus, so other systems can automate from what IT Hub sees.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;

/// The `source` of every event IT Hub publishes.
pub const SOURCE: &str = "ithub";

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("EventBridge: {0}")]
    EventBridge(String),
    #[error("EventBridge refused {0} events")]
    Refused(i32),
}

/// One event: `detail-type` is its name (`employee.updated`), `detail` its JSON body.
#[derive(Debug, Clone)]
pub struct DomainEvent {
    pub name: String,
    pub detail: serde_json::Value,
}

impl DomainEvent {
    pub fn new(name: impl Into<String>, detail: &impl Serialize) -> Self {
        Self { name: name.into(), detail: serde_json::to_value(detail).unwrap_or_default() }
    }
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

    /// Publishes events, ten to a request (the PutEvents limit).
    pub async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.name)
                        .source(SOURCE)
                        .detail_type(&e.name)
                        .detail(e.detail.to_string())
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
