//! The users a SCIM client pushed to a connection, kept as the client sent them (SCIM clients expect their values
//! back exactly), with the lookup items that make `userName`, `externalId` and email filters one query each and
//! keep `userName` unique, a count for `totalResults`, and the bearer tokens, stored by hash only.
//!
//! | item          | PK              | SK                              |
//! |---------------|-----------------|---------------------------------|
//! | user          | `T#{tenant}`    | `SU#{conn}#{id}`                |
//! | userName      | `T#{tenant}`    | `SUN#{conn}#{lower-case name}`  |
//! | externalId    | `T#{tenant}`    | `SUX#{conn}#{externalId}#{id}`  |
//! | email         | `T#{tenant}`    | `SUM#{conn}#{lower-case email}#{id}` |
//! | count         | `T#{tenant}`    | `SUC#{conn}`                    |
//! | page marker   | `T#{tenant}`    | `SUP#{conn}#{startIndex}`       |
//! | removals      | `T#{tenant}`    | `SUD#{conn}#{day}`              |
//! | token         | `ST#{sha256}`   | `SCIMTOKEN`                     |

use super::{Item, Store, StoreError, corrupt, dynamo, keys, n, s};
use crate::domain::{ConnectionId, TenantId};
use crate::resources::{PK, SK, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One SCIM user as stored: the resource the client sent (without its password), and what the lookups need. Its
/// `Debug` shows ids and the version only: the rest is personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimUser {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub id: String,
    /// The resource as JSON text, without `id`, `meta` or `password`: those are the server's (or never kept).
    pub resource: String,
    /// Bumped by every write: `meta.version` and the `If-Match` check.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Lower-case, for the unique lookup.
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Lower-case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

impl std::fmt::Debug for ScimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimUser")
            .field("tenant_id", &self.tenant_id)
            .field("connection_id", &self.connection_id)
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Who a SCIM bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenOwner {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
}

/// The lookups a filter can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimLookup {
    UserName,
    ExternalId,
    Email,
}

/// How long a page marker (where `startIndex` N begins) is kept: long enough for a client's import to page on.
const MARKER_HOURS: i64 = 24;

fn user_key(conn: &ConnectionId, id: &str) -> String {
    format!("SU#{conn}#{id}")
}
fn users_of(conn: &ConnectionId) -> String {
    format!("SU#{conn}#")
}
fn name_key(conn: &ConnectionId, name: &str) -> String {
    format!("SUN#{conn}#{name}")
}
fn external_key(conn: &ConnectionId, external: &str, id: &str) -> String {
    format!("SUX#{conn}#{external}#{id}")
}
fn email_key(conn: &ConnectionId, email: &str, id: &str) -> String {
    format!("SUM#{conn}#{email}#{id}")
}
fn count_key(conn: &ConnectionId) -> String {
    format!("SUC#{conn}")
}
fn marker_key(conn: &ConnectionId, start_index: u64) -> String {
    format!("SUP#{conn}#{start_index}")
}
fn token_key(hash: &str) -> String {
    format!("ST#{hash}")
}
const TOKEN: &str = "SCIMTOKEN";

impl ScimUser {
    /// The kept resource as JSON.
    pub fn parsed(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(&self.resource).map_err(corrupt)
    }

    /// Where the user sits among the connection's users (the position a page marker names).
    pub fn sort_key(&self) -> String {
        user_key(&self.connection_id, &self.id)
    }

    /// Every lookup item's sort key, with the value it points at.
    fn lookup_keys(&self) -> Vec<String> {
        let conn = &self.connection_id;
        let mut out = vec![name_key(conn, &self.user_name)];
        out.extend(self.external_id.iter().map(|e| external_key(conn, e, &self.id)));
        out.extend(self.emails.iter().map(|e| email_key(conn, e, &self.id)));
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl Store {
    fn scim_put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values)
            .build()
            .map_err(corrupt)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn scim_delete(
        &self,
        pk: &str,
        sk: String,
        condition: Option<(&str, Item)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let (expression, values) = condition.map_or((None, None), |(e, v)| (Some(e.to_owned()), Some(v)));
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .set_condition_expression(expression)
            .set_expression_attribute_values(values)
            .build()
            .map_err(corrupt)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    async fn scim_count(&self, pk: &str, conn: &ConnectionId, by: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(count_key(conn)))
            .update_expression("ADD user_count :by")
            .expression_attribute_values(":by", n(by))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }

    fn scim_lookup_item(&self, pk: &str, sk: String, id: &str) -> Result<TransactWriteItem, StoreError> {
        let item: Item = [(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk.clone())), ("id".to_owned(), s(id))].into();
        // The userName item must be new (it is the uniqueness check); the others are the user's own.
        let condition = sk.starts_with("SUN#").then_some("attribute_not_exists(PK)");
        self.scim_put(item, condition, None)
    }

