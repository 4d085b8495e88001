//! The worker: the one place where HR changes are applied. It reads `EmployeeObserved` messages from the FIFO
//! queue, compares each with what is stored, and writes the employee only when something changed.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures::future::join_all;
use ithub::apply;
use ithub::bus::Bus;
use ithub::domain::{Actor, lifecycle};
use ithub::messages::EmployeeObserved;
use ithub::messages::SyncRequested;
use ithub::providers::ProviderError;
use ithub::queue::Queue;
use ithub::secrets::Secrets;
use ithub::store::RunStatus;
use ithub::store::{Store, StoreError, StoredEmployee};
use poller::Poller;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    sync_requested: SyncRequested,
}

/// Conditional writes lost in a row before the message is handed back to the queue.
const WRITE_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("message is not an EmployeeObserved: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Secret(#[from] ithub::secrets::SecretError),
    #[error("the change is stored; publishing its events failed: {0}")]
    Publish(#[from] apply::FlushError),
    #[error("lost {0} conditional writes in a row")]
    Contended(usize),
}

/// What applying one observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    /// Same facts as stored: nothing written.
    Unchanged,
    /// Older than what is stored: nothing written.
    Stale,
    /// The HR system or the connection no longer knows this person: nothing to apply.
    Gone,
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    bus: Bus,
    secrets: Secrets,
    http: reqwest::Client,
    /// Runs the syncs admins ask for, with the scheduled poller's logic.
    poller: Poller,
}

impl Worker {
    pub fn new(store: Store, bus: Bus, queue: Queue, secrets: Secrets, http: reqwest::Client) -> Self {
        let poller = Poller::new(store.clone(), queue, secrets.clone(), http.clone());
        Self { store, bus, secrets, http, poller }
    }

