//! Domain events: what IT Hub tells other systems, on its EventBridge bus. Each event has a typed payload; its
//! `detail-type` is the event's name (`employee.hired`), its `detail` the whole [`Event`] as JSON, and its
//! `event_id` stays the same however often the event is published, so a consumer can drop duplicates.
//! `docs/events.md` holds the JSON Schema of each `detail`, generated from these types.

use crate::domain::{ConnectionId, EmployeeId, HubStatus, ItemStatus, TaskId, TaskKind, TaskStatus, TenantId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Which event a lifecycle decision asks for; the change that carries it out fills in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    EmployeeHired,
    EmployeeUpdated,
    EmployeeTerminated,
    EmployeeFieldsUpdated,
    TaskOpened,
    TaskItemUpdated,
    TaskCompleted,
    TaskCancelled,
    LicenseGranted,
    LicenseReleased,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        Self::EmployeeHired,
        Self::EmployeeUpdated,
        Self::EmployeeTerminated,
        Self::EmployeeFieldsUpdated,
        Self::TaskOpened,
        Self::TaskItemUpdated,
        Self::TaskCompleted,
        Self::TaskCancelled,
        Self::LicenseGranted,
        Self::LicenseReleased,
    ];

    /// The `detail-type` on the bus.
    pub fn name(self) -> &'static str {
        match self {
            Self::EmployeeHired => "employee.hired",
            Self::EmployeeUpdated => "employee.updated",
            Self::EmployeeTerminated => "employee.terminated",
            Self::EmployeeFieldsUpdated => "employee.fields_updated",
            Self::TaskOpened => "task.opened",
            Self::TaskItemUpdated => "task.item_updated",
            Self::TaskCompleted => "task.completed",
            Self::TaskCancelled => "task.cancelled",
            Self::LicenseGranted => "license.granted",
            Self::LicenseReleased => "license.released",
        }
    }

    /// What the event means, for `docs/events.md`.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::EmployeeHired => "HR hired someone (or rehired them): an onboarding task opens.",
            Self::EmployeeUpdated => "HR changed a person's record without hiring or terminating them.",
            Self::EmployeeTerminated => "HR terminated someone (now or on a date).",
            Self::EmployeeFieldsUpdated => "An admin changed IT's own fields on a person (notes, label).",
            Self::TaskOpened => "An onboarding or offboarding task opened.",
            Self::TaskItemUpdated => "An admin marked a checklist item done, skipped or open again.",
            Self::TaskCompleted => "An admin completed a task.",
            Self::TaskCancelled => {
                "A task was made moot by HR (a termination before onboarding, a rehire) or an admin."
            }
            Self::LicenseGranted => "Someone got a paid license.",
            Self::LicenseReleased => "A license was released.",
        }
    }
}

/// A person's state after a change HR made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct EmployeeState {
    pub employee_id: EmployeeId,
    pub connection_id: ConnectionId,
    pub hub_status: HubStatus,
    pub license: bool,
    /// Employment cycle: one more for each rehire.
    pub cycle: u32,
    /// The employee record's version after the change.
    pub version: u64,
    /// Tasks the change opened or touched.
    pub task_ids: Vec<TaskId>,
}

/// IT's own fields on a person changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct FieldsUpdated {
    pub employee_id: EmployeeId,
    /// The names of the fields that changed (`it_notes`, `label`); never their values.
    pub fields: Vec<String>,
    pub version: u64,
}

/// A task after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct TaskState {
    pub task_id: TaskId,
    pub employee_id: EmployeeId,
    pub kind: TaskKind,
    pub cycle: u32,
    pub status: TaskStatus,
    pub due_date: NaiveDate,
    /// Onboarding completions: whether the person got hub access (and with it a license).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_access: Option<bool>,
}

/// One checklist item changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct ItemUpdated {
    pub task_id: TaskId,
    pub employee_id: EmployeeId,
    pub item_id: String,
    pub status: ItemStatus,
    /// Items still neither done nor skipped: the task can be completed at 0.
    pub open_items: u32,
}

/// A license granted or released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct LicenseChange {
    pub employee_id: EmployeeId,
}

