//! A connection set up with its HR system the way that vendor does it: the connection check (every call a sync
//! and the webhooks will make, step by step), and the webhook IT Hub registers itself where the HR system lets it
//! (its signing key issued by the HR system once, in the answer to the registration, or the secret IT Hub made,
//! given to the HR system as the webhook's token): registered by the check, replaced by a rotation, deleted with
//! the connection.

use super::{Acting, Service, ServiceError};
use crate::domain::ConnectionId;
use crate::providers::auth::Secret;
use crate::providers::{CheckOutcome, CheckStep, HrProvider, Http, ProviderError, RegisteredWebhook};
use crate::secrets::Secrets;
use crate::store::{AuditAction, AuditEntry, Commit, Connection, ConnectionChange, Subject};
use chrono::{DateTime, Utc};

/// How long a check may take in all: well inside API Gateway's 29 s.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What a connection check found: a step per call, each passed, failed (with the reason, never a value), or
/// skipped.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionCheck {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    pub checked_at: DateTime<Utc>,
    /// No step failed.
    pub ok: bool,
    pub steps: Vec<CheckStep>,
}

impl Service {
    /// Checks a connection: the reads a sync makes (signing in, the fields the key may read, a page, one person),
    /// then its webhook, registering IT Hub's with the HR system where IT Hub does that and has none yet.
    /// `webhook_url` is where the HR system is to deliver.
    pub async fn check_connection(
        &self,
        secrets: &Secrets,
        http: &Http,
        acting: &Acting,
        id: &str,
        webhook_url: &str,
    ) -> Result<ConnectionCheck, ServiceError> {
        let connection = self.connection(acting, id).await?;
        let provider = secrets.connect(&connection, http.clone(), &self.store).await?;
        let checked_at = Utc::now();
        let mut steps = match tokio::time::timeout(CHECK_TIMEOUT, provider.check(checked_at.date_naive())).await {
            Ok(steps) => steps,
            Err(_) => vec![CheckStep::new(
                "list",
                CheckOutcome::Failed,
                format!("the HR system did not answer within {} s", CHECK_TIMEOUT.as_secs()),
            )],
        };
        steps.push(self.webhook_step(secrets, provider.as_ref(), acting, &connection, webhook_url).await?);
        let ok = steps.iter().all(|s| s.outcome != CheckOutcome::Failed);
        Ok(ConnectionCheck { connection_id: connection.id, checked_at, ok, steps })
    }

    /// The webhook part of a check. Where the HR system issues the key: a key already kept passes; else IT Hub
    /// registers its webhook if the HR system lets it, and otherwise the admin is asked to paste the key.
    async fn webhook_step(
        &self,
        secrets: &Secrets,
        provider: &dyn HrProvider,
        acting: &Acting,
        connection: &Connection,
        webhook_url: &str,
    ) -> Result<CheckStep, ServiceError> {
        let kind = connection.provider.kind();
        let name = kind.display_name();
        let capabilities = kind.capabilities();
        if !capabilities.webhooks {
            let why = if capabilities.push { "it pushes its records" } else { "it is read on a schedule" };
            return Ok(CheckStep::new("webhook", CheckOutcome::Skipped, format!("{name} sends no webhooks: {why}")));
        }
        let stored = secrets.get_fresh(&connection.secret_id).await?;
        if let Some(id) = &stored.registered_webhook {
            let detail = format!("IT Hub's webhook is registered with {name} (webhook {id})");
            return Ok(CheckStep::new("webhook", CheckOutcome::Passed, detail));
        }
        let issued = kind.vendor_issues_webhook_secret();
        if issued && !stored.webhook_secrets.is_empty() {
            let detail = format!("the webhook secret {name} issued is kept");
            return Ok(CheckStep::new("webhook", CheckOutcome::Passed, detail));
        }
        // Where IT Hub makes the secret, the HR system is given the newest as the webhook's token.
        let token = stored.webhook_secrets.first().filter(|_| !issued).map(Secret::new);
        let set_up_by_hand = || {
            if issued {
                format!("paste the webhook secret {name} shows (rotate the connection's webhook secret with it)")
            } else {
                format!("give {name} the webhook URL and the secret IT Hub showed when it was connected")
            }
        };
        match provider.register_webhook(webhook_url, token.as_ref()).await {
            Ok(Some(made)) => {
                let id = made.id.clone();
                self.keep_registered(secrets, provider, acting, connection, made).await?;
                let detail = if issued {
                    format!("IT Hub registered its webhook with {name} (webhook {id}) and keeps its key")
                } else {
                    format!("IT Hub registered its webhook with {name} (webhook {id}), given the webhook secret")
                };
                Ok(CheckStep::new("webhook", CheckOutcome::Passed, detail))
            }
            // Nothing IT Hub registers: the admin sets the webhook up in the HR system.
            Ok(None) if issued => Ok(CheckStep::new("webhook", CheckOutcome::Warning, set_up_by_hand())),
            Ok(None) => Ok(CheckStep::new("webhook", CheckOutcome::Passed, set_up_by_hand())),
            // Credentials that may not make webhooks, where the admin can set one up with IT Hub's secret instead.
            Err(ProviderError::Setup(reason)) if !issued => {
                let detail = format!("IT Hub could not register its webhook ({reason}): {}", set_up_by_hand());
                Ok(CheckStep::new("webhook", CheckOutcome::Warning, detail))
            }
            Err(error) => {
                Ok(CheckStep::new("webhook", CheckOutcome::Failed, format!("registering the webhook failed: {error}")))
            }
        }
    }

