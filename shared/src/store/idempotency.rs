//! Claims that make a delivery count once, and leases that give one process a job for a while: a key remembered
//! until it expires, with the expiry checked on write (DynamoDB's TTL deletes lazily, up to 48 h late).

use super::{Store, StoreError, applied, keys, n, s};
use crate::resources::{PK, SK, TTL_ATTRIBUTE};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What claiming a webhook delivery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// Ours to queue.
    Claimed,
    /// Another copy is being queued right now.
    InProgress,
    /// Queued already: a redelivery.
    Done,
}

const PENDING: &str = "pending";
const DONE: &str = "done";

impl Store {
    /// Claims a webhook delivery for `in_progress_for`: free when unseen, or when an earlier claim expired
    /// unfinished (its process died). Mark it done with [`Store::finish_delivery`] once it is queued.
    pub async fn claim_delivery(
        &self,
        key: &str,
        in_progress_for: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<DeliveryClaim, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(keys::idempotency(key))),
            (SK.to_owned(), s(keys::IDEMPOTENCY)),
            ("state".to_owned(), s(PENDING)),
            (TTL_ATTRIBUTE.to_owned(), n((now + in_progress_for).timestamp())),
        ]);
        let values = HashMap::from([(":now".to_owned(), n(now.timestamp()))]);
        let condition = format!("attribute_not_exists(PK) OR {TTL_ATTRIBUTE} < :now");
        if applied(self.put(item, Some(&condition), values).await)? {
            return Ok(DeliveryClaim::Claimed);
        }
        let state = self.get(keys::idempotency(key), keys::IDEMPOTENCY).await?.and_then(|mut i| i.remove("state"));
        Ok(match state {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(v)) if v == PENDING => DeliveryClaim::InProgress,
            _ => DeliveryClaim::Done,
        })
    }

    /// Marks a claimed delivery queued, remembered for `ttl` so redeliveries are dropped.
    pub async fn finish_delivery(
        &self,
        key: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(keys::idempotency(key))),
            (SK.to_owned(), s(keys::IDEMPOTENCY)),
            ("state".to_owned(), s(DONE)),
            (TTL_ATTRIBUTE.to_owned(), n((now + ttl).timestamp())),
        ]);
        self.put(item, None, Default::default()).await
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
