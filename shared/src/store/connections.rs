//! A tenant's links to HR systems: typed settings per provider, the Secrets Manager secret that holds the
//! credentials, the poll schedule and the incremental cursor.

use super::{Page, Store, StoreError, applied, corrupt, dynamo, keys, s};
use crate::domain::{ConnectionId, TenantId};
use crate::providers::Settings;
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A tenant's link to an HR system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub tenant_id: TenantId,
    pub id: ConnectionId,
    /// Which HR system, and how to reach it; never its credentials.
    pub provider: Settings,
    /// The Secrets Manager secret that holds the HR credentials and the webhook secrets; never the secrets.
    pub secret_id: String,
    /// At least this long between scheduled polls; `None` polls on every tick of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_secs: Option<u64>,
    /// The change-feed state the HR system gave out, where the next incremental run reads from; `None` until the
    /// first import has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the schedule last started a run of this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<DateTime<Utc>>,
    /// At least this long between full reconciliations; `None` is daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_interval_secs: Option<u64>,
    /// When the last complete listing finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_at: Option<DateTime<Utc>>,
    /// The mass-change safeguard: a run may terminate or remove at most this share of the active people ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard_percent: Option<u32>,
    /// ... or this many, whichever is more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard_minimum: Option<u32>,
    /// Active people stored for the connection, as the last run counted them.
    #[serde(default)]
    pub active_people: u64,
    /// The run that holds the connection (one at a time), and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_until: Option<DateTime<Utc>>,
    /// Runs held by the safeguard, waiting for an admin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_runs: Vec<String>,
    /// People whose records the last run could not read: read again by the next one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_ids: Vec<String>,
    /// Those failed during the first import: when read again they are imported, not hired.
    #[serde(default)]
    pub retry_initial: bool,
    /// A SCIM connection's bearer token, as its SHA-256 (the token itself is shown once and never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_token_hash: Option<String>,
    /// When an admin last edited the connection's settings, credentials or schedule: the next edit is written
    /// only if it is still this, and a copy of its secret read before then is read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// When its secrets last changed (a rotation, a registered webhook): a copy read before then is read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_changed_at: Option<DateTime<Utc>>,
}

/// Full reconciliations run daily unless the connection says otherwise.
pub const DEFAULT_FULL_INTERVAL_SECS: u64 = 24 * 3600;
/// The safeguard's defaults: 10% of the active people, and at least 5.
pub const DEFAULT_SAFEGUARD_PERCENT: u32 = 10;
pub const DEFAULT_SAFEGUARD_MINIMUM: u32 = 5;

impl Connection {
    /// Whether the schedule should start an incremental run of this connection at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        match (self.poll_interval_secs, self.last_polled_at) {
            (Some(interval), Some(last)) => now - last >= chrono::Duration::seconds(interval as i64),
            _ => true,
        }
    }

    /// Whether the next scheduled run should be a full listing: the first import, or a reconciliation due.
    pub fn full_due(&self, now: DateTime<Utc>) -> bool {
        let interval = self.full_interval_secs.unwrap_or(DEFAULT_FULL_INTERVAL_SECS);
        self.cursor.is_none()
            || self.last_full_at.is_none_or(|last| now - last >= chrono::Duration::seconds(interval as i64))
    }

    /// Whether a run holds the connection at `now`.
    pub fn busy(&self, now: DateTime<Utc>) -> bool {
        self.running.is_some() && self.running_until.is_some_and(|until| until > now)
    }

    /// The most terminations and removals one run may apply without an admin, with `active` people stored.
    pub fn safeguard_threshold(&self, active: u64) -> u64 {
        let percent = u64::from(self.safeguard_percent.unwrap_or(DEFAULT_SAFEGUARD_PERCENT));
        let minimum = u64::from(self.safeguard_minimum.unwrap_or(DEFAULT_SAFEGUARD_MINIMUM));
        (active * percent / 100).max(minimum)
    }

    /// A new connection, not yet polled: its first poll imports everyone.
    pub fn new(tenant: TenantId, provider: Settings) -> Self {
        let id = ConnectionId::generate();
        Self {
            secret_id: format!("ithub/{tenant}/{id}"),
            tenant_id: tenant,
            id,
            provider,
            poll_interval_secs: None,
            cursor: None,
            created_at: Utc::now(),
            last_polled_at: None,
            full_interval_secs: None,
            last_full_at: None,
            safeguard_percent: None,
            safeguard_minimum: None,
            active_people: 0,
            running: None,
            running_until: None,
            held_runs: Vec::new(),
            retry_ids: Vec::new(),
            retry_initial: false,
            scim_token_hash: None,
            edited_at: None,
            secrets_changed_at: None,
        }
    }
}

