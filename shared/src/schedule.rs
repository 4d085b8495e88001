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
    /// Another run took the connection since it was read: nothing was started.
    #[error("another run of this connection started first")]
    Busy,
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
/// finished always gets a full listing. Every run, a preview too, first takes the connection, as `connection`
/// was read: if another run took it since, nothing is started ([`StartError::Busy`]), so one connection never has
/// two runs going at once (the schedule's tick and an admin's "sync now" or preview can all find it free).
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
    // The connection is this run's from now on, so no tick or admin starts another. Taken before the run is
    // recorded: a run that could not take it never exists. (A crash between the two leaves a claim naming no
    // run; it lapses after the lease and the connection is free again.)
    let until = now + chrono::Duration::seconds(crate::resources::RUN_LEASE_SECS as i64);
    let lapsed = connection.running.as_deref().map(|seen| (seen, now));
    if !store.take_connection(&connection.tenant_id, &connection.id, &run.run_id, lapsed, until).await? {
        return Err(StartError::Busy);
    }
    store.create_run(&connection.tenant_id, &run).await?;
    runs.send(&[step_message(&connection.tenant_id, &run, 0)]).await?;
    Ok(run)
}

/// The run holding `connection`, if it has not ended: queued, or running. (A held run has let go of it.)
pub async fn current_run(store: &Store, connection: &Connection) -> Result<Option<SyncRun>, StoreError> {
    let Some(run_id) = &connection.running else { return Ok(None) };
    let run = store.get_run(&connection.tenant_id, &connection.id, run_id).await?;
    Ok(run.filter(|run| matches!(run.status, RunStatus::Queued | RunStatus::Running)))
}

/// Whether nothing is carrying `run` on at `now`: no step holds it (its lease has passed) and no step message is
/// on its way (it has no lease, the connection's claim has lapsed, and it waits for no `Retry-After`). That is a
/// step that died holding it, or a message lost between a checkpoint and the sending of the next step.
pub fn stalled(connection: &Connection, run: &SyncRun, now: DateTime<Utc>) -> bool {
    match run.lease_until {
        Some(until) => until <= now,
        None => !connection.busy(now) && run.resumes_at.is_none_or(|at| at <= now),
    }
}

/// Puts the step `run` is at back on the run queue if it has [`stalled`]; whether it did.
pub async fn resume_if_stalled(
    runs: &Queue,
    connection: &Connection,
    run: &SyncRun,
    now: DateTime<Utc>,
) -> Result<bool, QueueError> {
    if !stalled(connection, run, now) {
        return Ok(false);
    }
    tracing::info!(run_id = %run.run_id, step = run.checkpoint.step, "resuming a stalled run");
    runs.send(&[step_message(&connection.tenant_id, run, run.checkpoint.step)]).await?;
    Ok(true)
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
    /// The tick's time ran out before it went round every connection (the next tick starts elsewhere).
    pub cut_short: bool,
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

/// [`schedule`] for one kind of tick. The connections are a circle in key order (every tenant's mixed, their ids
/// being random), and each tick starts at a point on it of that minute's choosing, going round once: a tick cut
/// short by its time budget leaves others than last time waiting, so no tenant's connections are always first or
/// always last.
pub async fn schedule_tick(
    store: &Store,
    runs: &Queue,
    now: DateTime<Utc>,
    tick: Tick,
) -> Result<ScheduleReport, StartError> {
    use crate::store::Lap;
    use futures::{StreamExt, TryStreamExt, stream};
    let mut report = ScheduleReport::default();
    let deadline = std::time::Instant::now() + TICK_BUDGET;
    let from = circle_start(now);
    for lap in [Lap::From, Lap::Before] {
        let mut cursor: Option<String> = None;
        loop {
            if std::time::Instant::now() >= deadline {
                report.cut_short = true;
                return Ok(report);
            }
            let page = store.page_connections_lap(&from, lap, cursor.as_deref()).await?;
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
                None => break,
            }
        }
    }
    Ok(report)
}

/// How long a tick goes on starting runs: well inside the poller's 60 s timeout. What it did not reach waits
/// for the next tick, which starts elsewhere on the circle.
const TICK_BUDGET: std::time::Duration = std::time::Duration::from_secs(40);

