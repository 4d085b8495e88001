//! What travels on the change queue.

use crate::domain::{ConnectionId, Employee, EmployeeId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Poll,
    Webhook,
}

/// "The HR system says this about one person." The poller sends the record it read; a webhook sends only a hint
/// (`record: None`), and the worker re-reads the person from the HR system before applying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeObserved {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub hr_id: String,
    pub source: Source,
    /// When the hub read the record from the HR system. Older observations never overwrite newer ones.
    pub observed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Employee>,
    /// For webhook hints: the delivery this came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_key: Option<String>,
    /// Part of a connection's first full listing: people who already work there are imported for setup, not
    /// onboarded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub initial_import: bool,
    /// The sync run that read this record, which counts it once applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_key: Option<String>,
}

/// "Poll this connection now": an admin's sync request, run by the worker with the poller's logic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequested {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    /// The run record to fill in.
    pub run_key: String,
    pub run_id: String,
}

impl SyncRequested {
    /// Its own FIFO group per connection: two requests for one connection run one after the other.
    pub fn group_id(&self) -> String {
        format!("{}#sync#{}", self.tenant_id, self.connection_id)
    }
}

impl EmployeeObserved {
    pub fn employee_id(&self) -> EmployeeId {
        EmployeeId::derive(&self.connection_id, &self.hr_id)
    }

    /// One FIFO group per person, so one person's changes apply in order while different people's run in parallel.
    pub fn group_id(&self) -> String {
        format!("{}#{}", self.tenant_id, self.employee_id())
    }

    /// Equal for equal content. The time of observation is left out on purpose: reading the same record twice
    /// within SQS's five-minute window queues it once.
    pub fn deduplication_id(&self) -> String {
        let mut hash = Sha256::new();
        for part in [self.tenant_id.as_str(), self.connection_id.as_str(), self.hr_id.as_str()] {
            hash.update(part);
            hash.update([0u8]);
        }
        match (&self.record, &self.delivery_key) {
            (Some(record), _) => hash.update(record.content_hash()),
            (None, Some(key)) => hash.update(key),
            (None, None) => hash.update(self.observed_at.to_rfc3339()),
        }
        hex::encode(hash.finalize())
    }
}
