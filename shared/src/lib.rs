//! IT Hub's shared library: the domain every function speaks, the HR connectors it reads, the service layer
//! through which every change goes, and thin adapters over the AWS services it writes to.
//!
//! The schedule ([`schedule`]) and an admin's "sync now" start sync runs; the worker carries each run out step by
//! step ([`sync`]), comparing pages of HR records with what is stored. Changes it cannot apply cheaply, and the
//! webhook receiver's hints, go on the FIFO change queue as [`messages::Message`]s; the worker hands each to
//! [`service::Service::observe`], the same service the admin API's changes go through.

pub mod apikey;
#[cfg(feature = "eventbridge")]
pub mod bus;
pub mod config;
pub mod domain;
pub mod events;
pub mod messages;
pub mod problem;
pub mod providers;
#[cfg(feature = "sqs")]
pub mod queue;
pub mod resources;
#[cfg(all(feature = "dynamodb", feature = "sqs"))]
pub mod schedule;
pub mod scim;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "dynamodb")]
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod validation;

/// Loads the AWS SDK configuration once per process: region, credentials and the standard `AWS_ENDPOINT_URL`
/// override (which points every client at moto locally).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(tls::aws_http_client()).load().await
}

/// The AWS SDK configuration of one of IT Hub's Lambda functions, from what Lambda puts in its environment: the
/// region (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), which is how Lambda gives them to a custom runtime. Also read, as aws-config would:
/// `AWS_ENDPOINT_URL` (never set in Lambda; the tests' moto) and `AWS_MAX_ATTEMPTS`. Everything else is the SDK's
/// defaults for [`aws_config::BehaviorVersion::latest`], which each client applies: standard retries (3 attempts),
/// a 3.1 s connect timeout, Tokio's sleep, a lazy identity cache.
///
/// Not [`aws_config`]: its default chains (profile files, web identity through STS, the container and instance
/// metadata endpoints) are code every function linked and time each cold start spent, for credentials Lambda never
/// gives that way. Other aws-config settings (FIPS or dual-stack endpoints, per-service endpoint URLs) are not read.
///
/// The function's name is the SDK's app name (`app/worker` in every request's user agent): CloudTrail shows which
/// function called, and locally the AWS endpoint records each function's calls for the test that holds the
/// template's IAM policies to them.
pub fn function_aws_config(function: &'static str) -> aws_config::SdkConfig {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let app = aws_config::AppName::new(function).expect("function names are valid app names");
    let region = std::env::var("AWS_REGION").ok().map(aws_config::Region::new);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok().filter(|url| !url.is_empty());
    let attempts = std::env::var("AWS_MAX_ATTEMPTS").ok().and_then(|n| n.parse::<u32>().ok()).filter(|n| *n > 0);
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .app_name(app)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(tls::aws_http_client());
    config.set_region(region).set_endpoint_url(endpoint);
    if let Some(attempts) = attempts {
        config.set_retry_config(Some(aws_config::retry::RetryConfig::standard().with_max_attempts(attempts)));
    }
    config.build()
}
