//! The SCIM 2.0 service provider's writes and reads. A write is kept as the client sent it and then applied to the
//! person at once, through the same observation as any HR reading: a new active user is a hire, `active: false` a
//! termination, a deletion a removal; all with the lifecycle's rules, audit entries and events.

use super::{Service, ServiceError};
use crate::domain::{EmployeeId, EmploymentStatus};
use crate::scim::filter::{self, Filter};
use crate::scim::patch::{self, PatchRequest};
use crate::scim::{ScimError, ScimType, user};
use crate::store::PendingChange;
use crate::store::{Connection, ScimLookup, ScimTokenOwner, ScimUser, StoreError};
use chrono::DateTime;
use chrono::Utc;
use serde_json::Value;

/// Why a SCIM request was not done.
#[derive(Debug, thiserror::Error)]
pub enum ScimFailure {
    #[error("no such user")]
    NotFound,
    /// 400 with the SCIM error type.
    #[error("{0}")]
    Bad(ScimError),
    /// 409: another user of this connection has that `userName`.
    #[error("another user has this userName")]
    Uniqueness,
    /// 412: `If-Match` names a version that is no longer current.
    #[error("the user has changed since the version given in If-Match")]
    Precondition,
    /// 409: another write to this user won the race; read it again.
    #[error("the user changed while this request was applied; read it again")]
    Conflict,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for ScimFailure {
    fn from(error: StoreError) -> Self {
        Self::Service(error.into())
    }
}

impl From<ScimError> for ScimFailure {
    fn from(error: ScimError) -> Self {
        Self::Bad(error)
    }
}

/// Users one list answer holds at most (`count` above this is lowered to it, as RFC 7644 allows).
pub const MAX_COUNT: u64 = 200;
/// Users a filter that no lookup serves may examine; a connection with more answers `tooMany` for such filters.
pub const MAX_SCANNED: usize = 10_000;
/// Users a page may be skipped over to reach a `startIndex` that no earlier page ended at.
pub const MAX_SKIPPED: u64 = 10_000;
/// Candidates one lookup yields at most.
const LOOKUP_LIMIT: i32 = 100;

/// The `ETag` (and `meta.version`) of a stored user.
pub fn etag(user: &ScimUser) -> String {
    format!("W/\"{}\"", user.version)
}

/// A user as SCIM returns it: what the client sent, the server's `id`, and `meta`.
pub fn render(user: &ScimUser, location: &str) -> Value {
    let mut resource = user.parsed().unwrap_or_else(|_| Value::Object(Default::default()));
    if let Some(object) = resource.as_object_mut() {
        object.insert("id".into(), Value::String(user.id.clone()));
        object.insert(
            "meta".into(),
            serde_json::json!({
                "resourceType": "User",
                "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "version": etag(user),
                "location": location,
            }),
        );
    }
    resource
}

fn check_version(user: &ScimUser, if_match: Option<&str>) -> Result<(), ScimFailure> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(tags) if tags.split(',').any(|t| t.trim() == etag(user)) => Ok(()),
        Some(_) => Err(ScimFailure::Precondition),
    }
}

/// Times a PUT or PATCH without `If-Match` is made again after losing to a concurrent write of the same user.
const REWRITE_ATTEMPTS: usize = 12;

/// Candidates a filter's lookups may yield; more is `tooMany`.
const MAX_CANDIDATES: usize = 1_000;

/// Makes `resource` the user's, with the lookup keys it gives.
fn keep(stored: &mut ScimUser, resource: &Value) {
    stored.user_name = user::user_name(resource);
    stored.external_id = user::external_id(resource);
    stored.emails = user::email_keys(resource);
    stored.resource = resource.to_string();
}

/// A fresh SCIM bearer token and its hash.
fn new_token() -> (String, String) {
    let (key, _) = crate::apikey::generate();
    let token = format!("scim_{}", &key[crate::apikey::PREFIX.len()..]);
    let hash = crate::apikey::hash(&token);
    (token, hash)
}

/// One page of a list answer.
pub struct ScimPage {
    pub total: u64,
    pub start_index: u64,
    pub users: Vec<ScimUser>,
}

