//! Console sessions: an admin signed in to the web console with an admin key. The browser holds a random token in
//! an HttpOnly cookie; only the token's SHA-256 is stored (in the item's key), with the tenant, the key it was
//! opened with (so revoking the key ends its sessions), the session's CSRF token and when it expires. DynamoDB's
//! TTL removes expired items; a read checks the time itself, since TTL deletion can lag by days.

use super::{Store, StoreError, corrupt, keys, n};
use crate::domain::TenantId;
use crate::resources::TTL_ATTRIBUTE;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A console session as stored. No `Debug`: it holds the CSRF token.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub tenant_id: TenantId,
    /// The hash of the admin key the session was opened with.
    pub key_hash: String,
    /// The key's label, for the audit trail.
    pub key_label: String,
    /// Sent back with every form that changes something.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

impl Store {
    /// Stores a new session under its token's hash.
    pub async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError> {
        let mut item = Self::keyed(session, keys::session(token_hash), keys::SESSION.into())?;
        item.insert(TTL_ATTRIBUTE.into(), n(session.expires.timestamp()));
        self.put(item, Some("attribute_not_exists(PK)"), Default::default()).await
    }

    /// The session of a token's hash, if it exists and has not expired.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        let Some(mut item) = self.get(keys::session(token_hash), keys::SESSION).await? else {
            return Ok(None);
        };
        item.remove(TTL_ATTRIBUTE);
        let session: Session = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok((session.expires > now).then_some(session))
    }

    /// Ends a session (signing out). `false` if there was none.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        self.delete_existing(keys::session(token_hash), keys::SESSION.into()).await
    }
}
