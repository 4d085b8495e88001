//! Editing a connection: new credentials (a rotated API key), settings or schedule, each part replaced whole and
//! checked as a new connection's are. The connection keeps its id, so its employees, tasks and runs stay; its HR
//! system cannot change. Credentials go to Secrets Manager only; the audit entry holds the settings and schedule
//! before and after, and only whether the credentials were replaced.

use super::{Acting, Service, ServiceError, retry_on_conflict};
use crate::domain::Schedule;
use crate::providers::{Credentials, Egress, ProviderKind, Settings};
use crate::secrets::{ConnectionSecret, Secrets};
use crate::store::{AuditAction, AuditEntry, Commit, Connection, ConnectionChange, Subject};
use crate::validation::{FieldError, FieldErrors, public_reason};
use chrono::Utc;
use serde_json::{Map, Value};

/// What an admin sends to edit a connection: each part given replaces that part whole (new credentials are the
/// whole credentials object), each part left out stays as it is. The HR system is the connection's own: a body
/// naming `provider` is refused.
// No `Debug`: it holds credentials.
#[derive(Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionEdit {
    /// Refused when sent: a connection's HR system cannot change (connect the other one instead).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub provider: Option<Value>,
    /// The connection's provider's settings, whole.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::providers::ProviderSettings>))]
    pub settings: Option<Map<String, Value>>,
    /// The connection's provider's credentials, whole (a rotated API key, say). Write-only: never shown back. A
    /// webhook secret the HR system issues is not among them here: it is changed by rotating the webhook secret.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::providers::ProviderCredentials>, write_only))]
    pub credentials: Option<Map<String, Value>>,
    /// The schedule, whole: a field left out goes back to its default.
    #[serde(default, deserialize_with = "some_object")]
    pub schedule: Option<Schedule>,
}

/// An object, and only an object (see [`crate::validation::object`]), or `null`.
fn some_object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    use serde::Deserialize;
    let Some(map) = Option::<Map<String, Value>>::deserialize(deserializer)? else { return Ok(None) };
    T::deserialize(Value::Object(map)).map(Some).map_err(serde::de::Error::custom)
}

/// An edit read with the connection's provider's types, its webhook secret refused.
struct Parsed {
    settings: Option<Settings>,
    credentials: Option<Credentials>,
    schedule: Option<Schedule>,
}

/// Why a part could not be read as the provider's, without any value it quotes.
fn unreadable(errors: &mut Vec<FieldError>, field: &str, kind: ProviderKind, error: &serde_json::Error) {
    let reason = format!("not {} {field}: {}", kind.display_name(), public_reason(&error.to_string()));
    errors.push(FieldError { field: field.to_owned(), reason });
}

impl ConnectionEdit {
    /// Reads each part given with `kind`'s types; every problem at once, each naming its field.
    fn parse(self, id: &str, kind: ProviderKind) -> Result<Parsed, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.provider.is_some() {
            let reason = "a connection's HR system cannot change: connect the other one as a new connection";
            errors.push(FieldError { field: "provider".into(), reason: reason.into() });
        }
        let settings = self.settings.and_then(|settings| {
            kind.parse_settings(Value::Object(settings))
                .map_err(|error| unreadable(&mut errors, "settings", kind, &error))
                .ok()
        });
        let credentials = self.credentials.and_then(|credentials| {
            kind.parse_credentials(Value::Object(credentials))
                .map_err(|error| unreadable(&mut errors, "credentials", kind, &error))
                .ok()
        });
        let credentials = credentials.and_then(|mut credentials| {
            if credentials.take_webhook_secret().is_none() {
                return Some(credentials);
            }
            let reason = format!(
                "the webhook secret is not changed with the credentials: paste the one {} shows in \
                 POST /v1/connections/{id}/rotate-webhook-secret",
                kind.display_name()
            );
            errors.push(FieldError { field: "credentials.webhook_secret".into(), reason });
            None
        });
        if let Some(schedule) = &self.schedule {
            let mut schedule_errors = FieldErrors::default();
            schedule.validate(&mut schedule_errors);
            errors.extend(schedule_errors.into_result().err().unwrap_or_default());
        }
        if errors.is_empty() { Ok(Parsed { settings, credentials, schedule: self.schedule }) } else { Err(errors) }
    }
}

