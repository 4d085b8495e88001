//! The worker: fed by the change queue and the run queue. It hands each HR observation or removal to the service
//! layer (re-reading the person first where a webhook sent only a hint) and carries sync runs out step by step.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use ithub::messages::{EmployeeObserved, EmployeeRemoved, Message, Source};
use ithub::service::{Applied, Service, ServiceError};
use ithub::store::StoreError;
use ithub::sync::{Read, SyncError, Syncer};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("message is not one we understand: {0}")]
    Malformed(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

#[derive(Clone)]
pub struct Worker {
    service: Service,
    syncer: Syncer,
}

impl Worker {
    pub fn new(service: Service, syncer: Syncer) -> Self {
        Self { service, syncer }
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
        let malformed = |e: serde_json::Error| WorkerError::Malformed(ithub::validation::json_error_position(&e));
        match Message::from_json(body).map_err(malformed)? {
            Message::EmployeeObserved(observation) => {
                let (tenant, run) = (observation.tenant_id.clone(), observation.run_key.clone());
                let result = self.apply(observation).await;
                self.count(&tenant, run.as_deref(), &result).await;
                result
            }
            Message::EmployeeRemoved(removal) => {
                let (tenant, run) = (removal.tenant_id.clone(), removal.run_key.clone());
                let result = self.remove(removal).await;
                self.count(&tenant, run.as_deref(), &result).await;
                result
            }
            Message::RunStep(step) => {
                self.syncer.step(&step).await?;
                Ok(Applied::Updated)
            }
        }
    }

    /// Every queued change the worker is done with counts on its run: applied, or found already current (a
    /// redelivery, a commit whose answer was lost and retried, or a newer read of the same person applied first).
    /// A change stored whose events are still owed counts too: its redelivery finds it unchanged. Only a failure
    /// leaves it uncounted, to be counted when the queue retries it.
    async fn count(&self, tenant: &ithub::domain::TenantId, run: Option<&str>, result: &Result<Applied, WorkerError>) {
        let handled = result.is_ok() || matches!(result, Err(WorkerError::Service(ServiceError::Publish(_))));
        if let (Some(run), true) = (run, handled)
            && let Err(error) = self.service.store.count_applied(tenant, run).await
        {
            tracing::warn!(%error, "could not count a handled change on its run");
        }
    }

    /// A removal a run decided (within the safeguard, or approved) is applied; one a webhook reported is first
    /// confirmed with the HR system, and someone it still has is applied as observed instead.
    async fn remove(&self, removal: EmployeeRemoved) -> Result<Applied, WorkerError> {
        let EmployeeRemoved { tenant_id, connection_id, hr_id, removed_at, source, .. } = removal;
        if source == Source::Webhook {
            let read_at = chrono::Utc::now();
            match self.syncer.read_person(&tenant_id, &connection_id, &hr_id).await? {
                Read::Found(record, importing) => {
                    return Ok(self.service.observe(&tenant_id, &connection_id, *record, read_at, importing).await?);
                }
                Read::NoConnection => return Ok(Applied::Gone),
                Read::NotInHr => {}
            }
        }
        Ok(self.service.remove(&tenant_id, &connection_id, &hr_id, removed_at).await?)
    }

    /// Applies one observation; a webhook hint is first completed with the person's current record. A hint for
    /// someone the HR system does not return is dropped: only a deletion it reports (change list, deletion
    /// webhook) or a complete listing without them removes anyone.
    pub async fn apply(&self, observation: EmployeeObserved) -> Result<Applied, WorkerError> {
        let EmployeeObserved { tenant_id, connection_id, hr_id, observed_at, record, initial_import, .. } = observation;
        let (record, observed_at, initial_import) = match record {
            Some(record) => (record, observed_at, initial_import),
            None => {
                let read_at = chrono::Utc::now();
                match self.syncer.read_person(&tenant_id, &connection_id, &hr_id).await? {
                    Read::Found(record, importing) => (*record, read_at, importing),
                    Read::NotInHr | Read::NoConnection => return Ok(Applied::Gone),
                }
            }
        };
        Ok(self.service.observe(&tenant_id, &connection_id, record, observed_at, initial_import).await?)
    }
}
