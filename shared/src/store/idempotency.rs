//! Claims that make a delivery count once, and leases that give one process a job for a while: a key remembered
//! until it expires, with the expiry checked on write (DynamoDB's TTL deletes lazily, up to 48 h late).

use super::{Store, StoreError, applied, keys, n, s};
use crate::resources::{PK, SK, TTL_ATTRIBUTE};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

impl Store {
    /// Records `key` as seen for `ttl`. Returns `false` when it was already seen and has not expired: the caller
    /// is looking at a duplicate.
    pub async fn claim_once(&self, key: &str, ttl: chrono::Duration, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(keys::idempotency(key))),
            (SK.to_owned(), s(keys::IDEMPOTENCY)),
            (TTL_ATTRIBUTE.to_owned(), n((now + ttl).timestamp())),
        ]);
        let values = HashMap::from([(":now".to_owned(), n(now.timestamp()))]);
        let condition = format!("attribute_not_exists(PK) OR {TTL_ATTRIBUTE} < :now");
        applied(self.put(item, Some(&condition), values).await)
    }

    /// Forgets a claim, so that a delivery whose processing failed can be retried by the sender.
    pub async fn release_claim(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys::idempotency(key)))
            .key(SK, s(keys::IDEMPOTENCY))
            .send()
            .await
            .map(drop)
            .map_err(super::dynamo)
    }

    /// Takes the lease `name` for `holder` until `now + ttl`, if nobody else holds it unexpired (the holder may
    /// take it again). `false` when another holder has it.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(keys::lease(name))),
            (SK.to_owned(), s(keys::LEASE)),
            ("holder".to_owned(), s(holder)),
            (TTL_ATTRIBUTE.to_owned(), n((now + ttl).timestamp())),
        ]);
        let values = HashMap::from([(":now".to_owned(), n(now.timestamp())), (":holder".to_owned(), s(holder))]);
        let condition = format!("attribute_not_exists(PK) OR {TTL_ATTRIBUTE} < :now OR holder = :holder");
        applied(self.put(item, Some(&condition), values).await)
    }

    /// Gives up a lease, if `holder` still has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let released = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys::lease(name)))
            .key(SK, s(keys::LEASE))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await
            .map(drop)
            .map_err(super::dynamo);
        applied(released).map(drop)
    }
}
