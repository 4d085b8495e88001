//! HR connections: create, list, read, edit, delete, rotate the webhook secret, sync now and the runs. Credentials and
//! webhook secrets live in Secrets Manager and are write-only here: a webhook secret IT Hub makes is shown once,
//! when made; one the HR system issues is pasted and never shown back, or kept from the webhook IT Hub registered.

use crate::body::{Body, Params};
use crate::responses::{ChangeProblems, ListProblems, Page, ReadProblems};
use crate::{AdminApi, ApiError, Caller, PageParams, limit};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ithub::domain::{ConnectionId, RunId, Schedule};
use ithub::providers::{NewConnection, ProviderKind, ProviderSettings};
use ithub::service::{ConnectionCheck, ConnectionEdit, CreatedConnection, SyncOptions, WebhookSecretRotation};
use ithub::store::{Connection, RunMode, RunStatus, SyncRun};
use serde::Serialize;

/// A connection as the API shows it: never its credentials or secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub provider: ProviderKind,
    /// The HR system's name, as people know it.
    pub provider_name: String,
    /// How IT Hub reaches the HR system (the provider's own settings).
    pub settings: ProviderSettings,
    /// Where the provider sends webhooks, signed with the connection's webhook secret.
    pub webhook_url: String,
    /// A SCIM connection's base URL, for the SCIM client (Okta, Entra, an HR system's SCIM export).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_url: Option<String>,
    pub schedule: Schedule,
    /// When the schedule last started a run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When the last complete listing (the first import, or a reconciliation) finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_full_sync_at: Option<DateTime<Utc>>,
    /// Active people stored for this connection, as the last run counted them.
    pub active_people: u64,
    /// The run in progress, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_run_id: Option<String>,
    /// Runs the mass-change safeguard holds for an admin's approval.
    pub held_run_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What creating a connection (or rotating its secret) answers: the only time the webhook secret is shown. No
/// `Debug`: it holds the secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectionCreated {
    #[serde(flatten)]
    pub connection: ConnectionView,
    /// Give this to the HR system to sign its webhooks with. It is not shown again. Absent for an HR system that
    /// issues the webhook secret itself: paste the one it shows instead, with the credentials or by rotating (or,
    /// where IT Hub registers its webhook, nothing to do: the check keeps the key the HR system issues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// A SCIM connection's bearer token, for the SCIM client's `Authorization: Bearer` header. It is not shown
    /// again; rotating the connection's secret issues a new one and the old one stops working at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_token: Option<String>,
    /// On creating: the connection check's report (as `POST /v1/connections/{id}/check` answers it), which also
    /// registers IT Hub's webhook where the HR system lets IT Hub do that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<ConnectionCheck>,
}

pub(crate) fn public_url(api: &AdminApi, headers: &HeaderMap) -> String {
    if let Some(url) = &api.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("https://{host}")
}

fn view(api: &AdminApi, headers: &HeaderMap, c: Connection) -> ConnectionView {
    let kind = c.provider.kind();
    ConnectionView {
        webhook_url: webhook_url(api, headers, c.id.as_str()),
        scim_url: kind.capabilities().push.then(|| format!("{}/scim/v2", public_url(api, headers))),
        id: c.id.to_string(),
        provider: kind,
        provider_name: kind.display_name().to_owned(),
        settings: c.provider.untagged(),
        schedule: Schedule {
            poll_interval_minutes: c.poll_interval_secs.map(|s| (s / 60) as u32),
            full_sync_interval_hours: c.full_interval_secs.map(|s| (s / 3600) as u32),
            safeguard_percent: c.safeguard_percent,
            safeguard_minimum: c.safeguard_minimum,
        },
        last_polled_at: c.last_polled_at,
        last_full_sync_at: c.last_full_at,
        active_people: c.active_people,
        running_run_id: c.running.clone().filter(|_| c.busy(Utc::now())),
        held_run_ids: c.held_runs.clone(),
        created_at: c.created_at,
    }
}

fn created(api: &AdminApi, headers: &HeaderMap, made: CreatedConnection) -> ConnectionCreated {
    ConnectionCreated {
        connection: view(api, headers, made.connection),
        webhook_secret: made.webhook_secret,
        scim_token: made.scim_token,
        check: None,
    }
}

/// Where the connection's HR system delivers its webhooks.
pub(crate) fn webhook_url(api: &AdminApi, headers: &HeaderMap, id: &str) -> String {
    format!("{}/webhooks/{id}", public_url(api, headers))
}

/// The connection check of connection `id`, reaching its HR system under this deployment's egress rule (the API's
/// check route, and on creating, in the API and the console). The service reads the connection (404 if not the
/// tenant's).
pub(crate) async fn run_check(
    api: &AdminApi,
    headers: &HeaderMap,
    acting: &ithub::service::Acting,
    id: &str,
) -> Result<ConnectionCheck, ithub::service::ServiceError> {
    let http = ithub::providers::Http::new(api.egress);
    api.service.check_connection(&api.secrets, &http, acting, id, &webhook_url(api, headers, id)).await
}