/// The connection's secret with `credentials` in place of its own. A refresh token its HR system rotated belonged
/// to the credentials replaced: it goes with them, or it would be used instead of the new credentials' own. The
/// webhook secrets stay.
fn replace_credentials(secret: &mut ConnectionSecret, credentials: Credentials) {
    secret.credentials = credentials;
    secret.refresh_token = None;
}

/// The connection as `edited` leaves it (settings, schedule), edited `now`.
fn edited(
    before: &Connection,
    settings: Option<&Settings>,
    schedule: Option<&Schedule>,
    now: chrono::DateTime<Utc>,
) -> Connection {
    let mut after = before.clone();
    if let Some(settings) = settings {
        after.provider = settings.clone();
    }
    if let Some(schedule) = schedule {
        after.poll_interval_secs = schedule.poll_interval_secs();
        after.full_interval_secs = schedule.full_sync_interval_hours.map(|h| u64::from(h) * 3600);
        after.safeguard_percent = schedule.safeguard_percent;
        after.safeguard_minimum = schedule.safeguard_minimum;
    }
    after.edited_at = Some(now);
    after
}

/// What the audit keeps of a connection: its settings and schedule, never a credential.
fn audited(connection: &Connection) -> Value {
    serde_json::json!({
        "settings": connection.provider,
        "schedule": {
            "poll_interval_secs": connection.poll_interval_secs,
            "full_interval_secs": connection.full_interval_secs,
            "safeguard_percent": connection.safeguard_percent,
            "safeguard_minimum": connection.safeguard_minimum,
        },
    })
}

