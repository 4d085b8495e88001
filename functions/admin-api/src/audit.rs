//! The audit trail: every change, who or which sync made it, when, and the state before and after.

use crate::body::Params;
use crate::responses::{ListProblems, Page};
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
    /// Only what happened to this employee.
    #[param(value_type = Option<EmployeeId>)]
    employee_id: Option<String>,
    /// 1 to 100; 50 when absent.
    #[serde(default, deserialize_with = "ithub::validation::whole_query_number")]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Newest first; `employee_id` narrows it to one person.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(ListParams), responses(
        (status = 200, description = "A page of the audit trail, newest first", body = Page<AuditEntry>),
        ListProblems
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
    let page = api
        .service
        .store
        .list_audit(&caller.tenant, employee.as_ref(), limit(params.limit)?, params.cursor.as_deref())
        .await?;
    Ok(Json(Page::from(page)))
}
