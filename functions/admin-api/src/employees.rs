//! Employees: list and read, initial setup, immediate offboarding, and who holds a license.

use crate::body::{Body, Params};
use crate::tasks::TaskView;
use crate::{AdminApi, ApiError, Caller, limit};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ithub::apply::{self, Plan};
use ithub::domain::lifecycle::{self, LifecycleError};
use ithub::domain::{Decision, Employee, EmployeeId, HR_OWNED_FIELDS, HUB_OWNED_FIELDS, Hub, HubFields};
use ithub::store::{EmployeeFilter, License, StoreError, StoredEmployee};
use serde::{Deserialize, Serialize};

/// Most people one setup request may name.
pub const MAX_SETUP: usize = 100;

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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T, S: Into<T>> From<ithub::store::Page<S>> for Page<T> {
    fn from(page: ithub::store::Page<S>) -> Self {
        Self { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<i32>,
    cursor: Option<String>,
    /// The hub status (`not_set_up`, `onboarding`, `active`, `offboarding`, `offboarded`, `former`).
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
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
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
    let page =
        api.store.list_employees(&caller.tenant, &filter, limit(params.limit)?, params.cursor.as_deref()).await?;
    Ok(Json(Page::from(page)))
}

async fn find(api: &AdminApi, caller: &Caller, id: &str) -> Result<StoredEmployee, ApiError> {
    let id = EmployeeId::parse(id).ok_or(ApiError::NotFound("employee"))?;
    api.store.get_employee(&caller.tenant, &id).await?.ok_or(ApiError::NotFound("employee"))
}

#[utoipa::path(get, path = "/v1/employees/{id}", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), responses(
        (status = 200, description = "The employee", body = EmployeeView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<EmployeeView>, ApiError> {
    Ok(Json(find(&api, &caller, &id).await?.into()))
}

/// Admin decisions lose to a concurrent writer at most this many times before the request answers 409.
const ATTEMPTS: usize = 3;

/// Reads the employee, decides, and commits the decision conditional on the version read; publishes its events.
pub(crate) async fn act(
    api: &AdminApi,
    caller: &Caller,
    id: &str,
    action: &str,
    decide: impl Fn(&StoredEmployee, DateTime<Utc>) -> Result<Decision, LifecycleError>,
) -> Result<Plan, ApiError> {
    for _ in 0..ATTEMPTS {
        let current = find(api, caller, id).await?;
        let now = Utc::now();
        let decision = decide(&current, now)
            .map_err(|LifecycleError::NotAllowed(why)| ApiError::conflict("not-allowed", "Not allowed now", why))?;
        let mut next = current.clone();
        next.version += 1;
        next.updated_at = now;
        let plan = apply::plan(&api.store, Some(&current), next, &decision, caller.actor(), action, now).await?;
        match api.store.commit(&plan.commit).await {
            Ok(()) => {
                api.publish(plan.commit.employee.as_ref()).await;
                return Ok(plan);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    employee_ids: Vec<String>,
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
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn setup(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<SetupRequest>,
) -> Result<Json<SetupResult>, ApiError> {
    if request.employee_ids.is_empty() || request.employee_ids.len() > MAX_SETUP {
        return Err(ApiError::BadRequest(format!("name between 1 and {MAX_SETUP} employee ids")));
    }
    if let Some(bad) = request.employee_ids.iter().find(|id| EmployeeId::parse(id).is_none()) {
        return Err(ApiError::BadRequest(format!("{bad:?} is not an employee id (emp_…)")));
    }
    let mut ids = request.employee_ids;
    ids.sort_unstable();
    ids.dedup();
    let mut result = SetupResult { set_up: Vec::new(), refused: Vec::new() };
    for id in ids {
        match act(&api, &caller, &id, "employee.setup", |e, _| lifecycle::on_setup(&e.hub, &e.hr)).await {
            Ok(plan) => result.set_up.extend(plan.commit.employee.map(EmployeeView::from)),
            Err(error @ (ApiError::NotFound(_) | ApiError::Conflict { .. })) => {
                let status = if matches!(error, ApiError::NotFound(_)) { 404 } else { 409 };
                result.refused.push(Refusal { employee_id: id, status, reason: error.to_string() })
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Json(result))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardRequest {
    reason: String,
}

/// Immediate offboarding: opens the offboarding task now, before HR has caught up. HR's termination, when it
/// arrives, is recorded on this task instead of opening another.
#[utoipa::path(post, path = "/v1/employees/{id}/offboard", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), request_body = OffboardRequest, responses(
        (status = 201, description = "The offboarding task, opened now", body = TaskView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the object's current state", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn offboard(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(request): Body<OffboardRequest>,
) -> Result<Response, ApiError> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::BadRequest("give a reason of 1 to 500 characters".into()));
    }
    let by = caller.actor().label();
    let plan = act(&api, &caller, &id, "employee.offboard", |e, now| {
        lifecycle::on_manual_offboard(&e.hub, &by, reason, now.date_naive(), now)
    })
    .await?;
    let task = plan
        .tasks()
        .find(|t| t.task.kind == ithub::domain::TaskKind::Offboarding)
        .cloned()
        .ok_or_else(|| ApiError::conflict("not-allowed", "Not allowed now", "no offboarding task was opened"))?;
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
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn licenses(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<crate::PageParams>,
) -> Result<Json<Licenses>, ApiError> {
    let (count, page) = api.store.page_licenses(&caller.tenant, limit(params.limit)?, params.cursor.as_deref()).await?;
    Ok(Json(Licenses { count, items: page.items, next_cursor: page.next_cursor }))
}

/// Changes the fields IT owns (`it_notes`, `label`; `null` clears one). A field HR owns is refused with 409 and
/// nothing in the request is applied: HR is the source of truth for it.
#[utoipa::path(patch, path = "/v1/employees/{id}", tag = "employees", params(("id" = EmployeeId, Path, description = "Employee id")), request_body(content = HubFields, description = "Only `it_notes` and `label`; a field HR owns is refused with 409"), responses(
        (status = 200, description = "The employee", body = EmployeeView),
        (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the object's current state", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
    ))]
pub async fn update(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(changes): Body<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<EmployeeView>, ApiError> {
    let hr_owned: Vec<&str> =
        changes.keys().map(String::as_str).filter(|k| *k == "hr" || HR_OWNED_FIELDS.contains(k)).collect();
    if !hr_owned.is_empty() {
        let current = find(&api, &caller, &id).await?;
        let connection = api.store.get_connection(&caller.tenant, &current.connection_id).await?;
        let system = connection
            .map_or("the HR system".to_owned(), |c| format!("{} (connection {})", c.provider.kind.as_str(), c.id));
        return Err(ApiError::conflict(
            "hr-owned-field",
            "Field owned by the HR system",
            format!(
                "{} owned by {system}: change it there and IT Hub follows on the next sync. Writable here: {}",
                if hr_owned.len() == 1 {
                    format!("{} is", hr_owned[0])
                } else {
                    format!("{} are", hr_owned.join(", "))
                },
                HUB_OWNED_FIELDS.join(", ")
            ),
        ));
    }
    let unknown: Vec<&str> = changes.keys().map(String::as_str).filter(|k| !HUB_OWNED_FIELDS.contains(k)).collect();
    if !unknown.is_empty() || changes.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "unknown fields: {}; writable fields are {}",
            if unknown.is_empty() { "none given".to_owned() } else { unknown.join(", ") },
            HUB_OWNED_FIELDS.join(", ")
        )));
    }
    for _ in 0..ATTEMPTS {
        let current = find(&api, &caller, &id).await?;
        let mut fields = serde_json::to_value(&current.fields).unwrap_or_default();
        for (key, value) in &changes {
            fields[key] = value.clone();
        }
        let fields: HubFields = serde_json::from_value(fields).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        fields.validate().map_err(ApiError::BadRequest)?;
        let now = Utc::now();
        let mut next = current.clone();
        next.fields = fields;
        next.version += 1;
        next.updated_at = now;
        let mut audit = ithub::store::AuditEntry::new(caller.actor(), "employee.fields_updated", next.id.clone(), now);
        audit.before = serde_json::to_value(&current.fields).ok();
        audit.after = serde_json::to_value(&next.fields).ok();
        let commit = ithub::store::Commit {
            tenant: caller.tenant.clone(),
            employee: Some(next.clone()),
            tasks: Vec::new(),
            grant: None,
            release: false,
            audit,
        };
        match api.store.commit(&commit).await {
            Ok(()) => return Ok(Json(next.into())),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
