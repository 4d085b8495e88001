//! DynamoDB, single table, tenant first. Every key of a tenant's data starts with `T#{tenant}`, so no query made
//! with a tenant id can reach another tenant's items.
//!
//! | item        | PK              | SK           | GSI1PK       | GSI1SK        |
//! |-------------|-----------------|--------------|--------------|---------------|
//! | tenant      | `T#{tenant}`    | `TENANT`     |              |               |
//! | employee    | `T#{tenant}`    | `E#{emp}`    |              |               |
//! | connection  | `T#{tenant}`    | `C#{conn}`   | `CONNECTION` | `C#{conn}`    |
//! | API key     | `K#{sha256}`    | `KEY`        |              |               |
//! | idempotency | `I#{key}`       | `IDEMPOTENCY`|              |               |
//! | task        | `T#{tenant}`    | `K#{task}`   | `T#{tenant}#TASKS#{status}` | `{due}#{task}` |
//! | license     | `T#{tenant}`    | `L#{emp}`    |              |               |
//! | playbook    | `T#{tenant}`    | `PLAYBOOK`   |              |               |
//! | audit       | `T#{tenant}`    | `A#{time}#{id}` | `T#{tenant}#AUDIT#{emp}` | `A#{time}#{id}` |

use crate::domain::{ConnectionId, Employee, EmployeeId, Hub, HubFields, HubStatus, TenantId};
use crate::providers::ProviderSettings;
use crate::resources::{GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

mod lifecycle;
mod runs;

pub use lifecycle::{AuditEntry, Commit, License, StoredTask, TaskChange};
pub use runs::{RunStatus, RunTrigger, SyncRun};

pub(crate) type Item = HashMap<String, AttributeValue>;

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
    let conditional = err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException");
    if conditional { StoreError::Conflict } else { StoreError::Dynamo(DisplayErrorContext(&err).to_string()) }
}

pub(crate) fn corrupt(err: serde_dynamo::Error) -> StoreError {
    StoreError::Corrupt(err.to_string())
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
    Ok(Page { items: from_items(items.unwrap_or_default())?, next_cursor: last_key.map(encode_cursor) })
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

/// An employee as IT Hub keeps them: the HR record under `hr`, plus what the hub tracks about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEmployee {
    pub tenant_id: TenantId,
    pub id: EmployeeId,
    pub connection_id: ConnectionId,
    pub hr: Employee,
    /// What the hub itself tracks: setup, tasks' cycle, license.
    pub hub: Hub,
    /// What IT writes about the person (notes, a label): the only fields an admin may change.
    #[serde(default)]
    pub fields: HubFields,
    /// Domain events committed with a change and not yet accepted by the bus (a transactional outbox): whoever
    /// next reads the employee publishes them, so a failed publish delays events but never loses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
    /// [`Employee::content_hash`] of `hr`: an observation with the same hash costs no write.
    pub hr_hash: String,
    /// Incremented by every write; every write is conditional on the version it read.
    pub version: u64,
    pub observed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A domain event waiting in an employee's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingEvent {
    pub name: String,
    pub detail: serde_json::Value,
}

/// A tenant's link to an HR system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub tenant_id: TenantId,
    pub id: ConnectionId,
    pub provider: ProviderSettings,
    /// The Secrets Manager secret that holds the HR credential and the webhook secrets; never the secrets.
    pub secret_id: String,
    /// At least this long between scheduled polls; `None` polls on every tick of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_secs: Option<u64>,
    /// Where the next incremental poll starts; `None` until the first full import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<DateTime<Utc>>,
}

impl Connection {
    /// Whether the schedule should poll this connection at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        match (self.poll_interval_secs, self.last_polled_at) {
            (Some(interval), Some(last)) => now - last >= chrono::Duration::seconds(interval as i64),
            _ => true,
        }
    }

    /// A new connection, not yet polled: its first poll imports everyone.
    pub fn new(tenant: TenantId, provider: ProviderSettings) -> Self {
        let id = ConnectionId::generate();
        Self {
            secret_id: format!("ithub/{tenant}/{id}"),
            tenant_id: tenant,
            id,
            provider,
            poll_interval_secs: None,
            cursor: None,
            created_at: Utc::now(),
            last_polled_at: None,
        }
    }
}

/// An admin key as stored: never the key, only its hash (in the item's key) and a short public id to name it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The first 12 hex digits of the key's hash: enough to tell keys apart in a list, useless to sign in with.
    pub key_id: String,
    pub tenant_id: TenantId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who an admin key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub tenant: TenantId,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tenant {
    tenant_id: TenantId,
    name: String,
    created_at: DateTime<Utc>,
}

/// The attribute text search reads: names and emails in lower case.
const SEARCH: &str = "search";

