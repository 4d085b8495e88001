//! The sync engine. A run reads the HR system a page of whole records at a time, compares each record with what
//! is stored (read in batches), and acts only on what changed: people who already worked there are imported
//! with one conditional write each, hires and updates are queued for the worker, and terminations and removals
//! are kept aside until the run knows how many there are: within the connection's safeguard they are queued,
//! beyond it the run is held for an admin. A full listing also sweeps the people stored for the connection and
//! finds those it did not list (removed by HR).
//!
//! Runs are resumable jobs. Each step claims the run, reads pages until its time budget is spent, checkpoints
//! its place and counts after every page (conditional on the checkpoint it read) and hands the rest to a
//! continuation on the run queue. A step that dies is replayed from the last checkpoint by its redelivered
//! message once its lease has passed; whatever the replayed page had already done is found done (imports are
//! conditional, queued changes are idempotent) and counted once. A long `Retry-After` delays the continuation.

// Outside input meets this code: no unwrap, expect, panic, unchecked index or overflowing arithmetic (each
// saturates or is refused with a named error). Tests may use them.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod bounds;

use crate::schedule::{StartError, step_message};

use crate::domain::{ConnectionId, Employee, EmployeeId, TenantId, lifecycle};
use crate::events::EventKind;
use crate::messages::{EmployeeObserved, EmployeeRemoved, Message, RunStep, Source};
use crate::providers::{HrProvider, ProviderError, RecordPage};
use crate::queue::{Queue, QueueError};
use crate::secrets::Secrets;
use crate::service::Service;
use crate::store::{
    Connection, PendingChange, Phase, RunMode, RunOutcome, RunStatus, Store, StoreError, StoredEmployee, SyncRun,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Stored people read per sweep page.
const SWEEP_PAGE: i32 = 500;
/// Pending terminations and removals queued per apply page.
const APPLY_PAGE: i32 = 100;
/// Times a step may claim one checkpoint without moving it before the run is failed.
const STEP_ATTEMPTS: u32 = 5;
/// Buckets of employee ids the sweep walks (the first hex digit of the derived id).
const BUCKETS: u8 = 16;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// What reading one person for a webhook found.
pub enum Read {
    /// Their current record, and whether the connection's first import is still to come.
    Found(Box<Employee>, bool),
    /// The HR system no longer has them.
    NotInHr,
    /// The connection is gone.
    NoConnection,
}

#[derive(Clone)]
pub struct Syncer {
    service: Service,
    changes: Queue,
    runs: Queue,
    secrets: Secrets,
    http: crate::providers::Http,
    budget: Duration,
    lease: chrono::Duration,
}

/// What a record means against what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Someone who already works there, first seen by a first import: one conditional write.
    Import,
    /// Imported by this very run before a crash: counted, not written again.
    Imported,
    Hire,
    Update,
    Termination,
    Unchanged,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Import | Self::Imported => "imported",
            Self::Hire => "hired",
            Self::Update => "updated",
            Self::Termination => "terminated",
            Self::Unchanged => "unchanged",
        }
    }
}

/// What `record` means for the person stored as `current`, by the same lifecycle rules the worker applies.
fn classify(
    current: Option<&StoredEmployee>,
    record: &Employee,
    initial_import: bool,
    run_id: &str,
    now: DateTime<Utc>,
) -> Kind {
    if let Some(current) = current
        && current.hr_hash == record.content_hash()
    {
        return if current.imported_by.as_deref() == Some(run_id) { Kind::Imported } else { Kind::Unchanged };
    }
    let decision =
        lifecycle::on_observed(current.map(|c| (&c.hr, &c.hub)), record, initial_import, now.date_naive(), now);
    let events: Vec<EventKind> = decision.events().collect();
    if current.is_none() && decision.effects.is_empty() {
        Kind::Import
    } else if events.contains(&EventKind::EmployeeTerminated) {
        Kind::Termination
    } else if events.contains(&EventKind::EmployeeHired) {
        Kind::Hire
    } else {
        Kind::Update
    }
}

/// The sweep's short form of an employee id (64 bits of the derived id), and its bucket.
fn short_id(id: &EmployeeId) -> (u8, String) {
    let hex = id.as_str().trim_start_matches("emp_");
    let bucket = hex.chars().next().and_then(|c| c.to_digit(16)).unwrap_or(0) as u8;
    (bucket, hex.chars().take(16).collect())
}

