//! Onboarding and offboarding tasks: what IT has to prepare for a joiner or take back from a leaver, as a
//! checklist the admin works through.

use super::{Address, EmployeeId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Onboarding,
    Offboarding,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Onboarding => "onboarding",
            Self::Offboarding => "offboarding",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Completed,
    /// Made moot by a later HR change (a hire who never started, a termination withdrawn).
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A task's id is derived from the employee, the kind and the employment cycle, so that a redelivered change can
/// never open a second task for the same joiner or leaver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

impl TaskId {
    pub fn derive(employee: &EmployeeId, kind: TaskKind, cycle: u32) -> Self {
        let digest = Sha256::new()
            .chain_update(employee.as_str())
            .chain_update([0u8])
            .chain_update(kind.as_str())
            .chain_update(cycle.to_be_bytes())
            .finalize();
        Self(format!("tsk_{}", hex::encode(&digest[..12])))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix("tsk_")?;
        (rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaskId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw).ok_or_else(|| format!("not a valid task id: {raw:?}"))
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> String {
        id.0
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TaskId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^tsk_[0-9a-f]{24}$"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TaskId {}

#[cfg(feature = "schemas")]
impl schemars::JsonSchema for TaskId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TaskId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^tsk_[0-9a-f]{24}$" })
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Onboarding: a device to prepare and ship.
    Device,
    /// Onboarding: an application account to create.
    Application,
    /// Onboarding: an access group to add the person to.
    AccessGroup,
    /// Offboarding: access to revoke.
    RevokeAccess,
    /// Offboarding: a device to recover.
    RecoverDevice,
    /// Offboarding: data to hand over.
    TransferData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Open,
    Done,
    Skipped,
}

/// One line of a task's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItem {
    /// Stable within the task, e.g. `device-laptop`.
    pub id: String,
    pub kind: ItemKind,
    pub name: String,
    /// Device model, application name, group name or what to transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Devices ship to the employee's home address from HR; it follows HR changes while the task is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Who did something: an admin (by key label) or a sync of an HR connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    Admin { key: String },
    Sync { connection_id: String },
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Self::Admin { key } => format!("admin:{key}"),
            Self::Sync { connection_id } => format!("sync:{connection_id}"),
        }
    }
}

/// An HR fact recorded on a task without opening a new one (a termination arriving after a manual offboarding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HrNote {
    pub at: DateTime<Utc>,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub employee_id: EmployeeId,
    pub kind: TaskKind,
    /// The employment cycle: 1 for the first hire, one more for each rehire.
    pub cycle: u32,
    pub status: TaskStatus,
    pub due_date: NaiveDate,
    /// For lists: the person's name when the task opened or last changed.
    pub employee_name: String,
    pub items: Vec<ChecklistItem>,
    pub opened_at: DateTime<Utc>,
    pub opened_by: Actor,
    /// Why an offboarding was started by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hr_notes: Vec<HrNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<Actor>,
    /// For completed onboarding: whether the person was given access to the hub (and so a license).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_access: Option<bool>,
}

impl Task {
    pub fn is_open(&self) -> bool {
        self.status == TaskStatus::Open
    }

    /// Items neither done nor skipped.
    pub fn open_items(&self) -> Vec<&str> {
        self.items.iter().filter(|i| i.status == ItemStatus::Open).map(|i| i.id.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConnectionId;

    #[test]
    fn task_ids_are_per_employee_kind_and_cycle() {
        let c = ConnectionId::parse("con_00000000000000000000000000000001").unwrap();
        let e = EmployeeId::derive(&c, "1");
        let id = TaskId::derive(&e, TaskKind::Onboarding, 1);
        assert_eq!(id, TaskId::derive(&e, TaskKind::Onboarding, 1));
        assert_ne!(id, TaskId::derive(&e, TaskKind::Onboarding, 2));
        assert_ne!(id, TaskId::derive(&e, TaskKind::Offboarding, 1));
        assert_eq!(TaskId::parse(id.as_str()), Some(id));
        assert_eq!(TaskId::parse("tsk_nothex"), None);
    }
}