/// Where on the circle of connection keys the tick at `now` starts: a point that minute's hash picks (ids are
/// `con_` and 32 random hex digits, so any point is as likely to be near any connection).
fn circle_start(now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let minute = now.timestamp().div_euclid(60);
    let digest = Sha256::digest(minute.to_be_bytes());
    format!("{}con_{}", crate::store::keys::CONNECTIONS, hex::encode(&digest[..4]))
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
    if !connection.provider.kind().capabilities().full_listing {
        return Ok(Started::Nothing);
    }
    // A run in progress is carried on, never replaced: resumed if nothing carries it, else left alone.
    if let Some(run) = current_run(store, &connection).await? {
        let resumed = resume_if_stalled(runs, &connection, &run, now).await?;
        return Ok(if resumed { Started::Resumed } else { Started::Nothing });
    }
    if connection.busy(now) {
        return Ok(Started::Nothing); // claimed by a run being started (or one recorded nowhere, until it lapses)
    }
    // An HR system without a change feed is polled only for its reconciliation: its webhooks are the real-time
    // path, and a full listing every few minutes would spend its rate limit.
    let full = connection.full_due(now);
    let feed = connection.provider.kind().capabilities().changes_feed;
    if !connection.due(now) || (!feed && !full) || !store.mark_polled(&connection, now).await? {
        return Ok(Started::Nothing);
    }
    let mode = if full { RunMode::Full } else { RunMode::Incremental };
    match start_run(store, runs, &connection, RunTrigger::Schedule, mode, false).await {
        Ok(_) => Ok(Started::New),
        Err(StartError::Busy) => Ok(Started::Nothing), // an admin's "sync now" took it first
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunMode, RunTrigger};
    use chrono::Duration;

    #[test]
    fn each_minute_starts_the_circle_somewhere_else() {
        let at = |minute: i64| circle_start(DateTime::from_timestamp(minute * 60, 0).expect("a time"));
        let starts: std::collections::BTreeSet<String> = (0..1000).map(at).collect();
        assert!(starts.len() > 990, "a thousand minutes, nearly as many starts: {}", starts.len());
        assert_eq!(at(7), circle_start(DateTime::from_timestamp(7 * 60 + 59, 0).unwrap()), "one start per minute");
        // Spread over the circle: every first hex digit of a connection id is a start within those minutes.
        let firsts: std::collections::BTreeSet<char> = starts.iter().filter_map(|s| s.chars().nth(6)).collect();
        assert_eq!(firsts.len(), 16, "{firsts:?}");
        assert!(starts.iter().all(|s| s.starts_with("C#con_") && s.len() == 14), "{starts:?}");
    }

    fn connection(running_until: Option<DateTime<Utc>>) -> Connection {
        // Any connection will do: whether a run has stalled does not depend on what it reads.
        let settings = serde_json::from_value(serde_json::json!({"provider": "scim"}));
        let mut connection = Connection::new(TenantId::generate(), settings.expect("a SCIM connection's settings"));
        connection.running = running_until.map(|_| "run_1".to_owned());
        connection.running_until = running_until;
        connection
    }

    fn run(lease_until: Option<DateTime<Utc>>, resumes_at: Option<DateTime<Utc>>) -> SyncRun {
        let c = connection(None);
        let mut run = SyncRun::new(c.tenant_id, c.id, RunTrigger::Schedule, RunMode::Full, false, Utc::now());
        run.status = RunStatus::Running;
        (run.lease_until, run.resumes_at) = (lease_until, resumes_at);
        run
    }

    #[test]
    fn a_run_is_stalled_when_no_step_holds_it_and_no_message_is_on_its_way() {
        let now = Utc::now();
        let (past, future) = (Some(now - Duration::seconds(1)), Some(now + Duration::seconds(60)));
        let claimed = connection(future);
        let lapsed = connection(past);
        // A step holds it: stalled once its lease passes, however long the connection's claim lasts.
        assert!(!stalled(&claimed, &run(future, None), now));
        assert!(stalled(&claimed, &run(past, None), now), "a step died holding it");
        assert!(stalled(&lapsed, &run(past, None), now));
        // Between steps (no lease): a message is on its way while the connection's claim lasts, or until a
        // `Retry-After` is over.
        assert!(!stalled(&claimed, &run(None, None), now));
        assert!(stalled(&lapsed, &run(None, None), now), "its next step's message was lost");
        assert!(!stalled(&lapsed, &run(None, future), now), "waiting out a Retry-After");
        assert!(stalled(&lapsed, &run(None, past), now));
        assert!(stalled(&connection(None), &run(None, None), now));
    }
}
