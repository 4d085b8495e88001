//! One configuration loader for every function: named environment variables, each checked at start-up so that a
//! missing or invalid value stops the process with one clear line instead of failing on the first event.

use std::fmt;

/// The DynamoDB table that holds tenants, employees, connections and idempotency records.
pub const TABLE: &str = "ITHUB_TABLE";
/// The URL of the FIFO queue of employee changes.
pub const QUEUE_URL: &str = "ITHUB_QUEUE_URL";
/// The URL of the standard queue of sync-run steps.
pub const RUN_QUEUE_URL: &str = "ITHUB_RUN_QUEUE_URL";
/// The EventBridge bus that domain events are published on.
pub const EVENT_BUS: &str = "ITHUB_EVENT_BUS";
/// Where connections' secrets are named in Secrets Manager (`{prefix}/{tenant}/{connection}`): the stack's own
/// prefix in AWS (`ithub/{stack}`), so that one stack's functions may read only its own secrets. Optional:
/// `ithub` when unset.
pub const SECRET_PREFIX: &str = "ITHUB_SECRET_PREFIX";

/// Days the audit trail keeps an entry (DynamoDB's TTL removes it after that). Optional: 400 when unset.
pub const AUDIT_RETENTION_DAYS: &str = "ITHUB_AUDIT_RETENTION_DAYS";
/// The audit retention when [`AUDIT_RETENTION_DAYS`] is not set: a year and a month, past a yearly review.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

/// How long audit entries are kept: [`AUDIT_RETENTION_DAYS`], or 400 days when it is unset or not a whole number
/// of days from 1 to 36,500.
pub fn audit_retention() -> chrono::Duration {
    let raw = std::env::var(AUDIT_RETENTION_DAYS).ok();
    let retention = audit_retention_from(raw.as_deref());
    if raw.is_some_and(|r| audit_retention_from(Some(&r)).num_days().to_string() != r.trim()) {
        tracing::warn!(days = retention.num_days(), "{AUDIT_RETENTION_DAYS} is not a number of days from 1 to 36500");
    }
    retention
}

fn audit_retention_from(raw: Option<&str>) -> chrono::Duration {
    let days = raw.and_then(|r| r.trim().parse::<u32>().ok()).filter(|d| (1..=36_500).contains(d));
    chrono::Duration::days(i64::from(days.unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS)))
}

/// The most connections one tenant may have. Optional: 50 when unset.
pub const MAX_CONNECTIONS_PER_TENANT: &str = "ITHUB_MAX_CONNECTIONS_PER_TENANT";
/// The cap when [`MAX_CONNECTIONS_PER_TENANT`] is not set: far more HR systems than a company runs.
pub const DEFAULT_MAX_CONNECTIONS_PER_TENANT: u32 = 50;

/// The most connections a tenant may have: [`MAX_CONNECTIONS_PER_TENANT`], or 50 when it is unset or not a whole
/// number from 1 to 10,000.
pub fn max_connections_per_tenant() -> u32 {
    let raw = std::env::var(MAX_CONNECTIONS_PER_TENANT).ok();
    let cap = raw.as_deref().and_then(|r| r.trim().parse::<u32>().ok()).filter(|n| (1..=10_000).contains(n));
    if raw.is_some() && cap.is_none() {
        tracing::warn!("{MAX_CONNECTIONS_PER_TENANT} is not a number from 1 to 10000; using the default");
    }
    cap.unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_TENANT)
}

/// The secret prefix this process was given, or `ithub`.
pub fn secret_prefix() -> String {
    std::env::var(SECRET_PREFIX).ok().filter(|p| !p.trim().is_empty()).unwrap_or_else(|| "ithub".to_owned())
}

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {} {}", self.var, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Reads and validates several variables at once, for a function's `main`.
pub fn require_all<const N: usize>(vars: [&'static str; N]) -> Result<[String; N], ConfigError> {
    let mut values: [String; N] = std::array::from_fn(|_| String::new());
    for (value, var) in values.iter_mut().zip(vars) {
        *value = require(var)?;
    }
    Ok(values)
}

/// Stops start-up with one clear line on standard error.
pub fn exit(error: ConfigError) -> ! {
    eprintln!("{error}");
    std::process::exit(2)
}

/// Reads and validates one variable from the process environment.
pub fn require(var: &'static str) -> Result<String, ConfigError> {
    require_from(var, |name| std::env::var(name).ok())
}

/// Reads and validates one variable through `lookup`, so the rules can be tested without touching the environment.
pub fn require_from(var: &'static str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let value = lookup(var).map(|v| v.trim().to_owned()).unwrap_or_default();
    let fail = |problem: &str| ConfigError { var, problem: problem.to_owned() };
    if value.is_empty() {
        return Err(fail("is not set"));
    }
    match var {
        TABLE if !is_table_name(&value) => {
            Err(fail(&format!("is not a valid DynamoDB table name: {value:?} (3-255 of A-Z a-z 0-9 _ - .)")))
        }
        QUEUE_URL if !(value.starts_with("https://") || value.starts_with("http://")) => {
            Err(fail(&format!("must be a queue URL (http:// or https://), got {value:?}")))
        }
        QUEUE_URL if !value.ends_with(".fifo") => {
            Err(fail(&format!("must name a FIFO queue (ending in .fifo), got {value:?}")))
        }
        RUN_QUEUE_URL if !(value.starts_with("https://") || value.starts_with("http://")) => {
            Err(fail(&format!("must be a queue URL (http:// or https://), got {value:?}")))
        }
        RUN_QUEUE_URL if value.ends_with(".fifo") => {
            Err(fail(&format!("must name a standard queue (a run step may be delayed), got {value:?}")))
        }
        _ => Ok(value),
    }
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn missing_variable_names_itself_in_one_line() {
        let err = require_from(TABLE, env(&[])).unwrap_err();
        assert_eq!(err.to_string(), "configuration error: ITHUB_TABLE is not set");
    }

    #[test]
    fn blank_counts_as_missing() {
        assert!(require_from(EVENT_BUS, env(&[(EVENT_BUS, "  ")])).is_err());
    }

    #[test]
    fn table_names_are_checked() {
        assert!(require_from(TABLE, env(&[(TABLE, "it hub")])).is_err());
        assert_eq!(require_from(TABLE, env(&[(TABLE, "ithub-main")])).unwrap(), "ithub-main");
    }

    #[test]
    fn queue_must_be_a_fifo_url() {
        assert!(require_from(QUEUE_URL, env(&[(QUEUE_URL, "changes.fifo")])).is_err());
        let err = require_from(QUEUE_URL, env(&[(QUEUE_URL, "http://127.0.0.1:5000/123/changes")])).unwrap_err();
        assert!(err.to_string().contains("FIFO"));
        let ok = "http://127.0.0.1:5000/123456789012/ithub-changes.fifo";
        assert_eq!(require_from(QUEUE_URL, env(&[(QUEUE_URL, ok)])).unwrap(), ok);
    }

    #[test]
    fn audit_retention_is_400_days_unless_set_to_a_sensible_number() {
        assert_eq!(audit_retention_from(None), chrono::Duration::days(400));
        assert_eq!(audit_retention_from(Some(" 30 ")), chrono::Duration::days(30));
        for bad in ["", "0", "-5", "1.5", "forever", "36501"] {
            assert_eq!(audit_retention_from(Some(bad)), chrono::Duration::days(400), "{bad:?}");
        }
    }
}
