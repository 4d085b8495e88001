//! The SCIM 2.0 service provider's writes and reads. A write is kept as the client sent it and then applied to the
//! person at once, through the same observation as any HR reading: a new active user is a hire, `active: false` a
//! termination, a deletion a removal; all with the lifecycle's rules, audit entries and events.

use super::{Service, ServiceError};
use crate::scim::filter::{self, Filter};
use crate::scim::patch::{self, PatchRequest};
use crate::scim::{ScimError, ScimType, user};
use crate::store::{Connection, ScimLookup, ScimTokenOwner, ScimUser, StoreError};
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
    let mut resource: Value =
        serde_json::from_str(&user.resource).unwrap_or_else(|_| Value::Object(Default::default()));
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
        let stored = ScimUser {
            tenant_id: connection.tenant_id.clone(),
            connection_id: connection.id.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            user_name: user::user_name(&resource),
            external_id: user::external_id(&resource),
            emails: user::email_keys(&resource),
            resource: resource.to_string(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        match self.store.scim_create_user(&stored).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(ScimFailure::Uniqueness),
            Err(error) => return Err(error.into()),
        }
        self.apply_person(connection, &stored, &resource).await?;
        Ok(stored)
    }

    /// `PUT /Users/{id}`: replaces the user as sent (never creates one).
    pub async fn scim_replace(
        &self,
        connection: &Connection,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimFailure> {
        let before = self.scim_get(connection, id).await?;
        check_version(&before, if_match)?;
        self.write(connection, before, user::accept(body)?).await
    }

    /// `PATCH /Users/{id}`: the operations applied together, or none of them.
    pub async fn scim_patch(
        &self,
        connection: &Connection,
        id: &str,
        request: &PatchRequest,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimFailure> {
        let before = self.scim_get(connection, id).await?;
        check_version(&before, if_match)?;
        let mut resource: Value =
            serde_json::from_str(&before.resource).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        patch::apply(&mut resource, request)?;
        self.write(connection, before, user::accept(resource)?).await
    }

    async fn write(&self, connection: &Connection, before: ScimUser, resource: Value) -> Result<ScimUser, ScimFailure> {
        let after = ScimUser {
            user_name: user::user_name(&resource),
            external_id: user::external_id(&resource),
            emails: user::email_keys(&resource),
            resource: resource.to_string(),
            version: before.version + 1,
            updated_at: Utc::now(),
            ..before.clone()
        };
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
        match self.store.scim_delete_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(ScimFailure::Conflict),
            Err(error) => return Err(error.into()),
        }
        self.remove_within_safeguard(connection, &user.id).await?;
        Ok(())
    }

    /// A SCIM deletion's removal of the person: applied at once while the day's removals of active people stay
    /// within the connection's safeguard (the same share and minimum as a sync run's, of the people the connection
    /// had that day); past it, held on one run for an admin to approve (the removals are applied) or reject (the
    /// people stay). The SCIM user is gone either way: the client is answered as it expects.
    async fn remove_within_safeguard(&self, connection: &Connection, hr_id: &str) -> Result<(), ServiceError> {
        use crate::domain::{EmployeeId, EmploymentStatus, HubStatus};
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let now = Utc::now();
        let id = EmployeeId::derive(conn, hr_id);
        let active = self.store.get_employee(tenant, &id).await?.is_some_and(|e| {
            e.hr.status != EmploymentStatus::Terminated
                && !matches!(e.hub.status, HubStatus::Former | HubStatus::Offboarded)
        });
        if !active {
            // Nothing to offboard (already left, or never known): nothing for the safeguard to count.
            self.remove(tenant, conn, hr_id, now).await?;
            return Ok(());
        }
        let removals = self.store.scim_count_removal(tenant, conn, now).await?;
        let users = self.store.scim_user_count(tenant, conn).await?;
        let threshold = connection.safeguard_threshold(users + removals);
        if removals <= threshold {
            self.remove(tenant, conn, hr_id, now).await?;
            return Ok(());
        }
        self.hold_removal(connection, id, hr_id, threshold, now).await
    }

    /// Adds a removal to the connection's open SCIM hold, starting one if there is none.
    async fn hold_removal(
        &self,
        connection: &Connection,
        employee_id: crate::domain::EmployeeId,
        hr_id: &str,
        threshold: u64,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        use crate::store::{Checkpoint, PendingChange, Phase, RunMode, RunStatus, RunTrigger, SyncRun};
        let (tenant, conn) = (&connection.tenant_id, &connection.id);
        let change = PendingChange { employee_id, hr_id: hr_id.to_owned(), record: None, observed_at: now };
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

    async fn apply_person(
        &self,
        connection: &Connection,
        stored: &ScimUser,
        resource: &Value,
    ) -> Result<(), ServiceError> {
        let now = Utc::now();
        let employee = user::to_employee(&stored.id, resource, now.date_naive());
        // Within the connection's initial-import window, someone new already works there (no onboarding).
        let hours = match &connection.provider {
            crate::providers::Settings::Scim(settings) => settings.initial_import_hours.unwrap_or(0),
            _ => 0,
        };
        let initial = now < connection.created_at + chrono::Duration::hours(i64::from(hours));
        self.observe(&connection.tenant_id, &connection.id, employee, now, initial).await.map(drop)
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
