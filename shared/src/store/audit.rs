//! The audit trail: who changed what, when, from what to what. Each entry is written in the same transaction as
//! the change it records.

use super::{Page, Store, StoreError, cursor, dynamo, keys, page, s};
use crate::domain::{Actor, ConnectionId, EmployeeId, TaskId, TenantId};
use crate::resources::{GSI1_PK, PK, SK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditAction {
    /// The HR system's record of a person was applied.
    #[serde(rename = "hr.sync")]
    HrSync,
    /// A first import: the people who already worked there, listed for setup (one entry per run).
    #[serde(rename = "hr.import")]
    HrImport,
    /// The HR system no longer has a person: offboarded as terminated that day.
    #[serde(rename = "hr.removed")]
    HrRemoved,
    /// An admin let a held run apply its terminations and removals.
    #[serde(rename = "connection.run_approved")]
    RunApproved,
    /// An admin discarded a held run's terminations and removals.
    #[serde(rename = "connection.run_rejected")]
    RunRejected,
    /// An admin stopped a queued or running run.
    #[serde(rename = "connection.run_cancelled")]
    RunCancelled,
    #[serde(rename = "employee.setup")]
    EmployeeSetup,
    #[serde(rename = "employee.offboard")]
    EmployeeOffboard,
    #[serde(rename = "employee.fields_updated")]
    EmployeeFieldsUpdated,
    #[serde(rename = "task.item_updated")]
    TaskItemUpdated,
    #[serde(rename = "task.completed")]
    TaskCompleted,
    #[serde(rename = "playbook.replaced")]
    PlaybookReplaced,
    #[serde(rename = "connection.created")]
    ConnectionCreated,
    /// An admin edited a connection's settings, credentials or schedule (the entry keeps the settings and
    /// schedule before and after, and only whether the credentials were replaced).
    #[serde(rename = "connection.updated")]
    ConnectionUpdated,
    #[serde(rename = "connection.deleted")]
    ConnectionDeleted,
    #[serde(rename = "connection.webhook_secret_rotated")]
    WebhookSecretRotated,
    /// IT Hub registered its webhook with the HR system, which issued the key kept as the webhook secret.
    #[serde(rename = "connection.webhook_registered")]
    WebhookRegistered,
    #[serde(rename = "connection.sync_requested")]
    SyncRequested,
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Employee(EmployeeId),
    Connection(ConnectionId),
    Playbook,
}

/// One line of the audit trail: who changed what, when, from what to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<EmployeeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<ConnectionId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ids: Vec<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// The domain events this change published, by `detail-type`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl AuditEntry {
    pub fn new(actor: Actor, action: AuditAction, subject: Subject, at: DateTime<Utc>) -> Self {
        let (employee_id, connection_id) = match subject {
            Subject::Employee(id) => (Some(id), None),
            Subject::Connection(id) => (None, Some(id)),
            Subject::Playbook => (None, None),
        };
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            actor,
            action,
            employee_id,
            connection_id,
            task_ids: Vec::new(),
            before: None,
            after: None,
            events: Vec::new(),
        }
    }

    pub(crate) fn sort_key(&self) -> String {
        keys::audit(self.at, &self.id)
    }

    /// The subject the index lists this entry under.
    pub(crate) fn subject_key(&self) -> String {
        match (&self.employee_id, &self.connection_id) {
            (Some(employee), _) => employee.to_string(),
            (None, Some(connection)) => connection.to_string(),
            (None, None) => keys::PLAYBOOK.to_owned(),
        }
    }
}

impl Store {
    /// The audit trail, newest first, of the tenant or of one employee.
    pub async fn list_audit(
        &self,
        tenant: &TenantId,
        employee: Option<&EmployeeId>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let pk = keys::tenant(tenant);
        let (query, start) = match employee {
            Some(employee) => {
                let index_pk = keys::audit_of(tenant, employee.as_str());
                let start = cursor::start(cursor, &[(PK, &pk), (GSI1_PK, &index_pk)], (SK, keys::AUDIT));
                (self.index_query(&index_pk), start?)
            }
            None => {
                let start = cursor::start(cursor, &[(PK, &pk)], (SK, keys::AUDIT));
                let query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":prefix", s(keys::AUDIT));
                (query, start?)
            }
        };
        let out =
            query.limit(limit).scan_index_forward(false).set_exclusive_start_key(start).send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }
}
