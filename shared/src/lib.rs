//! IT Hub's shared library: the domain every function speaks, the HR providers it reads, and thin adapters over
//! the AWS services it writes to.
//!
//! Every function follows one path: webhook receiver and poller *observe* the HR system and put an
//! [`messages::EmployeeObserved`] on the FIFO queue; the worker is the one place that applies changes.

pub mod apikey;
#[cfg(feature = "dynamodb")]
pub mod apply;
#[cfg(feature = "eventbridge")]
pub mod bus;
pub mod config;
pub mod domain;
pub mod messages;
pub mod problem;
pub mod providers;
#[cfg(feature = "sqs")]
pub mod queue;
pub mod resources;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "dynamodb")]
pub mod store;
pub mod telemetry;

/// Loads the AWS SDK configuration once per process: region, credentials and the standard `AWS_ENDPOINT_URL`
/// override (which points every client at moto locally).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