/// An observation a run read, for the worker to apply and count on the run.
fn read_by_run(
    connection: &Connection,
    record: Employee,
    observed_at: DateTime<Utc>,
    initial_import: bool,
    run_key: &str,
) -> Message {
    Message::EmployeeObserved(EmployeeObserved {
        tenant_id: connection.tenant_id.clone(),
        connection_id: connection.id.clone(),
        hr_id: record.hr_id.clone(),
        source: Source::Poll,
        observed_at,
        record: Some(record),
        delivery_key: None,
        initial_import,
        run_key: Some(run_key.to_owned()),
    })
}

/// How a step ended.
enum Stop {
    /// The time budget is spent: a continuation carries on.
    Continue,
    /// Finished, held or failed: nothing follows.
    Done,
    /// Throttled: carry on after this long.
    Later(Duration),
}

impl Syncer {
    pub fn new(service: Service, changes: Queue, runs: Queue, secrets: Secrets, http: crate::providers::Http) -> Self {
        Self {
            service,
            changes,
            runs,
            secrets,
            http,
            budget: Duration::from_secs(crate::resources::RUN_STEP_BUDGET_SECS as u64),
            lease: chrono::Duration::seconds(crate::resources::RUN_LEASE_SECS as i64),
        }
    }

    /// A shorter step budget and lease (tests: a step per page, a killed step resumed quickly).
    pub fn with_budget(mut self, budget: Duration, lease: Duration) -> Self {
        self.budget = budget;
        self.lease = chrono::Duration::from_std(lease).unwrap_or(self.lease);
        self
    }

    fn store(&self) -> &Store {
        &self.service.store
    }