/// A rotation of connection `id`'s webhook secret (the API's route and the console's form).
pub(crate) async fn run_rotation(
    api: &AdminApi,
    headers: &HeaderMap,
    acting: &ithub::service::Acting,
    id: &str,
    rotation: WebhookSecretRotation,
) -> Result<CreatedConnection, ithub::service::ServiceError> {
    let http = ithub::providers::Http::new(api.egress);
    api.service.rotate_webhook_secret(&api.secrets, &http, acting, id, rotation, &webhook_url(api, headers, id)).await
}

#[utoipa::path(post, path = "/v1/connections", tag = "connections", request_body = NewConnection, responses(
    (status = 201, description = "The connection, with its webhook secret shown this once", body = ConnectionCreated),
    ChangeProblems
))]
pub async fn create(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(new): Body<NewConnection>,
) -> Result<Response, ApiError> {
    let acting = caller.acting();
    let made = api.service.create_connection(&api.secrets, api.egress, &acting, new).await?;
    let location = format!("/v1/connections/{}", made.connection.id);
    let id = made.connection.id.clone();
    let mut answer = created(&api, &headers, made);
    // The connection is made whatever the check finds: its report says what to put right.
    answer.check = Some(run_check(&api, &headers, &acting, id.as_str()).await?);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(answer)).into_response())
}

/// Checks the connection: every call a sync and the webhooks will make (signing in, the fields the key may
/// read, the first page, one person by id, the webhook), a report per step with a clear reason when one fails,
/// never a value. Where the HR system lets IT Hub register its webhook and none is registered or
/// pasted yet, the check registers it.
#[utoipa::path(post, path = "/v1/connections/{id}/check", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 200, description = "The report, step by step (`ok` when none failed)", body = ConnectionCheck),
    ChangeProblems
))]
pub async fn check(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ConnectionCheck>, ApiError> {
    Ok(Json(run_check(&api, &headers, &caller.acting(), &id).await?))
}

#[utoipa::path(get, path = "/v1/connections", tag = "connections", params(PageParams), responses(
    (status = 200, description = "A page of the tenant's HR connections", body = Page<ConnectionView>),
    ListProblems
))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Params(params): Params<PageParams>,
) -> Result<Json<Page<ConnectionView>>, ApiError> {
    let limit = limit(params.limit)?;
    let page = api.service.store.page_connections(&caller.tenant, limit, params.cursor.as_deref()).await?;
    let items = page.items.into_iter().map(|c| view(&api, &headers, c)).collect();
    Ok(Json(Page { items, next_cursor: page.next_cursor }))
}

#[utoipa::path(get, path = "/v1/connections/{id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 200, description = "The connection", body = ConnectionView),
    ReadProblems
))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let connection = api.service.connection(&caller.acting(), &id).await?;
    Ok(Json(view(&api, &headers, connection)))
}

/// Stops syncing from this HR system; its employees, tasks and history stay.
#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 204, description = "Deleted: no more polls, the webhook URL stops answering"),
    ReadProblems
))]
pub async fn delete(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let http = ithub::providers::Http::new(api.egress);
    api.service.delete_connection(&api.secrets, &http, &caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a new webhook secret, shown this once; for an HR system that issues the secret itself, keeps the
/// one pasted in `webhook_secret` instead, never shown back. The previous one keeps working until the next
/// rotation, so the HR system can be switched over without losing deliveries.
#[utoipa::path(post, path = "/v1/connections/{id}/rotate-webhook-secret", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), request_body(content = Option<WebhookSecretRotation>, description = "Optional (absent, `null` or `{}` makes a new secret); the HR system's own secret where it issues one"), responses(
    (status = 200, description = "The connection, with the new webhook secret if IT Hub made it (shown this once)", body = ConnectionCreated),
    ChangeProblems
))]
pub async fn rotate(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Body<WebhookSecretRotation>>,
) -> Result<Json<ConnectionCreated>, ApiError> {
    let rotation = body.map(|Body(r)| r).unwrap_or_default();
    let made = run_rotation(&api, &headers, &caller.acting(), &id, rotation).await?;
    Ok(Json(created(&api, &headers, made)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncQueued {
    run_id: String,
    status: RunStatus,
    mode: RunMode,
    dry_run: bool,
    /// `false` when a run of the connection was already in progress: that run is the answer.
    started: bool,
    /// Where to follow the run.
    run_url: String,
}

/// Syncs the connection now: an incremental run by default, `{"full": true}` for a full reconciliation (which
/// finds who the HR system no longer lists), `{"dry_run": true}` for a preview that records what the run would do
/// and applies nothing. While a run is in progress (a preview included), that run is the answer.
#[utoipa::path(post, path = "/v1/connections/{id}/sync", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), request_body(content = Option<SyncOptions>, description = "Optional (absent or `null` is an incremental run)"), responses(
    (status = 202, description = "Queued (or already running); follow it at `run_url`", body = SyncQueued),
    ChangeProblems
))]
pub async fn sync(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Option<Body<SyncOptions>>,
) -> Result<Response, ApiError> {
    let options = body.map(|Body(o)| o).unwrap_or_default();
    let (connection, run, started) = api.service.request_sync(&api.runs, &caller.acting(), &id, options).await?;
    let body = SyncQueued {
        run_url: format!("/v1/connections/{}/runs/{}", connection.id, run.run_id),
        run_id: run.run_id,
        status: run.status,
        mode: run.mode,
        dry_run: run.dry_run,
        started,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The connection's sync runs, newest first: what each read, what it found by kind (imported, hired, updated,
/// terminated, removed, unchanged, failed), what it queued and the worker applied, records it could not read,
/// and any error. Held runs wait for an admin's approval.
#[utoipa::path(get, path = "/v1/connections/{id}/runs", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), PageParams), responses(
    (status = 200, description = "A page of runs", body = Page<SyncRun>),
    ReadProblems
))]
pub async fn runs(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Params(params): Params<PageParams>,
) -> Result<Json<Page<SyncRun>>, ApiError> {
    let connection = api.service.connection(&caller.acting(), &id).await?;
    let limit = limit(params.limit)?;
    let page = api.service.store.list_runs(&caller.tenant, &connection.id, limit, params.cursor.as_deref()).await?;
    Ok(Json(Page::from(page)))
}