/// What happened, by `detail-type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Payload {
    #[serde(rename = "employee.hired")]
    EmployeeHired(EmployeeState),
    #[serde(rename = "employee.updated")]
    EmployeeUpdated(EmployeeState),
    #[serde(rename = "employee.terminated")]
    EmployeeTerminated(EmployeeState),
    #[serde(rename = "employee.fields_updated")]
    EmployeeFieldsUpdated(FieldsUpdated),
    #[serde(rename = "task.opened")]
    TaskOpened(TaskState),
    #[serde(rename = "task.item_updated")]
    TaskItemUpdated(ItemUpdated),
    #[serde(rename = "task.completed")]
    TaskCompleted(TaskState),
    #[serde(rename = "task.cancelled")]
    TaskCancelled(TaskState),
    #[serde(rename = "license.granted")]
    LicenseGranted(LicenseChange),
    #[serde(rename = "license.released")]
    LicenseReleased(LicenseChange),
}

impl Payload {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::EmployeeHired(_) => EventKind::EmployeeHired,
            Self::EmployeeUpdated(_) => EventKind::EmployeeUpdated,
            Self::EmployeeTerminated(_) => EventKind::EmployeeTerminated,
            Self::EmployeeFieldsUpdated(_) => EventKind::EmployeeFieldsUpdated,
            Self::TaskOpened(_) => EventKind::TaskOpened,
            Self::TaskItemUpdated(_) => EventKind::TaskItemUpdated,
            Self::TaskCompleted(_) => EventKind::TaskCompleted,
            Self::TaskCancelled(_) => EventKind::TaskCancelled,
            Self::LicenseGranted(_) => EventKind::LicenseGranted,
            Self::LicenseReleased(_) => EventKind::LicenseReleased,
        }
    }
}

/// One event, as committed to an outbox and as published (`detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per event and the same on every publication of it: drop an id seen before.
    pub event_id: String,
    pub tenant_id: TenantId,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub payload: Payload,
}

impl Event {
    pub fn new(tenant_id: TenantId, occurred_at: DateTime<Utc>, payload: Payload) -> Self {
        Self { event_id: format!("evt_{}", uuid::Uuid::new_v4().simple()), tenant_id, occurred_at, payload }
    }

    pub fn name(&self) -> &'static str {
        self.payload.kind().name()
    }
}

/// The JSON Schema of each event's `detail`, by `detail-type`, as `docs/events.md` lists them.
#[cfg(feature = "schemas")]
pub fn schemas() -> Vec<(EventKind, serde_json::Value)> {
    use schemars::schema_for;
    EventKind::ALL
        .into_iter()
        .map(|kind| {
            let payload = match kind {
                EventKind::EmployeeHired | EventKind::EmployeeUpdated | EventKind::EmployeeTerminated => {
                    schema_for!(EmployeeState)
                }
                EventKind::EmployeeFieldsUpdated => schema_for!(FieldsUpdated),
                EventKind::TaskOpened | EventKind::TaskCompleted | EventKind::TaskCancelled => {
                    schema_for!(TaskState)
                }
                EventKind::TaskItemUpdated => schema_for!(ItemUpdated),
                EventKind::LicenseGranted | EventKind::LicenseReleased => schema_for!(LicenseChange),
            };
            (kind, envelope(kind, payload.to_value()))
        })
        .collect()
}

/// Adds what every event's `detail` carries to the schema of its payload.
#[cfg(feature = "schemas")]
fn envelope(kind: EventKind, mut schema: serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    schema["title"] = json!(kind.name());
    schema["description"] = json!(kind.meaning());
    let properties = schema["properties"].as_object_mut().expect("payloads are objects");
    properties.insert("event_id".into(), json!({"type": "string", "pattern": "^evt_[0-9a-f]{32}$", "description": "The same on every publication of this event"}));
    properties.insert("tenant_id".into(), json!({"type": "string", "pattern": "^ten_[0-9a-z]{8,64}$"}));
    properties.insert("occurred_at".into(), json!({"type": "string", "format": "date-time"}));
    properties.insert("type".into(), json!({"const": kind.name()}));
    let required = schema["required"].as_array_mut().expect("payloads have required fields");
    for field in ["event_id", "tenant_id", "occurred_at", "type"] {
        required.push(json!(field));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_with_its_type_beside_the_payload() {
        let tenant = TenantId::generate();
        let payload = Payload::LicenseGranted(LicenseChange { employee_id: EmployeeId::generate() });
        let event = Event::new(tenant, Utc::now(), payload);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "license.granted");
        assert!(json["employee_id"].is_string() && json["event_id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    #[test]
    fn every_kind_names_itself_as_its_payload_does() {
        for kind in EventKind::ALL {
            assert!(kind.name().contains('.'), "{kind:?}");
        }
        let names: std::collections::HashSet<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), EventKind::ALL.len());
    }
}
