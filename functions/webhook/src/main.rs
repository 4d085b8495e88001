//! The webhook Lambda, behind API Gateway: the axum router served by `lambda_http`.

use ithub::{config, queue::Queue, secrets::Secrets, store::Store};
use webhook::{Webhooks, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ithub::telemetry::init();
    let [table, queue_url] =
        config::require_all([config::TABLE, config::QUEUE_URL]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::function_aws_config("webhook");
    let state = Webhooks {
        store: Store::new(aws_sdk_dynamodb::Client::new(&aws), table),
        queue: Queue::new(aws_sdk_sqs::Client::new(&aws), queue_url),
        secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(&aws)),
        http: ithub::providers::Http::new(ithub::providers::Egress::Public),
    };
    lambda_http::run(router(state)).await
}
