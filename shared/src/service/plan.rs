//! Carrying out a lifecycle decision: the tasks it opens or touches, the license it grants or releases, the audit
//! entry and the domain events, gathered into one [`Commit`] with the employee.

use crate::domain::{
    Actor, Decision, Effect, EmployeeId, ItemKind, Playbook, Task, TaskId, TaskKind, TaskStatus, TenantId,
};
use crate::events::{EmployeeState, Event, EventKind, LicenseChange, Payload, TaskState};
use crate::store::{
    AuditAction, AuditEntry, Commit, License, Store, StoreError, StoredEmployee, StoredTask, Subject, TaskChange,
};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The HR fields the audit trail does not keep: it shows who changed what about a person's work (names, work
/// email, role, department, manager, status, dates), not where they live or how to reach them privately.
pub(crate) const NOT_AUDITED: [&str; 3] = ["phone", "personal_email", "home_address"];

/// What the audit trail keeps of an employee before and after a change.
pub(crate) fn snapshot(employee: &StoredEmployee) -> serde_json::Value {
    let mut hr = serde_json::to_value(&employee.hr).unwrap_or_default();
    if let Some(fields) = hr.as_object_mut() {
        for field in NOT_AUDITED {
            fields.remove(field);
        }
    }
    json!({ "hr": hr, "hub": employee.hub, "version": employee.version })
}

/// Adds this change's events to the employee's outbox, behind any earlier ones still unpublished, and names them
/// on the audit entry.
pub(crate) fn enqueue(commit: &mut Commit, before: Option<&StoredEmployee>, events: Vec<Event>) {
    commit.audit.events.extend(events.iter().map(|e| e.name().to_owned()));
    if let Some(employee) = commit.employee.as_mut() {
        employee.outbox = before.map(|b| b.outbox.clone()).unwrap_or_default();
        employee.outbox.extend(events);
    }
}

/// Plans `decision` for the employee going from `before` to `next` (whose `hub` is set from the decision here).
pub async fn plan(
    store: &Store,
    before: Option<&StoredEmployee>,
    mut next: StoredEmployee,
    decision: &Decision,
    actor: Actor,
    action: AuditAction,
    now: DateTime<Utc>,
) -> Result<Commit, StoreError> {
    next.hub = decision.hub.clone();
    let tenant = next.tenant_id.clone();
    let mut tasks: Vec<TaskChange> = Vec::new();
    let mut playbook: Option<Playbook> = None;
    let mut grant = None;
    let mut release = None;
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
                    employee_name: next.name(),
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
            Effect::CompleteTask { kind, cycle, hub_access } => {
                edit(store, &tenant, &next.id, *kind, *cycle, &mut tasks, |task| {
                    task.status = TaskStatus::Completed;
                    task.closed_at = Some(now);
                    task.closed_by = Some(actor.clone());
                    if task.kind == TaskKind::Onboarding {
                        task.hub_access = Some(*hub_access);
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
                grant = Some(License { employee_id: next.id.clone(), employee_name: next.name(), granted_at: now })
            }
            Effect::ReleaseLicense => release = Some(next.id.clone()),
            Effect::Event(_) => {}
        }
    }
    let mut events: Vec<Event> = decision.events().filter_map(|kind| event(kind, &next, &tasks, now)).collect();
    // A task this change cancelled (HR's termination before onboarding was done, a rehire, an admin's offboarding).
    let cancelled =
        tasks.iter().map(|c| &c.task().task).filter(|t| t.status == TaskStatus::Cancelled && t.closed_at == Some(now));
    events.extend(
        cancelled.map(|t| Event::new(tenant.clone(), now, Payload::TaskCancelled(task_state(t)))).collect::<Vec<_>>(),
    );
    let mut audit = AuditEntry::new(actor, action, Subject::Employee(next.id.clone()), now);
    audit.before = before.map(snapshot);
    audit.after = Some(snapshot(&next));
    audit.task_ids = tasks.iter().map(|c| c.task().task.id.clone()).collect();
    let mut commit = Commit::new(tenant, audit);
    commit.employee = Some(next);
    commit.tasks = tasks;
    commit.grant = grant;
    commit.release = release;
    enqueue(&mut commit, before, events);
    Ok(commit)
}

/// The payload of an event a decision asked for, from the state the change leaves behind.
fn event(kind: EventKind, employee: &StoredEmployee, tasks: &[TaskChange], now: DateTime<Utc>) -> Option<Event> {
    let task_with = |status: TaskStatus| tasks.iter().map(|c| &c.task().task).find(|t| t.status == status);
    let payload = match kind {
        EventKind::EmployeeHired => Payload::EmployeeHired(employee_state(employee, tasks)),
        EventKind::EmployeeUpdated => Payload::EmployeeUpdated(employee_state(employee, tasks)),
        EventKind::EmployeeTerminated => Payload::EmployeeTerminated(employee_state(employee, tasks)),
        EventKind::TaskOpened => {
            let opened = tasks.iter().find_map(|c| match c {
                TaskChange::Create(t) => Some(&t.task),
                TaskChange::Update(_) => None,
            });
            Payload::TaskOpened(task_state(opened?))
        }
        EventKind::TaskCompleted => Payload::TaskCompleted(task_state(task_with(TaskStatus::Completed)?)),
        EventKind::LicenseGranted => Payload::LicenseGranted(LicenseChange { employee_id: employee.id.clone() }),
        EventKind::LicenseReleased => Payload::LicenseReleased(LicenseChange { employee_id: employee.id.clone() }),
        // Admin edits build their own events, and cancellations are read off the tasks; a lifecycle decision never
        // asks for these.
        EventKind::EmployeeFieldsUpdated | EventKind::TaskItemUpdated | EventKind::TaskCancelled => return None,
    };
    Some(Event::new(employee.tenant_id.clone(), now, payload))
}

fn employee_state(employee: &StoredEmployee, tasks: &[TaskChange]) -> EmployeeState {
    EmployeeState {
        employee_id: employee.id.clone(),
        connection_id: employee.connection_id.clone(),
        hub_status: employee.hub.status,
        license: employee.hub.license,
        cycle: employee.hub.cycle,
        version: employee.version,
        task_ids: tasks.iter().map(|c| c.task().task.id.clone()).collect(),
    }
}

pub(crate) fn task_state(task: &Task) -> TaskState {
    TaskState {
        task_id: task.id.clone(),
        employee_id: task.employee_id.clone(),
        kind: task.kind,
        cycle: task.cycle,
        status: task.status,
        due_date: task.due_date,
        hub_access: task.hub_access,
    }
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
    if let Some(planned) = tasks.iter_mut().find(|c| c.task().task.id == id) {
        change(&mut planned.task_mut().task);
        return Ok(());
    }
    if let Some(mut stored) = store.get_task(tenant, &id).await? {
        change(&mut stored.task);
        stored.version += 1;
        tasks.push(TaskChange::Update(stored));
    }
    Ok(())
}