/// Which employees a list returns; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeFilter {
    pub hub_status: Option<HubStatus>,
    pub department: Option<String>,
    pub license: Option<bool>,
    /// Set up (any status but not set up) or not.
    pub set_up: Option<bool>,
    /// Contained in a name or an email, ignoring case.
    pub text: Option<String>,
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
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
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

    pub(crate) fn keyed<T: Serialize>(value: &T, pk: String, sk: String) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(value).map_err(corrupt)?;
        item.insert(PK.into(), s(pk));
        item.insert(SK.into(), s(sk));
        Ok(item)
    }

    // --- tenants and keys -------------------------------------------------------------------------------------

    pub async fn create_tenant(&self, tenant: &TenantId, name: &str) -> Result<(), StoreError> {
        let record = Tenant { tenant_id: tenant.clone(), name: name.to_owned(), created_at: Utc::now() };
        let item = Self::keyed(&record, tenant_pk(tenant), "TENANT".into())?;
        self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await
    }

    pub async fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        Ok(self.get(tenant_pk(tenant), "TENANT").await?.is_some())
    }

    /// Stores an admin key by its hash. The key itself is never stored.
    pub async fn put_api_key(
        &self,
        key_hash: &str,
        tenant: &TenantId,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let record = ApiKeyRecord {
            key_id: key_hash.chars().take(12).collect(),
            tenant_id: tenant.clone(),
            label: label.to_owned(),
            created_at: Utc::now(),
            expires_at,
            revoked_at: None,
        };
        let mut item = Self::keyed(&record, format!("K#{key_hash}"), "KEY".into())?;
        item.insert(GSI1_PK.into(), s(format!("T#{tenant}#KEYS")));
        item.insert(GSI1_SK.into(), s(format!("K#{}", record.key_id)));
        self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await
    }

    /// A tenant's keys, revoked and expired ones included.
    pub async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.index_partition(&format!("T#{tenant}#KEYS")).await
    }

    /// Every item in one GSI1 partition, all pages.
    async fn index_partition<T: for<'de> Deserialize<'de>>(&self, pk: &str) -> Result<Vec<T>, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(pk))
            .into_paginator()
            .items()
            .send();
        from_items(pages.try_collect().await.map_err(dynamo)?)
    }

    /// The item GSI1 holds under exactly this key, if any.
    async fn index_lookup(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk AND #sk = :sk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_names("#sk", GSI1_SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":sk", s(sk))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.items.unwrap_or_default().into_iter().next())
    }

    /// Revokes a tenant's key by its public id. `false` if the tenant has no such key (or it was revoked before).
    pub async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found = self.index_lookup(&format!("T#{tenant}#KEYS"), &format!("K#{key_id}")).await?;
        let Some(hash_key) = found.and_then(|item| item.get(PK).cloned()) else {
            return Ok(false);
        };
        let revoked = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, hash_key)
            .key(SK, s("KEY"))
            .update_expression("SET revoked_at = :now")
            .condition_expression("tenant_id = :tenant AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":tenant", s(tenant.as_str()))
            .send()
            .await;
        match revoked.map_err(dynamo) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Who an `Authorization` header speaks for: the one check behind the admin API and its Lambda authorizer.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyOwner>, StoreError> {
        match authorization.and_then(crate::apikey::bearer) {
            Some(key) => self.key_owner(&crate::apikey::hash(key), now).await,
            None => Ok(None),
        }
    }

    /// The tenant and label of a key, if the key exists, is not revoked and has not expired.
    pub async fn key_owner(&self, key_hash: &str, now: DateTime<Utc>) -> Result<Option<KeyOwner>, StoreError> {
        let Some(item) = self.get(format!("K#{key_hash}"), "KEY").await? else {
            return Ok(None);
        };
        let record: ApiKeyRecord = serde_dynamo::from_item(item).map_err(corrupt)?;
        let live = record.revoked_at.is_none() && record.expires_at.is_none_or(|at| at > now);
        Ok(live.then_some(KeyOwner { tenant: record.tenant_id, label: record.label }))
    }

    // --- connections ------------------------------------------------------------------------------------------

    pub async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut item = Self::keyed(connection, tenant_pk(&connection.tenant_id), format!("C#{}", connection.id))?;
        item.insert(GSI1_PK.into(), s("CONNECTION"));
        item.insert(GSI1_SK.into(), s(format!("C#{}", connection.id)));
        self.put(item, None, Item::new()).await
    }

    pub async fn get_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        self.get_as(tenant_pk(tenant), &format!("C#{id}")).await
    }

    /// Finds a connection by id alone: a webhook URL names the connection, not the tenant.
    pub async fn find_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        let Some(item) = self.index_lookup("CONNECTION", &format!("C#{id}")).await? else {
            return Ok(None);
        };
        // The index is eventually consistent; read the item itself for the current cursor and secrets.
        let found: Connection = serde_dynamo::from_item(item).map_err(corrupt)?;
        self.get_connection(&found.tenant_id, &found.id).await
    }

    /// Removes a tenant's connection: it is no longer polled and its webhook URL answers 404. Its employees stay.
    pub async fn delete_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(format!("C#{id}")))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(dynamo);
        match deleted {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A page of a tenant's connections.
    pub async fn page_connections(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Connection>, StoreError> {
        self.page_under(tenant, "C#", limit, cursor).await
    }

    /// A query for one page of a tenant's items whose sort key starts with `prefix`, from `cursor` on.
    pub(crate) fn prefix_query(
        &self,
        tenant: &TenantId,
        prefix: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, StoreError> {
        let pk = tenant_pk(tenant);
        let start = cursor.map(|c| decode_cursor(c, &[(PK, &pk)], (SK, prefix))).transpose()?;
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
        tenant: &TenantId,
        prefix: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let out = self.prefix_query(tenant, prefix, limit, cursor)?.send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// How many items of a tenant have a sort key starting with `prefix`.
    pub(crate) async fn count_under(&self, tenant: &TenantId, prefix: &str) -> Result<u64, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(prefix))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let counts: Vec<_> = pages.collect::<Result<Vec<_>, _>>().await.map_err(dynamo)?;
        Ok(counts.iter().map(|page| page.count.max(0) as u64).sum())
    }

    /// Every connection of every tenant, for the scheduled poller.
    pub async fn all_connections(&self) -> Result<Vec<Connection>, StoreError> {
        self.index_partition("CONNECTION").await
    }

    /// Moves a connection's cursor forward, only if no other run moved it since `previous` was read.
    pub async fn advance_cursor(
        &self,
        connection: &Connection,
        previous: Option<&str>,
        next: &str,
        polled_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&connection.tenant_id)))
            .key(SK, s(format!("C#{}", connection.id)))
            .update_expression("SET #cursor = :next, last_polled_at = :at")
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":at", s(polled_at.to_rfc3339()));
        request = match previous {
            Some(prev) => request.condition_expression("#cursor = :prev").expression_attribute_values(":prev", s(prev)),
            None => request.condition_expression("attribute_exists(PK) AND attribute_not_exists(#cursor)"),
        };
        request.send().await.map(drop).map_err(dynamo)
    }

    // --- employees --------------------------------------------------------------------------------------------

    pub async fn get_employee(&self, tenant: &TenantId, id: &EmployeeId) -> Result<Option<StoredEmployee>, StoreError> {
        self.get_as(tenant_pk(tenant), &format!("E#{id}")).await
    }

    /// Writes an employee whose `version` is one more than the version read. Fails with
    /// [`StoreError::Conflict`] if the stored version is no longer the one read (or, for a new employee, if one
    /// appeared meanwhile).
    pub async fn put_employee(&self, employee: &StoredEmployee) -> Result<(), StoreError> {
        let item = Self::employee_item(employee)?;
        if employee.version <= 1 {
            return self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await;
        }
        let read = HashMap::from([(":read".to_owned(), AttributeValue::N((employee.version - 1).to_string()))]);
        self.put(item, Some("version = :read"), read).await
    }

    /// Empties an employee's outbox once its events are published, unless a newer change wrote the employee since
    /// (its outbox then holds that change's events, still to publish).
    pub async fn clear_outbox(&self, employee: &StoredEmployee) -> Result<(), StoreError> {
        let cleared = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&employee.tenant_id)))
            .key(SK, s(format!("E#{}", employee.id)))
            .update_expression("REMOVE outbox")
            .condition_expression("version = :version")
            .expression_attribute_values(":version", AttributeValue::N(employee.version.to_string()))
            .send()
            .await
            .map_err(dynamo);
        match cleared {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A page of the tenant's employees that match `filter`. The filter applies after the page is read (a
    /// DynamoDB filter), so a page may hold fewer than `limit` matches while more follow: keep following
    /// `next_cursor`.
    pub async fn list_employees(
        &self,
        tenant: &TenantId,
        filter: &EmployeeFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<StoredEmployee>, StoreError> {
        let mut query = self.prefix_query(tenant, "E#", limit, cursor)?;
        let mut conditions = Vec::new();
        let status = |status: HubStatus| serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned));
        if let Some(hub_status) = filter.hub_status.and_then(status) {
            conditions.push("#hub.#status = :status");
            query = query.expression_attribute_values(":status", s(hub_status));
        }
        if let Some(set_up) = filter.set_up {
            conditions.push(if set_up { "#hub.#status <> :not_set_up" } else { "#hub.#status = :not_set_up" });
            query =
                query.expression_attribute_values(":not_set_up", s(status(HubStatus::NotSetUp).unwrap_or_default()));
        }
        if let Some(license) = filter.license {
            conditions.push("#hub.#license = :license");
            query = query.expression_attribute_values(":license", AttributeValue::Bool(license));
        }
        if let Some(department) = &filter.department {
            conditions.push("#hr.#department = :department");
            query = query.expression_attribute_values(":department", s(department));
        }
        if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            conditions.push("contains(#search, :text)");
            query = query.expression_attribute_values(":text", s(text.to_lowercase()));
        }
        if !conditions.is_empty() {
            let names = [("#hub", "hub"), ("#status", "status"), ("#license", "license"), ("#hr", "hr")];
            let names = names.into_iter().chain([("#department", "department"), ("#search", SEARCH)]);
            for (placeholder, name) in names {
                let expression = conditions.join(" AND ");
                if expression.contains(placeholder) {
                    query = query.expression_attribute_names(placeholder, name);
                }
            }
            query = query.filter_expression(conditions.join(" AND "));
        }
        let out = query.send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// An employee's item, with the lower-case text that search matches.
    pub(crate) fn employee_item(employee: &StoredEmployee) -> Result<Item, StoreError> {
        let mut item = Self::keyed(employee, tenant_pk(&employee.tenant_id), format!("E#{}", employee.id))?;
        item.insert(SEARCH.into(), s(employee.hr.search_text()));
        Ok(item)
    }

    // --- idempotency ------------------------------------------------------------------------------------------

    /// Records `key` as seen for `ttl`. Returns `false` when it was already seen and has not expired: the caller
    /// is looking at a duplicate. Expiry is checked here because DynamoDB's TTL deletes lazily (up to 48 h late).
    pub async fn claim_once(&self, key: &str, ttl: chrono::Duration, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(format!("I#{key}"))),
            (SK.to_owned(), s("IDEMPOTENCY")),
            (TTL_ATTRIBUTE.to_owned(), AttributeValue::N((now + ttl).timestamp().to_string())),
        ]);
        let values = HashMap::from([(":now".to_owned(), AttributeValue::N(now.timestamp().to_string()))]);
        let condition = format!("attribute_not_exists(PK) OR {TTL_ATTRIBUTE} < :now");
        match self.put(item, Some(&condition), values).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets a claim, so that a delivery whose processing failed can be retried by the sender.
    pub async fn release_claim(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(format!("I#{key}")))
            .key(SK, s("IDEMPOTENCY"))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }
}

