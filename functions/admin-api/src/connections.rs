//! HR connections: create, list, read, delete, rotate the webhook secret. Credentials and webhook secrets live in
//! Secrets Manager and are write-only here: the webhook secret is shown once, when it is made.

use crate::body::Body;
use crate::{AdminApi, ApiError, Caller};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ithub::domain::ConnectionId;
use ithub::providers::{ProviderKind, ProviderSettings};
use ithub::secrets::ConnectionSecret;
use ithub::store::Connection;
use serde::{Deserialize, Serialize};

/// A connection as the API shows it: never its credential or secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: String,
    /// `bamboohr`.
    pub provider: String,
    /// The company's id or subdomain at the provider.
    pub company: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Where the provider sends webhooks, signed with the connection's webhook secret.
    pub webhook_url: String,
    /// At least this many minutes between scheduled polls; absent, every tick of the schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_interval_minutes: Option<u64>,
    /// Set once the first import has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What creating a connection (or rotating its secret) answers: the only time the webhook secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionCreated {
    #[serde(flatten)]
    pub connection: ConnectionView,
    /// Give this to the HR system to sign its webhooks with. It is not shown again.
    pub webhook_secret: String,
}

fn public_url(api: &AdminApi, headers: &HeaderMap) -> String {
    if let Some(url) = &api.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("https://{host}")
}