    /// Handles one SQS batch. Messages of one FIFO group run in order, and once one fails the rest of its group
    /// is handed back too, so a person's changes never apply out of order; groups run concurrently. Only failed
    /// messages are reported, so their neighbours are not retried (`ReportBatchItemFailures`).
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut groups: Vec<(String, Vec<SqsMessage>)> = Vec::new();
        for message in event.records {
            let group = message
                .attributes
                .get("MessageGroupId")
                .cloned()
                .or_else(|| message.message_id.clone())
                .unwrap_or_default();
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, messages)) => messages.push(message),
                None => groups.push((group, vec![message])),
            }
        }
        let failed = join_all(groups.into_iter().map(|(_, messages)| self.handle_group(messages))).await;
        let mut response = SqsBatchResponse::default();
        for id in failed.into_iter().flatten() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
        response
    }

    async fn handle_group(&self, messages: Vec<SqsMessage>) -> Vec<String> {
        let mut failed = Vec::new();
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            if !failed.is_empty() {
                failed.push(id);
                continue;
            }
            match self.handle_message(message.body.as_deref().unwrap_or_default()).await {
                Ok(applied) => tracing::info!(message_id = %id, ?applied, "applied"),
                Err(error) => {
                    tracing::error!(message_id = %id, %error, "failed; the queue will retry it");
                    failed.push(id);
                }
            }
        }
        failed
    }

    pub async fn handle_message(&self, body: &str) -> Result<Applied, WorkerError> {
        let error = match serde_json::from_str::<EmployeeObserved>(body) {
            Ok(observation) => {
                let (tenant, run) = (observation.tenant_id.clone(), observation.run_key.clone());
                let applied = self.apply(observation).await?;
                if let (Some(run), Applied::Created | Applied::Updated) = (run, applied)
                    && let Err(error) = self.store.count_applied(&tenant, &run).await
                {
                    tracing::warn!(%error, "could not count an applied change on its run");
                }
                return Ok(applied);
            }
            Err(error) => error,
        };
        match serde_json::from_str::<SyncRequest>(body) {
            Ok(SyncRequest { sync_requested }) => self.sync(sync_requested).await,
            Err(_) => Err(WorkerError::Malformed(error.to_string())),
        }
    }

    /// Runs an admin's sync request. A failed poll is recorded on the run, not retried: the admin asks again.
    async fn sync(&self, request: SyncRequested) -> Result<Applied, WorkerError> {
        let Some(connection) = self.store.get_connection(&request.tenant_id, &request.connection_id).await? else {
            tracing::warn!(connection_id = %request.connection_id, "sync asked for a connection that is gone");
            return Ok(Applied::Gone);
        };
        let Some(run) = self.store.get_run(&request.tenant_id, &request.run_key).await? else {
            return Ok(Applied::Gone);
        };
        if run.status != RunStatus::Queued {
            return Ok(Applied::Unchanged); // a redelivery of a request already run
        }
        self.poller.run(&connection, run).await;
        Ok(Applied::Updated)
    }

    /// Applies one observation: re-reads the person for a webhook hint, skips it when the facts are unchanged or
    /// older than what is stored, then decides what the change means (tasks, license) and writes the employee, its
    /// tasks and the audit entry in one transaction, conditional on the version read.
    pub async fn apply(&self, observation: EmployeeObserved) -> Result<Applied, WorkerError> {
        let EmployeeObserved { tenant_id, connection_id, hr_id, observed_at, record, initial_import, .. } = observation;
        let id = ithub::domain::EmployeeId::derive(&connection_id, &hr_id);
        let (record, observed_at, initial_import) = match record {
            Some(record) => (record, observed_at, initial_import),
            None => {
                let Some(connection) = self.store.get_connection(&tenant_id, &connection_id).await? else {
                    tracing::warn!(%connection_id, "connection no longer exists; dropping the hint");
                    return Ok(Applied::Gone);
                };
                let provider = self.secrets.connect(&connection, self.http.clone()).await?;
                let read_at = Utc::now();
                // Before the first full import has run, a webhook is part of that import too.
                let importing = connection.cursor.is_none();
                match provider.fetch(&hr_id).await? {
                    Some(record) => (record, read_at, importing),
                    None => return Ok(Applied::Gone),
                }
            }
        };
        let hash = record.content_hash();
        let actor = Actor::Sync { connection_id: connection_id.to_string() };
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.store.get_employee(&tenant_id, &id).await?;
            if let Some(current) = &current {
                let skip = if current.observed_at > observed_at {
                    Some(Applied::Stale)
                } else if current.hr_hash == hash {
                    Some(Applied::Unchanged)
                } else {
                    None
                };
                if let Some(skip) = skip {
                    // A redelivery after a failed publish: the change is stored, its events are still owed.
                    apply::flush_outbox(&self.store, &self.bus, current).await?;
                    return Ok(skip);
                }
            }
            let now = Utc::now();
            let decision = lifecycle::on_observed(
                current.as_ref().map(|c| (&c.hr, &c.hub)),
                &record,
                initial_import,
                now.date_naive(),
                now,
            );
            let next = StoredEmployee {
                tenant_id: tenant_id.clone(),
                id: id.clone(),
                connection_id: connection_id.clone(),
                hr: record.clone(),
                hub: decision.hub.clone(),
                fields: current.as_ref().map(|c| c.fields.clone()).unwrap_or_default(),
                // Filled by the plan: earlier unpublished events, then this change's.
                outbox: Vec::new(),
                hr_hash: hash.clone(),
                version: current.as_ref().map_or(1, |c| c.version + 1),
                observed_at,
                created_at: current.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            };
            let plan =
                apply::plan(&self.store, current.as_ref(), next, &decision, actor.clone(), "hr.sync", now).await?;
            match self.store.commit(&plan.commit).await {
                Ok(()) => {
                    if let Some(employee) = &plan.commit.employee {
                        apply::flush_outbox(&self.store, &self.bus, employee).await?;
                    }
                    return Ok(if current.is_none() { Applied::Created } else { Applied::Updated });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(WorkerError::Contended(WRITE_ATTEMPTS))
    }
}
