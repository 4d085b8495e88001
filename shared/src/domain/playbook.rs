//! Playbooks: a tenant's rules for what a joiner gets and what a leaver gives back, chosen by department and role.

use super::{ChecklistItem, Employee, ItemKind, ItemStatus, TaskKind};
use serde::{Deserialize, Serialize};

/// The most rules one playbook may hold, and items one rule may add.
pub const MAX_RULES: usize = 50;
pub const MAX_ITEMS: usize = 50;

/// A checklist line before it is given to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemTemplate {
    /// Unique within a task, e.g. `device-laptop`: lower-case letters, digits and dashes.
    pub id: String,
    pub kind: ItemKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Which people a rule applies to. Every condition given must hold; a rule with none applies to everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Equal to the HR department, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Contained in the HR title, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_contains: Option<String>,
}

impl Match {
    fn applies_to(&self, employee: &Employee) -> bool {
        let lower = |s: &Option<String>| s.as_deref().unwrap_or_default().to_lowercase();
        self.department.as_ref().is_none_or(|d| lower(&employee.department) == d.to_lowercase())
            && self.title_contains.as_ref().is_none_or(|t| lower(&employee.title).contains(&t.to_lowercase()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default, deserialize_with = "crate::validation::object")]
    pub when: Match,
    #[serde(default, deserialize_with = "crate::validation::objects")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<OnboardingItem>, max_items = 50))]
    pub onboarding: Vec<ItemTemplate>,
    #[serde(default, deserialize_with = "crate::validation::objects")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<OffboardingItem>, max_items = 50))]
    pub offboarding: Vec<ItemTemplate>,
}

/// The items everyone gets, then the items of every rule that matches. A later item with an id already chosen
/// replaces the earlier one (a rule can give engineers a different laptop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    #[serde(deserialize_with = "crate::validation::objects")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<OnboardingItem>, max_items = 50))]
    pub onboarding: Vec<ItemTemplate>,
    #[serde(deserialize_with = "crate::validation::objects")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<OffboardingItem>, max_items = 50))]
    pub offboarding: Vec<ItemTemplate>,
    #[serde(default, deserialize_with = "crate::validation::objects")]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub rules: Vec<Rule>,
}

/// What the OpenAPI document says an onboarding item is: the rules [`Playbook::validate`] holds, as a schema.
#[cfg(feature = "openapi")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OnboardingItem {
    /// Unique within a task: 1 to 64 lower-case letters, digits and dashes.
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    id: String,
    kind: OnboardingKind,
    /// Not blank.
    #[schema(min_length = 1, pattern = "[^\\s\\u0085\\u001c-\\u001f\\ufeff]")]
    name: String,
    detail: Option<String>,
}

#[cfg(feature = "openapi")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OffboardingItem {
    /// Unique within a task: 1 to 64 lower-case letters, digits and dashes.
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    id: String,
    kind: OffboardingKind,
    /// Not blank.
    #[schema(min_length = 1, pattern = "[^\\s\\u0085\\u001c-\\u001f\\ufeff]")]
    name: String,
    detail: Option<String>,
}

/// The kinds of item an onboarding checklist holds.
#[cfg(feature = "openapi")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OnboardingKind {
    Device,
    Application,
    AccessGroup,
}

/// The kinds of item an offboarding checklist holds.
#[cfg(feature = "openapi")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OffboardingKind {
    RevokeAccess,
    RecoverDevice,
    TransferData,
}

fn item(id: &str, kind: ItemKind, name: &str, detail: &str) -> ItemTemplate {
    ItemTemplate { id: id.into(), kind, name: name.into(), detail: Some(detail.into()) }
}

