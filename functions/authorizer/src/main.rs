//! The authorizer Lambda.

use aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use ithub::{config, store::Store};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ithub::telemetry::init();
    let [table] = config::require_all([config::TABLE]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
        Ok::<_, lambda_runtime::Error>(authorizer::authorize(store, &event.payload).await)
    }))
    .await
}
