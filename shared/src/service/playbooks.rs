//! The tenant's playbook: which checklist items tasks get, by department and role.

use super::{Acting, Service, ServiceError};
use crate::domain::Playbook;
use crate::store::{AuditAction, AuditEntry, Commit, Subject};
use chrono::Utc;

impl Service {
    /// Replaces the playbook, with an audit entry. Tasks already open keep their checklists; new tasks use this
    /// one.
    pub async fn replace_playbook(&self, acting: &Acting, playbook: Playbook) -> Result<Playbook, ServiceError> {
        playbook.validate().map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let before = self.store.playbook(&acting.tenant).await?;
        let mut audit =
            AuditEntry::new(acting.actor.clone(), AuditAction::PlaybookReplaced, Subject::Playbook, Utc::now());
        audit.before = serde_json::to_value(&before).ok();
        audit.after = serde_json::to_value(&playbook).ok();
        let mut commit = Commit::new(acting.tenant.clone(), audit);
        commit.playbook = Some(playbook.clone());
        self.store.commit(&commit).await?;
        Ok(playbook)
    }
}
