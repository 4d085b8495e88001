//! Tasks, the licenses they grant and release, and the playbook their checklists come from.

use super::{Item, Page, Store, StoreError, cursor, dynamo, keys, page, s};
use crate::domain::{EmployeeId, Playbook, TaskId, TaskKind, TaskStatus, TenantId};
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A task as stored: the domain task plus its tenant and a version for optimistic locking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    pub tenant_id: TenantId,
    pub version: u64,
    #[serde(flatten)]
    pub task: crate::domain::Task,
}

/// Someone holding a paid license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct License {
    pub employee_id: EmployeeId,
    pub employee_name: String,
    pub granted_at: DateTime<Utc>,
}

/// The playbook item: the tenant's own playbook, serialised whole.
#[derive(Serialize, Deserialize)]
struct PlaybookItem {
    playbook: String,
    updated_at: DateTime<Utc>,
}

impl Store {
    pub(crate) fn task_item(stored: &StoredTask) -> Result<Item, StoreError> {
        let task = &stored.task;
        let mut item = Self::keyed(stored, keys::tenant(&stored.tenant_id), keys::task(&task.id))?;
        item.insert(GSI1_PK.into(), s(keys::tasks_in(&stored.tenant_id, task.status)));
        item.insert(GSI1_SK.into(), s(keys::task_due(task.due_date, &task.id)));
        Ok(item)
    }

    pub(crate) fn license_item(tenant: &TenantId, license: &License) -> Result<Item, StoreError> {
        Self::keyed(license, keys::tenant(tenant), keys::license(&license.employee_id))
    }

    pub(crate) fn playbook_item(
        tenant: &TenantId,
        playbook: &Playbook,
        now: DateTime<Utc>,
    ) -> Result<Item, StoreError> {
        let body = serde_json::to_string(playbook).map_err(super::corrupt)?;
        Self::keyed(&PlaybookItem { playbook: body, updated_at: now }, keys::tenant(tenant), keys::PLAYBOOK.into())
    }

    pub async fn get_task(&self, tenant: &TenantId, id: &TaskId) -> Result<Option<StoredTask>, StoreError> {
        self.get_as(keys::tenant(tenant), &keys::task(id)).await
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
        let pk = keys::tenant(tenant);
        let index_pk = keys::tasks_in(tenant, status);
        let start = cursor::start(cursor, &[(PK, &pk), (GSI1_PK, &index_pk)], (SK, keys::TASKS))?;
        let mut query = self.index_query(&index_pk).limit(limit).set_exclusive_start_key(start);
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
        match self.get_as::<PlaybookItem>(keys::tenant(tenant), keys::PLAYBOOK).await? {
            Some(item) => serde_json::from_str(&item.playbook).map_err(super::corrupt),
            None => Ok(Playbook::default()),
        }
    }

    /// A page of the license holders, and how many there are in all (what a bill counts).
    pub async fn page_licenses(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(u64, Page<License>), StoreError> {
        let count = self.count_under(tenant, keys::LICENSES).await?;
        Ok((count, self.page_under(tenant, keys::LICENSES, limit, cursor).await?))
    }
}
