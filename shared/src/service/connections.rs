//! Connecting HR systems: create, delete, rotate the webhook secret. Credentials and webhook secrets go to
//! Secrets Manager, never to DynamoDB; each change is audited. IT Hub makes a connection's webhook secret, unless
//! its HR system issues it ([`crate::providers::ProviderKind::vendor_issues_webhook_secret`]): then the admin
//! pastes the one the HR system shows, with the credentials or by rotating.

use super::{Acting, Service, ServiceError};
use crate::domain::ConnectionId;
use crate::providers::NewConnection;
use crate::secrets::{ConnectionSecret, Secrets};
use crate::store::{AuditAction, AuditEntry, Commit, Connection, ConnectionChange, Subject};
use chrono::Utc;

/// A connection just made (or whose webhook secret was just rotated), with the webhook secret IT Hub made: the
/// only time it is shown. `None` when the HR system issues the secret (the admin has it already).
pub struct CreatedConnection {
    pub connection: Connection,
    pub webhook_secret: Option<String>,
    /// A pushed (SCIM) connection's bearer token, issued with it and on every rotation.
    pub scim_token: Option<String>,
}

/// A fresh webhook signing secret.
fn webhook_secret() -> String {
    format!("whsec_{}", &crate::apikey::generate().0[crate::apikey::PREFIX.len()..])
}

/// What an admin sends to rotate a connection's webhook secret: nothing for IT Hub to make a new one, or, for an HR
/// system that issues the secret, the one it shows now. No `Debug`: it holds the secret.
#[derive(Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRotation {
    /// The webhook secret the HR system shows (only for an HR system that issues it), pasted as
    /// shown. Write-only: it is never shown back.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(write_only, min_length = 1, max_length = 4096, pattern = r"^\S([\s\S]*\S)?$")
    )]
    pub webhook_secret: Option<String>,
}

