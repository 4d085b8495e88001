//! What travels on the change queue: one tagged, versioned [`Message`]. Unknown fields are ignored on read, so a
//! message written by a newer deploy still applies on an older one during a rolling deploy.

use crate::domain::{ConnectionId, Employee, EmployeeId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The message format this build writes. A reader accepts any version whose fields it understands.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Poll,
    Webhook,
}

/// "The HR system says this about one person." The poller sends the record it read; a webhook sends only a hint
/// (`record: None`), and the worker re-reads the person from the HR system before applying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl EmployeeObserved {
    pub fn employee_id(&self) -> EmployeeId {
        EmployeeId::derive(&self.connection_id, &self.hr_id)
    }
}

/// "The HR system no longer has this person": a webhook's deletion, or a run's removal within the safeguard.
/// They are offboarded as terminated that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeRemoved {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub hr_id: String,
    pub source: Source,
    pub removed_at: DateTime<Utc>,
    /// The sync run that found the removal, which counts it once handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_key: Option<String>,
}

/// "Carry on with this sync run": one step of a run, on the run queue. `step` is the checkpoint the sender saw;
/// a step that finds the run elsewhere does nothing, unless the run's lease has passed (then it resumes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStep {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub run_id: String,
    pub step: u64,
}

/// Everything the queues carry, tagged by `type`, with the format's version in `v`: observations and removals on
/// the FIFO change queue, run steps on the standard run queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Messages live for one send or one receive; boxing the common variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Message {
    EmployeeObserved(EmployeeObserved),
    EmployeeRemoved(EmployeeRemoved),
    RunStep(RunStep),
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(default = "first_version")]
    v: u32,
    #[serde(flatten)]
    message: Message,
}

fn first_version() -> u32 {
    1
}

impl Message {
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Envelope { v: VERSION, message: self.clone() }).unwrap_or_default()
    }

    pub fn from_json(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<Envelope>(body).map(|e| e.message)
    }

    /// The FIFO group: one per person, so one person's changes apply in order while different people's run in
    /// parallel. (Run steps go on a standard queue and have none.)
    pub fn group_id(&self) -> String {
        match self {
            Self::EmployeeObserved(o) => format!("{}#{}", o.tenant_id, o.employee_id()),
            Self::EmployeeRemoved(r) => {
                format!("{}#{}", r.tenant_id, EmployeeId::derive(&r.connection_id, &r.hr_id))
            }
            Self::RunStep(r) => format!("{}#run#{}", r.tenant_id, r.run_id),
        }
    }

    /// Equal for the same observation sent twice (a retried send), different for two observations: an
    /// observation is its content and the time it was made (or the webhook delivery it came from), so HR
    /// changing a field from A to B and back to A queues three changes, not two.
    pub fn deduplication_id(&self) -> String {
        match self {
            Self::EmployeeObserved(o) => {
                let mut hash = Sha256::new();
                for part in [o.tenant_id.as_str(), o.connection_id.as_str(), o.hr_id.as_str()] {
                    hash.update(part);
                    hash.update([0u8]);
                }
                if let Some(record) = &o.record {
                    hash.update(record.content_hash());
                }
                hash.update([0u8]);
                match &o.delivery_key {
                    Some(key) => hash.update(key),
                    None => hash.update(o.observed_at.to_rfc3339()),
                }
                hex::encode(hash.finalize())
            }
            Self::EmployeeRemoved(r) => {
                let mut hash = Sha256::new();
                for part in [r.tenant_id.as_str(), r.connection_id.as_str(), r.hr_id.as_str(), "removed"] {
                    hash.update(part);
                    hash.update([0u8]);
                }
                hash.update(r.run_key.as_deref().unwrap_or_default());
                hash.update(r.removed_at.to_rfc3339());
                hex::encode(hash.finalize())
            }
            Self::RunStep(r) => format!("{}-{}", r.run_id, r.step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(at: &str) -> EmployeeObserved {
        EmployeeObserved {
            tenant_id: TenantId::parse("ten_0123456789").unwrap(),
            connection_id: ConnectionId::parse("con_0123456789").unwrap(),
            hr_id: "7".into(),
            source: Source::Poll,
            observed_at: DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc),
            record: None,
            delivery_key: None,
            initial_import: false,
            run_key: None,
        }
    }

    #[test]
    fn messages_round_trip_with_their_type_and_version() {
        let message = Message::EmployeeObserved(observed("2026-01-01T00:00:00Z"));
        let json: serde_json::Value = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!((json["v"].as_u64(), json["type"].as_str()), (Some(1), Some("employee_observed")));
        assert_eq!(Message::from_json(&message.to_json()).unwrap(), message);
    }

    #[test]
    fn a_field_from_a_newer_deploy_is_ignored() {
        let mut json: serde_json::Value =
            serde_json::from_str(&Message::EmployeeObserved(observed("2026-01-01T00:00:00Z")).to_json()).unwrap();
        json["v"] = 2.into();
        json["priority"] = "high".into();
        assert!(Message::from_json(&json.to_string()).is_ok());
    }

    #[test]
    fn the_same_record_observed_at_two_times_is_two_messages() {
        let a = Message::EmployeeObserved(observed("2026-01-01T00:00:00Z"));
        let b = Message::EmployeeObserved(observed("2026-01-01T00:00:01Z"));
        assert_ne!(a.deduplication_id(), b.deduplication_id());
        assert_eq!(a.deduplication_id(), a.clone().deduplication_id(), "a retried send is deduplicated");
    }
}
