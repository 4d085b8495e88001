//! The admin API Lambda, behind API Gateway: the axum router served by `lambda_http`.

use admin_api::{AdminApi, router};
use ithub::{bus::Bus, config, service::Service, store::Store};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ithub::telemetry::init();
    let [table, bus, run_queue_url] = config::require_all([config::TABLE, config::EVENT_BUS, config::RUN_QUEUE_URL])
        .unwrap_or_else(|e| config::exit(e));
    let aws = ithub::function_aws_config("admin-api");
    let state = AdminApi {
        service: Service::new(
            Store::new(aws_sdk_dynamodb::Client::new(&aws), table),
            Bus::new(aws_sdk_eventbridge::Client::new(&aws), bus),
        ),
        secrets: ithub::secrets::Secrets::new(aws_sdk_secretsmanager::Client::new(&aws))
            .with_prefix(config::secret_prefix()),
        runs: ithub::queue::Queue::new(aws_sdk_sqs::Client::new(&aws), run_queue_url),
        public_url: std::env::var("ITHUB_PUBLIC_URL").ok(),
        egress: ithub::providers::Egress::Public,
    };
    lambda_http::run(router(state)).await
}
