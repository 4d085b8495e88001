//! Tasks: the onboarding and offboarding checklists an admin works through.

use crate::body::{Body, Params};
use crate::responses::{ChangeProblems, ListProblems, Page, ReadProblems};
use crate::{AdminApi, ApiError, Caller, limit};
use axum::Json;
use axum::extract::{Extension, Path, State};
use ithub::domain::{ItemStatus, Task, TaskId, TaskKind, TaskStatus};
use ithub::store::StoredTask;
use serde::{Deserialize, Serialize};

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
    /// `open` when absent.
    status: Option<TaskStatus>,
    /// 1 to 100; 50 when absent.
    #[serde(default, deserialize_with = "ithub::validation::whole_query_number")]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Tasks of one status (default `open`), soonest due first, optionally of one kind.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListParams), responses(
    (status = 200, description = "A page of tasks, soonest due first", body = Page<TaskView>),
    ListProblems
))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<TaskView>>, ApiError> {
    let status = params.status.unwrap_or(TaskStatus::Open);
    let limit = limit(params.limit)?;
    let page =
        api.service.store.list_tasks(&caller.tenant, status, params.kind, limit, params.cursor.as_deref()).await?;
    Ok(Json(Page::from(page)))
}

#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", params(("id" = TaskId, Path, description = "Task id")), responses(
    (status = 200, description = "The task", body = TaskView),
    ReadProblems
))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(api.service.task(&caller.tenant, &id).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemUpdate {
    status: ItemStatus,
    /// At most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// Marks one checklist item done, skipped or open again, with an optional note.
#[utoipa::path(patch, path = "/v1/tasks/{id}/items/{item}", tag = "tasks", params(("id" = TaskId, Path, description = "Task id"), ("item" = String, Path, description = "Checklist item id")), request_body = ItemUpdate, responses(
    (status = 200, description = "The task", body = TaskView),
    ChangeProblems
))]
pub async fn update_item(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, item_id)): Path<(String, String)>,
    Body(update): Body<ItemUpdate>,
) -> Result<Json<TaskView>, ApiError> {
    let task = api.service.update_item(&caller.acting(), &id, &item_id, update.status, update.note).await?;
    Ok(Json(task.into()))
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
#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "tasks", params(("id" = TaskId, Path, description = "Task id")), request_body(content = Option<Completion>, description = "Optional (absent or `null` is `{}`); `hub_access` for onboarding"), responses(
    (status = 200, description = "The completed task", body = TaskView),
    ChangeProblems
))]
pub async fn complete(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Option<Body<Completion>>,
) -> Result<Json<TaskView>, ApiError> {
    let completion = body.map(|Body(c)| c).unwrap_or_default();
    Ok(Json(api.service.complete_task(&caller.acting(), &id, completion.hub_access).await?.into()))
}