    /// Keeps a registered webhook's key first among the connection's webhook secrets (the one before stays valid
    /// for deliveries already on their way) and its id, audited.
    async fn keep_registered(
        &self,
        secrets: &Secrets,
        provider: &dyn HrProvider,
        acting: &Acting,
        connection: &Connection,
        made: RegisteredWebhook,
    ) -> Result<(), ServiceError> {
        let key = made.signing_key.expose().to_owned();
        let id = made.id.clone();
        let stored = secrets
            .update(&self.store, &connection.secret_id, move |stored| {
                stored.webhook_secrets.retain(|s| *s != key);
                stored.webhook_secrets.insert(0, key);
                stored.webhook_secrets.truncate(2);
                stored.registered_webhook = Some(id);
            })
            .await;
        if let Err(error) = stored {
            // Kept nowhere, the webhook would deliver what nobody can verify: take it back.
            if let Err(error) = provider.delete_webhook(&made.id).await {
                tracing::error!(%error, connection_id = %connection.id, "could not delete a webhook whose key was not kept");
            }
            return Err(error.into());
        }
        let subject = Subject::Connection(connection.id.clone());
        let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::WebhookRegistered, subject, Utc::now());
        audit.after = Some(serde_json::json!({ "webhook_id": made.id }));
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.connection = Some(ConnectionChange::SecretsChanged(connection.id.clone()));
        self.store.commit(&commit).await?;
        Ok(())
    }

    /// For a connection with a webhook IT Hub registered: a new registration replaces it, the old key kept valid
    /// until the next rotation and the old webhook deleted. Its key is the one the HR system issues, or `token`
    /// where IT Hub makes the secret. `None` when the connection has no registered webhook.
    pub(super) async fn reregister_webhook(
        &self,
        secrets: &Secrets,
        http: &Http,
        acting: &Acting,
        connection: &Connection,
        webhook_url: &str,
        token: Option<&Secret>,
    ) -> Result<Option<()>, ServiceError> {
        let stored = secrets.get_fresh(&connection.secret_id).await?;
        let Some(old) = stored.registered_webhook else { return Ok(None) };
        let provider = secrets.connect(connection, http.clone(), &self.store).await?;
        let Some(made) = provider.register_webhook(webhook_url, token).await? else { return Ok(None) };
        self.keep_registered(secrets, provider.as_ref(), acting, connection, made).await?;
        if let Err(error) = provider.delete_webhook(&old).await {
            tracing::error!(%error, connection_id = %connection.id, "could not delete the webhook a rotation replaced");
        }
        Ok(Some(()))
    }

    /// On deleting a connection: deletes the webhook IT Hub registered for it, if any.
    pub(super) async fn delete_registered_webhook(&self, secrets: &Secrets, http: &Http, connection: &Connection) {
        let Ok(stored) = secrets.get_fresh(&connection.secret_id).await else { return };
        let Some(id) = stored.registered_webhook else { return };
        let provider = match secrets.connect(connection, http.clone(), &self.store).await {
            Ok(provider) => provider,
            Err(error) => {
                tracing::error!(%error, connection_id = %connection.id, "could not reach the HR system to delete its webhook");
                return;
            }
        };
        if let Err(error) = provider.delete_webhook(&id).await {
            tracing::error!(%error, connection_id = %connection.id, "could not delete the webhook IT Hub registered");
        }
    }
}
