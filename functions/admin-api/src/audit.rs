//! The audit trail: every change, who or which sync made it, when, and the state before and after.

use crate::body::Params;
use crate::employees::Page;
use crate::{AdminApi, ApiError, Caller, limit};
use axum::Json;
use axum::extract::{Extension, State};
use ithub::domain::EmployeeId;
use ithub::store::AuditEntry;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    employee_id: Option<String>,
    limit: Option<i32>,
    cursor: Option<String>,
}

/// Newest first; `employee_id` narrows it to one person.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(ListParams), responses(
        (status = 200, description = "A page of the audit trail, newest first", body = Page<AuditEntry>),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let employee = match params.employee_id.as_deref() {
        Some(raw) => Some(EmployeeId::parse(raw).ok_or_else(|| ApiError::BadRequest("not an employee id".into()))?),
        None => None,
    };
    let page =
        api.store.list_audit(&caller.tenant, employee.as_ref(), limit(params.limit)?, params.cursor.as_deref()).await?;
    Ok(Json(Page::from(page)))
}
