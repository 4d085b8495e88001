//! Every DynamoDB key IT Hub writes, in one place. A tenant's data all sits in the partition `T#{tenant}`, so no
//! query made with a tenant id can reach another tenant's items; each prefix names one kind of item.
//!
//! | item        | PK                | SK                  | GSI1PK                        | GSI1SK          |
//! |-------------|-------------------|---------------------|-------------------------------|-----------------|
//! | tenant      | `T#{tenant}`      | `TENANT`            |                               |                 |
//! | employee    | `T#{tenant}`      | `E#{employee}`      |                               |                 |
//! | connection  | `T#{tenant}`      | `C#{connection}`    | `CONNECTION`                  | `C#{connection}`|
//! | task        | `T#{tenant}`      | `TASK#{task}`       | `T#{tenant}#TASKS#{status}`   | `{due}#{task}`  |
//! | license     | `T#{tenant}`      | `L#{employee}`      |                               |                 |
//! | playbook    | `T#{tenant}`      | `PLAYBOOK`          |                               |                 |
//! | audit       | `T#{tenant}`      | `A#{time}#{id}`     | `T#{tenant}#AUDIT#{subject}`  | `A#{time}#{id}` |
//! | sync run    | `T#{tenant}`      | `R#{conn}#{run}`    |                               |                 |
//! | run: seen   | `T#{tenant}`      | `RS#{run}#{bucket}` |                               |                 |
//! | run: pending| `T#{tenant}`      | `RP#{run}#{employee}` |                             |                 |
//! | admin key   | `APIKEY#{sha256}` | `APIKEY`            | `T#{tenant}#APIKEYS`          | `APIKEY#{id}`   |
//! | idempotency | `I#{key}`         | `IDEMPOTENCY`       |                               |                 |
//! | lease       | `LEASE#{name}`    | `LEASE`             |                               |                 |
//! | session     | `SESSION#{sha256}`| `SESSION`           |                               |                 |

use crate::domain::{ConnectionId, EmployeeId, TaskId, TaskStatus, TenantId};
use chrono::{DateTime, NaiveDate, Utc};

pub const TENANT: &str = "TENANT";
/// The tenant item's count of its connections (checked against the cap when one is made).
pub const CONNECTION_COUNT: &str = "connection_count";
pub const EMPLOYEES: &str = "E#";
pub const CONNECTIONS: &str = "C#";
pub const TASKS: &str = "TASK#";
pub const LICENSES: &str = "L#";
pub const PLAYBOOK: &str = "PLAYBOOK";
pub const AUDIT: &str = "A#";
pub const RUNS: &str = "R#";
pub const API_KEY: &str = "APIKEY";
pub const IDEMPOTENCY: &str = "IDEMPOTENCY";
pub const LEASE: &str = "LEASE";
pub const SESSION: &str = "SESSION";
/// The GSI1 partition that lists every connection of every tenant, for the schedule.
pub const ALL_CONNECTIONS: &str = "CONNECTION";

pub fn tenant(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

pub fn employee(id: &EmployeeId) -> String {
    format!("{EMPLOYEES}{id}")
}

pub fn connection(id: &ConnectionId) -> String {
    format!("{CONNECTIONS}{id}")
}

pub fn task(id: &TaskId) -> String {
    format!("{TASKS}{id}")
}

/// The GSI1 partition of a tenant's tasks in one status, sorted by due date.
pub fn tasks_in(tenant: &TenantId, status: TaskStatus) -> String {
    format!("T#{tenant}#TASKS#{}", status.as_str())
}

pub fn task_due(due: NaiveDate, id: &TaskId) -> String {
    format!("{due}#{id}")
}

pub fn license(employee: &EmployeeId) -> String {
    format!("{LICENSES}{employee}")
}

/// An audit entry's sort key: time first, so the trail reads in order.
pub fn audit(at: DateTime<Utc>, id: &str) -> String {
    format!("{AUDIT}{}#{id}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// The GSI1 partition of the audit entries about one subject (an employee, a connection, the playbook).
pub fn audit_of(tenant: &TenantId, subject: &str) -> String {
    format!("T#{tenant}#AUDIT#{subject}")
}

/// Sort-key prefix of a connection's runs.
pub fn runs_of(connection: &ConnectionId) -> String {
    format!("{RUNS}{connection}#")
}

/// A run's key. Run ids are time-ordered, so a connection's runs sort by when they were asked for.
pub fn run(connection: &ConnectionId, run_id: &str) -> String {
    format!("{}{run_id}", runs_of(connection))
}

/// The people a full run's listing named, one item per bucket of employee ids.
pub fn run_seen(run_id: &str, bucket: u8) -> String {
    format!("RS#{run_id}#{bucket:x}")
}

/// Sort-key prefix of a run's pending terminations and removals.
pub fn run_pending_prefix(run_id: &str) -> String {
    format!("RP#{run_id}#")
}

pub fn run_pending(run_id: &str, employee: &EmployeeId) -> String {
    format!("{}{employee}", run_pending_prefix(run_id))
}

/// Sort-key prefix of the employees in one bucket (the first hex digit of their derived id).
pub fn employee_bucket(bucket: u8) -> String {
    format!("{EMPLOYEES}emp_{bucket:x}")
}

pub fn api_key(hash: &str) -> String {
    format!("{API_KEY}#{hash}")
}

pub fn api_keys_of(tenant: &TenantId) -> String {
    format!("T#{tenant}#APIKEYS")
}

pub fn api_key_id(key_id: &str) -> String {
    format!("{API_KEY}#{key_id}")
}

pub fn idempotency(key: &str) -> String {
    format!("I#{key}")
}

pub fn lease(name: &str) -> String {
    format!("{LEASE}#{name}")
}

/// A console session, by its token's hash.
pub fn session(hash: &str) -> String {
    format!("{SESSION}#{hash}")
}