/// The secret a rotation keeps newest: a pasted one where the HR system issues it, else one IT Hub makes. Sending a
/// secret where IT Hub makes it, or none where the HR system issues it, is refused as not fitting the connection's
/// HR system (409: the body is well formed; which is right depends on the connection).
fn rotated_secret(kind: crate::providers::ProviderKind, pasted: Option<String>) -> Result<String, ServiceError> {
    let field = |reason: String| {
        ServiceError::InvalidFields(vec![crate::validation::FieldError { field: "webhook_secret".into(), reason }])
    };
    let name = kind.display_name();
    match (kind.vendor_issues_webhook_secret(), pasted) {
        (true, Some(secret)) if crate::providers::pasted_secret_ok(&secret) => Ok(secret),
        (true, Some(_)) => Err(field(crate::providers::PASTED_SECRET_RULE.into())),
        (true, None) => Err(ServiceError::not_allowed(
            "webhook-secret-needed",
            "This HR system issues the webhook secret",
            format!("{name} issues this connection's webhook secret: paste the one it shows as webhook_secret"),
        )),
        (false, None) => Ok(webhook_secret()),
        (false, Some(_)) => Err(ServiceError::not_allowed(
            "webhook-secret-made-by-it-hub",
            "IT Hub makes this connection's webhook secret",
            format!("IT Hub makes the webhook secret for {name}: send no webhook_secret"),
        )),
    }
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
        let (settings, mut credentials, schedule) = new.validate(egress).map_err(ServiceError::InvalidFields)?;
        let cap = self.store.connection_cap();
        if self.store.tenant_connections(&acting.tenant).await? >= u64::from(cap) {
            return Err(ServiceError::not_allowed(
                "connection-limit",
                "The tenant has as many connections as it may",
                format!("a tenant may have {cap} connections: delete one before making another"),
            ));
        }
        let mut connection = Connection::new(acting.tenant.clone(), settings);
        connection.secret_id = secrets.secret_id(&acting.tenant, &connection.id);
        connection.poll_interval_secs = schedule.poll_interval_secs();
        connection.full_interval_secs = schedule.full_sync_interval_hours.map(|h| u64::from(h) * 3600);
        connection.safeguard_percent = schedule.safeguard_percent;
        connection.safeguard_minimum = schedule.safeguard_minimum;
        // An HR system that issues the secret: the one pasted with the credentials, if any yet; else IT Hub's own.
        let pasted = credentials.take_webhook_secret();
        let webhook_secret = (!connection.provider.kind().vendor_issues_webhook_secret()).then(webhook_secret);
        let webhook_secrets = webhook_secret.iter().cloned().chain(pasted).collect();
        let secret = ConnectionSecret { credentials, webhook_secrets, refresh_token: None, registered_webhook: None };
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
    /// A webhook IT Hub registered with the HR system is deleted there (through `http`) first.
    pub async fn delete_connection(
        &self,
        secrets: &Secrets,
        http: &crate::providers::Http,
        acting: &Acting,
        id: &str,
    ) -> Result<(), ServiceError> {
        let connection = self.connection(acting, id).await?;
        self.delete_registered_webhook(secrets, http, &connection).await;
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

    /// Makes a new webhook secret, or keeps the one pasted from an HR system that issues it. The previous one
    /// keeps working until the next rotation, so the HR system can be switched over without losing deliveries.
    /// Where IT Hub registered the connection's webhook with the HR system (and nothing is pasted), a new
    /// registration replaces it (through `http`, delivering to `webhook_url`): its key, which the HR system
    /// issues, becomes the newest; where IT Hub makes the secret, the new registration carries the new secret.
    pub async fn rotate_webhook_secret(
        &self,
        secrets: &Secrets,
        http: &crate::providers::Http,
        acting: &Acting,
        id: &str,
        rotation: WebhookSecretRotation,
        webhook_url: &str,
    ) -> Result<CreatedConnection, ServiceError> {
        let mut connection = self.connection(acting, id).await?;
        let kind = connection.provider.kind();
        let issued = kind.vendor_issues_webhook_secret();
        if rotation.webhook_secret.is_none()
            && issued
            && self.reregister_webhook(secrets, http, acting, &connection, webhook_url, None).await?.is_some()
        {
            let scim_token = self.scim_token_if_pushed(&mut connection).await?;
            return Ok(CreatedConnection { connection, webhook_secret: None, scim_token });
        }
        let newest = rotated_secret(kind, rotation.webhook_secret)?;
        let webhook_secret = (!issued).then(|| newest.clone());
        // A webhook IT Hub registered with the secret it made as its token is registered anew with the new one
        // (which that keeps); otherwise the new secret is kept here.
        let token = crate::providers::auth::Secret::new(newest.clone());
        let reregistered = !issued
            && self.reregister_webhook(secrets, http, acting, &connection, webhook_url, Some(&token)).await?.is_some();
        if !reregistered {
            secrets
                .update(&self.store, &connection.secret_id, move |stored| {
                    // The same secret pasted again is not a rotation: the previous one stays valid.
                    stored.webhook_secrets.retain(|s| *s != newest);
                    stored.webhook_secrets.insert(0, newest);
                    stored.webhook_secrets.truncate(2);
                })
                .await?;
        }
        let subject = Subject::Connection(connection.id.clone());
        let audit = AuditEntry::new(acting.actor.clone(), AuditAction::WebhookSecretRotated, subject, Utc::now());
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::SecretsChanged(connection.id.clone()));
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
    /// "Sync now" (or a preview): records a queued run and puts its first step on the run queue, where the worker
    /// runs it as the schedule would. While a run of the connection is in progress, a preview included, that run
    /// is the answer (`false`: nothing new was started): a hundred previews asked for at once make one run.
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
            if let Some(run) = crate::schedule::current_run(&self.store, &connection).await? {
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

    /// Stops a queued or running run: it is marked cancelled with a checkpoint of its own, so the worker's next
    /// checkpoint (after the page or batch in hand) is refused and the step ends there; the connection is let go.
    /// What the run applied stays, and the change-feed state is left where it was, so the next run reads again
    /// what this one did not finish. Audited. A held run is answered by rejecting it; a finished one is refused.
    pub async fn cancel_run(
        &self,
        acting: &Acting,
        id: &str,
        run_id: &str,
    ) -> Result<crate::store::SyncRun, ServiceError> {
        use crate::store::RunStatus;
        let connection = self.connection(acting, id).await?;
        let run_id = crate::domain::RunId::parse(run_id).ok_or(ServiceError::NotFound("run"))?;
        let run = super::retry_on_conflict(|| async {
            let mut run = self
                .store
                .get_run(&acting.tenant, &connection.id, run_id.as_str())
                .await?
                .ok_or(ServiceError::NotFound("run"))?;
            match run.status {
                RunStatus::Queued | RunStatus::Running => {}
                RunStatus::Held => {
                    return Err(ServiceError::not_allowed(
                        "run-held",
                        "The run is waiting for an answer",
                        "a held run has stopped already: reject it to discard what it holds",
                    ));
                }
                status => {
                    return Err(ServiceError::not_allowed(
                        "run-finished",
                        "The run has finished",
                        format!("only a queued or running run can be cancelled; this one is {status:?}").to_lowercase(),
                    ));
                }
            }
            run.status = RunStatus::Cancelled;
            run.ended_at = Some(Utc::now());
            (run.lease_until, run.resumes_at) = (None, None);
            if !self.store.advance_run(&acting.tenant, &mut run).await? {
                return Err(crate::store::StoreError::Conflict.into());
            }
            Ok(run)
        })
        .await?;
        let release = crate::store::RunOutcome::default();
        self.store.finish_run_on_connection(&acting.tenant, &connection.id, &run.run_id, release).await?;
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::RunCancelled, subject, Utc::now());
        audit.after = Some(serde_json::json!({ "run_id": run.run_id, "pages": run.checkpoint.pages }));
        self.store.commit(&Commit::new(acting.tenant.clone(), audit)).await?;
        Ok(run)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderKind;

    fn refused_field(result: Result<String, ServiceError>) -> String {
        match result {
            Err(ServiceError::InvalidFields(errors)) => errors.iter().map(|e| e.field.clone()).collect(),
            Err(ServiceError::NotAllowed { detail, .. }) if detail.contains("webhook_secret") => {
                "webhook_secret".into()
            }
            _ => panic!("expected a refused field"),
        }
    }

    #[test]
    fn a_rotation_keeps_the_pasted_secret_where_the_hr_system_issues_it_and_makes_one_elsewhere() {
        assert_eq!(rotated_secret(ProviderKind::HiBob, Some("from-bob".into())).ok().as_deref(), Some("from-bob"));
        assert_eq!(refused_field(rotated_secret(ProviderKind::HiBob, None)), "webhook_secret");
        assert_eq!(refused_field(rotated_secret(ProviderKind::HiBob, Some(" padded".into()))), "webhook_secret");
        assert_eq!(refused_field(rotated_secret(ProviderKind::HiBob, Some(String::new()))), "webhook_secret");
        let made = rotated_secret(ProviderKind::Personio, None).ok().unwrap_or_default();
        assert!(made.starts_with("whsec_"), "IT Hub makes Personio's");
        assert_eq!(refused_field(rotated_secret(ProviderKind::Personio, Some("x".into()))), "webhook_secret");
    }
}
