//! `ithub-operator`: the operator's tool for tenants and their admin keys, and for the dead-letter queues. A key is
//! printed once, when issued, and stored only as a hash; afterwards it is named by its public id.

use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use ithub::domain::TenantId;
use ithub::store::{Store, StoreError};
use std::fmt::Write;

#[derive(Debug, Parser)]
#[command(
    name = "ithub-operator",
    about = "Create IT Hub tenants, manage their admin keys, redrive dead letters",
    version
)]
pub struct Cli {
    /// The DynamoDB table (the deployed stack's ITHUB_TABLE); every command but `redrive` needs it.
    #[arg(long, env = "ITHUB_TABLE")]
    pub table: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a tenant; prints its id.
    CreateTenant {
        /// The company's name.
        name: String,
    },
    /// Issue an admin key for a tenant; prints the key, once.
    IssueKey {
        tenant: String,
        /// What the key is for, shown in lists and in the audit trail.
        #[arg(long, default_value = "admin")]
        label: String,
        /// Days until the key stops working; without it, the key works until revoked.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a tenant's keys (never the keys themselves).
    ListKeys { tenant: String },
    /// Revoke a tenant's key by the id `list-keys` shows.
    RevokeKey { tenant: String, key_id: String },
    /// Move every message of a dead-letter queue back to the queue it came from, to be worked again (after the
    /// cause is fixed). Applying a change or a run step twice is a no-op, and owed events are published on the
    /// way, so a message redriven after it did half its work ends the same as one that never failed.
    Redrive {
        /// The dead-letter queue's URL (the stack's output `DeadLetterQueueUrl` or `RunDeadLetterQueueUrl`).
        #[arg(long)]
        from: String,
        /// The queue its messages came from (the output `ChangeQueueUrl` or `RunQueueUrl`).
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0:?} is not a tenant id (ten_…)")]
    BadTenant(String),
    #[error("no tenant {0}")]
    NoTenant(String),
    #[error("tenant {tenant} has no live key {key_id}")]
    NoKey { tenant: String, key_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("SQS: {0}")]
    Sqs(String),
}

/// Moves every message of the dead-letter queue `from` to `to`, keeping its body, attributes and (on FIFO queues)
/// its message group, so one person's changes still apply in order; each is deleted from `from` only once `to` has
/// it. Each send is new to FIFO deduplication (a message redriven, failed again and redriven within five minutes
/// must not be dropped as a duplicate); a redrive interrupted between sending and deleting and run again queues
/// that message twice, which the worker applies once. Returns how many messages were moved.
pub async fn redrive(sqs: &aws_sdk_sqs::Client, from: &str, to: &str) -> Result<usize, OperatorError> {
    use aws_sdk_sqs::error::DisplayErrorContext;
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let failed = |e: &dyn std::error::Error| OperatorError::Sqs(DisplayErrorContext(e).to_string());
    let fifo = to.ends_with(".fifo");
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(from)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            // A short poll can answer empty while messages remain: wait a moment before calling the queue empty.
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for message in messages {
            let (Some(body), Some(id), Some(receipt)) = (&message.body, &message.message_id, &message.receipt_handle)
            else {
                continue;
            };
            let mut send = sqs
                .send_message()
                .queue_url(to)
                .message_body(body)
                .set_message_attributes(message.message_attributes.clone());
            if fifo {
                let group = message
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned()
                    .unwrap_or_else(|| id.clone());
                let dedup = format!("redrive-{}", uuid::Uuid::new_v4().simple());
                send = send.message_group_id(group).message_deduplication_id(dedup);
            }
            send.send().await.map_err(|e| failed(&e))?;
            sqs.delete_message().queue_url(from).receipt_handle(receipt).send().await.map_err(|e| failed(&e))?;
            moved += 1;
        }
    }
}

fn tenant(raw: &str) -> Result<TenantId, OperatorError> {
    TenantId::parse(raw).ok_or_else(|| OperatorError::BadTenant(raw.to_owned()))
}

/// Runs one command; returns what to print.
pub async fn run(store: &Store, command: Command) -> Result<String, OperatorError> {
    let now = Utc::now();
    match command {
        Command::Redrive { .. } => Err(OperatorError::Sqs("redrive runs through `redrive`, not `run`".into())),
        Command::CreateTenant { name } => {
            let id = TenantId::generate();
            store.create_tenant(&id, &name).await?;
            Ok(format!("{id}\n"))
        }
        Command::IssueKey { tenant: raw, label, expires_in_days } => {
            let id = tenant(&raw)?;
            if !store.tenant_exists(&id).await? {
                return Err(OperatorError::NoTenant(raw));
            }
            let (key, hash) = ithub::apikey::generate();
            let expires_at = expires_in_days.map(|days| now + Duration::days(i64::from(days)));
            store.put_api_key(&hash, &id, &label, expires_at).await?;
            let until = expires_at.map_or("until revoked".to_owned(), |at| format!("until {}", at.to_rfc3339()));
            Ok(format!("{key}\n# key id {} ({label}), valid {until}. Shown once: store it now.\n", &hash[..12]))
        }
        Command::ListKeys { tenant: raw } => {
            let mut keys = store.list_api_keys(&tenant(&raw)?).await?;
            keys.sort_by_key(|k| k.created_at);
            let mut out = String::from("key id        state     created                    label\n");
            for key in keys {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else if key.expires_at.is_some_and(|at| at <= now) {
                    "expired"
                } else {
                    "live"
                };
                let _ =
                    writeln!(out, "{:<13} {:<9} {:<26} {}", key.key_id, state, key.created_at.to_rfc3339(), key.label);
            }
            Ok(out)
        }
        Command::RevokeKey { tenant: raw, key_id } => {
            if store.revoke_api_key(&tenant(&raw)?, &key_id, now).await? {
                Ok(format!("revoked {key_id}\n"))
            } else {
                Err(OperatorError::NoKey { tenant: raw, key_id })
            }
        }
    }
}
