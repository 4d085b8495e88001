//! The admin API's Lambda authorizer (HTTP API, payload 2.0, simple responses). It runs the same key check as
//! the admin API does locally, and hands the tenant to the API in the authorizer context, so the tenant comes from
//! the key alone.

use aws_lambda_events::event::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use ithub::store::Store;
use serde_json::json;

/// Context keys the admin API reads.
pub const TENANT: &str = "tenant_id";
pub const KEY_LABEL: &str = "key_label";

pub async fn authorize(
    store: &Store,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let header = request.headers.get("authorization").and_then(|v| v.to_str().ok());
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match store.authorize(header, chrono::Utc::now()).await {
        Ok(Some(owner)) => {
            response.is_authorized = true;
            response.context = json!({ TENANT: owner.tenant, KEY_LABEL: owner.label });
        }
        Ok(None) => {}
        // Fail closed: a store error denies, and the log says why.
        Err(error) => tracing::error!(%error, "could not check an admin key"),
    }
    response
}
