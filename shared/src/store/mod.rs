//! DynamoDB, single table, tenant first: one module per aggregate (tenants and keys, connections, employees,
//! tasks, audit, runs, idempotency), the key formats in [`keys`], and the one transactional write in [`commit`].

use crate::resources::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

mod audit;
mod commit;
mod connections;
mod cursor;
mod employees;
mod idempotency;
pub mod keys;
mod runs;
mod scim;
mod sessions;
mod tasks;
mod tenants;

pub use audit::{AuditAction, AuditEntry, Subject};
pub use commit::{Commit, ConnectionChange, TaskChange};
pub use connections::{Connection, Lap, RunOutcome};
pub use employees::{EmployeeFilter, StoredEmployee};
pub use idempotency::DeliveryClaim;
pub use runs::{
    Checkpoint, PendingChange, Phase, RunCounts, RunMode, RunStatus, RunTrigger, SafeguardDecision, SyncRun,
};
pub use scim::{ScimLookup, ScimTokenOwner, ScimUser};
pub use sessions::Session;
pub use tasks::{License, StoredTask};
pub use tenants::{ApiKeyRecord, KeyOwner};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Times a list update is read and tried again when another writer changed the list first.
pub(crate) const UNHOLD_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone else wrote first.
    #[error("the item changed since it was read")]
    Conflict,
    #[error("the page cursor is not one we issued")]
    BadCursor,
    #[error("DynamoDB: {0}")]
    Dynamo(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
}

pub(crate) fn dynamo<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError {
    let code = err.as_service_error().and_then(|e| e.code());
    match code {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        _ => StoreError::Dynamo(DisplayErrorContext(&err).to_string()),
    }
}

/// An item that does not read back as its type. serde's message can quote the stored value (an email, an
/// address), and this error reaches logs: only its kind is kept.
pub(crate) fn corrupt(err: impl std::fmt::Display) -> StoreError {
    let message = err.to_string();
    if message.starts_with("missing field `") {
        return StoreError::Corrupt(message.split_inclusive('`').take(2).collect()); // the field's name only
    }
    let kind = if message.starts_with("unknown field") {
        "a field is not one known"
    } else if message.starts_with("unknown variant") || message.starts_with("invalid value") {
        "a value is not one of those known"
    } else if message.starts_with("invalid type") {
        "a value has the wrong type"
    } else {
        "it does not read as the type"
    };
    StoreError::Corrupt(kind.to_owned())
}

/// `Ok(false)` for a conditional write that lost: the item was not there, or not in the state asked for.
pub(crate) fn applied(result: Result<(), StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads stored items into their types.
pub(crate) fn from_items<T: for<'de> Deserialize<'de>>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items.into_iter().map(|i| serde_dynamo::from_item(i).map_err(corrupt)).collect()
}

/// A page of a query's items, with the cursor for the next one.
pub(crate) fn page<T: for<'de> Deserialize<'de>>(
    items: Option<Vec<Item>>,
    last_key: Option<&Item>,
) -> Result<Page<T>, StoreError> {
    Ok(Page { items: from_items(items.unwrap_or_default())?, next_cursor: last_key.map(cursor::encode) })
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// One page of a list, and the opaque cursor for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// How long audit entries are kept (their TTL).
    audit_retention: chrono::Duration,
    /// The most connections a tenant may have (a counter on the tenant, kept by the commits that make and delete
    /// them).
    connection_cap: u32,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            audit_retention: crate::config::audit_retention(),
            connection_cap: crate::config::max_connections_per_tenant(),
        }
    }

    /// The same store with another cap on connections per tenant.
    pub fn with_connection_cap(mut self, cap: u32) -> Self {
        self.connection_cap = cap;
        self
    }

    pub fn connection_cap(&self) -> u32 {
        self.connection_cap
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) async fn put(&self, item: Item, condition: Option<&str>, values: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }

    pub(crate) async fn get_as<T: for<'de> Deserialize<'de>>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.map(|i| serde_dynamo::from_item(i).map_err(corrupt)).transpose()
    }

    pub(crate) async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.item)
    }

    /// Deletes an item if it exists; `false` if it did not.
    pub(crate) async fn delete_existing(&self, pk: String, sk: String) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        applied(deleted)
    }

    pub(crate) fn keyed<T: Serialize>(value: &T, pk: String, sk: String) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(value).map_err(corrupt)?;
        item.insert(PK.into(), s(pk));
        item.insert(SK.into(), s(sk));
        Ok(item)
    }

    /// A query for one page of a tenant's items whose sort key starts with `prefix`, from `cursor` on.
    pub(crate) fn prefix_query(
        &self,
        tenant: &crate::domain::TenantId,
        prefix: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, StoreError> {
        let pk = keys::tenant(tenant);
        let start = cursor::start(cursor, &[(PK, &pk)], (SK, prefix))?;
        Ok(self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start))
    }

    /// One page of a tenant's items whose sort key starts with `prefix`.
    pub(crate) async fn page_under<T: for<'de> Deserialize<'de>>(
        &self,
        tenant: &crate::domain::TenantId,
        prefix: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let out = self.prefix_query(tenant, prefix, limit, cursor)?.send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// How many items of a tenant have a sort key starting with `prefix`.
    pub(crate) async fn count_under(&self, tenant: &crate::domain::TenantId, prefix: &str) -> Result<u64, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::tenant(tenant)))
            .expression_attribute_values(":prefix", s(prefix))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let counts: Vec<_> = pages.collect::<Result<Vec<_>, _>>().await.map_err(dynamo)?;
        Ok(counts.iter().map(|page| page.count.max(0) as u64).sum())
    }

    /// A query over one GSI1 partition.
    pub(crate) fn index_query(&self, pk: &str) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(pk))
    }

    /// Every item in one GSI1 partition, all pages.
    pub(crate) async fn index_partition<T: for<'de> Deserialize<'de>>(&self, pk: &str) -> Result<Vec<T>, StoreError> {
        let pages = self.index_query(pk).into_paginator().items().send();
        from_items(pages.try_collect().await.map_err(dynamo)?)
    }

    /// The item GSI1 holds under exactly this key, if any.
    pub(crate) async fn index_lookup(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .index_query(pk)
            .key_condition_expression("#pk = :pk AND #sk = :sk")
            .expression_attribute_names("#sk", GSI1_SK)
            .expression_attribute_values(":sk", s(sk))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.items.unwrap_or_default().into_iter().next())
    }
}
