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
}

impl Schedule {
    pub fn validate(&self, errors: &mut FieldErrors) {
        let ok = self.poll_interval_minutes.is_none_or(|m| (1..=1440).contains(&m));
        errors.check(ok, "schedule.poll_interval_minutes", "must be between 1 and 1440");
    }

    pub fn poll_interval_secs(&self) -> Option<u64> {
        self.poll_interval_minutes.map(|m| u64::from(m) * 60)
    }
}
