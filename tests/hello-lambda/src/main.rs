//! Hello world on Lambda: answers every event with the event. The cold-start benchmark measures IT Hub's functions
//! against this binary, built with the same profile in the same run.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
