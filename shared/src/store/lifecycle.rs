//! Tasks, licenses, playbooks and the audit trail, and the one transactional write that changes them together with
//! the employee, so that a person's state, their tasks and the record of what happened never disagree.

use super::{Item, Page, Store, StoreError, StoredEmployee, decode_cursor, dynamo, page, s, tenant_pk};
use crate::domain::{Actor, EmployeeId, Playbook, Task, TaskId, TaskKind, TaskStatus, TenantId};
use crate::resources::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A task as stored: the domain task plus its tenant and a version for optimistic locking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    pub tenant_id: TenantId,
    pub version: u64,
    #[serde(flatten)]
    pub task: Task,
}

/// Someone holding a paid license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct License {
    pub employee_id: EmployeeId,
    pub employee_name: String,
    pub granted_at: DateTime<Utc>,
}

/// One line of the audit trail: who changed what, when, from what to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub employee_id: EmployeeId,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ids: Vec<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl AuditEntry {
    pub fn new(actor: Actor, action: &str, employee_id: EmployeeId, at: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            actor,
            action: action.to_owned(),
            employee_id,
            task_ids: Vec::new(),
            before: None,
            after: None,
            events: Vec::new(),
        }
    }

    fn sort_key(&self) -> String {
        format!("A#{}#{}", self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), self.id)
    }
}

/// A task written by a commit: new (must not exist) or changed (its version is one more than the version read).
#[derive(Debug, Clone)]
pub enum TaskChange {
    Create(StoredTask),
    Update(StoredTask),
}

/// Everything one decision writes, all or nothing.
#[derive(Debug, Clone)]
pub struct Commit {
    pub tenant: TenantId,
    /// The employee with `version` one more than the version read (1 for a new one); `None` when only a task
    /// changes.
    pub employee: Option<StoredEmployee>,
    pub tasks: Vec<TaskChange>,
    pub grant: Option<License>,
    pub release: bool,
    pub audit: AuditEntry,
}

fn put(
    item: Item,
    condition: Option<&str>,
    values: Option<HashMap<String, AttributeValue>>,
    table: &str,
) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_values(values)
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

fn version_is(read: u64) -> Option<HashMap<String, AttributeValue>> {
    Some(HashMap::from([(":read".to_owned(), AttributeValue::N(read.to_string()))]))
}

impl Store {
    fn task_item(stored: &StoredTask) -> Result<Item, StoreError> {
        let task = &stored.task;
        let mut item = Self::keyed(stored, tenant_pk(&stored.tenant_id), format!("K#{}", task.id))?;
        item.insert(GSI1_PK.into(), s(format!("T#{}#TASKS#{}", stored.tenant_id, task.status.as_str())));
        item.insert(GSI1_SK.into(), s(format!("{}#{}", task.due_date, task.id)));
        Ok(item)
    }