fn view(api: &AdminApi, headers: &HeaderMap, c: Connection) -> ConnectionView {
    ConnectionView {
        webhook_url: format!("{}/webhooks/{}", public_url(api, headers), c.id),
        id: c.id.to_string(),
        provider: c.provider.kind.as_str().to_owned(),
        company: c.provider.company,
        base_url: c.provider.base_url,
        last_polled_at: c.last_polled_at,
        poll_interval_minutes: c.poll_interval_secs.map(|s| s / 60),
        created_at: c.created_at,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// `bamboohr`.
    #[schema(value_type = String)]
    provider: ProviderKind,
    /// The company's id or subdomain at the provider (BambooHR: `companyDomain`).
    company: String,
    /// The API key or token. Stored in Secrets Manager; never shown again.
    credential: String,
    /// Overrides the provider's API host (a sandbox); http or https.
    #[serde(default)]
    base_url: Option<String>,
    /// At least this many minutes (1 to 1440) between scheduled polls; without it, every tick of the schedule.
    #[serde(default)]
    poll_interval_minutes: Option<u32>,
}

fn invalid(new: &NewConnection) -> Option<String> {
    let company_ok = (1..=100).contains(&new.company.len())
        && new.company.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !company_ok {
        return Some("company must be 1-100 letters, digits, dashes or underscores".into());
    }
    if new.credential.trim().is_empty() || new.credential.len() > 4096 {
        return Some("credential must be given (at most 4096 characters)".into());
    }
    if new.poll_interval_minutes.is_some_and(|m| !(1..=1440).contains(&m)) {
        return Some("poll_interval_minutes must be between 1 and 1440".into());
    }
    if let Some(url) = &new.base_url {
        let ok = (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 2048;
        if !ok || reqwest::Url::parse(url).is_err() {
            return Some("base_url must be an http or https URL".into());
        }
    }
    None
}

/// A fresh webhook signing secret.
fn webhook_secret() -> String {
    format!("whsec_{}", &ithub::apikey::generate().0[ithub::apikey::PREFIX.len()..])
}

#[utoipa::path(post, path = "/v1/connections", tag = "connections", request_body = NewConnection, responses(
    (status = 201, description = "The connection, with its webhook secret shown this once", body = ConnectionCreated),
    (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 415, description = "Body is not JSON", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn create(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(new): Body<NewConnection>,
) -> Result<Response, ApiError> {
    if let Some(problem) = invalid(&new) {
        return Err(ApiError::BadRequest(problem));
    }
    let settings = ProviderSettings { kind: new.provider, company: new.company, base_url: new.base_url };
    let mut connection = Connection::new(caller.tenant.clone(), settings);
    connection.poll_interval_secs = new.poll_interval_minutes.map(|m| u64::from(m) * 60);
    let secret = webhook_secret();
    let stored = ConnectionSecret { credential: new.credential, webhook_secrets: vec![secret.clone()] };
    api.secrets.put(&connection.secret_id, &stored).await.map_err(unavailable)?;
    api.store.put_connection(&connection).await?;
    let location = format!("/v1/connections/{}", connection.id);
    let body = ConnectionCreated { connection: view(&api, &headers, connection), webhook_secret: secret };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

fn unavailable(error: ithub::secrets::SecretError) -> ApiError {
    tracing::error!(%error, "Secrets Manager failed");
    ApiError::Store(ithub::store::StoreError::Dynamo("secrets unavailable".into()))
}

#[utoipa::path(get, path = "/v1/connections", tag = "connections", params(crate::PageParams), responses(
    (status = 200, description = "A page of the tenant's HR connections", body = crate::employees::Page<ConnectionView>),
    (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn list(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    crate::body::Params(params): crate::body::Params<crate::PageParams>,
) -> Result<Json<crate::employees::Page<ConnectionView>>, ApiError> {
    let limit = crate::limit(params.limit)?;
    let page = api.store.page_connections(&caller.tenant, limit, params.cursor.as_deref()).await?;
    let items = page.items.into_iter().map(|c| view(&api, &headers, c)).collect();
    Ok(Json(crate::employees::Page { items, next_cursor: page.next_cursor }))
}

async fn find(api: &AdminApi, caller: &Caller, id: &str) -> Result<Connection, ApiError> {
    let id = ConnectionId::parse(id).ok_or(ApiError::NotFound("connection"))?;
    api.store.get_connection(&caller.tenant, &id).await?.ok_or(ApiError::NotFound("connection"))
}

#[utoipa::path(get, path = "/v1/connections/{id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 200, description = "The connection", body = ConnectionView),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn get(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let connection = find(&api, &caller, &id).await?;
    Ok(Json(view(&api, &headers, connection)))
}

/// Stops syncing from this HR system; its employees, tasks and history stay.
#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 204, description = "Deleted: no more polls, the webhook URL answers 404"),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn delete(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let connection = find(&api, &caller, &id).await?;
    if !api.store.delete_connection(&caller.tenant, &connection.id).await? {
        return Err(ApiError::NotFound("connection"));
    }
    if let Err(error) = api.secrets.delete(&connection.secret_id).await {
        // The connection is gone and nothing reads the secret any more; it is logged for clean-up.
        tracing::error!(%error, connection_id = %connection.id, "could not delete the connection's secret");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a new webhook secret. The previous one keeps working until the next rotation, so the HR system can be
/// switched over without losing deliveries.
#[utoipa::path(post, path = "/v1/connections/{id}/rotate-webhook-secret", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 200, description = "The new webhook secret, shown this once", body = ConnectionCreated),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn rotate(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ConnectionCreated>, ApiError> {
    let connection = find(&api, &caller, &id).await?;
    let mut stored = api.secrets.get_fresh(&connection.secret_id).await.map_err(unavailable)?;
    let secret = webhook_secret();
    stored.webhook_secrets.insert(0, secret.clone());
    stored.webhook_secrets.truncate(2);
    api.secrets.put(&connection.secret_id, &stored).await.map_err(unavailable)?;
    Ok(Json(ConnectionCreated { connection: view(&api, &headers, connection), webhook_secret: secret }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncQueued {
    run_id: String,
    status: ithub::store::RunStatus,
    /// Where to follow the run.
    runs_url: String,
}

/// Syncs the connection now: queued for the worker, which polls the HR system as the schedule would.
#[utoipa::path(post, path = "/v1/connections/{id}/sync", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id")), responses(
    (status = 202, description = "Queued; follow it under the connection's runs", body = SyncQueued),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn sync(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let connection = find(&api, &caller, &id).await?;
    let run = ithub::store::SyncRun::new(connection.id.clone(), ithub::store::RunTrigger::Manual, Utc::now());
    api.store.put_run(&caller.tenant, &run).await?;
    let request = ithub::messages::SyncRequested {
        tenant_id: caller.tenant.clone(),
        connection_id: connection.id.clone(),
        run_key: run.key(),
        run_id: run.run_id.clone(),
    };
    api.queue.request_sync(&request).await.map_err(|error| {
        tracing::error!(%error, "could not queue a sync request");
        ApiError::Store(ithub::store::StoreError::Dynamo("queue unavailable".into()))
    })?;
    let body = SyncQueued {
        runs_url: format!("/v1/connections/{}/runs", connection.id),
        run_id: run.run_id,
        status: run.status,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The connection's sync runs, newest first: when each ran, what it saw, queued and applied, and any error.
#[utoipa::path(get, path = "/v1/connections/{id}/runs", tag = "connections", params(("id" = ConnectionId, Path, description = "Connection id"), crate::PageParams), responses(
    (status = 200, description = "A page of runs", body = crate::employees::Page<ithub::store::SyncRun>),
    (status = 400, description = "Bad request", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid admin key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    (status = 404, description = "Not found", body = crate::openapi::Problem, content_type = "application/problem+json")
))]
pub async fn runs(
    State(api): State<AdminApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    crate::body::Params(params): crate::body::Params<crate::PageParams>,
) -> Result<Json<crate::employees::Page<ithub::store::SyncRun>>, ApiError> {
    let connection = find(&api, &caller, &id).await?;
    let limit = crate::limit(params.limit)?;
    let page = api.store.list_runs(&caller.tenant, &connection.id, limit, params.cursor.as_deref()).await?;
    Ok(Json(crate::employees::Page::from(page)))
}
