//! Employees as IT Hub keeps them: HR's record, what the hub tracks, what IT writes, and the outbox of domain
//! events committed with the last change.

use super::{Item, Page, Store, StoreError, applied, dynamo, keys, n, page, s};
use crate::domain::{ConnectionId, Employee, EmployeeId, Hub, HubFields, HubStatus, TenantId};
use crate::events::Event;
use crate::resources::{PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
    pub outbox: Vec<Event>,
    /// [`Employee::content_hash`] of `hr`: an observation with the same hash costs no write.
    pub hr_hash: String,
    /// Incremented by every write; every write is conditional on the version it read.
    pub version: u64,
    pub observed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The sync run whose first import wrote this person, so a page read again after a crash counts them once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_by: Option<String>,
}

impl StoredEmployee {
    /// The employee as the next change writes it: one version on, updated `now`. The write is conditional on
    /// this version, so a concurrent writer makes it lose and read again.
    pub fn next_version(&self, now: DateTime<Utc>) -> Self {
        Self { version: self.version + 1, updated_at: now, ..self.clone() }
    }

    /// Whether the person has already left: terminated in HR, or former or offboarded in the hub. A termination or
    /// removal of them has nothing left to do.
    pub fn has_left(&self) -> bool {
        self.hr.status == crate::domain::EmploymentStatus::Terminated
            || matches!(self.hub.status, HubStatus::Former | HubStatus::Offboarded)
    }

    /// "First Last", for task titles and lists.
    pub fn name(&self) -> String {
        format!("{} {}", self.hr.first_name, self.hr.last_name).trim().to_owned()
    }
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

impl Store {
    pub async fn get_employee(&self, tenant: &TenantId, id: &EmployeeId) -> Result<Option<StoredEmployee>, StoreError> {
        self.get_as(keys::tenant(tenant), &keys::employee(id)).await
    }

    /// Writes an employee whose `version` is one more than the version read. Fails with
    /// [`StoreError::Conflict`] if the stored version is no longer the one read (or, for a new employee, if one
    /// appeared meanwhile).
    pub async fn put_employee(&self, employee: &StoredEmployee) -> Result<(), StoreError> {
        let item = Self::employee_item(employee)?;
        let (condition, values) = version_condition(employee.version);
        self.put(item, Some(condition), values.unwrap_or_default()).await
    }

    /// Reads the stored employees among `ids`, a hundred keys to a request (DynamoDB's limit); the missing are
    /// simply absent from the answer.
    pub async fn batch_get_employees(
        &self,
        tenant: &TenantId,
        ids: &[EmployeeId],
    ) -> Result<HashMap<EmployeeId, StoredEmployee>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        // A key asked for twice in one request is refused: each id once.
        let mut unique: Vec<&EmployeeId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([(PK.to_owned(), s(keys::tenant(tenant))), (SK.to_owned(), s(keys::employee(id)))])
                })
                .collect();
            for attempt in 0..8u32 {
                if keys.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?;
                let out =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(dynamo)?;
                let items = out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default();
                for employee in super::from_items::<StoredEmployee>(items)? {
                    found.insert(employee.id.clone(), employee);
                }
                keys = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
                if !keys.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * 2u64.pow(attempt))).await;
                }
            }
            if !keys.is_empty() {
                return Err(StoreError::Dynamo("batch read left keys unprocessed".into()));
            }
        }
        Ok(found)
    }

    /// Writes a person a first import found, only if nobody is stored under their id yet: one conditional write,
    /// no transaction. `false` when they were already there.
    pub async fn import_employee(&self, employee: &StoredEmployee) -> Result<bool, StoreError> {
        let item = Self::employee_item(employee)?;
        applied(self.put(item, Some("attribute_not_exists(PK)"), Default::default()).await)
    }

    /// A page of the employees in one bucket (see [`keys::employee_bucket`]) who belong to `connection`.
    pub async fn page_bucket(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        bucket: u8,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<StoredEmployee>, StoreError> {
        let out = self
            .prefix_query(tenant, &keys::employee_bucket(bucket), limit, cursor)?
            .filter_expression("connection_id = :connection")
            .expression_attribute_values(":connection", s(connection.as_str()))
            .send()
            .await
            .map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// Empties an employee's outbox once its events are published, unless a newer change wrote the employee since
    /// (its outbox then holds that change's events, still to publish).
    pub async fn clear_outbox(&self, employee: &StoredEmployee) -> Result<(), StoreError> {
        let cleared = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(&employee.tenant_id)))
            .key(SK, s(keys::employee(&employee.id)))
            .update_expression("REMOVE outbox")
            .condition_expression("version = :version")
            .expression_attribute_values(":version", n(employee.version))
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        applied(cleared).map(drop)
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
        let mut query = self.prefix_query(tenant, keys::EMPLOYEES, limit, cursor)?;
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
            let expression = conditions.join(" AND ");
            let names = [("#hub", "hub"), ("#status", "status"), ("#license", "license"), ("#hr", "hr")];
            for (placeholder, name) in names.into_iter().chain([("#department", "department"), ("#search", SEARCH)]) {
                if expression.contains(placeholder) {
                    query = query.expression_attribute_names(placeholder, name);
                }
            }
            query = query.filter_expression(expression);
        }
        let out = query.send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }

    /// An employee's item, with the lower-case text that search matches.
    pub(crate) fn employee_item(employee: &StoredEmployee) -> Result<Item, StoreError> {
        let mut item = Self::keyed(employee, keys::tenant(&employee.tenant_id), keys::employee(&employee.id))?;
        item.insert(SEARCH.into(), s(employee.hr.search_text()));
        Ok(item)
    }
}

/// The condition for writing version `version` of a versioned item: new (1) must not exist yet; any later one
/// must still be at the version read.
pub(crate) fn version_condition(version: u64) -> (&'static str, Option<HashMap<String, AttributeValue>>) {
    if version <= 1 {
        ("attribute_not_exists(PK)", None)
    } else {
        ("version = :read", Some(HashMap::from([(":read".to_owned(), n(version - 1))])))
    }
}
