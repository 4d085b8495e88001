//! The poller Lambda, triggered by an EventBridge schedule: starts a sync run for every connection that is due
//! (one message each on the run queue; the worker carries the runs out), and resumes runs whose step died.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use ithub::schedule::{ScheduleReport, schedule};
use ithub::{config, queue::Queue, store::Store};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ithub::telemetry::init();
    let [table, run_queue_url] =
        config::require_all([config::TABLE, config::RUN_QUEUE_URL]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let runs = Queue::new(aws_sdk_sqs::Client::new(&aws), run_queue_url);
    let (store, runs) = (&store, &runs);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<EventBridgeEvent>| async move {
        Ok::<ScheduleReport, lambda_runtime::Error>(schedule(store, runs, chrono::Utc::now()).await?)
    }))
    .await
}
