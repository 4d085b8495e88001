//! The one transactional write: a change to an employee, their tasks, their license, the playbook or a
//! connection, together with its audit entry, so that state and the record of what happened never disagree.

use super::employees::version_condition;
use super::{AuditEntry, Connection, Item, License, Store, StoreError, StoredEmployee, StoredTask, dynamo, keys, s};
use crate::domain::{EmployeeId, Playbook, TenantId};
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::Utc;
use std::collections::HashMap;

/// A task written by a commit: new (must not exist) or changed (its version is one more than the version read).
#[derive(Debug, Clone)]
pub enum TaskChange {
    Create(StoredTask),
    Update(StoredTask),
}

impl TaskChange {
    pub fn task(&self) -> &StoredTask {
        match self {
            Self::Create(t) | Self::Update(t) => t,
        }
    }

    pub fn task_mut(&mut self) -> &mut StoredTask {
        match self {
            Self::Create(t) | Self::Update(t) => t,
        }
    }
}

/// What a commit does to a connection.
#[derive(Debug, Clone)]
pub enum ConnectionChange {
    /// Created (must not exist yet).
    Create(Connection),
    /// Removed (must exist).
    Delete(Connection),
    /// Not written: the change was to its secrets, and the commit only records it.
    Touch,
}

/// Everything one decision writes, all or nothing.
#[derive(Debug, Clone)]
pub struct Commit {
    pub tenant: TenantId,
    /// The employee with `version` one more than the version read (1 for a new one), its outbox holding this
    /// change's events.
    pub employee: Option<StoredEmployee>,
    pub tasks: Vec<TaskChange>,
    pub grant: Option<License>,
    /// Whose license goes.
    pub release: Option<EmployeeId>,
    pub playbook: Option<Playbook>,
    pub connection: Option<ConnectionChange>,
    pub audit: AuditEntry,
}

impl Commit {
    /// A commit that only records `audit`; add what it writes.
    pub fn new(tenant: TenantId, audit: AuditEntry) -> Self {
        Self {
            tenant,
            employee: None,
            tasks: Vec::new(),
            grant: None,
            release: None,
            playbook: None,
            connection: None,
            audit,
        }
    }
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

fn delete(pk: String, sk: String, condition: Option<&str>, table: &str) -> TransactWriteItem {
    let delete = Delete::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .expect("table and key are set");
    TransactWriteItem::builder().delete(delete).build()
}

impl Store {
    /// Writes a commit in one DynamoDB transaction. [`StoreError::Conflict`] when the employee or a task changed
    /// since it was read, or something to create exists already: read again and decide again.
    pub async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let table = self.table.as_str();
        let pk = keys::tenant(&commit.tenant);
        let mut writes = Vec::with_capacity(commit.tasks.len() + 4);
        if let Some(employee) = &commit.employee {
            let (condition, values) = version_condition(employee.version);
            writes.push(put(Self::employee_item(employee)?, Some(condition), values, table));
        }
        for change in &commit.tasks {
            let (condition, values) = match change {
                TaskChange::Create(_) => ("attribute_not_exists(PK)", None),
                TaskChange::Update(task) => version_condition(task.version.max(2)),
            };
            writes.push(put(Self::task_item(change.task())?, Some(condition), values, table));
        }
        if let Some(license) = &commit.grant {
            writes.push(put(Self::license_item(&commit.tenant, license)?, None, None, table));
        }
        if let Some(employee) = &commit.release {
            writes.push(delete(pk.clone(), keys::license(employee), None, table));
        }
        if let Some(playbook) = &commit.playbook {
            writes.push(put(Self::playbook_item(&commit.tenant, playbook, Utc::now())?, None, None, table));
        }
        match &commit.connection {
            Some(ConnectionChange::Create(connection)) => {
                let mut item = Self::keyed(connection, pk.clone(), keys::connection(&connection.id))?;
                item.insert(GSI1_PK.into(), s(keys::ALL_CONNECTIONS));
                item.insert(GSI1_SK.into(), s(keys::connection(&connection.id)));
                writes.push(put(item, Some("attribute_not_exists(PK)"), None, table));
            }
            Some(ConnectionChange::Delete(connection)) => {
                let sk = keys::connection(&connection.id);
                writes.push(delete(pk.clone(), sk, Some("attribute_exists(PK)"), table));
            }
            Some(ConnectionChange::Touch) | None => {}
        }
        let sort_key = commit.audit.sort_key();
        let mut audit = Self::keyed(&commit.audit, pk.clone(), sort_key.clone())?;
        audit.insert(GSI1_PK.into(), s(keys::audit_of(&commit.tenant, &commit.audit.subject_key())));
        audit.insert(GSI1_SK.into(), s(sort_key));
        let expires = (commit.audit.at + self.audit_retention).timestamp();
        audit.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(expires.to_string()));
        writes.push(put(audit, Some("attribute_not_exists(PK)"), None, table));

        let result = self.client.transact_write_items().set_transact_items(Some(writes)).send().await;
        result.map(drop).map_err(|err| {
            use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
            // A transaction cancelled for a lost condition (or a concurrent transaction) is a conflict, to be read
            // and decided again; cancelled for anything else (an item too large, say) it is an error.
            let lost = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let codes: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
                    codes.is_empty()
                        || codes.iter().any(|c| matches!(*c, "ConditionalCheckFailed" | "TransactionConflict"))
                }
                _ => false,
            };
            if lost { StoreError::Conflict } else { dynamo(err) }
        })
    }
}
