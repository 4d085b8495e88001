//! The service layer: every change to IT Hub's state goes through here. An HR observation, initial setup, an
//! immediate offboarding, an edit of IT's fields, checklist progress, task completion, a playbook replacement and
//! connection changes each load what they need, let the pure domain decide, and commit the result with its audit
//! entry and its domain events in one transaction, retrying on a version conflict. Handlers and Lambda mains
//! only parse input, call a service and map the result.

#[cfg(feature = "secrets")]
mod connection_edit;
#[cfg(feature = "secrets")]
mod connections;
mod employees;
mod observe;
pub(crate) mod plan;
mod playbooks;
mod scim;
#[cfg(feature = "secrets")]
mod setup;
mod tasks;

use crate::bus::Bus;
use crate::domain::{Actor, TenantId};
use crate::store::{Store, StoreError, StoredEmployee};
use crate::validation::FieldError;
use std::future::Future;

#[cfg(feature = "secrets")]
pub use connection_edit::ConnectionEdit;
#[cfg(feature = "secrets")]
pub use connections::{CreatedConnection, SyncOptions, WebhookSecretRotation};
pub use employees::{Refusal, SetupOutcome};
pub use observe::Applied;
pub use scim::{MAX_COUNT as SCIM_MAX_COUNT, ScimFailure, ScimPage, etag as scim_etag, render as scim_render};
#[cfg(feature = "secrets")]
pub use setup::ConnectionCheck;

/// Conditional writes one change may lose in a row before it gives up.
pub const ATTEMPTS: usize = 5;

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well formed but the state does not allow it; `slug` names the case.
    #[error("{detail}")]
    NotAllowed { slug: &'static str, title: &'static str, detail: String },
    #[error("{0}")]
    Invalid(String),
    /// Fields at fault, each named.
    #[error("{} fields are not valid", .0.len())]
    InvalidFields(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[cfg(feature = "secrets")]
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The HR system refused or failed a call the change needed (registering a webhook, say).
    #[error("the HR system: {0}")]
    Provider(#[from] crate::providers::ProviderError),
    #[error("the change is stored; publishing its events failed: {0}")]
    Publish(#[from] crate::bus::BusError),
    #[cfg(feature = "sqs")]
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

impl ServiceError {
    pub fn not_allowed(slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::NotAllowed { slug, title, detail: detail.into() }
    }
}

/// Runs `attempt` again while it loses a conditional write to a concurrent writer, [`ATTEMPTS`] times at most.
/// Each attempt reads afresh and decides again.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    for _ in 1..ATTEMPTS {
        match attempt().await {
            Err(ServiceError::Store(StoreError::Conflict)) => continue,
            done => return done,
        }
    }
    attempt().await
}

/// Who is making a change, for which tenant.
#[derive(Debug, Clone)]
pub struct Acting {
    pub tenant: TenantId,
    pub actor: Actor,
}

/// The service: the store it commits to and the bus it publishes on.
#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub bus: Bus,
}

impl Service {
    pub fn new(store: Store, bus: Bus) -> Self {
        Self { store, bus }
    }

    /// Publishes an employee's outbox and empties it. On failure the events stay for the next attempt.
    pub async fn flush_outbox(&self, employee: &StoredEmployee) -> Result<(), ServiceError> {
        if employee.outbox.is_empty() {
            return Ok(());
        }
        self.bus.publish(&employee.outbox).await?;
        self.store.clear_outbox(employee).await?;
        Ok(())
    }

    /// Publishes what an admin's committed change means. The change is stored, so a failure is logged rather
    /// than reported: the events wait in the outbox, and the next change of that person publishes them.
    pub(crate) async fn publish_quietly(&self, employee: Option<&StoredEmployee>) {
        let Some(employee) = employee else { return };
        if let Err(error) = self.flush_outbox(employee).await {
            tracing::error!(%error, "could not publish domain events; they stay in the outbox");
        }
    }
}
