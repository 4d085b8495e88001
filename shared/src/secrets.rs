//! Connection secrets in AWS Secrets Manager: the HR system's credential and the webhook signing secrets. They
//! never go to DynamoDB, logs or API responses (but once, when a webhook secret is made). Reads are cached in
//! the process for a short while; a webhook that fails verification re-reads, to pick up a rotation at once.

use crate::providers::{Credentials, HrProvider};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a read is reused.
const CACHE_FOR: Duration = Duration::from_secs(300);

#[derive(Clone, Serialize, Deserialize)]
pub struct ConnectionSecret {
    /// What the connection signs in to its HR system with, typed by provider.
    pub credentials: Credentials,
    /// Secrets that sign the connection's webhooks: the newest first, two during a rotation.
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
    /// The refresh token last rotated by the HR system, for connectors whose tokens rotate on every refresh; it
    /// replaces the one in `credentials` once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The id of the webhook IT Hub registered with the HR system (where the HR system lets it), whose key
    /// is the newest of `webhook_secrets`: deleted with the connection, replaced by a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_webhook: Option<String>,
}

/// Redacted, so a secret cannot reach a log through `{:?}`.
impl fmt::Debug for ConnectionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConnectionSecret {{ credentials: <redacted>, webhook_secrets: <{} redacted>, refresh_token: <redacted> }}",
            self.webhook_secrets.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} does not exist")]
    Missing(String),
    #[error("Secrets Manager: {0}")]
    Service(String),
    #[error("secret {0} is not a connection secret")]
    Corrupt(String),
    #[error("secret {0} holds credentials for another HR system than its connection")]
    Mismatch(String),
}

/// A Secrets Manager call's failure: a secret that is not there, or the service's error.
fn failed<E, R>(name: &str, err: aws_sdk_secretsmanager::error::SdkError<E, R>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    if err.as_service_error().and_then(|e| e.code()) == Some("ResourceNotFoundException") {
        SecretError::Missing(name.to_owned())
    } else {
        SecretError::Service(DisplayErrorContext(err).to_string())
    }
}

#[derive(Clone)]
pub struct Secrets {
    client: Client,
    cache: Arc<Mutex<HashMap<String, (Instant, ConnectionSecret)>>>,
    /// New connections' secrets are named under this (see [`crate::config::SECRET_PREFIX`]).
    prefix: String,
}

impl Secrets {
    pub fn new(client: Client) -> Self {
        Self { client, cache: Arc::default(), prefix: "ithub".to_owned() }
    }

