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
        connection.poll_interval_secs = schedule.poll_interval_secs();
        let webhook_secret = webhook_secret();
        let secret =
            ConnectionSecret { credentials, webhook_secrets: vec![webhook_secret.clone()], refresh_token: None };
        secrets.put(&connection.secret_id, &secret).await?;
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::ConnectionCreated, subject, Utc::now());
        audit.after = serde_json::to_value(&connection.provider).ok();
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Create(connection.clone()));
        self.store.commit(&commit).await?;
        Ok(CreatedConnection { connection, webhook_secret })
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
        let connection = self.connection(acting, id).await?;
        let mut stored = secrets.get_fresh(&connection.secret_id).await?;
        let webhook_secret = webhook_secret();
        stored.webhook_secrets.insert(0, webhook_secret.clone());
        stored.webhook_secrets.truncate(2);
        secrets.put(&connection.secret_id, &stored).await?;
        let subject = Subject::Connection(connection.id.clone());
        let audit = AuditEntry::new(acting.actor.clone(), AuditAction::WebhookSecretRotated, subject, Utc::now());
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Touch);
        self.store.commit(&commit).await?;
        Ok(CreatedConnection { connection, webhook_secret })
    }
}

#[cfg(feature = "sqs")]
impl Service {
    /// "Sync now": records a queued run and puts the request on the change queue, where the worker runs it as
    /// the schedule would.
    pub async fn request_sync(
        &self,
        queue: &crate::queue::Queue,
        acting: &Acting,
        id: &str,
    ) -> Result<(Connection, crate::store::SyncRun), ServiceError> {
        use crate::messages::{Message, SyncRequested};
        use crate::store::{RunTrigger, SyncRun};
        let connection = self.connection(acting, id).await?;
        let run = SyncRun::new(connection.id.clone(), RunTrigger::Manual, Utc::now());
        self.store.put_run(&acting.tenant, &run).await?;
        let request = Message::SyncRequested(SyncRequested {
            tenant_id: acting.tenant.clone(),
            connection_id: connection.id.clone(),
            run_key: run.key(),
            run_id: run.run_id.clone(),
        });
        queue.send(&[request]).await?;
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::SyncRequested, subject, Utc::now());
        audit.after = serde_json::to_value(&run.run_id).ok();
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::Touch);
        self.store.commit(&commit).await?;
        Ok((connection, run))
    }
}