    /// Writes a commit in one DynamoDB transaction. [`StoreError::Conflict`] when the employee or a task changed
    /// since it was read, or a task to create exists already: read again and decide again.
    pub async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let table = self.table.as_str();
        let pk = tenant_pk(&commit.tenant);
        let mut writes = Vec::with_capacity(commit.tasks.len() + 3);
        if let Some(employee) = &commit.employee {
            let employee_item = Self::employee_item(employee)?;
            writes.push(if employee.version <= 1 {
                put(employee_item, Some("attribute_not_exists(PK)"), None, table)
            } else {
                put(employee_item, Some("version = :read"), version_is(employee.version - 1), table)
            });
        }
        for change in &commit.tasks {
            writes.push(match change {
                TaskChange::Create(task) => put(Self::task_item(task)?, Some("attribute_not_exists(PK)"), None, table),
                TaskChange::Update(task) => {
                    put(Self::task_item(task)?, Some("version = :read"), version_is(task.version - 1), table)
                }
            });
        }
        if let Some(license) = &commit.grant {
            writes.push(put(
                Self::keyed(license, pk.clone(), format!("L#{}", license.employee_id))?,
                None,
                None,
                table,
            ));
        }
        if commit.release {
            let delete = Delete::builder()
                .table_name(table)
                .key(PK, s(pk.clone()))
                .key(SK, s(format!("L#{}", commit.audit.employee_id)))
                .build()
                .expect("table and key are set");
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        let mut audit = Self::keyed(&commit.audit, pk.clone(), commit.audit.sort_key())?;
        audit.insert(GSI1_PK.into(), s(format!("T#{}#AUDIT#{}", commit.tenant, commit.audit.employee_id)));
        audit.insert(GSI1_SK.into(), s(commit.audit.sort_key()));
        writes.push(put(audit, Some("attribute_not_exists(PK)"), None, table));

        let result = self.client.transact_write_items().set_transact_items(Some(writes)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                let code = err.as_service_error().and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code);
                if code == Some("TransactionCanceledException") { Err(StoreError::Conflict) } else { Err(dynamo(err)) }
            }
        }
    }

    pub async fn get_task(&self, tenant: &TenantId, id: &TaskId) -> Result<Option<StoredTask>, StoreError> {
        self.get_as(tenant_pk(tenant), &format!("K#{id}")).await
    }

    /// Tasks of one status, soonest due first, optionally of one kind.
    pub async fn list_tasks(
        &self,
        tenant: &TenantId,
        status: TaskStatus,
        kind: Option<TaskKind>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<StoredTask>, StoreError> {
        let pk = tenant_pk(tenant);
        let index_pk = format!("T#{tenant}#TASKS#{}", status.as_str());
        let start = cursor.map(|c| decode_cursor(c, &[(PK, &pk), (GSI1_PK, &index_pk)], (SK, "K#"))).transpose()?;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(index_pk))
            .limit(limit)
            .set_exclusive_start_key(start);
        if let Some(kind) = kind {
            query = query
                .filter_expression("#kind = :kind")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", s(kind.as_str()));
        }
        let out = query.send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// The tenant's playbook, or the default one if it has not written its own.
    pub async fn playbook(&self, tenant: &TenantId) -> Result<Playbook, StoreError> {
        let Some(mut item) = self.get(tenant_pk(tenant), "PLAYBOOK").await? else {
            return Ok(Playbook::default());
        };
        let body = item.remove("playbook").and_then(|v| v.as_s().ok().cloned()).unwrap_or_default();
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub async fn put_playbook(&self, tenant: &TenantId, playbook: &Playbook) -> Result<(), StoreError> {
        let body = serde_json::to_string(playbook).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let item = HashMap::from([
            (PK.to_owned(), s(tenant_pk(tenant))),
            (SK.to_owned(), s("PLAYBOOK")),
            ("playbook".to_owned(), s(body)),
            ("updated_at".to_owned(), s(Utc::now().to_rfc3339())),
        ]);
        self.put(item, None, HashMap::new()).await
    }

    /// A page of the license holders, and how many there are in all (what a bill counts).
    pub async fn page_licenses(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(u64, Page<License>), StoreError> {
        Ok((self.count_under(tenant, "L#").await?, self.page_under(tenant, "L#", limit, cursor).await?))
    }

    /// The audit trail, newest first, of the tenant or of one employee.
    pub async fn list_audit(
        &self,
        tenant: &TenantId,
        employee: Option<&EmployeeId>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let pk = tenant_pk(tenant);
        let mut query = self.client.query().table_name(&self.table).limit(limit).scan_index_forward(false);
        let start = match employee {
            Some(employee) => {
                let index_pk = format!("T#{tenant}#AUDIT#{employee}");
                let start = cursor.map(|c| decode_cursor(c, &[(PK, &pk), (GSI1_PK, &index_pk)], (SK, "A#")));
                query = query
                    .index_name(GSI1)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", GSI1_PK)
                    .expression_attribute_values(":pk", s(index_pk));
                start.transpose()?
            }
            None => {
                let start = cursor.map(|c| decode_cursor(c, &[(PK, &pk)], (SK, "A#")));
                query = query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":prefix", s("A#"));
                start.transpose()?
            }
        };
        let out = query.set_exclusive_start_key(start).send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }
}
