//! Structured logging for every binary: JSON lines on Lambda (CloudWatch reads them), readable text locally.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once. `RUST_LOG` picks the level (default `info`); `ITHUB_LOG_FORMAT=text`
/// switches from JSON to human-readable lines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if std::env::var("ITHUB_LOG_FORMAT").as_deref() == Ok("text") {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).without_time().try_init()
    };
    // A second call (tests, the local runner hosting several functions) keeps the first subscriber.
    drop(result);
}
