//! Starting runs: the schedule fans out one run per due connection, and an admin's "sync now" starts one. Both
//! record a queued run and put its first step on the run queue; the worker does the rest, step by step.

use crate::domain::TenantId;
use crate::messages::{Message, RunStep};
use crate::queue::{Queue, QueueError};
use crate::store::{Connection, RunMode, RunStatus, RunTrigger, Store, StoreError, SyncRun};
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// A step message for `run` at `step`.
pub fn step_message(tenant: &TenantId, run: &SyncRun, step: u64) -> Message {
    Message::RunStep(RunStep {
        tenant_id: tenant.clone(),
        connection_id: run.connection_id.clone(),
        run_id: run.run_id.clone(),
        step,
    })
}

/// Records a queued run of `connection` and queues its first step. A connection whose first import has not
/// finished always gets a full listing.
pub async fn start_run(
    store: &Store,
    runs: &Queue,
    connection: &Connection,
    trigger: RunTrigger,
    mode: RunMode,
    dry_run: bool,
) -> Result<SyncRun, StartError> {
    // A first run lists everyone; so does every run of an HR system without a change feed, and a preview of one
    // whose changes wait in a queue (reading the queue consumes it: a preview must not).
    let capabilities = connection.provider.kind().capabilities();
    let listed = connection.cursor.is_none() || !capabilities.changes_feed || (dry_run && capabilities.event_queue);
    let mode = if listed { RunMode::Full } else { mode };
    let now = Utc::now();
    let run = SyncRun::new(connection.tenant_id.clone(), connection.id.clone(), trigger, mode, dry_run, now);
    store.create_run(&connection.tenant_id, &run).await?;
    if !dry_run {
        // The connection is this run's from now on, so the next tick does not start another.
        let until = now + chrono::Duration::seconds(crate::resources::RUN_LEASE_SECS as i64);
        store.claim_connection(&connection.tenant_id, &connection.id, &run.run_id, now, until).await?;
    }
    runs.send(&[step_message(&connection.tenant_id, &run, 0)]).await?;
    Ok(run)
}

/// What one tick of the schedule did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleReport {
    /// Connections read.
    pub connections: usize,
    /// Runs started.
    pub started: usize,
    /// Runs whose lease had passed with no step on them, resumed.
    pub resumed: usize,
}

/// The schedule: reads every connection a page at a time and starts a run for each one that is due, a full
/// listing when its reconciliation is due. One message per connection, so one tenant's slow HR system delays no
/// other. A run that holds its connection past its lease (its step died and its message was lost) is resumed.
pub async fn schedule(store: &Store, runs: &Queue, now: DateTime<Utc>) -> Result<ScheduleReport, StartError> {
    schedule_tick(store, runs, now, Tick::All).await
}

/// Which connections a tick of the schedule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Every connection (the main schedule).
    All,
    /// Only those whose HR system keeps changes in a queue to drain (the every-minute schedule).
    Queues,
}

/// [`schedule`] for one kind of tick.
pub async fn schedule_tick(
    store: &Store,
    runs: &Queue,
    now: DateTime<Utc>,
    tick: Tick,
) -> Result<ScheduleReport, StartError> {
    use futures::{StreamExt, TryStreamExt, stream};
    let mut report = ScheduleReport::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.page_all_connections(cursor.as_deref()).await?;
        report.connections += page.items.len();
        // A page of connections at a time, several at once: thousands of tenants fit in one invocation.
        let done: Vec<Started> = stream::iter(page.items)
            .filter(|connection| {
                let drains = connection.provider.kind().capabilities().event_queue;
                std::future::ready(tick == Tick::All || drains)
            })
            .map(|connection| async move { start_if_due(store, runs, connection, now).await })
            .buffer_unordered(CONNECTIONS_IN_FLIGHT)
            .try_collect()
            .await?;
        report.started += done.iter().filter(|d| **d == Started::New).count();
        report.resumed += done.iter().filter(|d| **d == Started::Resumed).count();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(report),
        }
    }
}

/// Connections the schedule looks at concurrently.
const CONNECTIONS_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Started {
    New,
    Resumed,
    Nothing,
}

async fn start_if_due(
    store: &Store,
    runs: &Queue,
    connection: Connection,
    now: DateTime<Utc>,
) -> Result<Started, StartError> {
    if !connection.provider.kind().capabilities().full_listing || connection.busy(now) {
        return Ok(Started::Nothing);
    }
    if let Some(run_id) = &connection.running
        && let Some(run) = store.get_run(&connection.tenant_id, &connection.id, run_id).await?
        && matches!(run.status, RunStatus::Queued | RunStatus::Running)
    {
        runs.send(&[step_message(&connection.tenant_id, &run, run.checkpoint.step)]).await?;
        return Ok(Started::Resumed);
    }
    // An HR system without a change feed is polled only for its reconciliation: its webhooks are the real-time
    // path, and a full listing every few minutes would spend its rate limit.
    let full = connection.full_due(now);
    let feed = connection.provider.kind().capabilities().changes_feed;
    if !connection.due(now) || (!feed && !full) || !store.mark_polled(&connection, now).await? {
        return Ok(Started::Nothing);
    }
    let mode = if full { RunMode::Full } else { RunMode::Incremental };
    start_run(store, runs, &connection, RunTrigger::Schedule, mode, false).await?;
    Ok(Started::New)
}
