//! An HR observation: what the HR system says about one person, compared with what is stored and applied only
//! when something changed.

use super::{Service, ServiceError, plan, retry_on_conflict};
use crate::domain::{Actor, ConnectionId, Employee, EmployeeId, TenantId, lifecycle};
use crate::store::{AuditAction, StoredEmployee};
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
        let id = EmployeeId::derive(connection, &record.hr_id);
        let hash = record.content_hash();
        let actor = Actor::Sync { connection_id: connection.to_string() };
        retry_on_conflict(|| async {
            let current = self.store.get_employee(tenant, &id).await?;
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
            };
            let commit =
                plan::plan(&self.store, current.as_ref(), next, &decision, actor.clone(), AuditAction::HrSync, now)
                    .await?;
            self.store.commit(&commit).await?;
            if let Some(employee) = &commit.employee {
                self.flush_outbox(employee).await?;
            }
            Ok(if current.is_none() { Applied::Created } else { Applied::Updated })
        })
        .await
    }
}
