//! The tenant's playbook: which checklist items tasks get, by department and role.

use crate::body::Body;
use crate::responses::{ChangeProblems, ListProblems};
use crate::{AdminApi, ApiError, Caller};
use axum::Json;
use axum::extract::{Extension, State};
use ithub::domain::Playbook;

#[utoipa::path(get, path = "/v1/playbooks", tag = "playbooks", responses(
    (status = 200, description = "The tenant's playbook", body = Playbook),
    ListProblems
))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Playbook>, ApiError> {
    Ok(Json(api.service.store.playbook(&caller.tenant).await?))
}

/// Replaces the playbook. Tasks already open keep their checklists; new tasks use this one.
#[utoipa::path(put, path = "/v1/playbooks", tag = "playbooks", request_body = Playbook, responses(
    (status = 200, description = "The playbook now in force", body = Playbook),
    ChangeProblems
))]
pub async fn put(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Body(playbook): Body<Playbook>,
) -> Result<Json<Playbook>, ApiError> {
    Ok(Json(api.service.replace_playbook(&caller.acting(), playbook).await?))
}