    /// One step of a run: see the module's documentation. Errors reaching AWS are returned (the message is retried
    /// and the step replayed from its checkpoint); what the HR system answers is recorded on the run.
    pub async fn step(&self, message: &RunStep) -> Result<(), SyncError> {
        let tenant = &message.tenant_id;
        let Some(mut run) = self.store().get_run(tenant, &message.connection_id, &message.run_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let (sent, at) = (message.step, run.checkpoint.step);
        if run.status.is_finished() || run.status == RunStatus::Held || run.lease_until.is_some_and(|t| t > now) {
            // Done, waiting for an admin, or another step holds it.
            tracing::debug!(run_id = %run.run_id, sent, at, status = ?run.status, "run step skipped: not free");
            return Ok(());
        }
        // A message for another step is a duplicate, unless a step died holding the run (its lease has passed):
        // then this redelivery resumes it from the last checkpoint.
        let abandoned = run.lease_until.is_some_and(|t| t <= now);
        if message.step != run.checkpoint.step && !abandoned {
            tracing::debug!(run_id = %run.run_id, sent, at, "run step skipped: a duplicate");
            return Ok(());
        }
        tracing::debug!(run_id = %run.run_id, sent, at, abandoned, phase = ?run.checkpoint.phase, "run step");
        if let Some(at) = run.resumes_at.filter(|at| *at > now) {
            // Delivered before a long `Retry-After` was over (a message can wait 15 minutes at most).
            let wait = at.signed_duration_since(now).to_std().unwrap_or_default();
            return self.continue_later(tenant, &run, wait).await;
        }
        // Claim: a checkpoint of its own, so two deliveries of one step cannot both go on.
        run.checkpoint.attempts = run.checkpoint.attempts.saturating_add(1);
        run.lease_until = Some(crate::providers::later(now, self.lease));
        run.resumes_at = None;
        if run.status == RunStatus::Queued {
            run.status = RunStatus::Running;
            run.started_at = Some(now);
        }
        if !self.store().advance_run(tenant, &mut run).await? {
            return Ok(());
        }
        if run.checkpoint.attempts > STEP_ATTEMPTS {
            let error = format!("gave up after {STEP_ATTEMPTS} attempts at one step; see the worker's log");
            self.fail(&mut run, error).await?;
            return Ok(());
        }
        let stop = match self.work(&mut run).await {
            Ok(stop) => stop,
            Err(SyncError::Provider(error)) => {
                self.fail(&mut run, error.to_string()).await?;
                Stop::Done
            }
            Err(error) => {
                // AWS failed us: let go of the run (a lease already over) so the redelivered message replays
                // this step from the last checkpoint.
                run.lease_until = Some(Utc::now());
                if let Err(release) = self.store().advance_run(tenant, &mut run).await {
                    tracing::warn!(%release, run_id = %run.run_id, "could not release the run");
                }
                return Err(error);
            }
        };
        match stop {
            Stop::Done => Ok(()),
            Stop::Continue => self.continue_later(tenant, &run, Duration::ZERO).await,
            Stop::Later(wait) => self.continue_later(tenant, &run, wait).await,
        }
    }

    /// Lets go of the run and queues its next step, `wait` from now.
    async fn continue_later(&self, tenant: &TenantId, run: &SyncRun, wait: Duration) -> Result<(), SyncError> {
        let mut run = run.clone();
        let now = Utc::now();
        run.lease_until = None;
        // The wait is at most a day (a longer `Retry-After` fails the run), and saturates all the same.
        let resumes =
            chrono::Duration::from_std(wait).map_or(DateTime::<Utc>::MAX_UTC, |d| crate::providers::later(now, d));
        run.resumes_at = (!wait.is_zero()).then_some(resumes);
        if !self.store().advance_run(tenant, &mut run).await? {
            return Ok(());
        }
        let delay = wait.as_secs().min(900) as i32;
        self.runs.send_delayed(&[step_message(tenant, &run, run.checkpoint.step)], delay).await?;
        Ok(())
    }

    /// Reads and checkpoints pages until the run is done or the budget is spent.
    async fn work(&self, run: &mut SyncRun) -> Result<Stop, SyncError> {
        let deadline = Instant::now().checked_add(self.budget).unwrap_or_else(Instant::now);
        let tenant = run.tenant_id.clone();
        let Some(connection) = self.store().get_connection(&tenant, &run.connection_id).await? else {
            self.fail(run, "the connection was deleted".into()).await?;
            return Ok(Stop::Done);
        };
        let reading = matches!(run.checkpoint.phase, Phase::Listing | Phase::Sweeping);
        if reading {
            let until = crate::providers::later(Utc::now(), self.lease);
            let key = run.run_id.clone();
            if !self.store().claim_connection(&tenant, &connection.id, &key, until).await? {
                self.fail(run, "another run of this connection is in progress".into()).await?;
                return Ok(Stop::Done);
            }
        }
        let provider = match self.secrets.connect(&connection, self.http.clone(), self.store()).await {
            Ok(provider) => provider,
            Err(error) => {
                self.fail(run, error.to_string()).await?;
                return Ok(Stop::Done);
            }
        };
        let mut seen: Option<(u8, HashSet<String>)> = None;
        // What the last checkpoint saved: a step that stops half way through a page goes back to it, so the
        // replayed page counts once.
        let mut saved = run.clone();
        loop {
            let step = match run.checkpoint.phase {
                Phase::Listing => self.list(provider.as_ref(), &connection, run).await,
                Phase::Sweeping => self.sweep(provider.as_ref(), &connection, run, &mut seen).await,
                Phase::Deciding => {
                    self.decide(&connection, run);
                    Ok(())
                }
                Phase::Applying => self.apply(&connection, run).await,
                Phase::Done => return self.finish(&connection, run).await.map(|()| Stop::Done),
            };
            match step {
                Ok(()) => {}
                Err(SyncError::Provider(ProviderError::RateLimited { retry_after: Some(wait), .. })) => {
                    tracing::warn!(run_id = %run.run_id, wait_secs = wait.as_secs(), "throttled; resuming later");
                    *run = saved;
                    return Ok(Stop::Later(wait));
                }
                Err(error) => {
                    *run = saved;
                    return Err(error);
                }
            }
            if run.status == RunStatus::Held {
                self.hold(&connection, run).await?;
                return Ok(Stop::Done);
            }
            if !self.checkpoint(&tenant, run).await? {
                return Ok(Stop::Done); // someone else moved the run: they carry on
            }
            saved = run.clone();
            if Instant::now() >= deadline && run.checkpoint.phase != Phase::Done {
                return Ok(Stop::Continue);
            }
        }
    }

    /// Saves the run's progress, conditional on the checkpoint it read, and renews its lease.
    async fn checkpoint(&self, tenant: &TenantId, run: &mut SyncRun) -> Result<bool, SyncError> {
        run.checkpoint.attempts = 0;
        run.lease_until = Some(crate::providers::later(Utc::now(), self.lease));
        Ok(self.store().advance_run(tenant, run).await?)
    }

    /// One page of the listing (or of the changes), compared and acted on.
    async fn list(
        &self,
        provider: &dyn HrProvider,
        connection: &Connection,
        run: &mut SyncRun,
    ) -> Result<(), SyncError> {
        let now = Utc::now();
        // The run's day, fixed for all its pages, so a run across midnight filters every page alike.
        let today = run.requested_at.date_naive();
        let first = run.checkpoint.pages == 0 && run.checkpoint.page.is_none();
        let full = run.mode == RunMode::Full || connection.cursor.is_none();
        if first && full && run.checkpoint.state_after.is_none() {
            run.checkpoint.state_after = Some(provider.start_state(now).await?);
        }
        if first && !full && !run.checkpoint.retried && !connection.retry_ids.is_empty() {
            // People whose record failed last time, read again by id (a full listing reads them anyway). A step
            // of its own, checkpointed like a page.
            let page = provider.fetch_many(&connection.retry_ids).await?;
            let initial = connection.retry_initial;
            self.process(connection, run, page, Vec::new(), now, initial).await?;
            run.checkpoint.retried = true;
            return Ok(());
        }
        let (page, removed) = if full {
            (provider.list_page(run.checkpoint.page.as_deref(), today).await?, Vec::new())
        } else {
            let state = connection.cursor.as_deref().unwrap_or_default();
            let changes = provider.changes_page(state, run.checkpoint.page.as_deref(), now).await?;
            if changes.page.next.is_none() {
                run.checkpoint.state_after = changes.state.or_else(|| Some(state.to_owned()));
            }
            (changes.page, changes.removed)
        };
        let next = page.next.clone();
        let read =
            bounds::PageRead { next: next.as_deref(), records: page.records.len(), failures: page.failures.len() };
        bounds::after_page(&mut run.checkpoint, connection.active_people, read).map_err(ProviderError::Endless)?;
        self.process(connection, run, page, removed, now, connection.cursor.is_none()).await?;
        run.checkpoint.pages = run.checkpoint.pages.saturating_add(1);
        run.checkpoint.page = next.clone();
        if next.is_none() {
            if full && run.counts.seen == 0 && run.counts.failed == 0 {
                // An empty listing never reads as "everyone left", and an empty first import is tried again.
                return Err(ProviderError::Malformed(
                    "the HR system listed nobody: nothing was imported or removed; the next run tries again".into(),
                )
                .into());
            }
            // A listing with a record that had no id cannot tell who is missing: it removes nobody.
            let sweep = full && !run.checkpoint.incomplete;
            run.checkpoint.phase = if sweep { Phase::Sweeping } else { Phase::Deciding };
        }
        Ok(())
    }

    /// Compares a page with what is stored and acts on what changed.
    async fn process(
        &self,
        connection: &Connection,
        run: &mut SyncRun,
        page: RecordPage,
        removed: Vec<String>,
        now: DateTime<Utc>,
        initial: bool,
    ) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        // Someone whose record failed was still listed: never a removal.
        let mut listed: Vec<EmployeeId> = Vec::new();
        for failure in page.failures {
            let has_id = !failure.hr_id.starts_with("page ");
            if has_id {
                listed.push(EmployeeId::derive(&connection.id, &failure.hr_id));
            } else {
                run.checkpoint.incomplete = true;
            }
            run.fail_record(failure, has_id);
        }
        let records = page.records;
        run.counts.seen = run.counts.seen.saturating_add(records.len() as u64);
        let ids: Vec<EmployeeId> = records.iter().map(|r| EmployeeId::derive(&connection.id, &r.hr_id)).collect();
        listed.extend(ids.iter().cloned());
        if run.mode == RunMode::Full || connection.cursor.is_none() {
            let mut buckets: BTreeMap<u8, HashSet<String>> = BTreeMap::new();
            for id in &listed {
                let (bucket, short) = short_id(id);
                buckets.entry(bucket).or_default().insert(short);
            }
            for (bucket, shorts) in buckets {
                self.store().add_seen(tenant, &run.run_id, bucket, shorts.into_iter().collect(), now).await?;
            }
        }
        let removed_ids: Vec<EmployeeId> = removed.iter().map(|h| EmployeeId::derive(&connection.id, h)).collect();
        let all: Vec<EmployeeId> = ids.iter().chain(&removed_ids).cloned().collect();
        let stored = self.store().batch_get_employees(tenant, &all).await?;
        let (mut imports, mut queue, mut pending) = (Vec::new(), Vec::new(), Vec::new());
        let run_key = run.key();
        for (record, id) in records.into_iter().zip(&ids) {
            let record = record.keep_withheld(stored.get(id).map(|current| &current.hr));
            let kind = classify(stored.get(id), &record, initial, &run.run_id, now);
            match kind {
                Kind::Unchanged => run.counts.unchanged = run.counts.unchanged.saturating_add(1),
                // Imported by this run: by a page replayed after a crash (count it, once), or by the retry page
                // before the change list named them too (counted there already).
                Kind::Imported if run.checkpoint.retried && connection.retry_ids.contains(&record.hr_id) => {
                    run.counts.unchanged = run.counts.unchanged.saturating_add(1)
                }
                Kind::Imported => run.counts.imported = run.counts.imported.saturating_add(1),
                Kind::Import => run.counts.imported = run.counts.imported.saturating_add(1),
                Kind::Hire => run.counts.hired = run.counts.hired.saturating_add(1),
                Kind::Update => run.counts.updated = run.counts.updated.saturating_add(1),
                Kind::Termination => run.counts.terminated = run.counts.terminated.saturating_add(1),
            }
            if run.dry_run {
                if !matches!(kind, Kind::Unchanged | Kind::Imported) {
                    run.sample(kind.name(), format!("{} {}", record.first_name, record.last_name).trim().to_owned());
                }
                if kind == Kind::Termination {
                    run.pending = run.pending.saturating_add(1);
                }
                continue;
            }
            match kind {
                Kind::Import => imports.push(record),
                Kind::Hire | Kind::Update => queue.push(read_by_run(connection, record, now, initial, &run_key)),
                Kind::Termination => pending.push(PendingChange {
                    employee_id: id.clone(),
                    hr_id: record.hr_id.clone(),
                    record: Some(record),
                    observed_at: now,
                }),
                Kind::Imported | Kind::Unchanged => {}
            }
        }
        for (hr_id, id) in removed.into_iter().zip(removed_ids) {
            // Reported deleted by the HR system: a removal, if the hub knows them and they have not left.
            let Some(employee) = stored.get(&id).filter(|e| !e.has_left()) else { continue };
            run.counts.removed = run.counts.removed.saturating_add(1);
            if run.dry_run {
                run.sample("removed", employee.name());
                run.pending = run.pending.saturating_add(1);
            } else {
                pending.push(PendingChange { employee_id: id, hr_id, record: None, observed_at: now });
            }
        }
        if run.dry_run {
            return Ok(());
        }
        self.service.import(tenant, &connection.id, imports, now, &run.run_id).await?;
        self.changes.send(&queue).await?;
        run.queued = run.queued.saturating_add(queue.len() as u64);
        self.store().put_pending(tenant, &run.run_id, &pending, now).await?;
        run.pending = run.pending.saturating_add(pending.len() as u64);
        Ok(())
    }

