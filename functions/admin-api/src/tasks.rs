//! Tasks: the onboarding and offboarding checklists an admin works through.

use crate::body::{Body, Params};
use crate::employees::Page;
use crate::{AdminApi, ApiError, Caller, limit};
use axum::Json;
use axum::extract::{Extension, Path, State};
use chrono::Utc;
use ithub::apply;
use ithub::domain::lifecycle;
use ithub::domain::{ItemStatus, Task, TaskId, TaskKind, TaskStatus};
use ithub::store::{AuditEntry, Commit, StoreError, StoredTask, TaskChange};
use serde::{Deserialize, Serialize};

const ATTEMPTS: usize = 3;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    /// Items neither done nor skipped: the task can be completed when this is empty.
    pub open_items: Vec<String>,
    pub version: u64,
}

impl From<StoredTask> for TaskView {
    fn from(stored: StoredTask) -> Self {
        let open_items = stored.task.open_items().into_iter().map(str::to_owned).collect();
        Self { task: stored.task, open_items, version: stored.version }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    kind: Option<TaskKind>,
    status: Option<TaskStatus>,
    limit: Option<i32>,
    cursor: Option<String>,
}

/// Tasks of one status (default `open`), soonest due first, optionally of one kind.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListParams), responses(
        (status = 200, description = "A page of tasks, soonest due first", body = Page<TaskView>),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<TaskView>>, ApiError> {
    let status = params.status.unwrap_or(TaskStatus::Open);
    let page = api
        .store
        .list_tasks(&caller.tenant, status, params.kind, limit(params.limit)?, params.cursor.as_deref())
        .await?;
    Ok(Json(Page::from(page)))
}

async fn find(api: &AdminApi, caller: &Caller, id: &str) -> Result<StoredTask, ApiError> {
    let id = TaskId::parse(id).ok_or(ApiError::NotFound("task"))?;
    api.store.get_task(&caller.tenant, &id).await?.ok_or(ApiError::NotFound("task"))
}

#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", params(("id" = TaskId, Path, description = "Task id")), responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(find(&api, &caller, &id).await?.into()))
}

fn closed(task: &Task) -> ApiError {
    ApiError::conflict(
        "task-closed",
        "Task is closed",
        format!("this task is {}; a closed task is read-only", task.status.as_str()),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemUpdate {
    status: ItemStatus,
    #[serde(default)]
    note: Option<String>,
}

/// Marks one checklist item done, skipped or open again, with an optional note.
#[utoipa::path(patch, path = "/v1/tasks/{id}/items/{item}", tag = "tasks", params(("id" = TaskId, Path, description = "Task id"), ("item" = String, Path, description = "Checklist item id")), request_body = ItemUpdate, responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the object's current state", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn update_item(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, item_id)): Path<(String, String)>,
    Body(update): Body<ItemUpdate>,
) -> Result<Json<TaskView>, ApiError> {
    if update.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::BadRequest("a note holds at most 1000 characters".into()));
    }
    for _ in 0..ATTEMPTS {
        let mut stored = find(&api, &caller, &id).await?;
        if !stored.task.is_open() {
            return Err(closed(&stored.task));
        }
        let item = stored.task.items.iter_mut().find(|i| i.id == item_id).ok_or(ApiError::NotFound("item"))?;
        let before = serde_json::to_value(&*item).ok();
        item.status = update.status;
        if update.note.is_some() {
            item.note.clone_from(&update.note);
        }
        let after = serde_json::to_value(&*item).ok();
        stored.version += 1;
        let mut audit =
            AuditEntry::new(caller.actor(), "task.item_updated", stored.task.employee_id.clone(), Utc::now());
        audit.task_ids = vec![stored.task.id.clone()];
        audit.before = before;
        audit.after = after;
        let commit = Commit {
            tenant: caller.tenant.clone(),
            employee: None,
            tasks: vec![TaskChange::Update(stored.clone())],
            grant: None,
            release: false,
            audit,
        };
        match api.store.commit(&commit).await {
            Ok(()) => return Ok(Json(stored.into())),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// Onboarding only: the person gets access to IT Hub, and with it a license.
    #[serde(default)]
    hub_access: bool,
}

/// Completes an open task whose items are all done or skipped. Completing onboarding with `hub_access` grants
/// the license; completing offboarding releases it. A task is completed once.
#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "tasks", params(("id" = TaskId, Path, description = "Task id")), request_body(content = Option<Completion>, description = "Optional; `hub_access` for onboarding"), responses(
        (status = 200, description = "The completed task", body = TaskView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the object's current state", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn complete(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Option<Body<Completion>>,
) -> Result<Json<TaskView>, ApiError> {
    let completion = body.map(|Body(c)| c).unwrap_or_default();
    for _ in 0..ATTEMPTS {
        let mut stored = find(&api, &caller, &id).await?;
        if !stored.task.is_open() {
            return Err(closed(&stored.task));
        }
        let open = stored.task.open_items();
        if !open.is_empty() {
            return Err(ApiError::conflict(
                "items-open",
                "Checklist items still open",
                format!("mark these items done or skipped first: {}", open.join(", ")),
            ));
        }
        if completion.hub_access && stored.task.kind == TaskKind::Offboarding {
            return Err(ApiError::BadRequest("hub_access applies to onboarding tasks only".into()));
        }
        let employee = api
            .store
            .get_employee(&caller.tenant, &stored.task.employee_id)
            .await?
            .ok_or(ApiError::NotFound("employee"))?;
        if employee.hub.cycle != stored.task.cycle {
            return Err(ApiError::conflict(
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
            completion.hub_access,
            now.date_naive(),
        );
        let mut next = employee.clone();
        next.version += 1;
        next.updated_at = now;
        let mut plan =
            apply::plan(&api.store, Some(&employee), next, &decision, caller.actor(), "task.completed", now).await?;
        stored.task.status = TaskStatus::Completed;
        stored.task.closed_at = Some(now);
        stored.task.closed_by = Some(caller.actor());
        if stored.task.kind == TaskKind::Onboarding {
            stored.task.hub_access = Some(completion.hub_access);
        }
        stored.version += 1;
        plan.commit.tasks.push(TaskChange::Update(stored.clone()));
        plan.commit.audit.task_ids.push(stored.task.id.clone());
        // This change's events (the last in the outbox) name the task completed.
        if let Some(employee) = plan.commit.employee.as_mut() {
            let ours = employee.outbox.len().saturating_sub(plan.events.len());
            for event in &mut employee.outbox[ours..] {
                event.detail["task_ids"] = serde_json::json!([stored.task.id]);
            }
        }
        match api.store.commit(&plan.commit).await {
            Ok(()) => {
                api.publish(plan.commit.employee.as_ref()).await;
                return Ok(Json(stored.into()));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
