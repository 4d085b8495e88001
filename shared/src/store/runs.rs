//! Sync runs: one record per sync of a connection, scheduled or asked for. A run is a resumable job: it proceeds
//! page by page and checkpoints its place and counts on this record, conditional on the step it read, so a
//! step replayed after a crash starts again from the last checkpoint and counts nothing twice.

use super::{Page, Store, StoreError, applied, dynamo, keys, page, s};
use crate::domain::{ConnectionId, Employee, EmployeeId, TenantId};
use crate::providers::RecordFailure;
use crate::resources::{PK, SK, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Schedule,
    Manual,
    /// SCIM deletions past the connection's safeguard, gathered for an admin to approve or reject.
    Push,
}

/// What a run reads: the changes since the connection's last state, or everyone (the first import, and the
/// reconciliation that finds who is gone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    #[default]
    Incremental,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    /// Would terminate or remove more people than the connection's safeguard allows: waiting for an admin.
    Held,
    Succeeded,
    Failed,
    /// Stopped by an admin at its next checkpoint: what it had applied stays, the rest is left.
    Cancelled,
}

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading pages from the HR system.
    #[default]
    Listing,
    /// After a complete listing: finding the people stored for the connection whom it did not list.
    Sweeping,
    /// Counting the terminations and removals against the safeguard.
    Deciding,
    /// Queueing the terminations and removals.
    Applying,
    Done,
}

/// What a run found, by kind (for a preview: what it would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunCounts {
    /// Records read from the HR system.
    #[serde(default)]
    pub seen: u64,
    /// People who already worked there, imported for setup by a first import (no task, no license).
    #[serde(default)]
    pub imported: u64,
    /// Hires and rehires: an onboarding task each.
    #[serde(default)]
    pub hired: u64,
    /// Changed records with no hire or termination in them.
    #[serde(default)]
    pub updated: u64,
    /// Terminations the HR system recorded.
    #[serde(default)]
    pub terminated: u64,
    /// People the HR system no longer lists, or reports deleted: offboarded as terminated that day.
    #[serde(default)]
    pub removed: u64,
    /// Same as stored: nothing to write.
    #[serde(default)]
    pub unchanged: u64,
    /// Records that could not be read or mapped (listed under `failures`, read again next run).
    #[serde(default)]
    pub failed: u64,
}

/// Where a run stands between steps. Written with every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    pub phase: Phase,
    /// Checkpoints written so far; each is conditional on the one before.
    pub step: u64,
    /// Pages read from the HR system.
    #[serde(default)]
    pub pages: u64,
    /// The HR system's token for the next page (opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The change-feed state to keep once the run is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_after: Option<String>,
    /// The sweep's bucket of stored people, and where in it.
    #[serde(default)]
    pub bucket: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_cursor: Option<String>,
    /// Where queueing the pending changes has reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_cursor: Option<String>,
    /// Active people stored for the connection, counted by the sweep.
    #[serde(default)]
    pub active: u64,
    /// The people whose records failed last run have been read again.
    #[serde(default)]
    pub retried: bool,
    /// A record came back without an id: the listing cannot show who is missing, so it removes nobody.
    #[serde(default)]
    pub incomplete: bool,
    /// Steps that claimed this checkpoint and did not move it: a step failing again and again fails the run.
    #[serde(default)]
    pub attempts: u32,
    /// Short digests of the last page tokens the listing gave (see `sync::bounds`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_pages: Vec<String>,
    /// Pages in a row whose every record failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failing_pages: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An admin's answer to a held run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SafeguardDecision {
    pub approved: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// How many records' failures a run keeps.
