//! The worker Lambda: fed by the change queue and the run queue, reports partial batch failures.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ithub::queue::Queue;
use ithub::service::Service;
use ithub::sync::Syncer;
use ithub::{bus::Bus, config, store::Store};
use lambda_runtime::{LambdaEvent, service_fn};
use worker::Worker;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ithub::telemetry::init();
    let [table, bus, queue_url, run_queue_url] =
        config::require_all([config::TABLE, config::EVENT_BUS, config::QUEUE_URL, config::RUN_QUEUE_URL])
            .unwrap_or_else(|e| config::exit(e));
    let aws = ithub::function_aws_config("worker");
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let service = Service::new(store, Bus::new(aws_sdk_eventbridge::Client::new(&aws), bus));
    let syncer = Syncer::new(
        service.clone(),
        Queue::new(sqs.clone(), queue_url),
        Queue::new(sqs, run_queue_url),
        ithub::secrets::Secrets::new(aws_sdk_secretsmanager::Client::new(&aws)),
        ithub::providers::Http::new(ithub::providers::Egress::Public),
    );
    let worker = Worker::new(service, syncer);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(worker.handle(event.payload).await)
    }))
    .await
}
