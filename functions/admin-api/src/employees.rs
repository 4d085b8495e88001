//! `GET /v1/employees` and `GET /v1/employees/{id}`.

use crate::{AdminApi, ApiError, Tenant};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use chrono::{DateTime, Utc};
use ithub::domain::{Employee, EmployeeId};
use ithub::store::StoredEmployee;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

/// An employee as the API shows them. Everything under `hr` is owned by the HR system: change it there, and IT
/// Hub follows on the next sync.
#[derive(Debug, Serialize)]
pub struct EmployeeView {
    pub id: String,
    pub connection_id: String,
    /// Synced from the HR system; read-only here.
    pub hr: Employee,
    pub hr_managed: bool,
    pub version: u64,
    pub synced_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredEmployee> for EmployeeView {
    fn from(e: StoredEmployee) -> Self {
        Self {
            id: e.id.to_string(),
            connection_id: e.connection_id.to_string(),
            hr: e.hr,
            hr_managed: true,
            version: e.version,
            synced_at: e.observed_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EmployeePage {
    pub items: Vec<EmployeeView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<i32>,
    cursor: Option<String>,
}

pub async fn list(
    State(api): State<AdminApi>,
    Extension(Tenant(tenant)): Extension<Tenant>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<EmployeePage>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let page = api
        .store
        .list_employees(&tenant, limit, params.cursor.as_deref())
        .await?;
    Ok(Json(EmployeePage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get(
    State(api): State<AdminApi>,
    Extension(Tenant(tenant)): Extension<Tenant>,
    Path(id): Path<String>,
) -> Result<Json<EmployeeView>, ApiError> {
    let id = EmployeeId::parse(&id).ok_or(ApiError::NotFound("employee"))?;
    let employee = api
        .store
        .get_employee(&tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("employee"))?;
    Ok(Json(employee.into()))
}
