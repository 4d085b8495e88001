//! `ithub-operator`: the operator's tool for tenants and their admin keys. A key is printed once, when issued, and
//! stored only as a hash; afterwards it is named by its public id.

use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use ithub::domain::TenantId;
use ithub::store::{Store, StoreError};
use std::fmt::Write;

#[derive(Debug, Parser)]
#[command(name = "ithub-operator", about = "Create IT Hub tenants and manage their admin keys", version)]
pub struct Cli {
    /// The DynamoDB table (the deployed stack's ITHUB_TABLE).
    #[arg(long, env = "ITHUB_TABLE")]
    pub table: String,
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
}

fn tenant(raw: &str) -> Result<TenantId, OperatorError> {
    TenantId::parse(raw).ok_or_else(|| OperatorError::BadTenant(raw.to_owned()))
}

/// Runs one command; returns what to print.
pub async fn run(store: &Store, command: Command) -> Result<String, OperatorError> {
    let now = Utc::now();
    match command {
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