/// One sync run.
#[utoipa::path(get, path = "/v1/connections/{id}/runs/{run_id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), ("run_id" = RunId, Path, description = "Run id")), responses(
    (status = 200, description = "The run", body = SyncRun),
    ReadProblems
))]
pub async fn run(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Json<SyncRun>, ApiError> {
    let connection = api.service.connection(&caller.acting(), &id).await?;
    let not_found = || ithub::service::ServiceError::NotFound("run");
    let run_id = RunId::parse(&run_id).ok_or_else(not_found)?;
    let run = api.service.store.get_run(&caller.tenant, &connection.id, run_id.as_str()).await?;
    Ok(Json(run.ok_or_else(not_found)?))
}

/// Lets a held run apply the terminations and removals it found (audited).
#[utoipa::path(post, path = "/v1/connections/{id}/runs/{run_id}/approve", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), ("run_id" = RunId, Path, description = "Run id")), responses(
    (status = 200, description = "The run, applying them", body = SyncRun),
    ChangeProblems
))]
pub async fn approve(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Json<SyncRun>, ApiError> {
    Ok(Json(api.service.decide_held_run(&api.runs, &caller.acting(), &id, &run_id, true).await?))
}

/// Discards the terminations and removals a held run found (audited); its hires and updates stay applied.
#[utoipa::path(post, path = "/v1/connections/{id}/runs/{run_id}/reject", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), ("run_id" = RunId, Path, description = "Run id")), responses(
    (status = 200, description = "The run, finished without them", body = SyncRun),
    ChangeProblems
))]
pub async fn reject(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Json<SyncRun>, ApiError> {
    Ok(Json(api.service.decide_held_run(&api.runs, &caller.acting(), &id, &run_id, false).await?))
}

/// Stops a queued or running run at its next checkpoint (audited): what it applied stays, and the next run reads
/// again what it did not finish. A held run is rejected instead (409 `run-held`); a finished one cannot be
/// cancelled (409 `run-finished`).
#[utoipa::path(post, path = "/v1/connections/{id}/runs/{run_id}/cancel", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), ("run_id" = RunId, Path, description = "Run id")), responses(
    (status = 200, description = "The run, cancelled", body = SyncRun),
    ChangeProblems
))]
pub async fn cancel(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Json<SyncRun>, ApiError> {
    Ok(Json(api.service.cancel_run(&caller.acting(), &id, &run_id).await?))
}

/// Edits the connection: new credentials (a rotated API key), settings or schedule, each part given replacing that
/// part whole and checked as a new connection's are; each part left out stays. Its HR system cannot change, and a
/// webhook secret the HR system issues is changed by rotating it. Its id, employees, tasks and runs stay. Audited,
/// without the credentials.
#[utoipa::path(patch, path = "/v1/connections/{id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), request_body = ConnectionEdit, responses(
    (status = 200, description = "The connection, edited", body = ConnectionView),
    ChangeProblems
))]
pub async fn edit(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(edit): Body<ConnectionEdit>,
) -> Result<Json<ConnectionView>, ApiError> {
    let connection = api.service.edit_connection(&api.secrets, api.egress, &caller.acting(), &id, edit).await?;
    Ok(Json(view(&api, &headers, connection)))
}
