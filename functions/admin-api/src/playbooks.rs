//! The tenant's playbook: which checklist items tasks get, by department and role.

use crate::body::Body;
use crate::{AdminApi, ApiError, Caller};
use axum::Json;
use axum::extract::{Extension, State};
use ithub::domain::Playbook;

#[utoipa::path(get, path = "/v1/playbooks", tag = "playbooks", responses(
        (status = 200, description = "The tenant's playbook", body = Playbook),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Playbook>, ApiError> {
    Ok(Json(api.store.playbook(&caller.tenant).await?))
}

/// Replaces the playbook. Tasks already open keep their checklists; new tasks use this one.
#[utoipa::path(put, path = "/v1/playbooks", tag = "playbooks", request_body = Playbook, responses(
        (status = 200, description = "The playbook now in force", body = Playbook),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn put(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Body(playbook): Body<Playbook>,
) -> Result<Json<Playbook>, ApiError> {
    playbook.validate().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    api.store.put_playbook(&caller.tenant, &playbook).await?;
    Ok(Json(playbook))
}