impl Service {
    /// The connection an `Authorization: Bearer` SCIM token speaks for: the token's hash must be the one the
    /// connection holds now (a rotated token stops working at once) and the connection must still exist.
    pub async fn scim_authorize(&self, authorization: Option<&str>) -> Result<Option<Connection>, ServiceError> {
        let Some(token) = authorization.and_then(crate::apikey::bearer) else { return Ok(None) };
        let hash = crate::apikey::hash(token);
        let Some(owner) = self.store.scim_token_owner(&hash).await? else { return Ok(None) };
        let connection = self.store.get_connection(&owner.tenant_id, &owner.connection_id).await?;
        Ok(connection.filter(|c| c.scim_token_hash.as_deref() == Some(hash.as_str())))
    }

    /// Issues the connection's SCIM token, revoking the one before: shown once, stored as its hash.
    pub async fn rotate_scim_token(&self, connection: &Connection) -> Result<String, ServiceError> {
        let (token, hash) = new_token();
        let owner = ScimTokenOwner { tenant_id: connection.tenant_id.clone(), connection_id: connection.id.clone() };
        self.store.scim_put_token(&hash, &owner).await?;
        let previous = self.store.scim_set_token_hash(&connection.tenant_id, &connection.id, &hash).await?;
        if let Some(previous) = previous.filter(|p| *p != hash) {
            self.store.scim_delete_token(&previous).await?;
        }
        Ok(token)
    }

    pub async fn scim_get(&self, connection: &Connection, id: &str) -> Result<ScimUser, ScimFailure> {
        self.store.scim_get_user(&connection.tenant_id, &connection.id, id).await?.ok_or(ScimFailure::NotFound)
    }

    /// `POST /Users`: keeps the user and applies the person (a hire when active).
    pub async fn scim_create(&self, connection: &Connection, body: Value) -> Result<ScimUser, ScimFailure> {
        let resource = user::accept(body)?;
        let now = Utc::now();
        let mut stored = ScimUser {
            tenant_id: connection.tenant_id.clone(),
            connection_id: connection.id.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            user_name: String::new(),
            external_id: None,
            emails: Vec::new(),
            resource: String::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        keep(&mut stored, &resource);
        match self.store.scim_create_user(&stored).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(self.taken(connection, &stored.user_name).await?),
            Err(error) => return Err(error.into()),
        }
        self.apply_person(connection, &stored, &resource).await?;
        Ok(stored)
    }

    /// Why a create lost: the `userName` is taken (409 `uniqueness`), or a concurrent write won (409, read
    /// again). A user kept by an earlier attempt whose person was never applied (the attempt failed in between)
    /// is applied now, so the client's retry, answered 409, still brings the person in.
    async fn taken(&self, connection: &Connection, user_name: &str) -> Result<ScimFailure, ScimFailure> {
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let holders = self.store.scim_lookup(tenant, conn, ScimLookup::UserName, user_name, 1).await?;
        let Some(holder) = holders.first() else { return Ok(ScimFailure::Conflict) };
        if let Some(user) = self.store.scim_get_user(tenant, conn, holder).await?
            && self.store.get_employee(tenant, &EmployeeId::derive(conn, &user.id)).await?.is_none()
        {
            self.apply_person(connection, &user, &user.parsed()?).await?;
        }
        Ok(ScimFailure::Uniqueness)
    }

