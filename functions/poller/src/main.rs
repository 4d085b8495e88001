//! The poller Lambda, triggered by an EventBridge schedule: starts a sync run for every connection that is due
//! (one message each on the run queue; the worker carries the runs out), and resumes runs whose step died.

use ithub::schedule::{ScheduleReport, Tick, schedule_tick};
use ithub::{config, queue::Queue, store::Store};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ithub::telemetry::init();
    let [table, run_queue_url] =
        config::require_all([config::TABLE, config::RUN_QUEUE_URL]).unwrap_or_else(|e| config::exit(e));
    let aws = ithub::function_aws_config("poller");
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let runs = Queue::new(aws_sdk_sqs::Client::new(&aws), run_queue_url);
    let (store, runs) = (&store, &runs);
    // The main schedule sends nothing of note; the every-minute queue drain sends `{"queues": true}`.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let queues = event.payload.get("queues").and_then(serde_json::Value::as_bool) == Some(true);
        let tick = if queues { Tick::Queues } else { Tick::All };
        Ok::<ScheduleReport, lambda_runtime::Error>(schedule_tick(store, runs, chrono::Utc::now(), tick).await?)
    }))
    .await
}
