//! Admin changes to a person: initial setup, immediate offboarding, and IT's own fields.

use super::{Acting, Service, ServiceError, plan, retry_on_conflict};
use crate::domain::lifecycle::{self, LifecycleError};
use crate::domain::{Decision, EmployeeId, HR_OWNED_FIELDS, HUB_OWNED_FIELDS, HubFields, TaskKind};
use crate::events::{Event, FieldsUpdated, Payload};
use crate::store::{AuditAction, AuditEntry, Commit, StoredEmployee, StoredTask, Subject};
use chrono::{DateTime, Utc};

/// Most people one setup request may name.
pub const MAX_SETUP: usize = 100;

/// Why one person of a setup request was not set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub employee_id: String,
    /// 404 (no such employee) or 409 (not in a state that can be set up).
    pub status: u16,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct SetupOutcome {
    pub set_up: Vec<StoredEmployee>,
    pub refused: Vec<Refusal>,
}

fn not_allowed(LifecycleError::NotAllowed(why): LifecycleError) -> ServiceError {
    ServiceError::not_allowed("not-allowed", "Not allowed now", why)
}

impl Service {
    pub async fn employee(&self, tenant: &crate::domain::TenantId, id: &str) -> Result<StoredEmployee, ServiceError> {
        let id = EmployeeId::parse(id).ok_or(ServiceError::NotFound("employee"))?;
        self.store.get_employee(tenant, &id).await?.ok_or(ServiceError::NotFound("employee"))
    }

    /// Reads the employee, decides, and commits the decision conditional on the version read; publishes its
    /// events.
    async fn decide(
        &self,
        acting: &Acting,
        id: &str,
        action: AuditAction,
        decide: impl Fn(&StoredEmployee, DateTime<Utc>) -> Result<Decision, LifecycleError>,
    ) -> Result<Commit, ServiceError> {
        let commit = retry_on_conflict(|| async {
            let current = self.employee(&acting.tenant, id).await?;
            let now = Utc::now();
            let decision = decide(&current, now).map_err(not_allowed)?;
            let next = current.next_version(now);
            let commit =
                plan::plan(&self.store, Some(&current), next, &decision, acting.actor.clone(), action, now).await?;
            self.store.commit(&commit).await?;
            Ok(commit)
        })
        .await?;
        self.publish_quietly(commit.employee.as_ref()).await;
        Ok(commit)
    }

