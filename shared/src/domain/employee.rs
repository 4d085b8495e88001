//! A person as the HR system describes them. These fields are owned by HR: IT Hub stores and shows them but never
//! edits them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The names of the fields HR owns, as they appear under `hr` in the admin API.
pub const HR_OWNED_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "work_email",
    "personal_email",
    "phone",
    "home_address",
    "title",
    "department",
    "manager_hr_id",
    "manager_name",
    "status",
    "start_date",
    "end_date",
];

/// The fields IT Hub owns on an employee: the only ones an admin may write.
pub const HUB_OWNED_FIELDS: &[&str] = &["it_notes", "label"];

/// What IT keeps about a person beside HR's record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HubFields {
    /// Free text for IT (at most 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub it_notes: Option<String>,
    /// A short label for lists and filters (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl HubFields {
    pub fn validate(&self) -> Result<(), String> {
        if self.it_notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err("it_notes holds at most 2000 characters".into());
        }
        if self.label.as_ref().is_some_and(|l| l.chars().count() > 64) {
            return Err("label holds at most 64 characters".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    /// Hired, start date still ahead.
    Pending,
    Active,
    /// Absent for a while but still employed.
    OnLeave,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The one shape every HR provider maps its records to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Employee {
    /// The HR system's own id for the person.
    pub hr_id: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_address: Option<Address>,
    /// Role or job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The manager's id in the same HR system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_hr_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_name: Option<String>,
    pub status: EmploymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Last day of employment, when a termination is recorded (it may lie in the future).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    /// HR-owned fields the HR system withheld from this reading (some redact what a token may not read):
    /// each keeps the value stored before, never cleared. Always empty on a stored employee.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub withheld: Vec<String>,
}

impl Employee {
    /// Lower-case names and emails, for text search.
    pub fn search_text(&self) -> String {
        [Some(&self.first_name), Some(&self.last_name), self.work_email.as_ref(), self.personal_email.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| s.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// This reading with each withheld field taken from `stored` (the person as kept before; `None` for someone
    /// new, whose withheld fields stay empty). What is applied and hashed is always the result.
    pub fn keep_withheld(mut self, stored: Option<&Employee>) -> Employee {
        let withheld = std::mem::take(&mut self.withheld);
        let Some(stored) = stored else { return self };
        for field in withheld {
            match field.as_str() {
                "first_name" => self.first_name.clone_from(&stored.first_name),
                "last_name" => self.last_name.clone_from(&stored.last_name),
                "work_email" => self.work_email.clone_from(&stored.work_email),
                "personal_email" => self.personal_email.clone_from(&stored.personal_email),
                "phone" => self.phone.clone_from(&stored.phone),
                "home_address" => self.home_address.clone_from(&stored.home_address),
                "title" => self.title.clone_from(&stored.title),
                "department" => self.department.clone_from(&stored.department),
                "manager_hr_id" => self.manager_hr_id.clone_from(&stored.manager_hr_id),
                "manager_name" => self.manager_name.clone_from(&stored.manager_name),
                "start_date" => self.start_date = stored.start_date,
                "end_date" => self.end_date = stored.end_date,
                _ => {}
            }
        }
        self
    }

    /// A fingerprint of every HR-owned field. Two observations with the same hash carry the same facts, so the
    /// second costs no write.
    pub fn content_hash(&self) -> String {
        // Serialising a struct is deterministic (field order is declaration order), which is all a hash needs.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn ada() -> Employee {
        Employee {
            hr_id: "42".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            work_email: Some("ada@corp.example".into()),
            personal_email: None,
            phone: Some("555-0100".into()),
            home_address: Some(Address { city: Some("London".into()), ..Address::default() }),
            title: Some("Engineer".into()),
            department: Some("Engineering".into()),
            manager_hr_id: None,
            manager_name: None,
            status: EmploymentStatus::Active,
            start_date: NaiveDate::from_ymd_opt(2020, 1, 6),
            end_date: None,
            withheld: Vec::new(),
        }
    }

    #[test]
    fn withheld_fields_keep_what_was_stored_and_nothing_else() {
        let mut reading = ada();
        reading.phone = None;
        reading.title = Some("Principal Engineer".into());
        reading.withheld = vec!["phone".into(), "home_address".into()];
        reading.home_address = None;
        let kept = reading.clone().keep_withheld(Some(&ada()));
        assert_eq!((kept.phone.as_deref(), &kept.home_address), (Some("555-0100"), &ada().home_address));
        assert_eq!(kept.title.as_deref(), Some("Principal Engineer"), "what was read still applies");
        assert!(kept.withheld.is_empty());
        assert_eq!(kept.content_hash(), kept.clone().keep_withheld(Some(&ada())).content_hash());
        let new = reading.keep_withheld(None);
        assert_eq!((new.phone, new.withheld.len()), (None, 0), "someone new has nothing to keep");
    }

    #[test]
    fn hash_is_stable_and_sees_every_field() {
        let a = ada();
        assert_eq!(a.content_hash(), ada().content_hash());
        let mut moved = ada();
        moved.home_address.as_mut().unwrap().city = Some("Paris".into());
        assert_ne!(a.content_hash(), moved.content_hash());
        let mut left = ada();
        left.status = EmploymentStatus::Terminated;
        assert_ne!(a.content_hash(), left.content_hash());
    }

    #[test]
    fn hr_owned_field_list_matches_the_serialised_shape() {
        let mut full = ada();
        full.personal_email = Some("a@home".into());
        full.manager_hr_id = Some("1".into());
        full.manager_name = Some("Babbage".into());
        full.end_date = NaiveDate::from_ymd_opt(2030, 1, 1);
        let json = serde_json::to_value(&full).unwrap();
        let mut keys: Vec<&str> =
            json.as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "hr_id").collect();
        keys.sort_unstable();
        let mut owned = HR_OWNED_FIELDS.to_vec();
        owned.sort_unstable();
        assert_eq!(keys, owned);
    }
}