    /// Writes all or nothing. `Conflict` when a condition failed; a transaction cancelled only because another
    /// one touched the same items is tried again, a few times.
    async fn scim_transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let mut attempt = 0u64;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
            let Err(err) = result else { return Ok(()) };
            let codes: Vec<String> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).map(str::to_owned).collect()
                }
                _ => return Err(dynamo(err)),
            };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") || codes.is_empty() {
                return Err(StoreError::Conflict);
            }
            attempt += 1;
            if !codes.iter().any(|c| c == "TransactionConflict") {
                return Err(dynamo(err));
            }
            if attempt >= 4 {
                // Still contended: the caller reads again and decides (a PUT or PATCH is made again).
                return Err(StoreError::Conflict);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25 * attempt)).await;
        }
    }

    /// Stores a new user with its lookups. `Conflict` when its `userName` is taken (or the id, which is random).
    pub async fn scim_create_user(&self, user: &ScimUser) -> Result<(), StoreError> {
        let pk = keys::tenant(&user.tenant_id);
        let item = Self::keyed(user, pk.clone(), user_key(&user.connection_id, &user.id))?;
        let mut writes = vec![self.scim_put(item, Some("attribute_not_exists(PK)"), None)?];
        for sk in user.lookup_keys() {
            writes.push(self.scim_lookup_item(&pk, sk, &user.id)?);
        }
        self.scim_transact(writes).await?;
        // Counted after, not inside: one count item in every create's transaction would make concurrent creates
        // cancel each other. (A crash in between leaves `totalResults` one short.)
        self.scim_count(&pk, &user.connection_id, 1).await
    }

    /// Replaces `before` with `after` (same id), conditional on `before`'s version; lookups follow. `Conflict` when
    /// the user changed meanwhile or the new `userName` is taken.
    pub async fn scim_replace_user(&self, before: &ScimUser, after: &ScimUser) -> Result<(), StoreError> {
        let pk = keys::tenant(&after.tenant_id);
        let item = Self::keyed(after, pk.clone(), user_key(&after.connection_id, &after.id))?;
        let values: Item = [(":v".to_owned(), n(before.version))].into();
        let mut writes = vec![self.scim_put(item, Some("version = :v"), Some(values))?];
        let (old, new) = (before.lookup_keys(), after.lookup_keys());
        for sk in old.iter().filter(|k| !new.contains(k)) {
            writes.push(self.scim_delete(&pk, sk.clone(), None)?);
        }
        for sk in new.into_iter().filter(|k| !old.contains(k)) {
            writes.push(self.scim_lookup_item(&pk, sk, &after.id)?);
        }
        self.scim_transact(writes).await
    }

    /// Deletes a user and its lookups, conditional on the version read. `Conflict` when it changed meanwhile.
    pub async fn scim_delete_user(&self, user: &ScimUser) -> Result<(), StoreError> {
        let pk = keys::tenant(&user.tenant_id);
        let values: Item = [(":v".to_owned(), n(user.version))].into();
        let mut writes =
            vec![self.scim_delete(&pk, user_key(&user.connection_id, &user.id), Some(("version = :v", values)))?];
        for sk in user.lookup_keys() {
            writes.push(self.scim_delete(&pk, sk, None)?);
        }
        self.scim_transact(writes).await?;
        self.scim_count(&pk, &user.connection_id, -1).await
    }

    pub async fn scim_get_user(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        id: &str,
    ) -> Result<Option<ScimUser>, StoreError> {
        self.get_as(keys::tenant(tenant), &user_key(conn, id)).await
    }

    /// Several users by id (a filter's candidates), those that exist, in the order asked.
    pub async fn scim_get_users(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        ids: &[String],
    ) -> Result<Vec<ScimUser>, StoreError> {
        // Sixteen reads at a time (the caller bounds how many candidates there are).
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(16) {
            let reads = chunk.iter().map(|id| self.scim_get_user(tenant, conn, id));
            found.extend(futures::future::try_join_all(reads).await?);
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// The ids of the users whose `attribute` is `value` (case-insensitive but for `externalId`), at most `limit`.
    pub async fn scim_lookup(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        attribute: ScimLookup,
        value: &str,
        limit: i32,
    ) -> Result<Vec<String>, StoreError> {
        if value.len() > crate::scim::user::MAX_KEY_BYTES {
            return Ok(Vec::new()); // longer than any value a user may hold: nobody has it
        }
        let pk = keys::tenant(tenant);
        if attribute == ScimLookup::UserName {
            let item = self.get(pk, &name_key(conn, &value.to_lowercase())).await?;
            return Ok(item.and_then(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned()).into_iter().collect());
        }
        let prefix = match attribute {
            ScimLookup::ExternalId => format!("SUX#{conn}#{value}#"),
            _ => format!("SUM#{conn}#{}#", value.to_lowercase()),
        };
        let out = self.prefix_query(tenant, &prefix, limit, None)?.send().await.map_err(dynamo)?;
        Ok(out.items().iter().filter_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned()).collect())
    }

    /// A page of a connection's users in id order, after the user whose sort key is `after`; with the last sort
    /// key read when more may follow.
    pub async fn scim_users_page(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<ScimUser>, Option<String>), StoreError> {
        let pk = keys::tenant(tenant);
        let prefix = users_of(conn);
        let start = after
            .filter(|a| a.starts_with(&prefix))
            .map(|a| Item::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(a))]));
        let query = self.prefix_query(tenant, &prefix, limit, None)?.set_exclusive_start_key(start);
        let out = query.send().await.map_err(dynamo)?;
        let last = out.last_evaluated_key().and_then(|k| k.get(SK)).and_then(|v| v.as_s().ok()).cloned();
        Ok((super::from_items(out.items.unwrap_or_default())?, last))
    }

    /// How many users the connection holds.
    pub async fn scim_user_count(&self, tenant: &TenantId, conn: &ConnectionId) -> Result<u64, StoreError> {
        let item = self.get(keys::tenant(tenant), &count_key(conn)).await?;
        let count =
            item.as_ref().and_then(|i| i.get("user_count")).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
        Ok(count.unwrap_or(0u64))
    }

    /// Where the page that starts at `start_index` begins (the sort key of the user before it), if a page that
    /// ended there was served recently.
    pub async fn scim_page_marker(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        start_index: u64,
    ) -> Result<Option<String>, StoreError> {
        let item = self.get(keys::tenant(tenant), &marker_key(conn, start_index)).await?;
        Ok(item.and_then(|i| i.get("after").and_then(|v| v.as_s().ok()).cloned()))
    }

    pub async fn scim_put_page_marker(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        start_index: u64,
        after: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let expires = (now + chrono::Duration::hours(MARKER_HOURS)).timestamp();
        let item: Item = [
            (PK.to_owned(), s(keys::tenant(tenant))),
            (SK.to_owned(), s(marker_key(conn, start_index))),
            ("after".to_owned(), s(after)),
            (TTL_ATTRIBUTE.to_owned(), AttributeValue::N(expires.to_string())),
        ]
        .into();
        self.put(item, None, Item::new()).await
    }

    /// Counts one more removal of an active person by SCIM deletion on `now`'s (UTC) day; returns the day's count.
    pub async fn scim_count_removal(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let expires = (now + chrono::Duration::days(2)).timestamp();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(format!("SUD#{conn}#{}", now.date_naive())))
            .update_expression("ADD removals :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(expires))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(dynamo)?;
        let count = out.attributes().and_then(|a| a.get("removals")).and_then(|v| v.as_n().ok());
        Ok(count.and_then(|c| c.parse().ok()).unwrap_or(1))
    }

    /// Puts `run` on the connection's held list (once).
    pub async fn scim_hold_run(&self, tenant: &TenantId, conn: &ConnectionId, run: &str) -> Result<(), StoreError> {
        let held = AttributeValue::L(vec![s(run)]);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(keys::connection(conn)))
            .update_expression("SET held_runs = list_append(if_not_exists(held_runs, :empty), :held)")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(held_runs) OR NOT contains(held_runs, :run))",
            )
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":held", held)
            .expression_attribute_values(":run", s(run))
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        super::applied(out).map(drop)
    }

    /// One more pending removal on a held run.
    pub async fn scim_count_pending(&self, tenant: &TenantId, run_key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(run_key))
            .update_expression("ADD pending :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }

    /// Stores a SCIM bearer token by its hash.
    pub async fn scim_put_token(&self, hash: &str, owner: &ScimTokenOwner) -> Result<(), StoreError> {
        let item = Self::keyed(owner, token_key(hash), TOKEN.into())?;
        self.put(item, Some("attribute_not_exists(PK)"), Item::new()).await
    }

    pub async fn scim_delete_token(&self, hash: &str) -> Result<(), StoreError> {
        self.delete_existing(token_key(hash), TOKEN.into()).await.map(drop)
    }

    /// Makes `hash` the connection's one SCIM token; returns the one it replaces.
    pub async fn scim_set_token_hash(
        &self,
        tenant: &TenantId,
        conn: &ConnectionId,
        hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(keys::connection(conn)))
            .update_expression("SET scim_token_hash = :hash")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":hash", s(hash))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.attributes().and_then(|a| a.get("scim_token_hash")).and_then(|v| v.as_s().ok()).cloned())
    }

    /// The connection a token hash was issued for, if it still stands.
    pub async fn scim_token_owner(&self, hash: &str) -> Result<Option<ScimTokenOwner>, StoreError> {
        self.get_as(token_key(hash), TOKEN).await
    }
}