pub const FAILURES_KEPT: usize = 50;
/// How many unreadable people a run reads again next time.
pub const UNREADABLE_KEPT: usize = 100;
/// How many names a preview shows per kind.
pub const SAMPLES_KEPT: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub run_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub trigger: RunTrigger,
    #[serde(default)]
    pub mode: RunMode,
    /// A preview: records what the run would do and applies nothing.
    #[serde(default)]
    pub dry_run: bool,
    pub status: RunStatus,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub counts: RunCounts,
    /// Changes queued for the worker (hires, updates; terminations and removals once allowed).
    #[serde(default)]
    pub queued: u64,
    /// Queued changes the worker has handled: applied, or found already current. It counts them as it goes, so
    /// this grows after the run ends; a message redelivered after it was counted may count twice.
    #[serde(default)]
    pub applied: u64,
    /// Terminations and removals this run found, applied only within the safeguard.
    #[serde(default)]
    pub pending: u64,
    /// The most terminations and removals the run may apply without an admin.
    #[serde(default)]
    pub threshold: u64,
    /// Records that could not be read or mapped: HR id and reason, never a value (the first 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<RecordFailure>,
    /// HR ids of the records that failed, for the next run to read again (the first 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// A preview's sample of names per kind (`imported`, `hired`, `updated`, `terminated`, `removed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard: Option<SafeguardDecision>,
    /// When a throttled run resumes (the HR system's `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// Until when the step working on this run holds it; a run whose lease has passed is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub lease_until: Option<DateTime<Utc>>,
}

impl SyncRun {
    pub fn new(
        tenant: TenantId,
        connection: ConnectionId,
        trigger: RunTrigger,
        mode: RunMode,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            // Time-ordered, so a connection's runs sort by when they were asked for.
            run_id: format!("run_{}", uuid::Uuid::now_v7().simple()),
            tenant_id: tenant,
            connection_id: connection,
            trigger,
            mode,
            dry_run,
            status: RunStatus::Queued,
            requested_at: now,
            started_at: None,
            ended_at: None,
            counts: RunCounts::default(),
            queued: 0,
            applied: 0,
            pending: 0,
            threshold: 0,
            failures: Vec::new(),
            unreadable: Vec::new(),
            samples: BTreeMap::new(),
            safeguard: None,
            resumes_at: None,
            error: None,
            checkpoint: Checkpoint::default(),
            lease_until: None,
        }
    }

    /// The run's sort key: newest runs of a connection sort last.
    pub fn key(&self) -> String {
        keys::run(&self.connection_id, &self.run_id)
    }

    /// Keeps a record's failure (the first [`FAILURES_KEPT`]) and its id, to be read again (the first
    /// [`UNREADABLE_KEPT`]). `false` when the record had no id.
    pub fn fail_record(&mut self, failure: RecordFailure, has_id: bool) {
        self.counts.failed += 1;
        if has_id && self.unreadable.len() < UNREADABLE_KEPT && !self.unreadable.contains(&failure.hr_id) {
            self.unreadable.push(failure.hr_id.clone());
        }
        if self.failures.len() < FAILURES_KEPT {
            self.failures.push(failure);
        }
    }

    /// Keeps a name for a preview's sample of `kind`.
    pub fn sample(&mut self, kind: &str, name: String) {
        let names = self.samples.entry(kind.to_owned()).or_default();
        if names.len() < SAMPLES_KEPT {
            names.push(name);
        }
    }
}

/// A termination or removal a run found, kept until the run may apply it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingChange {
    pub employee_id: EmployeeId,
    pub hr_id: String,
    /// The HR record that terminates them; `None` for a removal (the HR system no longer has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Employee>,
    pub observed_at: DateTime<Utc>,
}

/// How long a run's scratch items (seen people, pending changes) are kept.
const SCRATCH_DAYS: i64 = 7;

fn expires(now: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N((now + chrono::Duration::days(SCRATCH_DAYS)).timestamp().to_string())
}