    /// `PUT /Users/{id}`: replaces the user as sent (never creates one).
    pub async fn scim_replace(
        &self,
        connection: &Connection,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimFailure> {
        let resource = user::accept(body)?;
        self.rewrite(connection, id, if_match, |_| Ok(resource.clone())).await
    }

    /// `PATCH /Users/{id}`: the operations applied together, or none of them.
    pub async fn scim_patch(
        &self,
        connection: &Connection,
        id: &str,
        request: &PatchRequest,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimFailure> {
        self.rewrite(connection, id, if_match, |before| {
            let mut resource = before.parsed()?;
            patch::apply(&mut resource, request)?;
            Ok(user::accept(resource)?)
        })
        .await
    }

    /// Reads the user, makes its next resource and writes it. A write that loses to a concurrent one is made again
    /// from the newer user, unless the client named the version it meant (`If-Match`: then 412).
    async fn rewrite(
        &self,
        connection: &Connection,
        id: &str,
        if_match: Option<&str>,
        next: impl Fn(&ScimUser) -> Result<Value, ScimFailure>,
    ) -> Result<ScimUser, ScimFailure> {
        let mut attempt = 0;
        loop {
            let before = self.scim_get(connection, id).await?;
            check_version(&before, if_match)?;
            let resource = next(&before)?;
            attempt += 1;
            match self.write(connection, before, resource).await {
                Err(ScimFailure::Conflict) if if_match.is_none() && attempt < REWRITE_ATTEMPTS => {
                    // Several writers at once on one user: wait a little, differently each, before reading again.
                    let jitter = u64::from(rand::random::<u8>() % 20);
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64 + jitter)).await;
                    continue;
                }
                done => return done,
            }
        }
    }

