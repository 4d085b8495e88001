//! An HR observation: what the HR system says about one person, compared with what is stored and applied only
//! when something changed.

use super::{Service, ServiceError, plan, retry_on_conflict};
use crate::domain::{Actor, ConnectionId, Employee, EmployeeId, EmploymentStatus, TenantId, lifecycle};
use crate::store::{AuditAction, AuditEntry, Commit, StoredEmployee, Subject};

/// Conditional writes of one import page in flight at once.
const IMPORTS_IN_FLIGHT: usize = 16;
use chrono::{DateTime, Utc};

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

impl Service {
    /// Applies HR's `record` of a person, read at `observed_at`: skipped when it is older than what is stored or
    /// carries the same facts; otherwise the lifecycle decides what the change means (tasks, license), and the
    /// employee, their tasks, the audit entry and the events are committed together, conditional on the version
    /// read. `initial_import` marks the connection's first full listing.
    pub async fn observe(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        record: Employee,
        observed_at: DateTime<Utc>,
        initial_import: bool,
    ) -> Result<Applied, ServiceError> {
        self.observe_as(tenant, connection, record, observed_at, initial_import, AuditAction::HrSync).await
    }

    /// HR no longer has this person (a deletion the HR system reported, or a complete listing that left them out,
    /// within the safeguard): they are treated as terminated that day, so anyone IT looks after is offboarded.
    /// Someone who has already left, or whom the hub never knew, is left alone.
    pub async fn remove(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        hr_id: &str,
        removed_at: DateTime<Utc>,
    ) -> Result<Applied, ServiceError> {
        let id = EmployeeId::derive(connection, hr_id);
        let Some(current) = self.store.get_employee(tenant, &id).await? else {
            return Ok(Applied::Gone);
        };
        if current.has_left() {
            return Ok(Applied::Unchanged);
        }
        let today = removed_at.date_naive();
        let mut record = current.hr.clone();
        record.status = EmploymentStatus::Terminated;
        record.end_date = Some(record.end_date.filter(|d| *d <= today).unwrap_or(today));
        self.observe_as(tenant, connection, record, removed_at, false, AuditAction::HrRemoved).await
    }

    /// Imports people a first import found who already work there (no task, no license, no event): one
    /// conditional write each, a few at a time, no transaction. Someone already stored is left as they are.
    /// Returns how many were written.
    pub async fn import(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        records: Vec<Employee>,
        observed_at: DateTime<Utc>,
        run_id: &str,
    ) -> Result<u64, ServiceError> {
        use futures::{StreamExt, TryStreamExt, stream};
        let now = Utc::now();
        let employees = records.into_iter().filter_map(|record| {
            let decision = lifecycle::on_observed(None, &record, true, now.date_naive(), now);
            // Only what needs nothing but the record itself: anything else goes through `observe`.
            let record = record.keep_withheld(None);
            decision.effects.is_empty().then(|| StoredEmployee {
                tenant_id: tenant.clone(),
                id: EmployeeId::derive(connection, &record.hr_id),
                connection_id: connection.clone(),
                hr_hash: record.content_hash(),
                hr: record,
                hub: decision.hub,
                fields: Default::default(),
                outbox: Vec::new(),
                version: 1,
                observed_at,
                created_at: now,
                updated_at: now,
                imported_by: Some(run_id.to_owned()),
            })
        });
        let written = stream::iter(employees)
            .map(|employee| async move { self.store.import_employee(&employee).await })
            .buffer_unordered(IMPORTS_IN_FLIGHT)
            .try_fold(0u64, |n, written| async move { Ok(n + u64::from(written)) })
            .await?;
        Ok(written)
    }

    /// One audit entry for a run's import, rather than one per person. Its key comes from the run, so recording
    /// it again (a step replayed after a crash) finds it there and writes nothing.
    pub async fn record_import(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        run_id: &str,
        run_started: DateTime<Utc>,
        imported: u64,
    ) -> Result<(), ServiceError> {
        let actor = Actor::Sync { connection_id: connection.to_string() };
        let subject = Subject::Connection(connection.clone());
        let mut audit = AuditEntry::new(actor, AuditAction::HrImport, subject, run_started);
        audit.id = format!("import-{run_id}");
        audit.after = Some(serde_json::json!({ "run_id": run_id, "imported": imported }));
        match self.store.commit(&Commit::new(tenant.clone(), audit)).await {
            Ok(()) | Err(crate::store::StoreError::Conflict) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    async fn observe_as(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        record: Employee,
        observed_at: DateTime<Utc>,
        initial_import: bool,
        action: AuditAction,
    ) -> Result<Applied, ServiceError> {
        let id = EmployeeId::derive(connection, &record.hr_id);
        let actor = Actor::Sync { connection_id: connection.to_string() };
        retry_on_conflict(|| async {
            let current = self.store.get_employee(tenant, &id).await?;
            let record = record.clone().keep_withheld(current.as_ref().map(|c| &c.hr));
            let hash = record.content_hash();
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
                    self.flush_outbox(current).await?;
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
                tenant_id: tenant.clone(),
                id: id.clone(),
                connection_id: connection.clone(),
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
                imported_by: None,
            };
            let commit = plan::plan(&self.store, current.as_ref(), next, &decision, actor.clone(), action, now).await?;
            self.store.commit(&commit).await?;
            if let Some(employee) = &commit.employee {
                self.flush_outbox(employee).await?;
            }
            Ok(if current.is_none() { Applied::Created } else { Applied::Updated })
        })
        .await
    }
}