    /// Names new connections' secrets under `prefix` (`ithub/{stack}` in AWS).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_end_matches('/').to_owned();
        self
    }

    /// The same secrets with nothing remembered, as a new instance of a function starts.
    pub fn without_cache(&self) -> Self {
        Self { client: self.client.clone(), cache: Arc::default(), prefix: self.prefix.clone() }
    }

    /// The name of a new connection's secret.
    pub fn secret_id(&self, tenant: &crate::domain::TenantId, connection: &crate::domain::ConnectionId) -> String {
        format!("{}/{tenant}/{connection}", self.prefix)
    }

    /// The HR system of a connection, signed in with the connection's credential.
    pub async fn connect(
        &self,
        connection: &crate::store::Connection,
        http: crate::providers::Http,
        store: &crate::store::Store,
    ) -> Result<Box<dyn HrProvider>, SecretError> {
        let secret = self.of_connection(connection).await?;
        let tokens = ConnectionRefreshTokens::new(self.clone(), store.clone(), &connection.secret_id);
        let link = crate::providers::Link {
            http,
            refresh_tokens: Some(std::sync::Arc::new(tokens)),
            refresh_token: secret.refresh_token.clone().map(crate::providers::auth::Secret::new),
        };
        crate::providers::connect(&connection.provider, &secret.credentials, link)
            .ok_or_else(|| SecretError::Mismatch(connection.secret_id.clone()))
    }

    /// A connection's secret, from the cache only if that copy was read after the connection's secrets last
    /// changed (an admin's edit, a rotation, a registered webhook; a second's allowance for clocks): a rotated
    /// secret takes effect at once in every process.
    pub async fn of_connection(&self, connection: &crate::store::Connection) -> Result<ConnectionSecret, SecretError> {
        let changed = connection.edited_at.max(connection.secrets_changed_at);
        let since =
            changed.map(|at| (chrono::Utc::now() - at - chrono::Duration::seconds(1)).to_std().unwrap_or_default());
        self.get_recent(&connection.secret_id, since.map_or(CACHE_FOR, |d| d.min(CACHE_FOR))).await
    }

    /// Changes a connection's secret under the lease its refresh-token writer takes, so a change to the webhook
    /// secrets never writes back a refresh token that another process has just rotated (and spent the old one).
    pub async fn update(
        &self,
        store: &crate::store::Store,
        secret_id: &str,
        change: impl FnOnce(&mut ConnectionSecret),
    ) -> Result<ConnectionSecret, SecretError> {
        use crate::providers::auth::RefreshTokenStore;
        let lock = ConnectionRefreshTokens::new(self.clone(), store.clone(), secret_id);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match lock.try_lock().await {
                Ok(true) => break,
                Ok(false) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Ok(false) => return Err(SecretError::Service("the connection's secret is being changed".into())),
                Err(error) => return Err(SecretError::Service(error.to_string())),
            }
        }
        let changed = async {
            let mut secret = self.get_fresh(secret_id).await?;
            change(&mut secret);
            self.put(secret_id, &secret).await?;
            Ok(secret)
        }
        .await;
        lock.unlock().await;
        changed
    }

    fn cached(&self, name: &str) -> Option<ConnectionSecret> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(name).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, secret)| secret.clone())
    }

    fn remember(&self, name: &str, secret: &ConnectionSecret) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(name.to_owned(), (Instant::now(), secret.clone()));
    }

    /// Creates a new connection's secret (the admin API, when the connection is made).
    pub async fn create(&self, name: &str, secret: &ConnectionSecret) -> Result<(), SecretError> {
        let body = serde_json::to_string(secret).map_err(|_| SecretError::Corrupt(name.to_owned()))?;
        self.client
            .create_secret()
            .name(name)
            .secret_string(&body)
            .send()
            .await
            .map_err(|e| SecretError::Service(DisplayErrorContext(e).to_string()))?;
        self.remember(name, secret);
        Ok(())
    }

    /// Replaces an existing secret's value (a rotation, a refresh token, a confirmed handshake): only
    /// `PutSecretValue`, so the functions that change secrets need not be allowed to create them.
    pub async fn put(&self, name: &str, secret: &ConnectionSecret) -> Result<(), SecretError> {
        let body = serde_json::to_string(secret).map_err(|_| SecretError::Corrupt(name.to_owned()))?;
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(&body)
            .send()
            .await
            .map_err(|err| failed(name, err))?;
        self.remember(name, secret);
        Ok(())
    }

    /// A secret, from the cache when recent.
    pub async fn get(&self, name: &str) -> Result<ConnectionSecret, SecretError> {
        match self.cached(name) {
            Some(secret) => Ok(secret),
            None => self.get_fresh(name).await,
        }
    }

    /// A secret as read at most `max_age` ago: the cached copy if it is that recent, else a read now. Bounds how
    /// often anything a stranger can send (a forged signature) makes us read Secrets Manager.
    pub async fn get_recent(&self, name: &str, max_age: std::time::Duration) -> Result<ConnectionSecret, SecretError> {
        let recent = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(name).filter(|(at, _)| at.elapsed() < max_age).map(|(_, secret)| secret.clone())
        };
        match recent {
            Some(secret) => Ok(secret),
            None => self.get_fresh(name).await,
        }
    }

    /// A secret read from Secrets Manager now.
    pub async fn get_fresh(&self, name: &str) -> Result<ConnectionSecret, SecretError> {
        let out = self.client.get_secret_value().secret_id(name).send().await.map_err(|err| failed(name, err))?;
        let body = out.secret_string.unwrap_or_default();
        let secret: ConnectionSecret =
            serde_json::from_str(&body).map_err(|_| SecretError::Corrupt(name.to_owned()))?;
        self.remember(name, &secret);
        Ok(secret)
    }

    /// Deletes a secret (after Secrets Manager's recovery window, so a mistaken delete can be undone).
    pub async fn delete(&self, name: &str) -> Result<(), SecretError> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        self.client
            .delete_secret()
            .secret_id(name)
            .recovery_window_in_days(7)
            .send()
            .await
            .map(drop)
            .map_err(|e| SecretError::Service(DisplayErrorContext(e).to_string()))
    }
}

/// A connection's rotating refresh token: kept in its secret, spent by one process at a time under a DynamoDB
/// lease, so two Lambda instances never both spend the same token.
pub struct ConnectionRefreshTokens {
    secrets: Secrets,
    store: crate::store::Store,
    secret_id: String,
    /// This process, as the lease's holder.
    holder: String,
}

/// Long enough for one token request; a holder that dies frees the lease when it expires.
const REFRESH_LEASE: chrono::Duration = chrono::Duration::seconds(30);

impl ConnectionRefreshTokens {
    pub fn new(secrets: Secrets, store: crate::store::Store, secret_id: impl Into<String>) -> Self {
        let holder = format!("refresher-{}", uuid::Uuid::new_v4().simple());
        Self { secrets, store, secret_id: secret_id.into(), holder }
    }

    fn lease(&self) -> String {
        format!("refresh#{}", self.secret_id)
    }
}

fn unavailable(error: impl std::fmt::Display) -> crate::providers::ProviderError {
    crate::providers::ProviderError::Transport(format!("the token store failed: {error}"))
}

#[async_trait::async_trait]
impl crate::providers::auth::RefreshTokenStore for ConnectionRefreshTokens {
    async fn load(&self) -> Result<Option<crate::providers::auth::Secret>, crate::providers::ProviderError> {
        let secret = self.secrets.get_fresh(&self.secret_id).await.map_err(unavailable)?;
        Ok(secret.refresh_token.map(crate::providers::auth::Secret::new))
    }

    async fn save(
        &self,
        refresh_token: &crate::providers::auth::Secret,
    ) -> Result<(), crate::providers::ProviderError> {
        let mut secret = self.secrets.get_fresh(&self.secret_id).await.map_err(unavailable)?;
        secret.refresh_token = Some(refresh_token.expose().to_owned());
        self.secrets.put(&self.secret_id, &secret).await.map_err(unavailable)
    }

    async fn try_lock(&self) -> Result<bool, crate::providers::ProviderError> {
        let now = chrono::Utc::now();
        self.store.try_lease(&self.lease(), &self.holder, REFRESH_LEASE, now).await.map_err(unavailable)
    }

    async fn unlock(&self) {
        if let Err(error) = self.store.release_lease(&self.lease(), &self.holder).await {
            tracing::warn!(%error, "could not release the token-refresh lease; it expires by itself");
        }
    }
}
