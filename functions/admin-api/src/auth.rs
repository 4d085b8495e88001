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

/// Behind API Gateway, the Lambda authorizer has checked the key and put the tenant in the request context; API
/// Gateway alone can set that context. Anywhere else (the local runner, tests) the same check runs here.
fn from_authorizer(request: &Request) -> Option<Caller> {
    let lambda_http::request::RequestContext::ApiGatewayV2(context) =
        request.extensions().get::<lambda_http::request::RequestContext>()?
    else {
        return None;
    };
    let fields = &context.authorizer.as_ref()?.fields;
    let tenant = TenantId::parse(fields.get("tenant_id")?.as_str()?)?;
    let key_label = fields.get("key_label").and_then(|v| v.as_str()).unwrap_or("admin").to_owned();
    Some(Caller { tenant, key_label })
}

pub async fn require_key(State(api): State<AdminApi>, mut request: Request, next: Next) -> Response {
    if let Some(caller) = from_authorizer(&request) {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
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
