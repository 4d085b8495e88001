//! When a connection is synced.

use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// At least this many minutes (1 to 1440) between scheduled polls; absent, every tick of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::validation::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub poll_interval_minutes: Option<u32>,
    /// At least this many hours (1 to 720) between full reconciliations, which find the people the HR system no
    /// longer lists; absent, daily.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::validation::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub full_sync_interval_hours: Option<u32>,
    /// The mass-change safeguard: a run that would terminate or remove more than this percentage (0 to 100) of
    /// the connection's active people waits for an admin; absent, 10.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::validation::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub safeguard_percent: Option<u32>,
    /// ... and more than this many people (0 to 100000); absent, 5.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::validation::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100000))]
    pub safeguard_minimum: Option<u32>,
}

impl Schedule {
    pub fn validate(&self, errors: &mut FieldErrors) {
        let ok = self.poll_interval_minutes.is_none_or(|m| (1..=1440).contains(&m));
        errors.check(ok, "schedule.poll_interval_minutes", "must be between 1 and 1440");
        let ok = self.full_sync_interval_hours.is_none_or(|h| (1..=720).contains(&h));
        errors.check(ok, "schedule.full_sync_interval_hours", "must be between 1 and 720");
        let ok = self.safeguard_percent.is_none_or(|p| p <= 100);
        errors.check(ok, "schedule.safeguard_percent", "must be between 0 and 100");
        let ok = self.safeguard_minimum.is_none_or(|m| m <= 100_000);
        errors.check(ok, "schedule.safeguard_minimum", "must be between 0 and 100000");
    }

    pub fn poll_interval_secs(&self) -> Option<u64> {
        self.poll_interval_minutes.map(|m| u64::from(m) * 60)
    }
}
