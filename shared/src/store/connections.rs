//! A tenant's links to HR systems: typed settings per provider, the Secrets Manager secret that holds the
//! credentials, the poll schedule and the incremental cursor.

use super::{Page, Store, StoreError, applied, corrupt, dynamo, keys, s};
use crate::domain::{ConnectionId, TenantId};
use crate::providers::Settings;
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A tenant's link to an HR system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub tenant_id: TenantId,
    pub id: ConnectionId,
    /// Which HR system, and how to reach it; never its credentials.
    pub provider: Settings,
    /// The Secrets Manager secret that holds the HR credentials and the webhook secrets; never the secrets.
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
    pub fn new(tenant: TenantId, provider: Settings) -> Self {
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

impl Store {
    pub async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut item = Self::keyed(connection, keys::tenant(&connection.tenant_id), keys::connection(&connection.id))?;
        item.insert(GSI1_PK.into(), s(keys::ALL_CONNECTIONS));
        item.insert(GSI1_SK.into(), s(keys::connection(&connection.id)));
        self.put(item, None, Default::default()).await
    }

    pub async fn get_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        self.get_as(keys::tenant(tenant), &keys::connection(id)).await
    }

    /// Finds a connection by id alone: a webhook URL names the connection, not the tenant.
    pub async fn find_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        let Some(item) = self.index_lookup(keys::ALL_CONNECTIONS, &keys::connection(id)).await? else {
            return Ok(None);
        };
        // The index is eventually consistent; read the item itself for the current cursor and secrets.
        let found: Connection = serde_dynamo::from_item(item).map_err(corrupt)?;
        self.get_connection(&found.tenant_id, &found.id).await
    }

    /// Removes a tenant's connection: it is no longer polled and its webhook URL stops answering. Its employees
    /// stay. `false` if there was no such connection.
    pub async fn delete_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<bool, StoreError> {
        self.delete_existing(keys::tenant(tenant), keys::connection(id)).await
    }

    /// A page of a tenant's connections.
    pub async fn page_connections(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Connection>, StoreError> {
        self.page_under(tenant, keys::CONNECTIONS, limit, cursor).await
    }

    /// Every connection of every tenant, for the scheduled poller.
    pub async fn all_connections(&self) -> Result<Vec<Connection>, StoreError> {
        self.index_partition(keys::ALL_CONNECTIONS).await
    }

    /// Moves a connection's cursor forward, only if no other run moved it since `previous` was read. `false` when
    /// another run did.
    pub async fn advance_cursor(
        &self,
        connection: &Connection,
        previous: Option<&str>,
        next: &str,
        polled_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(&connection.tenant_id)))
            .key(SK, s(keys::connection(&connection.id)))
            .update_expression("SET #cursor = :next, last_polled_at = :at")
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":at", s(polled_at.to_rfc3339()));
        request = match previous {
            Some(prev) => request.condition_expression("#cursor = :prev").expression_attribute_values(":prev", s(prev)),
            None => request.condition_expression("attribute_exists(PK) AND attribute_not_exists(#cursor)"),
        };
        applied(request.send().await.map(drop).map_err(dynamo))
    }
}
