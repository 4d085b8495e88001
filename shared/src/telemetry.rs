//! Structured logging for every binary: JSON lines on Lambda (CloudWatch reads them), readable text locally.

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Installs the global subscriber once. `RUST_LOG` picks the level (default `info`), for all or per target
/// (`info,ithub=debug`); `ITHUB_LOG_FORMAT=text` switches from JSON to human-readable lines.
///
/// The filter is tracing-subscriber's `Targets`, not `EnvFilter`: the same level directives without span and
/// field matching, which brought a regex engine (about 100 KB of each zip).
pub fn init() {
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG").ok().and_then(|directives| directives.parse::<Targets>().ok());
    let filter = filter.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let logs = tracing_subscriber::registry().with(filter);
    let result = if std::env::var("ITHUB_LOG_FORMAT").as_deref() == Ok("text") {
        logs.with(fmt::layer().with_target(false)).try_init()
    } else {
        logs.with(fmt::layer().with_target(false).json().flatten_event(true).without_time()).try_init()
    };
    // A second call (tests, the local runner hosting several functions) keeps the first subscriber.
    drop(result);
}
