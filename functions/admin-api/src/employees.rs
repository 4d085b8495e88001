//! Employees: list and read, initial setup, immediate offboarding, IT's own fields, and who holds a license.

use crate::body::{Body, Params};
use crate::responses::{ChangeProblems, ListProblems, Page, ReadProblems};
use crate::tasks::TaskView;
use crate::{AdminApi, ApiError, Caller, limit};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ithub::domain::{Employee, EmployeeId, Hub, HubFields};
use ithub::store::{EmployeeFilter, License, StoredEmployee};
use serde::{Deserialize, Serialize};

/// An employee as the API shows them. Everything under `hr` is owned by the HR system: change it there, and IT
/// Hub follows on the next sync. `hub` is what IT Hub itself tracks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmployeeView {
    pub id: String,
    pub connection_id: String,
    /// Synced from the HR system; read-only here.
    pub hr: Employee,
    pub hr_managed: bool,
    pub hub: Hub,
    /// Written by IT through `PATCH /v1/employees/{id}`.
    pub fields: HubFields,
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
            hub: e.hub,
            fields: e.fields,
            version: e.version,
            synced_at: e.observed_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// 1 to 100; 50 when absent.
    #[serde(default, deserialize_with = "ithub::validation::whole_query_number")]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// The hub status.
    status: Option<ithub::domain::HubStatus>,
    /// The HR department, exactly.
    department: Option<String>,
    /// Holds a license, or not.
    license: Option<bool>,
    /// Set up (any status but `not_set_up`), or not.
    set_up: Option<bool>,
    /// Text contained in a name or an email, ignoring case.
    q: Option<String>,
}

#[utoipa::path(get, path = "/v1/employees", tag = "employees", params(ListParams), responses(
    (status = 200, description = "A page of employees", body = Page<EmployeeView>),
    ListProblems
))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<EmployeeView>>, ApiError> {
    let filter = EmployeeFilter {
        hub_status: params.status,
        department: params.department,
        license: params.license,
        set_up: params.set_up,
        text: params.q,
    };
    let limit = limit(params.limit)?;
    let page = api.service.store.list_employees(&caller.tenant, &filter, limit, params.cursor.as_deref()).await?;
    Ok(Json(Page::from(page)))
}

#[utoipa::path(get, path = "/v1/employees/{id}", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), responses(
    (status = 200, description = "The employee", body = EmployeeView),
    ReadProblems
))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<EmployeeView>, ApiError> {
    Ok(Json(api.service.employee(&caller.tenant, &id).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// 1 to 100 employee ids.
    #[schema(min_items = 1, max_items = 100)]
    employee_ids: Vec<EmployeeId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Refusal {
    employee_id: String,
    status: u16,
    reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SetupResult {
    set_up: Vec<EmployeeView>,
    refused: Vec<Refusal>,
}

/// Initial setup: each named employee who is active and not set up yet gets a license. Each is handled on its
/// own; the answer lists who was set up and why the others were not.
#[utoipa::path(post, path = "/v1/employees/setup", tag = "employees", request_body = SetupRequest, responses(
    (status = 200, description = "Who was set up, and why the others were not", body = SetupResult),
    ChangeProblems
))]
pub async fn setup(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<SetupRequest>,
) -> Result<Json<SetupResult>, ApiError> {
    let ids: Vec<String> = request.employee_ids.into_iter().map(String::from).collect();
    let outcome = api.service.setup(&caller.acting(), &ids).await?;
    Ok(Json(SetupResult {
        set_up: outcome.set_up.into_iter().map(EmployeeView::from).collect(),
        refused: outcome
            .refused
            .into_iter()
            .map(|r| Refusal { employee_id: r.employee_id, status: r.status, reason: r.reason })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardRequest {
    /// Why, in 1 to 500 characters, not all blank.
    #[schema(min_length = 1, max_length = 500, pattern = "[^\\s\\u0085\\u001c-\\u001f\\ufeff]")]
    reason: String,
}

/// Immediate offboarding: opens the offboarding task now, before HR has caught up. HR's termination, when it
/// arrives, is recorded on this task instead of opening another.
#[utoipa::path(post, path = "/v1/employees/{id}/offboard", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), request_body = OffboardRequest, responses(
    (status = 201, description = "The offboarding task, opened now", body = TaskView),
    ChangeProblems
))]
pub async fn offboard(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(request): Body<OffboardRequest>,
) -> Result<Response, ApiError> {
    let task = api.service.offboard(&caller.acting(), &id, &request.reason).await?;
    let location = format!("/v1/tasks/{}", task.task.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(TaskView::from(task))).into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Licenses {
    /// Everyone holding a license: what a bill would count.
    count: u64,
    /// One page of them, in the order they are stored.
    items: Vec<License>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/licenses", tag = "licenses", params(crate::PageParams), responses(
    (status = 200, description = "Who holds a license, and how many", body = Licenses),
    ListProblems
))]
pub async fn licenses(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<crate::PageParams>,
) -> Result<Json<Licenses>, ApiError> {
    let limit = limit(params.limit)?;
    let (count, page) = api.service.store.page_licenses(&caller.tenant, limit, params.cursor.as_deref()).await?;
    Ok(Json(Licenses { count, items: page.items, next_cursor: page.next_cursor }))
}

/// IT's own fields: `it_notes` and `label`, each a string or `null` to clear it. The schema names only these; a
/// field HR owns is answered 409 (`urn:ithub:problem:hr-owned-field`) naming the HR system to change it in.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
#[allow(dead_code)]
pub struct FieldsPatch {
    /// At most 2000 characters; `null` clears it.
    #[schema(max_length = 2000)]
    it_notes: Option<String>,
    /// At most 64 characters; `null` clears it.
    #[schema(max_length = 64)]
    label: Option<String>,
}

/// Changes the fields IT owns. Nothing in a request that names a field HR owns is applied.
#[utoipa::path(patch, path = "/v1/employees/{id}", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), request_body = FieldsPatch, responses(
    (status = 200, description = "The employee", body = EmployeeView),
    ChangeProblems
))]
pub async fn update(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(changes): Body<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<EmployeeView>, ApiError> {
    Ok(Json(api.service.edit_fields(&caller.acting(), &id, &changes).await?.into()))
}
