//! The poller Lambda, triggered by an EventBridge schedule: syncs every connection that is due.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use ithub::sync::{RunReport, Syncer};
use ithub::{config, queue::Queue, store::Store};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ithub::telemetry::init();
    let [table, queue_url] =
        config::require_all([config::TABLE, config::QUEUE_URL]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::aws_config().await;
    let syncer = Syncer::new(
        Store::new(aws_sdk_dynamodb::Client::new(&aws), table),
        Queue::new(aws_sdk_sqs::Client::new(&aws), queue_url),
        ithub::secrets::Secrets::new(aws_sdk_secretsmanager::Client::new(&aws)),
        ithub::providers::Http::new(ithub::providers::Egress::Public),
    );
    let syncer = &syncer;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<EventBridgeEvent>| async move {
        Ok::<Vec<RunReport>, lambda_runtime::Error>(syncer.poll_all().await?)
    }))
    .await
}
