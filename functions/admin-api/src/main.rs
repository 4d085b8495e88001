//! The admin API Lambda, behind API Gateway: the axum router served by `lambda_http`.

use admin_api::{AdminApi, router};
use ithub::{config, store::Store};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ithub::telemetry::init();
    let [table] = config::require_all([config::TABLE]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::aws_config().await;
    let state = AdminApi {
        store: Store::new(aws_sdk_dynamodb::Client::new(&aws), table),
    };
    lambda_http::run(router(state)).await
}