    async fn write(&self, connection: &Connection, before: ScimUser, resource: Value) -> Result<ScimUser, ScimFailure> {
        let mut after = ScimUser { version: before.version + 1, updated_at: Utc::now(), ..before.clone() };
        keep(&mut after, &resource);
        if after.user_name != before.user_name {
            let holders = self
                .store
                .scim_lookup(&connection.tenant_id, &connection.id, ScimLookup::UserName, &after.user_name, 1)
                .await?;
            if holders.iter().any(|holder| *holder != after.id) {
                return Err(ScimFailure::Uniqueness);
            }
        }
        match self.store.scim_replace_user(&before, &after).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(ScimFailure::Conflict),
            Err(error) => return Err(error.into()),
        }
        self.apply_person(connection, &after, &resource).await?;
        Ok(after)
    }

    /// `DELETE /Users/{id}`: the user is gone, and so is the person (a removal: offboarded if IT looked after
    /// them).
    pub async fn scim_delete(
        &self,
        connection: &Connection,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimFailure> {
        let user = self.scim_get(connection, id).await?;
        check_version(&user, if_match)?;
        // The person first: should deleting the user then fail, the client's retry finds the user and does both,
        // the removal again being nothing new.
        self.remove_within_safeguard(connection, &user.id).await?;
        match self.store.scim_delete_user(&user).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict) => Err(ScimFailure::Conflict),
            Err(error) => Err(error.into()),
        }
    }

    /// A SCIM deletion's removal of the person: applied at once while the day's removals of active people stay
    /// within the connection's safeguard (the same share and minimum as a sync run's, of the people the connection
    /// had that day); past it, held on one run for an admin to approve (the removals are applied) or reject (the
    /// people stay). The SCIM user is gone either way: the client is answered as it expects.
    async fn remove_within_safeguard(&self, connection: &Connection, hr_id: &str) -> Result<(), ServiceError> {
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let now = Utc::now();
        let id = EmployeeId::derive(conn, hr_id);
        let there = self.store.get_employee(tenant, &id).await?.is_some_and(|e| !e.has_left());
        // Someone who already left (or was never known) has nothing to offboard: not counted.
        if there && let Some(threshold) = self.past_safeguard(connection, now).await? {
            let change = PendingChange { employee_id: id, hr_id: hr_id.to_owned(), record: None, observed_at: now };
            return self.hold(connection, change, threshold, now).await;
        }
        self.remove(tenant, conn, hr_id, now).await.map(drop)
    }

    /// Counts one more offboarding by this SCIM client today (a deletion or a deactivation of someone still
    /// there); the threshold, when the day's count has gone past it.
    async fn past_safeguard(&self, connection: &Connection, now: DateTime<Utc>) -> Result<Option<u64>, ServiceError> {
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let offboarded = self.store.scim_count_removal(tenant, conn, now).await?;
        let users = self.store.scim_user_count(tenant, conn).await?;
        let threshold = connection.safeguard_threshold(users + offboarded);
        Ok((offboarded > threshold).then_some(threshold))
    }

    /// Adds a termination or removal to the connection's open SCIM hold, starting one if there is none.
    async fn hold(
        &self,
        connection: &Connection,
        change: PendingChange,
        threshold: u64,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        use crate::store::{Checkpoint, Phase, RunMode, RunStatus, RunTrigger, SyncRun};
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        for _ in 0..super::ATTEMPTS {
            let fresh = self.store.get_connection(tenant, conn).await?.ok_or(ServiceError::NotFound("connection"))?;
            let mut open = None;
            for run_id in &fresh.held_runs {
                if let Some(run) = self.store.get_run(tenant, conn, run_id).await?
                    && run.trigger == RunTrigger::Push
                    && run.status == RunStatus::Held
                {
                    open = Some(run);
                }
            }
            let run = match open {
                Some(run) => run,
                None => {
                    let mut run =
                        SyncRun::new(tenant.clone(), conn.clone(), RunTrigger::Push, RunMode::Incremental, false, now);
                    run.status = RunStatus::Held;
                    run.started_at = Some(now);
                    run.threshold = threshold;
                    run.checkpoint = Checkpoint { phase: Phase::Applying, ..Checkpoint::default() };
                    self.store.create_run(tenant, &run).await?;
                    self.store.scim_hold_run(tenant, conn, &run.run_id).await?;
                    tracing::warn!(run_id = %run.run_id, threshold, "SCIM deletions past the safeguard: held");
                    run
                }
            };
            self.store.put_pending(tenant, &run.run_id, std::slice::from_ref(&change), now).await?;
            self.store.scim_count_pending(tenant, &run.key()).await?;
            // Answered meanwhile? Then the admin never saw this one: it goes on the next hold.
            let still_held =
                self.store.get_run(tenant, conn, &run.run_id).await?.is_some_and(|r| r.status == RunStatus::Held);
            if still_held {
                return Ok(());
            }
        }
        Err(crate::store::StoreError::Conflict.into())
    }

    /// Applies the person a kept user describes, as of the write that kept it (so two writes applied out of order
    /// end with the later one). A deactivation of someone still there counts against the safeguard like a
    /// deletion; the date of a termination is the day it was first seen, not moved by later writes.
    async fn apply_person(
        &self,
        connection: &Connection,
        stored: &ScimUser,
        resource: &Value,
    ) -> Result<(), ServiceError> {
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let mut employee = user::to_employee(&stored.id, resource, stored.updated_at.date_naive());
        let id = EmployeeId::derive(conn, &stored.id);
        // Only a deactivation needs the person as stored (an active user's write reads nothing more here).
        let current = match employee.status {
            EmploymentStatus::Terminated => self.store.get_employee(tenant, &id).await?,
            _ => None,
        };
        if let Some(current) = &current {
            if current.hr.status == EmploymentStatus::Terminated {
                employee.end_date = current.hr.end_date.or(employee.end_date);
            } else if !current.has_left()
                && let Some(threshold) = self.past_safeguard(connection, stored.updated_at).await?
            {
                let at = stored.updated_at;
                let change = PendingChange {
                    employee_id: id,
                    hr_id: stored.id.clone(),
                    record: Some(employee),
                    observed_at: at,
                };
                return self.hold(connection, change, threshold, at).await;
            }
        }
        // Within the connection's initial-import window, someone new already works there (no onboarding).
        let hours = match &connection.provider {
            crate::providers::Settings::Scim(settings) => settings.initial_import_hours.unwrap_or(0),
            _ => 0,
        };
        let initial = stored.updated_at < connection.created_at + chrono::Duration::hours(i64::from(hours));
        self.observe(tenant, conn, employee, stored.updated_at, initial).await.map(drop)
    }

    /// `GET /Users` and `.search`: the users matching `filter` (all without one), from `start_index` (1-based),
    /// `count` at most. Filters on `userName`, `externalId` or an email with `eq` (alone, or joined by `or`, or
    /// with `and` beside other conditions) read lookups; any other filter examines the connection's users, up to
    /// [`MAX_SCANNED`].
    pub async fn scim_search(
        &self,
        connection: &Connection,
        filter: Option<&Filter>,
        start_index: u64,
        count: u64,
    ) -> Result<ScimPage, ScimFailure> {
        let start_index = start_index.max(1);
        let count = count.min(MAX_COUNT);
        let Some(filter) = filter else { return self.scim_page(connection, start_index, count).await };
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let matched: Vec<ScimUser> = match filter.eq_lookups() {
            Some(lookups) => {
                let mut ids = Vec::new();
                for (attribute, value) in lookups {
                    let lookup = match attribute.as_str() {
                        "userName" => ScimLookup::UserName,
                        "externalId" => ScimLookup::ExternalId,
                        _ => ScimLookup::Email,
                    };
                    ids.extend(self.store.scim_lookup(tenant, conn, lookup, &value, LOOKUP_LIMIT).await?);
                }
                ids.sort_unstable();
                ids.dedup();
                if ids.len() > MAX_CANDIDATES {
                    let detail = format!("the filter matches more than {MAX_CANDIDATES} users; narrow it");
                    return Err(ScimFailure::Bad(ScimError::new(ScimType::TooMany, detail)));
                }
                let users = self.store.scim_get_users(tenant, conn, &ids).await?;
                users.into_iter().filter(|u| filter::matches(filter, &render(u, ""))).collect()
            }
            None => {
                let mut matched = Vec::new();
                let mut after: Option<String> = None;
                let mut scanned = 0usize;
                loop {
                    let (users, last) = self.store.scim_users_page(tenant, conn, after.as_deref(), 500).await?;
                    scanned += users.len();
                    matched.extend(users.into_iter().filter(|u| filter::matches(filter, &render(u, ""))));
                    match last {
                        Some(_) if scanned >= MAX_SCANNED => {
                            return Err(ScimFailure::Bad(ScimError::new(
                                ScimType::TooMany,
                                format!(
                                    "this connection holds more than {MAX_SCANNED} users: filter with eq on userName, \
                                     externalId or emails.value"
                                ),
                            )));
                        }
                        Some(last) => after = Some(last),
                        None => break,
                    }
                }
                matched
            }
        };
        let total = matched.len() as u64;
        let users = matched.into_iter().skip((start_index - 1) as usize).take(count as usize).collect();
        Ok(ScimPage { total, start_index, users })
    }

    /// A page of every user, in id order. A page that starts where an earlier one ended starts from that one's
    /// marker, so a client paging through 100,000 users reads each page once.
    async fn scim_page(&self, connection: &Connection, start_index: u64, count: u64) -> Result<ScimPage, ScimFailure> {
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let total = self.store.scim_user_count(tenant, conn).await?;
        if count == 0 || start_index > total {
            return Ok(ScimPage { total, start_index, users: Vec::new() });
        }
        let mut after =
            if start_index == 1 { None } else { self.store.scim_page_marker(tenant, conn, start_index).await? };
        if start_index > 1 && after.is_none() {
            let mut skip = start_index - 1;
            if skip > MAX_SKIPPED {
                return Err(ScimFailure::Bad(ScimError::new(
                    ScimType::TooMany,
                    format!(
                        "page from startIndex 1 onwards, or from a startIndex an earlier page ended at (at most {MAX_SKIPPED} ahead)"
                    ),
                )));
            }
            while skip > 0 {
                let (users, last) =
                    self.store.scim_users_page(tenant, conn, after.as_deref(), skip.min(1000) as i32).await?;
                skip -= users.len() as u64;
                after = users.last().map(ScimUser::sort_key).or(last);
                if users.is_empty() {
                    return Ok(ScimPage { total, start_index, users: Vec::new() });
                }
            }
        }
        let mut users = Vec::new();
        while (users.len() as u64) < count {
            let want = (count - users.len() as u64) as i32;
            let (page, last) = self.store.scim_users_page(tenant, conn, after.as_deref(), want).await?;
            users.extend(page);
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        if let Some(last) = users.last()
            && (users.len() as u64) == count
        {
            let next = start_index + count;
            self.store.scim_put_page_marker(tenant, conn, next, &last.sort_key(), Utc::now()).await?;
        }
        Ok(ScimPage { total, start_index, users })
    }
}
