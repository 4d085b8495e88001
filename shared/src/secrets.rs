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
}

/// Redacted, so a secret cannot reach a log through `{:?}`.
impl fmt::Debug for ConnectionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConnectionSecret {{ credentials: <redacted>, webhook_secrets: <{} redacted> }}",
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

#[derive(Clone)]
pub struct Secrets {
    client: Client,
    cache: Arc<Mutex<HashMap<String, (Instant, ConnectionSecret)>>>,
}

impl Secrets {
    pub fn new(client: Client) -> Self {
        Self { client, cache: Arc::default() }
    }

    /// The HR system of a connection, signed in with the connection's credential.
    pub async fn connect(
        &self,
        connection: &crate::store::Connection,
        http: crate::providers::Http,
    ) -> Result<Box<dyn HrProvider>, SecretError> {
        let secret = self.get(&connection.secret_id).await?;
        crate::providers::connect(&connection.provider, &secret.credentials, http)
            .ok_or_else(|| SecretError::Mismatch(connection.secret_id.clone()))
    }

    fn cached(&self, name: &str) -> Option<ConnectionSecret> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(name).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, secret)| secret.clone())
    }

    fn remember(&self, name: &str, secret: &ConnectionSecret) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(name.to_owned(), (Instant::now(), secret.clone()));
    }

    /// Creates or replaces a secret.
    pub async fn put(&self, name: &str, secret: &ConnectionSecret) -> Result<(), SecretError> {
        let body = serde_json::to_string(secret).map_err(|_| SecretError::Corrupt(name.to_owned()))?;
        let created = self.client.create_secret().name(name).secret_string(&body).send().await;
        match created {
            Ok(_) => {}
            Err(err) if err.as_service_error().and_then(|e| e.code()) == Some("ResourceExistsException") => {
                self.client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(&body)
                    .send()
                    .await
                    .map_err(|e| SecretError::Service(DisplayErrorContext(e).to_string()))?;
            }
            Err(err) => return Err(SecretError::Service(DisplayErrorContext(err).to_string())),
        }
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

    /// A secret read from Secrets Manager now.
    pub async fn get_fresh(&self, name: &str) -> Result<ConnectionSecret, SecretError> {
        let out = self.client.get_secret_value().secret_id(name).send().await.map_err(|err| {
            if err.as_service_error().and_then(|e| e.code()) == Some("ResourceNotFoundException") {
                SecretError::Missing(name.to_owned())
            } else {
                SecretError::Service(DisplayErrorContext(err).to_string())
            }
        })?;
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
