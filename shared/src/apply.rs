//! Carrying out a lifecycle decision: the tasks it opens or touches, the license it grants or releases, and the
//! audit entry, gathered into one [`Commit`] with the employee. Used by the worker (HR changes) and the admin API
//! (admin actions), so both write the same way.

use crate::domain::{
    Actor, Decision, Effect, EmployeeId, ItemKind, Playbook, Task, TaskId, TaskKind, TaskStatus, TenantId,
};
use crate::store::{
    AuditEntry, Commit, License, PendingEvent, Store, StoreError, StoredEmployee, StoredTask, TaskChange,
};
use chrono::{DateTime, Utc};
use serde_json::json;

/// A commit ready to write, and the domain events to publish once it is written.
#[derive(Debug, Clone)]
pub struct Plan {
    pub commit: Commit,
    /// This change's events; the employee's outbox holds them (and any earlier ones still unpublished) until the
    /// bus accepts them.
    pub events: Vec<(&'static str, serde_json::Value)>,
}

impl Plan {
    /// The tasks this plan writes, as they will be stored.
    pub fn tasks(&self) -> impl Iterator<Item = &StoredTask> {
        self.commit.tasks.iter().map(|c| match c {
            TaskChange::Create(t) | TaskChange::Update(t) => t,
        })
    }
}

fn name(employee: &StoredEmployee) -> String {
    format!("{} {}", employee.hr.first_name, employee.hr.last_name).trim().to_owned()
}

fn snapshot(employee: &StoredEmployee) -> serde_json::Value {
    json!({ "hr": employee.hr, "hub": employee.hub, "version": employee.version })
}

/// Plans `decision` for the employee going from `before` to `next` (whose `hub` is set from the decision here).
pub async fn plan(
    store: &Store,
    before: Option<&StoredEmployee>,
    mut next: StoredEmployee,
    decision: &Decision,
    actor: Actor,
    action: &str,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    next.hub = decision.hub.clone();
    let tenant = next.tenant_id.clone();
    let mut tasks: Vec<TaskChange> = Vec::new();
    let mut playbook: Option<Playbook> = None;
    let mut grant = None;
    let mut release = false;
    for effect in &decision.effects {
        match effect {
            Effect::OpenTask { kind, due, reason } => {
                if playbook.is_none() {
                    playbook = Some(store.playbook(&tenant).await?);
                }
                let items = playbook.as_ref().map(|p| p.checklist(*kind, &next.hr)).unwrap_or_default();
                let task = Task {
                    id: next.hub.task_id(&next.id, *kind),
                    employee_id: next.id.clone(),
                    kind: *kind,
                    cycle: next.hub.cycle,
                    status: TaskStatus::Open,
                    due_date: *due,
                    employee_name: name(&next),
                    items,
                    opened_at: now,
                    opened_by: actor.clone(),
                    reason: reason.clone(),
                    hr_notes: Vec::new(),
                    closed_at: None,
                    closed_by: None,
                    hub_access: None,
                };
                tasks.push(TaskChange::Create(StoredTask { tenant_id: tenant.clone(), version: 1, task }));
            }
            Effect::CancelTask { kind, cycle, why } => {
                edit(store, &tenant, &next.id, *kind, *cycle, &mut tasks, |task| {
                    if task.is_open() {
                        task.status = TaskStatus::Cancelled;
                        task.closed_at = Some(now);
                        task.closed_by = Some(actor.clone());
                        task.hr_notes.push(crate::domain::HrNote { at: now, note: why.clone(), end_date: None });
                    }
                })
                .await?;
            }
            Effect::NoteOnTask { kind, cycle, note, due } => {
                edit(store, &tenant, &next.id, *kind, *cycle, &mut tasks, |task| {
                    task.hr_notes.push(note.clone());
                    if let (Some(due), true) = (due, task.is_open()) {
                        task.due_date = *due;
                    }
                })
                .await?;
            }
            Effect::ShipTo { cycle, address } => {
                edit(store, &tenant, &next.id, TaskKind::Onboarding, *cycle, &mut tasks, |task| {
                    if task.is_open() {
                        for item in task.items.iter_mut().filter(|i| i.kind == ItemKind::Device) {
                            item.shipping_address = address.clone();
                        }
                    }
                })
                .await?;
            }
            Effect::GrantLicense => {
                grant = Some(License { employee_id: next.id.clone(), employee_name: name(&next), granted_at: now })
            }
            Effect::ReleaseLicense => release = true,
            Effect::Event(_) => {}
        }
    }
    let task_ids: Vec<TaskId> = tasks
        .iter()
        .map(|c| match c {
            TaskChange::Create(t) | TaskChange::Update(t) => t.task.id.clone(),
        })
        .collect();
    let event_names: Vec<&'static str> = decision.events().collect();
    let mut audit = AuditEntry::new(actor, action, next.id.clone(), now);
    audit.before = before.map(snapshot);
    audit.after = Some(snapshot(&next));
    audit.task_ids = task_ids.clone();
    audit.events = event_names.iter().map(|e| e.to_string()).collect();
    let detail = json!({
        "tenant_id": tenant,
        "employee_id": next.id,
        "employee_name": name(&next),
        "hub_status": next.hub.status,
        "license": next.hub.license,
        "task_ids": task_ids,
        "version": next.version,
    });
    let events: Vec<(&'static str, serde_json::Value)> = event_names.into_iter().map(|n| (n, detail.clone())).collect();
    // Events not yet published from earlier changes stay ahead of this change's.
    next.outbox = before.map(|b| b.outbox.clone()).unwrap_or_default();
    next.outbox
        .extend(events.iter().map(|(name, detail)| PendingEvent { name: (*name).to_owned(), detail: detail.clone() }));
    Ok(Plan { commit: Commit { tenant, employee: Some(next), tasks, grant, release, audit }, events })
}

/// Applies `change` to the task of this kind and cycle: the one already in this plan, or the stored one (then
/// written back with its version checked). A task that does not exist is left alone.
async fn edit(
    store: &Store,
    tenant: &TenantId,
    employee: &EmployeeId,
    kind: TaskKind,
    cycle: u32,
    tasks: &mut Vec<TaskChange>,
    change: impl FnOnce(&mut Task),
) -> Result<(), StoreError> {
    let id = TaskId::derive(employee, kind, cycle);
    let planned = tasks.iter_mut().find_map(|c| match c {
        TaskChange::Create(t) | TaskChange::Update(t) if t.task.id == id => Some(t),
        _ => None,
    });
    if let Some(task) = planned {
        change(&mut task.task);
        return Ok(());
    }
    if let Some(mut stored) = store.get_task(tenant, &id).await? {
        change(&mut stored.task);
        stored.version += 1;
        tasks.push(TaskChange::Update(stored));
    }
    Ok(())
}

#[cfg(feature = "eventbridge")]
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes an employee's outbox and empties it. On failure the events stay for the next attempt.
#[cfg(feature = "eventbridge")]
pub async fn flush_outbox(store: &Store, bus: &crate::bus::Bus, employee: &StoredEmployee) -> Result<(), FlushError> {
    if employee.outbox.is_empty() {
        return Ok(());
    }
    let events: Vec<crate::bus::DomainEvent> =
        employee.outbox.iter().map(|e| crate::bus::DomainEvent::new(e.name.clone(), &e.detail)).collect();
    bus.publish(&events).await?;
    store.clear_outbox(employee).await?;
    Ok(())
}
