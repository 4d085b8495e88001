//! Working through a task: checklist items, then completion.

use super::{Acting, Service, ServiceError, plan, retry_on_conflict};
use crate::domain::{ItemStatus, Task, TaskId, TaskKind, TenantId, lifecycle};
use crate::events::{Event, ItemUpdated, Payload};
use crate::store::{AuditAction, AuditEntry, Commit, StoredEmployee, StoredTask, Subject, TaskChange};
use chrono::Utc;

fn closed(task: &Task) -> ServiceError {
    ServiceError::not_allowed(
        "task-closed",
        "Task is closed",
        format!("this task is {}; a closed task is read-only", task.status.as_str()),
    )
}

impl Service {
    pub async fn task(&self, tenant: &TenantId, id: &str) -> Result<StoredTask, ServiceError> {
        let id = TaskId::parse(id).ok_or(ServiceError::NotFound("task"))?;
        self.store.get_task(tenant, &id).await?.ok_or(ServiceError::NotFound("task"))
    }

    /// The employee a task is for, read for a change that writes both.
    async fn task_owner(&self, tenant: &TenantId, task: &StoredTask) -> Result<StoredEmployee, ServiceError> {
        self.store.get_employee(tenant, &task.task.employee_id).await?.ok_or(ServiceError::NotFound("employee"))
    }

    /// Marks one checklist item done, skipped or open again, with an optional note. The person's record carries
    /// the change's event (its outbox), so the task and the employee are written together.
    pub async fn update_item(
        &self,
        acting: &Acting,
        task_id: &str,
        item_id: &str,
        status: ItemStatus,
        note: Option<String>,
    ) -> Result<StoredTask, ServiceError> {
        if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
            return Err(ServiceError::Invalid("a note holds at most 1000 characters".into()));
        }
        let (task, employee) = retry_on_conflict(|| async {
            let mut stored = self.task(&acting.tenant, task_id).await?;
            if !stored.task.is_open() {
                return Err(closed(&stored.task));
            }
            let employee = self.task_owner(&acting.tenant, &stored).await?;
            let item = stored.task.items.iter_mut().find(|i| i.id == item_id).ok_or(ServiceError::NotFound("item"))?;
            let before = serde_json::to_value(&*item).ok();
            item.status = status;
            if note.is_some() {
                item.note.clone_from(&note);
            }
            let after = serde_json::to_value(&*item).ok();
            stored.version += 1;
            let now = Utc::now();
            let subject = Subject::Employee(stored.task.employee_id.clone());
            let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::TaskItemUpdated, subject, now);
            audit.task_ids = vec![stored.task.id.clone()];
            audit.before = before;
            audit.after = after;
            let event = Event::new(
                acting.tenant.clone(),
                now,
                Payload::TaskItemUpdated(ItemUpdated {
                    task_id: stored.task.id.clone(),
                    employee_id: stored.task.employee_id.clone(),
                    item_id: item_id.to_owned(),
                    status,
                    open_items: stored.task.open_items().len() as u32,
                }),
            );
            let next = employee.next_version(now);
            let mut commit = Commit::new(acting.tenant.clone(), audit);
            commit.employee = Some(next);
            commit.tasks = vec![TaskChange::Update(stored.clone())];
            plan::enqueue(&mut commit, Some(&employee), vec![event]);
            self.store.commit(&commit).await?;
            Ok((stored, commit.employee))
        })
        .await?;
        self.publish_quietly(employee.as_ref()).await;
        Ok(task)
    }

    /// Completes an open task whose items are all done or skipped. Completing onboarding with `hub_access` grants
    /// the license; completing offboarding releases it. A task is completed once.
    pub async fn complete_task(
        &self,
        acting: &Acting,
        task_id: &str,
        hub_access: bool,
    ) -> Result<StoredTask, ServiceError> {
        let (task, employee) = retry_on_conflict(|| async {
            let stored = self.task(&acting.tenant, task_id).await?;
            if !stored.task.is_open() {
                return Err(closed(&stored.task));
            }
            let open = stored.task.open_items();
            if !open.is_empty() {
                return Err(ServiceError::not_allowed(
                    "items-open",
                    "Checklist items still open",
                    format!("mark these items done or skipped first: {}", open.join(", ")),
                ));
            }
            if hub_access && stored.task.kind == TaskKind::Offboarding {
                return Err(ServiceError::Invalid("hub_access applies to onboarding tasks only".into()));
            }
            let employee = self.task_owner(&acting.tenant, &stored).await?;
            if employee.hub.cycle != stored.task.cycle {
                return Err(ServiceError::not_allowed(
                    "stale-task",
                    "Task belongs to an earlier employment",
                    "this task is from an earlier employment of this person",
                ));
            }
            let now = Utc::now();
            let decision = lifecycle::on_task_completed(
                &employee.hub,
                &employee.hr,
                stored.task.kind,
                hub_access,
                now.date_naive(),
            );
            let next = employee.next_version(now);
            let commit = plan::plan(
                &self.store,
                Some(&employee),
                next,
                &decision,
                acting.actor.clone(),
                AuditAction::TaskCompleted,
                now,
            )
            .await?;
            self.store.commit(&commit).await?;
            let task = commit.tasks.iter().map(|c| c.task()).find(|t| t.task.id == stored.task.id).cloned();
            Ok((task.ok_or(ServiceError::NotFound("task"))?, commit.employee))
        })
        .await?;
        self.publish_quietly(employee.as_ref()).await;
        Ok(task)
    }
}
