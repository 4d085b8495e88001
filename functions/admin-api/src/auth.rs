//! Admin keys: `Authorization: Bearer <key>`, looked up by hash.

use crate::{AdminApi, ApiError};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ithub::domain::{Actor, TenantId};

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
}

pub async fn require_key(State(api): State<AdminApi>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = presented else {
        return ApiError::Unauthorized("send an admin key as `Authorization: Bearer <key>`").into_response();
    };
    match api.store.key_owner(&ithub::apikey::hash(key), chrono::Utc::now()).await {
        Ok(Some(owner)) => {
            request.extensions_mut().insert(Caller { tenant: owner.tenant, key_label: owner.label });
            next.run(request).await
        }
        Ok(None) => ApiError::Unauthorized("the admin key is not valid").into_response(),
        Err(error) => ApiError::Store(error).into_response(),
    }
}