impl Default for Playbook {
    /// What a tenant gets before writing its own.
    fn default() -> Self {
        use ItemKind::*;
        Self {
            onboarding: vec![
                item("device-laptop", Device, "Laptop", "Standard laptop"),
                item("app-email", Application, "Email account", "Email and calendar"),
                item("app-chat", Application, "Chat account", "Team chat"),
                item("group-all-staff", AccessGroup, "All staff", "all-staff"),
            ],
            offboarding: vec![
                item("revoke-sso", RevokeAccess, "Revoke single sign-on", "Disable the SSO account"),
                item("recover-laptop", RecoverDevice, "Recover laptop", "Laptop"),
                item("transfer-data", TransferData, "Transfer files and email", "To the manager"),
            ],
            rules: vec![Rule {
                name: "Engineering".into(),
                when: Match { department: Some("Engineering".into()), title_contains: None },
                onboarding: vec![
                    item("device-laptop", Device, "Laptop", "Developer laptop, 32 GB"),
                    item("app-code-hosting", Application, "Code hosting account", "Source control"),
                    item("group-engineering", AccessGroup, "Engineering", "engineering"),
                ],
                offboarding: vec![item(
                    "revoke-code-hosting",
                    RevokeAccess,
                    "Remove from code hosting",
                    "Source control",
                )],
            }],
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaybookError {
    #[error("a playbook holds at most {MAX_RULES} rules")]
    TooManyRules,
    #[error("`{0}` has more than {MAX_ITEMS} items")]
    TooManyItems(String),
    #[error("item id {0:?} must be 1-64 lower-case letters, digits and dashes")]
    BadItemId(String),
    #[error("item {0:?} has an empty name")]
    EmptyName(String),
    #[error("item {id:?} of kind {kind} cannot be on an {task} checklist")]
    WrongKind { id: String, kind: String, task: &'static str },
}

impl Playbook {
    /// Checks limits, ids and that each item fits its checklist (devices to prepare only on onboarding, …).
    pub fn validate(&self) -> Result<(), PlaybookError> {
        if self.rules.len() > MAX_RULES {
            return Err(PlaybookError::TooManyRules);
        }
        let lists = std::iter::once(("default", &self.onboarding, &self.offboarding))
            .chain(self.rules.iter().map(|r| (r.name.as_str(), &r.onboarding, &r.offboarding)));
        for (name, onboarding, offboarding) in lists {
            for (task, items) in [(TaskKind::Onboarding, onboarding), (TaskKind::Offboarding, offboarding)] {
                if items.len() > MAX_ITEMS {
                    return Err(PlaybookError::TooManyItems(name.to_owned()));
                }
                for item in items {
                    let id_ok = (1..=64).contains(&item.id.len())
                        && item.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                    if !id_ok {
                        return Err(PlaybookError::BadItemId(item.id.clone()));
                    }
                    if !crate::validation::has_text(&item.name) {
                        return Err(PlaybookError::EmptyName(item.id.clone()));
                    }
                    if kind_task(item.kind) != task {
                        return Err(PlaybookError::WrongKind {
                            id: item.id.clone(),
                            kind: format!("{:?}", item.kind),
                            task: task.as_str(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The checklist for one person's task.
    pub fn checklist(&self, kind: TaskKind, employee: &Employee) -> Vec<ChecklistItem> {
        let mut chosen = match kind {
            TaskKind::Onboarding => self.onboarding.clone(),
            TaskKind::Offboarding => self.offboarding.clone(),
        };
        for rule in self.rules.iter().filter(|r| r.when.applies_to(employee)) {
            let extra = match kind {
                TaskKind::Onboarding => &rule.onboarding,
                TaskKind::Offboarding => &rule.offboarding,
            };
            for item in extra {
                match chosen.iter_mut().find(|c| c.id == item.id) {
                    Some(existing) => *existing = item.clone(),
                    None => chosen.push(item.clone()),
                }
            }
        }
        chosen
            .into_iter()
            .map(|t| ChecklistItem {
                shipping_address: (t.kind == ItemKind::Device).then(|| employee.home_address.clone()).flatten(),
                id: t.id,
                kind: t.kind,
                name: t.name,
                detail: t.detail,
                status: ItemStatus::Open,
                note: None,
            })
            .collect()
    }
}

fn kind_task(kind: ItemKind) -> TaskKind {
    match kind {
        ItemKind::Device | ItemKind::Application | ItemKind::AccessGroup => TaskKind::Onboarding,
        ItemKind::RevokeAccess | ItemKind::RecoverDevice | ItemKind::TransferData => TaskKind::Offboarding,
    }
}