impl Store {
    pub async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut item = Self::keyed(connection, keys::tenant(&connection.tenant_id), keys::connection(&connection.id))?;
        item.insert(GSI1_PK.into(), s(keys::ALL_CONNECTIONS));
        item.insert(GSI1_SK.into(), s(keys::connection(&connection.id)));
        self.put(item, None, Default::default()).await
    }

    pub async fn get_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        self.get_as(keys::tenant(tenant), &keys::connection(id)).await
    }

    /// Finds a connection by id alone: a webhook URL names the connection, not the tenant.
    pub async fn find_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        let Some(item) = self.index_lookup(keys::ALL_CONNECTIONS, &keys::connection(id)).await? else {
            return Ok(None);
        };
        // The index is eventually consistent; read the item itself for the current cursor and secrets.
        let found: Connection = serde_dynamo::from_item(item).map_err(corrupt)?;
        self.get_connection(&found.tenant_id, &found.id).await
    }

    /// Removes a tenant's connection: it is no longer polled and its webhook URL stops answering. Its employees
    /// stay. `false` if there was no such connection.
    pub async fn delete_connection(&self, tenant: &TenantId, id: &ConnectionId) -> Result<bool, StoreError> {
        self.delete_existing(keys::tenant(tenant), keys::connection(id)).await
    }

    /// A page of a tenant's connections.
    pub async fn page_connections(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Connection>, StoreError> {
        self.page_under(tenant, keys::CONNECTIONS, limit, cursor).await
    }

    /// A page of every tenant's connections in one lap of the schedule's circle: those whose key is `from` or after
    /// it (`Lap::From`), or before it (`Lap::Before`). The two laps together list every connection once.
    pub async fn page_connections_lap(
        &self,
        from: &str,
        lap: Lap,
        cursor: Option<&str>,
    ) -> Result<Page<Connection>, StoreError> {
        let start = super::cursor::start(cursor, &[(GSI1_PK, keys::ALL_CONNECTIONS)], (GSI1_SK, keys::CONNECTIONS))?;
        let condition = match lap {
            Lap::From => "#pk = :pk AND #sk >= :from",
            Lap::Before => "#pk = :pk AND #sk < :from",
        };
        let out = self
            .index_query(keys::ALL_CONNECTIONS)
            .key_condition_expression(condition)
            .expression_attribute_names("#sk", GSI1_SK)
            .expression_attribute_values(":from", s(from))
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(dynamo)?;
        super::page(out.items, out.last_evaluated_key.as_ref())
    }

    /// Makes `run` hold the connection until `until`: if no run holds it; if `run` already does (a renewal, and a
    /// retry of a write whose answer was lost finds its own hold: run ids are new each time); or, given `lapsed`
    /// `(seen, now)`, if the run that held it when it was read (`seen`, which the caller found ended or never
    /// recorded) still does and its hold had lapsed by `now`. `false` when another run has it: it is never taken
    /// from a run in progress.
    pub async fn take_connection(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        run: &str,
        lapsed: Option<(&str, DateTime<Utc>)>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(keys::connection(id)))
            .update_expression("SET running = :run, running_until = :until")
            .expression_attribute_values(":run", s(run))
            .expression_attribute_values(":until", s(until.to_rfc3339()));
        let request = match lapsed {
            Some((seen, now)) => request
                .condition_expression(
                    "attribute_exists(PK) AND (attribute_not_exists(running) OR running = :run OR (running = :seen AND running_until < :now))",
                )
                .expression_attribute_values(":seen", s(seen))
                .expression_attribute_values(":now", s(now.to_rfc3339())),
            None => request.condition_expression("attribute_exists(PK) AND (attribute_not_exists(running) OR running = :run)"),
        };
        applied(request.send().await.map(drop).map_err(dynamo))
    }

    /// Renews `run`'s hold on the connection until `until`, or takes it if no run holds it. `false` when another
    /// run does.
    pub async fn claim_connection(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        run: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.take_connection(tenant, id, run, None, until).await
    }

    /// Marks the schedule's start of a run, only if nobody else started one since `previous` was read.
    pub async fn mark_polled(&self, connection: &Connection, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(&connection.tenant_id)))
            .key(SK, s(keys::connection(&connection.id)))
            .update_expression("SET last_polled_at = :now")
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        request = match connection.last_polled_at {
            Some(previous) => request
                .condition_expression("last_polled_at = :previous")
                .expression_attribute_values(":previous", s(previous.to_rfc3339())),
            None => request.condition_expression("attribute_exists(PK) AND attribute_not_exists(last_polled_at)"),
        };
        applied(request.send().await.map(drop).map_err(dynamo))
    }

    /// Writes what a run leaves on its connection, and lets go of it: the new change-feed state, when the last
    /// full listing finished, the active count, who to read again, which runs are held.
    pub async fn finish_run_on_connection(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        run: &str,
        done: RunOutcome,
    ) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(tenant)))
            .key(SK, s(keys::connection(id)));
        if let Some((retry, initial)) = &done.retry {
            sets.push("retry_ids = :retry, retry_initial = :initial");
            request = request
                .expression_attribute_values(":retry", list(retry))
                .expression_attribute_values(":initial", aws_sdk_dynamodb::types::AttributeValue::Bool(*initial));
        }
        if let Some(state) = &done.state {
            sets.push("#cursor = :state");
            request =
                request.expression_attribute_names("#cursor", "cursor").expression_attribute_values(":state", s(state));
        }
        if let Some(at) = done.full_at {
            sets.push("last_full_at = :full_at");
            request = request.expression_attribute_values(":full_at", s(at.to_rfc3339()));
        }
        if let Some(active) = done.active {
            sets.push("active_people = :active");
            request = request.expression_attribute_values(":active", super::n(active));
        }
        if done.held {
            sets.push("held_runs = list_append(if_not_exists(held_runs, :empty), :held)");
            request = request
                .expression_attribute_values(":empty", list(&[]))
                .expression_attribute_values(":held", list(&[run.to_owned()]));
        }
        // Let go only if this run still holds it.
        let expression = if sets.is_empty() {
            "REMOVE running, running_until".to_owned()
        } else {
            format!("SET {} REMOVE running, running_until", sets.join(", "))
        };
        let mut condition = "attribute_exists(PK) AND (attribute_not_exists(running) OR running = :run)".to_owned();
        if done.held {
            // Held once: a replayed step finds it on the list and leaves the list as it is.
            condition.push_str(" AND (attribute_not_exists(held_runs) OR NOT contains(held_runs, :run))");
        }
        let out = request
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":run", s(run))
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        applied(out).map(drop)
    }

    /// Takes a run off the connection's held list once it is answered, only if the list is still as read (a
    /// run held meanwhile is not dropped: the caller reads again).
    pub async fn unhold(&self, connection: &Connection, run: &str) -> Result<bool, StoreError> {
        let held: Vec<String> = connection.held_runs.iter().filter(|r| *r != run).cloned().collect();
        let unheld = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::tenant(&connection.tenant_id)))
            .key(SK, s(keys::connection(&connection.id)))
            .update_expression("SET held_runs = :held")
            .condition_expression("held_runs = :read")
            .expression_attribute_values(":held", list(&held))
            .expression_attribute_values(":read", list(&connection.held_runs))
            .send()
            .await
            .map(drop)
            .map_err(dynamo);
        applied(unheld)
    }
}

impl Store {
    /// Takes `run` off the connection's held list, reading again if another run was held meanwhile.
    pub async fn unhold_run(&self, tenant: &TenantId, id: &ConnectionId, run: &str) -> Result<(), StoreError> {
        for _ in 0..crate::store::UNHOLD_ATTEMPTS {
            let Some(connection) = self.get_connection(tenant, id).await? else { return Ok(()) };
            if !connection.held_runs.iter().any(|r| r == run) || self.unhold(&connection, run).await? {
                return Ok(());
            }
        }
        Err(StoreError::Conflict)
    }
}

/// Which part of the schedule's circle of connections a page comes from (see `page_connections_lap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lap {
    From,
    Before,
}

/// What a finished run leaves on its connection.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub state: Option<String>,
    pub full_at: Option<DateTime<Utc>>,
    pub active: Option<u64>,
    /// Who to read again next run, and whether they failed during the first import; `None` leaves the list.
    pub retry: Option<(Vec<String>, bool)>,
    pub held: bool,
}

fn list(values: &[String]) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}
