//! Structured logging for every binary: JSON lines on Lambda (CloudWatch reads them), readable text locally.

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Libraries whose trace level logs whole requests and responses (the AWS SDK's orchestrator logs every request,
/// response and output; the HTTP stacks their frames; the Lambda runtime every event it receives, SQS batches of
/// HR records and API requests with their keys; SigV4 its canonical requests, with the role's session token):
/// held at debug whatever `RUST_LOG` asks, since a DynamoDB item or an HR response is personal data.
const AT_MOST_DEBUG: [&str; 13] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_sigv4",
    "aws_runtime",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// Installs the global subscriber once. `RUST_LOG` picks the level (default `info`), for all or per target
/// (`info,ithub=debug`); `ITHUB_LOG_FORMAT=text` switches from JSON to human-readable lines.
///
/// The filter is tracing-subscriber's `Targets`, not `EnvFilter`: the same level directives without span and
/// field matching, which brought a regex engine (about 140 KB of each zip).
pub fn init() {
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    let logs = tracing_subscriber::registry().with(filter(std::env::var("RUST_LOG").ok().as_deref()));
    let result = if std::env::var("ITHUB_LOG_FORMAT").as_deref() == Ok("text") {
        logs.with(fmt::layer().with_target(false)).try_init()
    } else {
        logs.with(fmt::layer().with_target(false).json().flatten_event(true).without_time()).try_init()
    };
    // A second call (tests, the local runner hosting several functions) keeps the first subscriber.
    drop(result);
}

/// The filter `RUST_LOG` asks for. Each directive is a level (`debug`) or a target and level (`ithub=debug`);
/// empty directives (`RUST_LOG=`, `info,`), which `Targets` would read as "everything, at trace", and anything
/// else (span or field filters, typos) are ignored; with none left, `info`.
fn filter(rust_log: Option<&str>) -> Targets {
    let directives: Vec<&str> = rust_log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .filter(|directive| {
            let (target, level) = directive.split_once('=').unwrap_or(("", directive));
            let target_ok = target.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'));
            target_ok && level.parse::<LevelFilter>().is_ok()
        })
        .collect();
    let targets = if directives.is_empty() {
        Targets::new().with_default(LevelFilter::INFO)
    } else {
        directives.join(",").parse().unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
    };
    AT_MOST_DEBUG.iter().fold(targets, |targets, target| {
        if targets.would_enable(target, &tracing::Level::TRACE) {
            targets.with_target(*target, LevelFilter::DEBUG)
        } else {
            targets
        }
    })
}

#[cfg(test)]
mod tests {
    use super::filter;
    use tracing::Level;

    #[test]
    fn rust_log_picks_levels_and_nothing_turns_on_everything() {
        for quiet in [None, Some(""), Some(" "), Some(","), Some("info,"), Some("ithub[sync]=trace"), Some("loud")] {
            let f = filter(quiet);
            assert!(f.would_enable("ithub", &Level::INFO), "{quiet:?}");
            assert!(!f.would_enable("ithub", &Level::DEBUG), "{quiet:?} reads as info");
        }
        let f = filter(Some("warn,ithub=debug"));
        assert!(f.would_enable("ithub::sync", &Level::DEBUG) && !f.would_enable("ithub", &Level::TRACE));
        assert!(!f.would_enable("lambda_runtime", &Level::INFO) && f.would_enable("lambda_runtime", &Level::WARN));
    }

    #[test]
    fn the_sdk_and_http_stacks_never_log_at_trace() {
        for loud in ["trace", "aws_smithy_runtime=trace", "info,hyper=trace"] {
            let f = filter(Some(loud));
            for target in ["aws_smithy_runtime::client::orchestrator", "hyper::proto", "aws_smithy_runtime"] {
                assert!(!f.would_enable(target, &Level::TRACE), "{loud}: {target}");
            }
        }
        assert!(filter(Some("trace")).would_enable("ithub", &Level::TRACE), "our own code may trace");
        assert!(filter(Some("debug")).would_enable("aws_smithy_runtime", &Level::DEBUG));
    }
}
