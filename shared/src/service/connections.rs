//! Connecting HR systems: create, delete, rotate the webhook secret. Credentials and webhook secrets go to
//! Secrets Manager, never to DynamoDB; each change is audited.

use super::{Acting, Service, ServiceError};
use crate::domain::ConnectionId;
use crate::providers::NewConnection;
use crate::secrets::{ConnectionSecret, Secrets};
use crate::store::{AuditAction, AuditEntry, Commit, Connection, ConnectionChange, Subject};
use chrono::Utc;

/// A connection just made (or whose webhook secret was just rotated), with the webhook secret: the only time it
/// is shown.
pub struct CreatedConnection {
    pub connection: Connection,
    pub webhook_secret: String,
    /// A pushed (SCIM) connection's bearer token, issued with it and on every rotation.
    pub scim_token: Option<String>,
}

/// A fresh webhook signing secret.
fn webhook_secret() -> String {
    format!("whsec_{}", &crate::apikey::generate().0[crate::apikey::PREFIX.len()..])
}

impl Service {
    pub async fn connection(&self, acting: &Acting, id: &str) -> Result<Connection, ServiceError> {
        let id = ConnectionId::parse(id).ok_or(ServiceError::NotFound("connection"))?;
        self.store.get_connection(&acting.tenant, &id).await?.ok_or(ServiceError::NotFound("connection"))
    }

    /// Connects an HR system: settings and credentials checked field by field, the secrets stored first (a
    /// connection never exists without them), then the connection with its audit entry.
    /// `egress` says which `base_url` this deployment may be given (see [`crate::providers::Egress`]).
    pub async fn create_connection(
        &self,
        secrets: &Secrets,
        egress: crate::providers::Egress,
        acting: &Acting,
        new: NewConnection,
    ) -> Result<CreatedConnection, ServiceError> {
        let (settings, credentials, schedule) = new.validate(egress).map_err(ServiceError::InvalidFields)?;
        let mut connection = Connection::new(acting.tenant.clone(), settings);
        connection.secret_id = secrets.secret_id(&acting.tenant, &connection.id);
        connection.poll_interval_secs = schedule.poll_interval_secs();
        connection.full_interval_secs = schedule.full_sync_interval_hours.map(|h| u64::from(h) * 3600);
        connection.safeguard_percent = schedule.safeguard_percent;
        connection.safeguard_minimum = schedule.safeguard_minimum;
        let webhook_secret = webhook_secret();
        let secret =
            ConnectionSecret { credentials, webhook_secrets: vec![webhook_secret.clone()], refresh_token: None };
        secrets.create(&connection.secret_id, &secret).await?;
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::ConnectionCreated, subject, Utc::now());
        audit.after = serde_json::to_value(&connection.provider).ok();
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Create(connection.clone()));
        self.store.commit(&commit).await?;
        let scim_token = self.scim_token_if_pushed(&mut connection).await?;
        Ok(CreatedConnection { connection, webhook_secret, scim_token })
    }

    /// A pushed connection's new SCIM token (the one before it stops working), kept as a hash on `connection`.
    async fn scim_token_if_pushed(&self, connection: &mut Connection) -> Result<Option<String>, ServiceError> {
        if !connection.provider.kind().capabilities().push {
            return Ok(None);
        }
        let token = self.rotate_scim_token(connection).await?;
        connection.scim_token_hash = Some(crate::apikey::hash(&token));
        Ok(Some(token))
    }

    /// Stops syncing from this HR system; its employees, tasks and history stay. Its secret is deleted after
    /// Secrets Manager's recovery window.
    pub async fn delete_connection(&self, secrets: &Secrets, acting: &Acting, id: &str) -> Result<(), ServiceError> {
        let connection = self.connection(acting, id).await?;
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::ConnectionDeleted, subject, Utc::now());
        audit.before = serde_json::to_value(&connection.provider).ok();
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Delete(connection.clone()));
        match self.store.commit(&commit).await {
            Ok(()) => {}
            // Deleted meanwhile by someone else.
            Err(crate::store::StoreError::Conflict) => return Err(ServiceError::NotFound("connection")),
            Err(e) => return Err(e.into()),
        }
        if let Some(hash) = &connection.scim_token_hash
            && let Err(error) = self.store.scim_delete_token(hash).await
        {
            // The token no longer opens anything (its connection is gone); it is logged for clean-up.
            tracing::error!(%error, connection_id = %connection.id, "could not delete the connection's SCIM token");
        }
        if let Err(error) = secrets.delete(&connection.secret_id).await {
            // The connection is gone and nothing reads the secret any more; it is logged for clean-up.
            tracing::error!(%error, connection_id = %connection.id, "could not delete the connection's secret");
        }
        Ok(())
    }

    /// Makes a new webhook secret. The previous one keeps working until the next rotation, so the HR system can
    /// be switched over without losing deliveries.
    pub async fn rotate_webhook_secret(
        &self,
        secrets: &Secrets,
        acting: &Acting,
        id: &str,
    ) -> Result<CreatedConnection, ServiceError> {
        let mut connection = self.connection(acting, id).await?;
        let webhook_secret = webhook_secret();
        let newest = webhook_secret.clone();
        secrets
            .update(&self.store, &connection.secret_id, move |stored| {
                stored.webhook_secrets.insert(0, newest);
                stored.webhook_secrets.truncate(2);
            })
            .await?;
        let subject = Subject::Connection(connection.id.clone());
        let audit = AuditEntry::new(acting.actor.clone(), AuditAction::WebhookSecretRotated, subject, Utc::now());
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Touch);
        self.store.commit(&commit).await?;
        let scim_token = self.scim_token_if_pushed(&mut connection).await?;
        Ok(CreatedConnection { connection, webhook_secret, scim_token })
    }
}

