//! Tenants and their admin keys. A key is stored only as its SHA-256 hash (in the item's key) with a short public
//! id to name it by.

use super::{Item, Store, StoreError, applied, corrupt, keys, s};
use crate::domain::TenantId;
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tenant {
    tenant_id: TenantId,
    name: String,
    created_at: DateTime<Utc>,
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

impl Store {
    pub async fn create_tenant(&self, tenant: &TenantId, name: &str) -> Result<(), StoreError> {
        let record = Tenant { tenant_id: tenant.clone(), name: name.to_owned(), created_at: Utc::now() };
        let item = Self::keyed(&record, keys::tenant(tenant), keys::TENANT.into())?;
        self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await
    }

    /// Connections the tenant has, as the counter its connection commits keep says (0 before its first).
    pub async fn tenant_connections(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let item = self.get(keys::tenant(tenant), keys::TENANT).await?;
        let count = item.as_ref().and_then(|i| i.get(keys::CONNECTION_COUNT)).and_then(|v| v.as_n().ok());
        Ok(count.and_then(|n| n.parse::<i64>().ok()).map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    pub async fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        Ok(self.get(keys::tenant(tenant), keys::TENANT).await?.is_some())
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
        let mut item = Self::keyed(&record, keys::api_key(key_hash), keys::API_KEY.into())?;
        item.insert(GSI1_PK.into(), s(keys::api_keys_of(tenant)));
        item.insert(GSI1_SK.into(), s(keys::api_key_id(&record.key_id)));
        self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await
    }

    /// A tenant's keys, revoked and expired ones included.
    pub async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.index_partition(&keys::api_keys_of(tenant)).await
    }

    /// Revokes a tenant's key by its public id. `false` if the tenant has no such key (or it was revoked before).
    pub async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found = self.index_lookup(&keys::api_keys_of(tenant), &keys::api_key_id(key_id)).await?;
        let Some(hash_key) = found.and_then(|item| item.get(PK).cloned()) else {
            return Ok(false);
        };
        let revoked = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, hash_key)
            .key(SK, s(keys::API_KEY))
            .update_expression("SET revoked_at = :now")
            .condition_expression("tenant_id = :tenant AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":tenant", s(tenant.as_str()))
            .send()
            .await
            .map(drop)
            .map_err(super::dynamo);
        applied(revoked)
    }

    /// Who an `Authorization` header speaks for: the one check behind every admin API request.
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
        let Some(item) = self.get(keys::api_key(key_hash), keys::API_KEY).await? else {
            return Ok(None);
        };
        let record: ApiKeyRecord = serde_dynamo::from_item(item).map_err(corrupt)?;
        let live = record.revoked_at.is_none() && record.expires_at.is_none_or(|at| at > now);
        Ok(live.then_some(KeyOwner { tenant: record.tenant_id, label: record.label }))
    }
}
