//! The tenant's playbook: which checklist items tasks get, by department and role.

use crate::body::Body;
use crate::{AdminApi, ApiError, Caller};
use axum::Json;
use axum::extract::{Extension, State};
use ithub::domain::Playbook;

pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Playbook>, ApiError> {
    Ok(Json(api.store.playbook(&caller.tenant).await?))
}

/// Replaces the playbook. Tasks already open keep their checklists; new tasks use this one.
pub async fn put(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Body(playbook): Body<Playbook>,
) -> Result<Json<Playbook>, ApiError> {
    playbook.validate().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    api.store.put_playbook(&caller.tenant, &playbook).await?;
    Ok(Json(playbook))
}
