//! Sync runs: one record per poll of a connection, scheduled or asked for, with what it saw and did.

use super::{Page, Store, StoreError, dynamo, keys, page, s};
use crate::domain::{ConnectionId, TenantId};
use crate::resources::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Schedule,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub run_id: String,
    pub connection_id: ConnectionId,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// People the HR system reported (everyone, on a first import).
    #[serde(default)]
    pub seen: u64,
    /// Observations queued for the worker.
    #[serde(default)]
    pub changed: u64,
    /// Observations the worker has handled: applied, or found already current. It counts them as it goes, so this
    /// grows after the run ends; a message redelivered after it was counted may count twice.
    #[serde(default)]
    pub applied: u64,
    /// Removals the HR system reported; not applied by a poll.
    #[serde(default)]
    pub deleted: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the mass-removal safeguard held this run for an admin.
    #[serde(default)]
    pub safeguard_held: bool,
}

impl SyncRun {
    pub fn new(connection: ConnectionId, trigger: RunTrigger, now: DateTime<Utc>) -> Self {
        Self {
            run_id: format!("run_{}", uuid::Uuid::new_v4().simple()),
            connection_id: connection,
            trigger,
            status: RunStatus::Queued,
            requested_at: now,
            started_at: None,
            ended_at: None,
            seen: 0,
            changed: 0,
            applied: 0,
            deleted: 0,
            error: None,
            safeguard_held: false,
        }
    }

    /// The run's sort key: newest runs of a connection sort last.
    pub fn key(&self) -> String {
        keys::run(&self.connection_id, self.requested_at, &self.run_id)
    }
}

impl Store {
    /// Writes a run as it stands; the worker's `applied` count is kept, not overwritten.
    pub async fn put_run(&self, tenant: &TenantId, run: &SyncRun) -> Result<(), StoreError> {
        let mut item = Self::keyed(run, keys::tenant(tenant), run.key())?;
        item.remove("applied");
        let mut update = Vec::new();
        let mut request =
            self.client.update_item().table_name(&self.table).key(PK, s(keys::tenant(tenant))).key(SK, s(run.key()));
        for (n, (name, value)) in item.into_iter().filter(|(k, _)| k != PK && k != SK).enumerate() {
            update.push(format!("#n{n} = :v{n}"));
            request = request
                .expression_attribute_names(format!("#n{n}"), name)
                .expression_attribute_values(format!(":v{n}"), value);
        }
        request = request.expression_attribute_values(":zero", AttributeValue::N("0".into()));
        let expression = format!("SET {}, applied = if_not_exists(applied, :zero)", update.join(", "));
        request.update_expression(expression).send().await.map(drop).map_err(dynamo)
    }

    pub async fn get_run(&self, tenant: &TenantId, run_key: &str) -> Result<Option<SyncRun>, StoreError> {
        self.get_as(keys::tenant(tenant), run_key).await
    }

    /// Counts one applied observation on its run.
    pub async fn count_applied(&self, tenant: &TenantId, run_key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(run_key))
            .update_expression("ADD applied :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }

    /// A connection's runs, newest first.
    pub async fn list_runs(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<SyncRun>, StoreError> {
        let query = self.prefix_query(tenant, &keys::runs_of(connection), limit, cursor)?;
        let out = query.scan_index_forward(false).send().await.map_err(dynamo)?;
        page(out.items, out.last_evaluated_key.as_ref())
    }
}