    /// Initial setup: each named employee who is active and not set up yet gets a license. Each is handled on its
    /// own; the outcome lists who was set up and why the others were not.
    pub async fn setup(&self, acting: &Acting, ids: &[String]) -> Result<SetupOutcome, ServiceError> {
        if ids.is_empty() || ids.len() > MAX_SETUP {
            return Err(ServiceError::Invalid(format!("name between 1 and {MAX_SETUP} employee ids")));
        }
        if let Some(bad) = ids.iter().find(|id| EmployeeId::parse(id).is_none()) {
            return Err(ServiceError::Invalid(format!("{bad:?} is not an employee id (emp_…)")));
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut outcome = SetupOutcome::default();
        for id in ids {
            let decided =
                self.decide(acting, &id, AuditAction::EmployeeSetup, |e, _| lifecycle::on_setup(&e.hub, &e.hr)).await;
            match decided {
                Ok(commit) => outcome.set_up.extend(commit.employee),
                Err(error @ (ServiceError::NotFound(_) | ServiceError::NotAllowed { .. })) => {
                    let status = if matches!(error, ServiceError::NotFound(_)) { 404 } else { 409 };
                    outcome.refused.push(Refusal { employee_id: id, status, reason: error.to_string() })
                }
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    /// Immediate offboarding: opens the offboarding task now, before HR has caught up. HR's termination, when it
    /// arrives, is recorded on this task instead of opening another.
    pub async fn offboard(&self, acting: &Acting, id: &str, reason: &str) -> Result<StoredTask, ServiceError> {
        if !(1..=500).contains(&reason.chars().count()) || !crate::validation::has_text(reason) {
            return Err(ServiceError::Invalid("give a reason of 1 to 500 characters, not all blank".into()));
        }
        let by = acting.actor.label();
        let commit = self
            .decide(acting, id, AuditAction::EmployeeOffboard, |e, now| {
                lifecycle::on_manual_offboard(&e.hub, &by, reason, now.date_naive(), now)
            })
            .await?;
        commit.tasks.iter().map(|c| c.task()).find(|t| t.task.kind == TaskKind::Offboarding).cloned().ok_or_else(|| {
            ServiceError::not_allowed("not-allowed", "Not allowed now", "no offboarding task was opened")
        })
    }

    /// Changes the fields IT owns (`it_notes`, `label`; `null` clears one). A field HR owns is refused with a
    /// problem naming it and the HR system to change it in, and nothing in the request is applied.
    pub async fn edit_fields(
        &self,
        acting: &Acting,
        id: &str,
        changes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<StoredEmployee, ServiceError> {
        let hr_owned: Vec<&str> =
            changes.keys().map(String::as_str).filter(|k| *k == "hr" || HR_OWNED_FIELDS.contains(k)).collect();
        if !hr_owned.is_empty() {
            return Err(self.hr_owned(acting, id, &hr_owned).await?);
        }
        let unknown: Vec<&str> = changes.keys().map(String::as_str).filter(|k| !HUB_OWNED_FIELDS.contains(k)).collect();
        if !unknown.is_empty() || changes.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "unknown fields: {}; writable fields are {}",
                if unknown.is_empty() { "none given".to_owned() } else { unknown.join(", ") },
                HUB_OWNED_FIELDS.join(", ")
            )));
        }
        let next = retry_on_conflict(|| async {
            let current = self.employee(&acting.tenant, id).await?;
            let mut fields = serde_json::to_value(&current.fields).unwrap_or_default();
            for (key, value) in changes {
                fields[key] = value.clone();
            }
            let fields: HubFields = serde_json::from_value(fields).map_err(|e| ServiceError::Invalid(e.to_string()))?;
            fields.validate().map_err(ServiceError::Invalid)?;
            let now = Utc::now();
            let mut next = current.next_version(now);
            next.fields = fields;
            let mut audit = AuditEntry::new(
                acting.actor.clone(),
                AuditAction::EmployeeFieldsUpdated,
                Subject::Employee(next.id.clone()),
                now,
            );
            audit.before = serde_json::to_value(&current.fields).ok();
            audit.after = serde_json::to_value(&next.fields).ok();
            let event = Event::new(
                acting.tenant.clone(),
                now,
                Payload::EmployeeFieldsUpdated(FieldsUpdated {
                    employee_id: next.id.clone(),
                    fields: changes.keys().cloned().collect(),
                    version: next.version,
                }),
            );
            let mut commit = Commit::new(acting.tenant.clone(), audit);
            commit.employee = Some(next);
            plan::enqueue(&mut commit, Some(&current), vec![event]);
            self.store.commit(&commit).await?;
            Ok(commit.employee.expect("set above"))
        })
        .await?;
        self.publish_quietly(Some(&next)).await;
        Ok(next)
    }

    /// The refusal of an edit to HR-owned fields: which fields, and the HR system that owns them.
    async fn hr_owned(&self, acting: &Acting, id: &str, fields: &[&str]) -> Result<ServiceError, ServiceError> {
        let current = self.employee(&acting.tenant, id).await?;
        let connection = self.store.get_connection(&acting.tenant, &current.connection_id).await?;
        let system = connection.map_or("the HR system".to_owned(), |c| {
            format!("{} (connection {})", c.provider.kind().display_name(), c.id)
        });
        let named = if fields.len() == 1 { format!("{} is", fields[0]) } else { format!("{} are", fields.join(", ")) };
        Ok(ServiceError::not_allowed(
            "hr-owned-field",
            "Field owned by the HR system",
            format!(
                "{named} owned by {system}: change it there and IT Hub follows on the next sync. Writable here: {}",
                HUB_OWNED_FIELDS.join(", ")
            ),
        ))
    }
}
