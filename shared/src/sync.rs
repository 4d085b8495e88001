//! Syncing a connection: ask its HR system what changed since the connection's cursor (everyone, on the first
//! run), read those people, and queue one `EmployeeObserved` per person for the worker. The schedule and an
//! admin's "sync now" share this path; so does the re-read of a person a webhook names.

use crate::domain::{ConnectionId, Employee, TenantId};
use crate::messages::{EmployeeObserved, Message, Source};
use crate::providers::{HrProvider, ProviderError};
use crate::queue::{Queue, QueueError};
use crate::secrets::Secrets;
use crate::store::{Connection, RunStatus, RunTrigger, Store, StoreError, SyncRun};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

/// Employee reads in flight per connection: fast enough, and gentle with HR rate limits.
const READS_IN_FLIGHT: usize = 8;
/// Connections polled at once.
const CONNECTIONS_IN_FLIGHT: usize = 4;
/// The first cursor starts this far before the full listing, so a change made while it runs is read again.
const FIRST_CURSOR_OVERLAP: chrono::Duration = chrono::Duration::minutes(1);

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
}

/// What one run of one connection did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub tenant_id: String,
    pub connection_id: String,
    pub full_import: bool,
    /// People the HR system reported as changed (or, on a full import, everyone listed).
    pub seen: usize,
    pub queued: usize,
    /// Removals reported by the HR system. They are not applied by polling: a mass-removal safeguard decides.
    pub deleted: usize,
    /// Another run moved the cursor first; this run's observations were still queued (they are idempotent).
    pub cursor_race: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct Syncer {
    store: Store,
    queue: Queue,
    secrets: Secrets,
    http: crate::providers::Http,
}

impl Syncer {
    pub fn new(store: Store, queue: Queue, secrets: Secrets, http: crate::providers::Http) -> Self {
        Self { store, queue, secrets, http }
    }

    /// Polls every connection. One failing HR system does not stop the others; its cursor stays where it was, so
    /// the next run reads the same changes again.
    pub async fn poll_all(&self) -> Result<Vec<RunReport>, StoreError> {
        let now = Utc::now();
        // A connector that cannot list its people (a push-only one) is not polled.
        let pull = |c: &Connection| c.provider.kind().capabilities().full_listing;
        let connections = self.store.all_connections().await?.into_iter().filter(|c| pull(c) && c.due(now));
        Ok(stream::iter(connections)
            .map(|connection| async move {
                let run = SyncRun::new(connection.id.clone(), RunTrigger::Schedule, Utc::now());
                self.run(&connection, run).await
            })
            .buffer_unordered(CONNECTIONS_IN_FLIGHT)
            .collect()
            .await)
    }

    /// Polls one connection as `run`, and records the run: running, then succeeded or failed with its counts.
    pub async fn run(&self, connection: &Connection, mut run: SyncRun) -> RunReport {
        let started = Utc::now();
        run.status = RunStatus::Running;
        run.started_at = Some(started);
        self.record(connection, &run).await;
        let report = match self.poll(connection, started, &run.key()).await {
            Ok(report) => report,
            Err(error) => {
                tracing::error!(connection_id = %connection.id, %error, "poll failed");
                RunReport {
                    tenant_id: connection.tenant_id.to_string(),
                    connection_id: connection.id.to_string(),
                    full_import: connection.cursor.is_none(),
                    seen: 0,
                    queued: 0,
                    deleted: 0,
                    cursor_race: false,
                    error: Some(error.to_string()),
                }
            }
        };
        run.status = if report.error.is_some() { RunStatus::Failed } else { RunStatus::Succeeded };
        run.ended_at = Some(Utc::now());
        run.seen = report.seen as u64;
        run.changed = report.queued as u64;
        run.deleted = report.deleted as u64;
        run.error.clone_from(&report.error);
        self.record(connection, &run).await;
        report
    }

    async fn record(&self, connection: &Connection, run: &SyncRun) {
        if let Err(error) = self.store.put_run(&connection.tenant_id, run).await {
            tracing::error!(%error, run_id = %run.run_id, "could not record the sync run");
        }
    }

    pub async fn poll(
        &self,
        connection: &Connection,
        started: DateTime<Utc>,
        run_key: &str,
    ) -> Result<RunReport, PollError> {
        let provider = self.secrets.connect(connection, self.http.clone()).await?;
        let (ids, deleted, next_cursor) = match &connection.cursor {
            None => (provider.list_all().await?, 0, provider.cursor_at(started - FIRST_CURSOR_OVERLAP)),
            Some(cursor) => {
                let changes = provider.changed_since(cursor, started).await?;
                (changes.changed, changes.deleted.len(), changes.next_cursor.unwrap_or_else(|| cursor.clone()))
            }
        };
        // Any failed read fails the run before anything moves: a half-read listing never reads as "they left".
        let observations: Vec<EmployeeObserved> = stream::iter(ids.iter().cloned())
            .map(|hr_id| observe(provider.as_ref(), connection, hr_id, run_key))
            .buffer_unordered(READS_IN_FLIGHT)
            .try_filter_map(|o| async move { Ok(o) })
            .try_collect()
            .await?;
        let messages: Vec<Message> = observations.into_iter().map(Message::EmployeeObserved).collect();
        self.queue.send(&messages).await?;
        let cursor_race =
            !self.store.advance_cursor(connection, connection.cursor.as_deref(), &next_cursor, started).await?;
        let report = RunReport {
            tenant_id: connection.tenant_id.to_string(),
            connection_id: connection.id.to_string(),
            full_import: connection.cursor.is_none(),
            seen: ids.len(),
            queued: messages.len(),
            deleted,
            cursor_race,
            error: None,
        };
        tracing::info!(?report, "polled");
        Ok(report)
    }
}

/// A person's current record, for a webhook that named them: `None` when the connection is gone or the HR
/// system no longer has them. The flag says whether the connection's first import is still to come (then the
/// person is part of it).
impl Syncer {
    pub async fn read_person(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        hr_id: &str,
    ) -> Result<Option<(Employee, bool)>, PollError> {
        let Some(connection) = self.store.get_connection(tenant, connection).await? else {
            tracing::warn!(%connection, "connection no longer exists; dropping the hint");
            return Ok(None);
        };
        let provider = self.secrets.connect(&connection, self.http.clone()).await?;
        Ok(provider.fetch(hr_id).await?.map(|record| (record, connection.cursor.is_none())))
    }
}

/// Reads one person and wraps the record as an observation; `None` when the HR system no longer has them.
async fn observe(
    provider: &dyn HrProvider,
    connection: &Connection,
    hr_id: String,
    run_key: &str,
) -> Result<Option<EmployeeObserved>, ProviderError> {
    let observed_at = Utc::now();
    let record = provider.fetch(&hr_id).await?;
    Ok(record.map(|record| EmployeeObserved {
        tenant_id: connection.tenant_id.clone(),
        connection_id: connection.id.clone(),
        hr_id,
        source: Source::Poll,
        observed_at,
        record: Some(record),
        delivery_key: None,
        initial_import: connection.cursor.is_none(),
        run_key: Some(run_key.to_owned()),
    }))
}
