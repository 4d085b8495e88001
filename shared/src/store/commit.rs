//! The one transactional write: a change to an employee, their tasks, their license, the playbook or a
//! connection, together with its audit entry, so that state and the record of what happened never disagree.

use super::employees::version_condition;
use super::{
    AuditEntry, Connection, Item, License, Store, StoreError, StoredEmployee, StoredTask, corrupt, dynamo, keys, s,
};
use crate::domain::{EmployeeId, Playbook, TenantId};
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
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
    /// Not written: the commit only records something done to it.
    Touch,
    /// Its secrets changed (a webhook secret rotated or a webhook registered): `secrets_changed_at` is set, so
    /// every process reads a copy of the secret older than that again.
    SecretsChanged(crate::domain::ConnectionId),
    /// An admin's edit: its settings, schedule and `edited_at` written as they are here, only if its `edited_at`
    /// is still `read` (what the edit was decided on); nothing else of it (a run's hold, the change-feed state).
    Edit { connection: Connection, read: Option<chrono::DateTime<Utc>> },
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
    /// Moves the tenant's connection counter by `by`: one more only while it is under the cap (a tenant that had
    /// connections before the counter began counts from 0).
    fn count_connections(&self, pk: String, by: i64, table: &str) -> TransactWriteItem {
        let mut update = Update::builder()
            .table_name(table)
            .key(PK, s(pk))
            .key(SK, s(keys::TENANT))
            .update_expression("SET #count = if_not_exists(#count, :zero) + :by")
            .expression_attribute_names("#count", keys::CONNECTION_COUNT)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()));
        if by > 0 {
            update = update
                .condition_expression("attribute_not_exists(#count) OR #count < :cap")
                .expression_attribute_values(":cap", AttributeValue::N(self.connection_cap.to_string()));
        }
        TransactWriteItem::builder().update(update.build().expect("table, key and expression are set")).build()
    }

    /// An edit of a connection's settings and schedule (see [`ConnectionChange::Edit`]): an absent schedule field
    /// is removed, as a new connection leaves it out.
    fn edit_connection(
        connection: &Connection,
        read: Option<chrono::DateTime<Utc>>,
        pk: String,
        table: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut values = HashMap::new();
        // Every attribute by a name placeholder: some words (`cursor`, say) are reserved in expressions.
        let mut names = HashMap::from([
            ("#provider".to_owned(), "provider".to_owned()),
            ("#edited".to_owned(), "edited_at".to_owned()),
        ]);
        let mut sets = vec!["#provider = :provider".to_owned(), "#edited = :edited".to_owned()];
        let mut removes = Vec::new();
        values.insert(":provider".to_owned(), serde_dynamo::to_attribute_value(&connection.provider).map_err(corrupt)?);
        values.insert(":edited".to_owned(), serde_dynamo::to_attribute_value(connection.edited_at).map_err(corrupt)?);
        let numbers = [
            ("poll_interval_secs", connection.poll_interval_secs),
            ("full_interval_secs", connection.full_interval_secs),
            ("safeguard_percent", connection.safeguard_percent.map(u64::from)),
            ("safeguard_minimum", connection.safeguard_minimum.map(u64::from)),
        ];
        for (name, number) in numbers {
            names.insert(format!("#{name}"), name.to_owned());
            match number {
                Some(n) => {
                    sets.push(format!("#{name} = :{name}"));
                    values.insert(format!(":{name}"), AttributeValue::N(n.to_string()));
                }
                None => removes.push(format!("#{name}")),
            }
        }
        let condition = match read {
            Some(read) => {
                values.insert(":read".to_owned(), serde_dynamo::to_attribute_value(read).map_err(corrupt)?);
                "attribute_exists(PK) AND #edited = :read"
            }
            None => "attribute_exists(PK) AND attribute_not_exists(#edited)",
        };
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = Update::builder()
            .table_name(table)
            .key(PK, s(pk))
            .key(SK, s(keys::connection(&connection.id)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .expect("table, key and expression are set");
        Ok(TransactWriteItem::builder().update(update).build())
    }

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
                writes.push(self.count_connections(pk.clone(), 1, table));
            }
            Some(ConnectionChange::Delete(connection)) => {
                let sk = keys::connection(&connection.id);
                writes.push(delete(pk.clone(), sk, Some("attribute_exists(PK)"), table));
                writes.push(self.count_connections(pk.clone(), -1, table));
            }
            Some(ConnectionChange::Edit { connection, read }) => {
                writes.push(Self::edit_connection(connection, *read, pk.clone(), table)?);
            }
            Some(ConnectionChange::SecretsChanged(id)) => {
                let names = HashMap::from([("#changed".to_owned(), "secrets_changed_at".to_owned())]);
                let now = serde_dynamo::to_attribute_value(Utc::now()).map_err(corrupt)?;
                let update = Update::builder()
                    .table_name(table)
                    .key(PK, s(pk.clone()))
                    .key(SK, s(keys::connection(id)))
                    .update_expression("SET #changed = :now")
                    .condition_expression("attribute_exists(PK)")
                    .set_expression_attribute_names(Some(names))
                    .expression_attribute_values(":now", now)
                    .build()
                    .expect("table, key and expression are set");
                writes.push(TransactWriteItem::builder().update(update).build());
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
