//! The worker: fed by the change queue. It hands each HR observation to the service layer (re-reading the person
//! first where a webhook sent only a hint) and runs the syncs admins ask for.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use ithub::messages::{EmployeeObserved, Message, SyncRequested};
use ithub::service::{Applied, Service, ServiceError};
use ithub::store::{RunStatus, StoreError};
use ithub::sync::{PollError, Syncer};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("message is not one we understand: {0}")]
    Malformed(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Read(#[from] PollError),
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
                // Every observation the worker is done with counts on its run: applied, or found already current
                // (a redelivery, a commit whose answer was lost and retried, or a newer read of the same person
                // applied first). A change stored whose events are still owed counts too: its redelivery finds it
                // unchanged. Only a failure leaves it uncounted, to be counted when the queue retries it.
                let handled =
                    matches!(result, Ok(Applied::Created | Applied::Updated | Applied::Unchanged | Applied::Stale))
                        || matches!(result, Err(WorkerError::Service(ServiceError::Publish(_))));
                if let (Some(run), true) = (run, handled)
                    && let Err(error) = self.service.store.count_applied(&tenant, &run).await
                {
                    tracing::warn!(%error, "could not count an applied change on its run");
                }
                result
            }
            Message::SyncRequested(request) => self.sync(request).await,
        }
    }

    /// Runs an admin's sync request. A failed poll is recorded on the run, not retried: the admin asks again.
    async fn sync(&self, request: SyncRequested) -> Result<Applied, WorkerError> {
        let store = &self.service.store;
        let Some(connection) = store.get_connection(&request.tenant_id, &request.connection_id).await? else {
            tracing::warn!(connection_id = %request.connection_id, "sync asked for a connection that is gone");
            return Ok(Applied::Gone);
        };
        let Some(run) = store.get_run(&request.tenant_id, &request.run_key).await? else {
            return Ok(Applied::Gone);
        };
        if run.status != RunStatus::Queued {
            return Ok(Applied::Unchanged); // a redelivery of a request already run
        }
        self.syncer.run(&connection, run).await;
        Ok(Applied::Updated)
    }

    /// Applies one observation; a webhook hint is first completed with the person's current record.
    pub async fn apply(&self, observation: EmployeeObserved) -> Result<Applied, WorkerError> {
        let EmployeeObserved { tenant_id, connection_id, hr_id, observed_at, record, initial_import, .. } = observation;
        let (record, observed_at, initial_import) = match record {
            Some(record) => (record, observed_at, initial_import),
            None => {
                let read_at = chrono::Utc::now();
                match self.syncer.read_person(&tenant_id, &connection_id, &hr_id).await? {
                    Some((record, importing)) => (record, read_at, importing),
                    None => return Ok(Applied::Gone),
                }
            }
        };
        Ok(self.service.observe(&tenant_id, &connection_id, record, observed_at, initial_import).await?)
    }
}