    /// One page of the people stored for the connection, against what the listing named: whoever it did not
    /// name, has not already left, and the HR system does not return when asked by id (a listing read page by
    /// page can miss someone whose row moved between two pages), was removed by HR. Someone it does return is
    /// compared like any listed record.
    async fn sweep(
        &self,
        provider: &dyn HrProvider,
        connection: &Connection,
        run: &mut SyncRun,
        seen: &mut Option<(u8, HashSet<String>)>,
    ) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        let bucket = run.checkpoint.bucket;
        if seen.as_ref().is_none_or(|(b, _)| *b != bucket) {
            *seen = Some((bucket, self.store().seen(tenant, &run.run_id, bucket).await?));
        }
        let Some((_, named)) = seen.as_ref() else { return Ok(()) }; // loaded just above
        let cursor = run.checkpoint.bucket_cursor.clone();
        let page = self.store().page_bucket(tenant, &connection.id, bucket, SWEEP_PAGE, cursor.as_deref()).await?;
        let started = run.started_at.unwrap_or(run.requested_at);
        let mut missing = Vec::new();
        for employee in page.items {
            if employee.has_left() {
                continue;
            }
            run.checkpoint.active = run.checkpoint.active.saturating_add(1);
            // Named by the listing, or written since the run began (by a webhook): not missing.
            if named.contains(&short_id(&employee.id).1) || employee.observed_at >= started {
                continue;
            }
            missing.push(employee);
        }
        let now = Utc::now();
        let asked: Vec<String> = missing.iter().map(|e| e.hr.hr_id.clone()).collect();
        let still_there = if asked.is_empty() { RecordPage::default() } else { provider.fetch_many(&asked).await? };
        let returned: HashSet<String> = still_there
            .records
            .iter()
            .map(|r| r.hr_id.clone())
            .chain(still_there.failures.iter().map(|f| f.hr_id.clone()))
            .collect();
        if !still_there.records.is_empty() || !still_there.failures.is_empty() {
            self.process(connection, run, still_there, Vec::new(), now, false).await?;
        }
        let mut pending = Vec::new();
        for employee in missing.into_iter().filter(|e| !returned.contains(&e.hr.hr_id)) {
            run.counts.removed = run.counts.removed.saturating_add(1);
            run.pending = run.pending.saturating_add(1);
            if run.dry_run {
                run.sample("removed", employee.name());
            } else {
                pending.push(PendingChange {
                    employee_id: employee.id.clone(),
                    hr_id: employee.hr.hr_id.clone(),
                    record: None,
                    observed_at: now,
                });
            }
        }
        self.store().put_pending(tenant, &run.run_id, &pending, now).await?;
        run.checkpoint.bucket_cursor = page.next_cursor;
        if run.checkpoint.bucket_cursor.is_none() {
            run.checkpoint.bucket = run.checkpoint.bucket.saturating_add(1);
            if run.checkpoint.bucket >= BUCKETS {
                run.checkpoint.phase = Phase::Deciding;
            }
        }
        Ok(())
    }

    /// Terminations and removals within the safeguard go ahead; beyond it the run waits for an admin. A preview
    /// only records the threshold.
    fn decide(&self, connection: &Connection, run: &mut SyncRun) {
        let active = if run.mode == RunMode::Full { run.checkpoint.active } else { connection.active_people };
        run.threshold = connection.safeguard_threshold(active);
        run.checkpoint.phase = if run.dry_run {
            Phase::Done
        } else if run.pending > run.threshold && run.safeguard.is_none() {
            run.status = RunStatus::Held;
            Phase::Applying
        } else {
            Phase::Applying
        };
    }

    /// Queues a page of the run's terminations and removals for the worker.
    async fn apply(&self, connection: &Connection, run: &mut SyncRun) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        let cursor = run.checkpoint.pending_cursor.clone();
        let page = self.store().page_pending(tenant, &run.run_id, APPLY_PAGE, cursor.as_deref()).await?;
        let run_key = run.key();
        let messages: Vec<Message> = page
            .items
            .into_iter()
            .map(|change| match change.record {
                Some(record) => read_by_run(connection, record, change.observed_at, false, &run_key),
                None => Message::EmployeeRemoved(EmployeeRemoved {
                    tenant_id: tenant.clone(),
                    connection_id: connection.id.clone(),
                    hr_id: change.hr_id,
                    source: Source::Poll,
                    removed_at: change.observed_at,
                    run_key: Some(run_key.clone()),
                }),
            })
            .collect();
        self.changes.send(&messages).await?;
        run.queued = run.queued.saturating_add(messages.len() as u64);
        run.checkpoint.pending_cursor = page.next_cursor;
        if run.checkpoint.pending_cursor.is_none() {
            run.checkpoint.phase = Phase::Done;
        }
        Ok(())
    }

    /// What the run leaves on its connection: the new change-feed state, the reconciliation's time and count,
    /// who to read again.
    fn outcome(&self, connection: &Connection, run: &SyncRun) -> RunOutcome {
        let full = run.mode == RunMode::Full || connection.cursor.is_none();
        let counts = &run.counts;
        // The sweep counted who was stored and active after this run's imports; terminations and removals are
        // about to go.
        let active = run.checkpoint.active.saturating_sub(counts.terminated.saturating_add(counts.removed));
        RunOutcome {
            state: run.checkpoint.state_after.clone(),
            full_at: full.then(Utc::now),
            active: (full && !run.checkpoint.incomplete).then_some(active),
            retry: Some((run.unreadable.clone(), connection.cursor.is_none())),
            held: false,
        }
    }

    /// Leaves the run's outcome on its connection and records its import on the audit trail (once: when the
    /// run is held, not again when it is approved).
    async fn settle(&self, connection: &Connection, run: &SyncRun, held: bool) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        let mut outcome = self.outcome(connection, run);
        outcome.held = held;
        let complete = outcome.active.is_some();
        self.store().finish_run_on_connection(tenant, &connection.id, &run.run_id, outcome).await?;
        if run.counts.imported > 0 {
            let started = run.started_at.unwrap_or(run.requested_at);
            self.service.record_import(tenant, &connection.id, &run.run_id, started, run.counts.imported).await?;
        }
        if complete {
            // A complete listing now says who is gone: what older held runs found is out of date.
            for older in connection.held_runs.iter().filter(|r| **r != run.run_id) {
                self.supersede(connection, older, &run.run_id).await?;
            }
        }
        Ok(())
    }

    /// Ends a held run whose terminations and removals a later complete listing has made out of date.
    async fn supersede(&self, connection: &Connection, held: &str, by: &str) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        if let Some(mut old) = self.store().get_run(tenant, &connection.id, held).await?
            && old.status == RunStatus::Held
        {
            old.status = RunStatus::Failed;
            old.error = Some(format!("superseded by {by}, a later complete listing; nothing it held was applied"));
            old.ended_at = Some(Utc::now());
            self.store().advance_run(tenant, &mut old).await?;
        }
        self.store().unhold_run(tenant, &connection.id, held).await?;
        Ok(())
    }

    async fn finish(&self, connection: &Connection, run: &mut SyncRun) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        if !run.dry_run && run.safeguard.is_none() {
            self.settle(connection, run, false).await?;
        } else {
            // A preview, or an approved run done applying (its outcome was left when it was held): let go of the
            // connection.
            let release = RunOutcome::default();
            self.store().finish_run_on_connection(tenant, &connection.id, &run.run_id, release).await?;
        }
        run.status = RunStatus::Succeeded;
        run.ended_at = Some(Utc::now());
        run.lease_until = None;
        self.store().advance_run(tenant, run).await?;
        tracing::info!(run_id = %run.run_id, counts = ?run.counts, queued = run.queued, "sync run finished");
        Ok(())
    }

    /// Holds the run for an admin: its hires and updates are applied, its terminations and removals wait.
    async fn hold(&self, connection: &Connection, run: &mut SyncRun) -> Result<(), SyncError> {
        let tenant = &connection.tenant_id;
        self.settle(connection, run, true).await?;
        run.lease_until = None;
        self.store().advance_run(tenant, run).await?;
        tracing::warn!(run_id = %run.run_id, pending = run.pending, threshold = run.threshold, "sync run held");
        Ok(())
    }

    /// Ends a run as failed with `error` (what the HR system answered, never a record's values), letting go of
    /// the connection; the next run tries again.
    async fn fail(&self, run: &mut SyncRun, error: String) -> Result<(), SyncError> {
        let tenant = run.tenant_id.clone();
        tracing::error!(run_id = %run.run_id, %error, "sync run failed");
        run.status = RunStatus::Failed;
        run.error = Some(error);
        run.ended_at = Some(Utc::now());
        run.lease_until = None;
        let outcome = RunOutcome::default(); // the change-feed state and the retry list stay as they were
        self.store().finish_run_on_connection(&tenant, &run.connection_id, &run.run_id, outcome).await?;
        self.store().advance_run(&tenant, run).await?;
        Ok(())
    }

    /// A person's current record, for a webhook that named them.
    pub async fn read_person(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        hr_id: &str,
    ) -> Result<Read, SyncError> {
        let Some(connection) = self.store().get_connection(tenant, connection).await? else {
            tracing::warn!(%connection, "connection no longer exists; dropping the hint");
            return Ok(Read::NoConnection);
        };
        let provider = self.secrets.connect(&connection, self.http.clone(), self.store()).await?;
        Ok(match provider.fetch(hr_id).await? {
            Some(record) => Read::Found(Box::new(record), connection.cursor.is_none()),
            None => Read::NotInHr,
        })
    }
}