impl Service {
    /// Edits a connection: each part given is read with its provider's types and checked as a new connection's
    /// (its settings and credentials together, whichever of them is new, and the `base_url` against `egress`);
    /// new credentials are stored in its secret first, then the settings and schedule with the audit entry, only if
    /// no other edit came in between (else read again).
    pub async fn edit_connection(
        &self,
        secrets: &Secrets,
        egress: Egress,
        acting: &Acting,
        id: &str,
        edit: ConnectionEdit,
    ) -> Result<Connection, ServiceError> {
        let connection = self.connection(acting, id).await?;
        let kind = connection.provider.kind();
        let Parsed { settings, credentials, schedule } =
            edit.parse(connection.id.as_str(), kind).map_err(|errors| {
                // Parts that are not this connection's HR system's (another provider's fields, a provider, a webhook
                // secret): well formed for some connection, refused as not fitting this one (409), each named.
                let state = ["provider", "settings", "credentials", "credentials.webhook_secret"];
                if errors.iter().all(|e| state.contains(&e.field.as_str())) {
                    let named: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
                    ServiceError::not_allowed(
                        "not-this-connections-fields",
                        "Not this connection's HR system's fields",
                        named.join("; "),
                    )
                } else {
                    ServiceError::InvalidFields(errors)
                }
            })?;
        if settings.is_some() || credentials.is_some() {
            let stored = match &credentials {
                Some(_) => None,
                None => Some(secrets.get_fresh(&connection.secret_id).await?.credentials),
            };
            let mut errors = FieldErrors::default();
            let settings = settings.as_ref().unwrap_or(&connection.provider);
            if let Some(credentials) = credentials.as_ref().or(stored.as_ref()) {
                crate::providers::validate_connection(settings, credentials, egress, &mut errors);
            }
            errors.into_result().map_err(ServiceError::InvalidFields)?;
        }
        let replaced = credentials.is_some();
        if let Some(credentials) = credentials {
            secrets
                .update(&self.store, &connection.secret_id, move |secret| replace_credentials(secret, credentials))
                .await?;
        }
        retry_on_conflict(|| async {
            let before = self.connection(acting, id).await?;
            let after = edited(&before, settings.as_ref(), schedule.as_ref(), Utc::now());
            let subject = Subject::Connection(before.id.clone());
            let mut audit = AuditEntry::new(acting.actor.clone(), AuditAction::ConnectionUpdated, subject, Utc::now());
            audit.before = Some(audited(&before));
            let mut shown = audited(&after);
            shown["credentials_replaced"] = Value::Bool(replaced);
            audit.after = Some(shown);
            let mut commit = Commit::new(acting.tenant.clone(), audit);
            commit.connection = Some(ConnectionChange::Edit { connection: after.clone(), read: before.edited_at });
            self.store.commit(&commit).await?;
            Ok(after)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edit(body: Value) -> ConnectionEdit {
        serde_json::from_value(body).expect("an edit")
    }

    fn refused(body: Value, kind: ProviderKind) -> Vec<String> {
        match edit(body).parse("c1", kind) {
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
            Ok(_) => panic!("expected a refusal"),
        }
    }

    #[test]
    fn each_part_is_read_with_the_connections_provider_and_every_fault_is_named() {
        let parsed = edit(json!({"credentials": {"api_key": "k2"}})).parse("c1", ProviderKind::BambooHr).unwrap();
        assert!(parsed.settings.is_none() && parsed.schedule.is_none());
        assert!(matches!(parsed.credentials, Some(Credentials::BambooHr(ref c)) if c.api_key == "k2"));
        let fields = refused(
            json!({"provider": "hibob", "settings": {"region": "eu"}, "schedule": {"safeguard_percent": 101}}),
            ProviderKind::BambooHr,
        );
        assert_eq!(fields, ["provider", "settings", "schedule.safeguard_percent"]);
        // Another provider's credentials are not this one's.
        assert_eq!(refused(json!({"credentials": {"api_key": "k"}}), ProviderKind::HiBob), ["credentials"]);
    }

    #[test]
    fn a_pasted_webhook_secret_is_refused_and_never_quoted() {
        let body =
            json!({"credentials": {"service_user_id": "u", "service_user_token": "t", "webhook_secret": "whsec-bob"}});
        let errors = match edit(body).parse("c1", ProviderKind::HiBob) {
            Err(errors) => errors,
            Ok(_) => panic!("a pasted webhook secret was taken"),
        };
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["credentials.webhook_secret"]);
        assert!(errors[0].reason.contains("/v1/connections/c1/rotate-webhook-secret"), "{}", errors[0].reason);
        assert!(!errors[0].reason.contains("whsec-bob"));
        let wrong = edit(json!({"credentials": {"api_key": 5}})).parse("c1", ProviderKind::BambooHr);
        assert!(wrong.is_err_and(|e| !e[0].reason.contains('5')), "a value sent is not quoted");
    }

    #[test]
    fn new_credentials_drop_the_refresh_token_rotated_for_the_old_ones_and_keep_the_webhook_secrets() {
        let old = ProviderKind::Gusto
            .parse_credentials(json!({"client_id": "a", "client_secret": "b", "refresh_token": "r1"}))
            .unwrap();
        let mut secret = ConnectionSecret {
            credentials: old,
            webhook_secrets: vec!["w".into()],
            refresh_token: Some("r7".into()),
            registered_webhook: None,
        };
        let new = ProviderKind::Gusto
            .parse_credentials(json!({"client_id": "a", "client_secret": "b", "refresh_token": "fresh"}))
            .unwrap();
        replace_credentials(&mut secret, new);
        assert_eq!(secret.refresh_token, None, "the new credentials' refresh token is the one used");
        assert_eq!(secret.webhook_secrets, ["w"]);
    }

    #[test]
    fn a_schedule_replaces_the_whole_schedule_and_the_settings_stay_unless_given() {
        let settings = ProviderKind::BambooHr.parse_settings(json!({"company_domain": "acme"})).unwrap();
        let mut before = Connection::new(crate::domain::TenantId::generate(), settings.clone());
        before.poll_interval_secs = Some(600);
        before.safeguard_minimum = Some(9);
        let schedule = Schedule { full_sync_interval_hours: Some(2), ..Schedule::default() };
        let now = Utc::now();
        let after = edited(&before, None, Some(&schedule), now);
        assert_eq!((after.poll_interval_secs, after.full_interval_secs), (None, Some(7200)));
        assert_eq!((after.safeguard_percent, after.safeguard_minimum), (None, None));
        assert_eq!((after.provider, after.edited_at, after.id), (settings, Some(now), before.id.clone()));
        let audit = audited(&before).to_string();
        assert!(audit.contains("acme") && audit.contains("600"), "{audit}");
    }
}