/// What an admin asks of "sync now".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncOptions {
    /// Read everyone, not only what changed, and find who the HR system no longer lists.
    #[serde(default)]
    pub full: bool,
    /// Record what the run would do (counts and a sample of names per kind) and apply nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[cfg(feature = "sqs")]
impl Service {
    /// "Sync now": records a queued run and puts its first step on the run queue, where the worker runs it as the
    /// schedule would. While a run of the connection is in progress, that run is the answer (`false`: nothing new
    /// was started); a preview always starts.
    pub async fn request_sync(
        &self,
        runs: &crate::queue::Queue,
        acting: &Acting,
        id: &str,
        options: SyncOptions,
    ) -> Result<(Connection, crate::store::SyncRun, bool), ServiceError> {
        use crate::store::{RunMode, RunTrigger};
        let mode = if options.full { RunMode::Full } else { RunMode::Incremental };
        // Read afresh each attempt: a run the schedule started in between is the answer.
        let (connection, run, started) = super::retry_on_conflict(|| async {
            let connection = self.connection(acting, id).await?;
            if !connection.provider.kind().capabilities().full_listing {
                return Err(ServiceError::not_allowed(
                    "pushed-connection",
                    "This HR system pushes its changes",
                    "a SCIM connection is written to by its client; there is nothing for IT Hub to read",
                ));
            }
            if !options.dry_run
                && let Some(run) = crate::schedule::current_run(&self.store, &connection).await?
            {
                // A run already in progress is the answer; asking for a sync also carries on one that stalled.
                crate::schedule::resume_if_stalled(runs, &connection, &run, Utc::now()).await?;
                return Ok((connection, run, false));
            }
            let run =
                crate::schedule::start_run(&self.store, runs, &connection, RunTrigger::Manual, mode, options.dry_run)
                    .await
                    .map_err(|e| match e {
                        crate::schedule::StartError::Store(e) => ServiceError::Store(e),
                        crate::schedule::StartError::Queue(e) => ServiceError::Queue(e),
                        crate::schedule::StartError::Busy => ServiceError::Store(crate::store::StoreError::Conflict),
                    })?;
            Ok((connection, run, true))
        })
        .await?;
        if !started {
            return Ok((connection, run, false));
        }
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::SyncRequested, subject, Utc::now());
        audit.after =
            Some(serde_json::json!({ "run_id": run.run_id, "full": options.full, "dry_run": options.dry_run }));
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Touch);
        self.store.commit(&commit).await?;
        Ok((connection, run, true))
    }

    /// An admin's answer to a run the safeguard held: approved, its terminations and removals are queued (the
    /// run carries on); rejected, they are discarded. Audited either way.
    pub async fn decide_held_run(
        &self,
        runs: &crate::queue::Queue,
        acting: &Acting,
        id: &str,
        run_id: &str,
        approve: bool,
    ) -> Result<crate::store::SyncRun, ServiceError> {
        use crate::store::{Phase, RunStatus, SafeguardDecision};
        let connection = self.connection(acting, id).await?;
        let run_id = crate::domain::RunId::parse(run_id).ok_or(ServiceError::NotFound("run"))?;
        let mut run = self
            .store
            .get_run(&acting.tenant, &connection.id, run_id.as_str())
            .await?
            .ok_or(ServiceError::NotFound("run"))?;
        if run.status != RunStatus::Held {
            return Err(ServiceError::not_allowed(
                "run-not-held",
                "The run is not waiting for an answer",
                format!("only a held run can be approved or rejected; this one is {:?}", run.status).to_lowercase(),
            ));
        }
        let now = Utc::now();
        let by = acting.actor.label();
        run.safeguard = Some(SafeguardDecision { approved: approve, by, at: now });
        if approve {
            run.status = RunStatus::Running;
            run.checkpoint.phase = Phase::Applying;
        } else {
            run.status = RunStatus::Succeeded;
            run.checkpoint.phase = Phase::Done;
            run.ended_at = Some(now);
        }
        if !self.store.advance_run(&acting.tenant, &mut run).await? {
            return Err(crate::store::StoreError::Conflict.into());
        }
        let action = if approve { AuditAction::RunApproved } else { AuditAction::RunRejected };
        let mut audit = AuditEntry::new(acting.actor.clone(), action, Subject::Connection(connection.id.clone()), now);
        audit.after = Some(serde_json::json!({ "run_id": run.run_id, "pending": run.pending }));
        self.store.commit(&Commit::new(acting.tenant.clone(), audit)).await?;
        self.store.unhold_run(&acting.tenant, &connection.id, &run.run_id).await?;
        if approve {
            // The run holds the connection again while it applies, so the schedule resumes it should its message
            // be lost.
            let until = now + chrono::Duration::seconds(crate::resources::RUN_LEASE_SECS as i64);
            self.store.claim_connection(&acting.tenant, &connection.id, &run.run_id, until).await?;
            let step = crate::schedule::step_message(&acting.tenant, &run, run.checkpoint.step);
            runs.send(&[step]).await?;
        }
        Ok(run)
    }
}
