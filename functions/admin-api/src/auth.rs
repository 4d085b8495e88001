//! Admin keys: `Authorization: Bearer <key>`, looked up by hash.

use crate::{AdminApi, ApiError};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ithub::domain::{Actor, TenantId};
use ithub::service::Acting;

/// Who is calling: the tenant their key belongs to, and the key's label for the audit trail. Put on the request
/// by [`require_key`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub key_label: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::Admin { key: self.key_label.clone() }
    }

    /// The caller as the service layer knows them: a tenant and an actor for the audit trail.
    pub fn acting(&self) -> Acting {
        Acting { tenant: self.tenant.clone(), actor: self.actor() }
    }
}

/// Checks the request's admin key and puts its [`Caller`] on the request. The same check runs everywhere: in AWS
/// there is no API Gateway authorizer in front (its refusals are not problem+json, and an authorizer context would
/// be one more thing to trust), so a missing or wrong key gets this function's 401 problem+json.
pub async fn require_key(State(api): State<AdminApi>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if header.and_then(ithub::apikey::bearer).is_none() {
        return ApiError::Unauthorized("send an admin key as `Authorization: Bearer <key>`").into_response();
    }
    match api.service.store.authorize(header, chrono::Utc::now()).await {
        Ok(Some(owner)) => {
            request.extensions_mut().insert(Caller { tenant: owner.tenant, key_label: owner.label });
            next.run(request).await
        }
        Ok(None) => ApiError::Unauthorized("the admin key is not valid").into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