impl Store {
    /// Records a new run. Runs are history like the audit trail (a preview keeps a few names), and expire with it.
    pub async fn create_run(&self, tenant: &TenantId, run: &SyncRun) -> Result<(), StoreError> {
        let mut item = Self::keyed(run, keys::tenant(tenant), run.key())?;
        let expires = (run.requested_at + self.audit_retention).timestamp();
        item.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(expires.to_string()));
        self.put(item, Some("attribute_not_exists(PK)"), Default::default()).await
    }

    pub async fn get_run(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        run_id: &str,
    ) -> Result<Option<SyncRun>, StoreError> {
        self.get_as(keys::tenant(tenant), &keys::run(connection, run_id)).await
    }

    /// Moves the run to its next checkpoint and writes it as it stands, only if no other writer moved it since it
    /// was read; the worker's `applied` count is kept, not overwritten. `false` when another writer moved it
    /// first.
    pub async fn advance_run(&self, tenant: &TenantId, run: &mut SyncRun) -> Result<bool, StoreError> {
        let read_step = run.checkpoint.step;
        run.checkpoint.step += 1;
        self.save_run(tenant, run, read_step).await
    }

    async fn save_run(&self, tenant: &TenantId, run: &SyncRun, read_step: u64) -> Result<bool, StoreError> {
        let mut item = Self::keyed(run, keys::tenant(tenant), run.key())?;
        item.remove("applied");
        let mut update = Vec::new();
        let mut remove = Vec::new();
        let mut request =
            self.client.update_item().table_name(&self.table).key(PK, s(keys::tenant(tenant))).key(SK, s(run.key()));
        for (n, (name, value)) in item.into_iter().filter(|(k, _)| k != PK && k != SK).enumerate() {
            update.push(format!("#n{n} = :v{n}"));
            request = request
                .expression_attribute_names(format!("#n{n}"), name)
                .expression_attribute_values(format!(":v{n}"), value);
        }
        // Optional fields the run no longer has.
        for (n, name) in ["lease_until", "resumes_at", "error"].into_iter().enumerate() {
            let absent = match name {
                "lease_until" => run.lease_until.is_none(),
                "resumes_at" => run.resumes_at.is_none(),
                _ => run.error.is_none(),
            };
            if absent {
                remove.push(format!("#r{n}"));
                request = request.expression_attribute_names(format!("#r{n}"), name);
            }
        }
        request = request
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":read", AttributeValue::N(read_step.to_string()))
            .expression_attribute_names("#cp", "checkpoint")
            .expression_attribute_names("#step", "step");
        let mut expression = format!("SET {}, applied = if_not_exists(applied, :zero)", update.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let saved = request
            .update_expression(expression)
            .condition_expression("attribute_exists(PK) AND #cp.#step = :read")
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        applied(saved)
    }

    /// Counts one handled observation on its run.
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

    /// Notes that a full listing named these people (short ids, by bucket): a string-set add, so writing a page
    /// again changes nothing.
    pub async fn add_seen(
        &self,
        tenant: &TenantId,
        run_id: &str,
        bucket: u8,
        ids: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(keys::run_seen(run_id, bucket)))
            .update_expression("ADD ids :ids SET #ttl = :ttl")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ids", AttributeValue::Ss(ids))
            .expression_attribute_values(":ttl", expires(now))
            .send()
            .await
            .map(drop)
            .map_err(dynamo)
    }

    /// The people a full listing named in one bucket.
    pub async fn seen(&self, tenant: &TenantId, run_id: &str, bucket: u8) -> Result<HashSet<String>, StoreError> {
        let item = self.get(keys::tenant(tenant), &keys::run_seen(run_id, bucket)).await?;
        Ok(match item.and_then(|mut i| i.remove("ids")) {
            Some(AttributeValue::Ss(ids)) => ids.into_iter().collect(),
            _ => HashSet::new(),
        })
    }

    /// Keeps terminations and removals until the run may apply them, 25 to a request.
    pub async fn put_pending(
        &self,
        tenant: &TenantId,
        run_id: &str,
        changes: &[PendingChange],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for chunk in changes.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for change in chunk {
                let mut item =
                    Self::keyed(change, keys::tenant(tenant), keys::run_pending(run_id, &change.employee_id))?;
                item.insert(TTL_ATTRIBUTE.into(), expires(now));
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            self.batch_write(requests).await?;
        }
        Ok(())
    }

    /// A page of a run's pending changes.
    pub async fn page_pending(
        &self,
        tenant: &TenantId,
        run_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<PendingChange>, StoreError> {
        self.page_under(tenant, &keys::run_pending_prefix(run_id), limit, cursor).await
    }

    /// Writes a batch, sending again whatever DynamoDB leaves unprocessed (with a short backoff).
    pub(crate) async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for attempt in 0..8u32 {
            if requests.is_empty() {
                return Ok(());
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut requests))
                .send()
                .await
                .map_err(dynamo)?;
            requests = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(50 * 2u64.pow(attempt))).await;
            }
        }
        if requests.is_empty() { Ok(()) } else { Err(StoreError::Dynamo("batch write left items unprocessed".into())) }
    }
}