/// Cursors are the last key of a page, as base64url JSON. They are only ever applied under the caller's own tenant:
/// the partition values must be exactly the ones this list reads, and the sort key must name an item of this list.
pub(crate) fn encode_cursor(key: &Item) -> String {
    let plain: std::collections::BTreeMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str()))).collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

pub(crate) fn decode_cursor(
    cursor: &str,
    fixed: &[(&str, &str)],
    (sort, prefix): (&str, &str),
) -> Result<Item, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| StoreError::BadCursor)?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let fixed_ok = fixed.iter().all(|(name, value)| plain.get(*name).map(String::as_str) == Some(*value));
    let sort_ok = plain.get(sort).and_then(|v| v.strip_prefix(prefix)).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_#:.-".contains(&b))
    });
    let known = plain.keys().all(|k| [PK, SK, GSI1_PK, GSI1_SK].contains(&k.as_str()));
    if !(fixed_ok && sort_ok && known) {
        return Err(StoreError::BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let key: Item = HashMap::from([(PK.into(), s("T#ten_a")), (SK.into(), s("E#emp_0123abcd"))]);
        let cursor = encode_cursor(&key);
        assert_eq!(decode_cursor(&cursor, &[(PK, "T#ten_a")], (SK, "E#")).unwrap(), key);
        assert!(matches!(decode_cursor("%%%", &[(PK, "T#ten_a")], (SK, "E#")), Err(StoreError::BadCursor)));
        let other_tenant = decode_cursor(&cursor, &[(PK, "T#ten_b")], (SK, "E#"));
        assert!(matches!(other_tenant, Err(StoreError::BadCursor)), "a cursor is bound to its tenant");
        let other_list = decode_cursor(&cursor, &[(PK, "T#ten_a")], (SK, "C#"));
        assert!(matches!(other_list, Err(StoreError::BadCursor)), "and to its list");
        let forged = URL_SAFE_NO_PAD.encode(r#"{"PK":"T#ten_a","SK":"E#x","data":"y"}"#);
        assert!(matches!(decode_cursor(&forged, &[(PK, "T#ten_a")], (SK, "E#")), Err(StoreError::BadCursor)));
    }
}
