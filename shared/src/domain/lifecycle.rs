//! The lifecycle rules: what IT Hub does when HR says something about a person, or when an admin acts. Pure
//! functions from the current state to the next state and its effects; the worker and the admin API carry the
//! effects out.

use super::{Address, Employee, EmployeeId, EmploymentStatus, HrNote, TaskId, TaskKind};
use crate::events::EventKind;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a person stands with IT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HubStatus {
    /// Imported with the first sync and not (yet) chosen for setup by the admin.
    NotSetUp,
    /// A joiner: an onboarding task is open.
    Onboarding,
    /// Set up or onboarded.
    Active,
    /// A leaver: an offboarding task is open.
    Offboarding,
    /// Offboarding completed.
    Offboarded,
    /// Left before IT managed them (terminated when first seen, or while not set up).
    Former,
}

/// Who started an offboarding by hand, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManualOffboard {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the hub itself knows about a person, beside the HR record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hub {
    pub status: HubStatus,
    /// Holds a paid IT Hub license.
    pub license: bool,
    /// Employment cycle: 1 for the first hire, one more for each rehire. Task ids derive from it.
    pub cycle: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_offboard: Option<ManualOffboard>,
}

impl Hub {
    pub fn task_id(&self, employee: &EmployeeId, kind: TaskKind) -> TaskId {
        TaskId::derive(employee, kind, self.cycle)
    }
}

/// Something to carry out after a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open a task of this kind for the hub's current cycle, with a checklist from the playbook.
    OpenTask {
        kind: TaskKind,
        due: NaiveDate,
        reason: Option<String>,
    },
    /// Close an open task of this kind and cycle as no longer needed.
    CancelTask {
        kind: TaskKind,
        cycle: u32,
        why: String,
    },
    /// Record an HR fact on the task of this kind and cycle (and move its due date, if given).
    NoteOnTask {
        kind: TaskKind,
        cycle: u32,
        note: HrNote,
        due: Option<NaiveDate>,
    },
    /// Devices on the open onboarding task now ship here.
    ShipTo {
        cycle: u32,
        address: Option<Address>,
    },
    GrantLicense,
    ReleaseLicense,
    /// Complete the open task of this kind and cycle (the admin did its checklist).
    CompleteTask {
        kind: TaskKind,
        cycle: u32,
        hub_access: bool,
    },
    /// A domain event; the change that carries the decision out fills in its payload.
    Event(EventKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub hub: Hub,
    pub effects: Vec<Effect>,
}

impl Decision {
    /// The events to publish, in order.
    pub fn events(&self) -> impl Iterator<Item = EventKind> + '_ {
        self.effects.iter().filter_map(|e| match e {
            Effect::Event(kind) => Some(*kind),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("{0}")]
    NotAllowed(String),
}

fn leaving(e: &Employee) -> bool {
    e.status == EmploymentStatus::Terminated || e.end_date.is_some()
}

fn hired_due(e: &Employee, today: NaiveDate) -> NaiveDate {
    e.start_date.filter(|d| *d > today).unwrap_or(today)
}

fn leaving_due(e: &Employee, today: NaiveDate) -> NaiveDate {
    e.end_date.unwrap_or(today)
}

/// HR says `next` about a person the hub knows as `current` (record and hub state), or does not know yet.
/// `initial_import` is true for the observations of a connection's first full listing.
pub fn on_observed(
    current: Option<(&Employee, &Hub)>,
    next: &Employee,
    initial_import: bool,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Decision {
    use Effect::*;
    let Some((prev, hub)) = current else {
        let fresh = |status| Hub { status, license: false, cycle: 1, manual_offboard: None };
        if next.status == EmploymentStatus::Terminated {
            return Decision { hub: fresh(HubStatus::Former), effects: vec![] };
        }
        if initial_import && next.status != EmploymentStatus::Pending {
            // People who already work there are listed for the admin's initial setup, not onboarded.
            return Decision { hub: fresh(HubStatus::NotSetUp), effects: vec![] };
        }
        let mut effects = vec![
            Event(EventKind::EmployeeHired),
            OpenTask { kind: TaskKind::Onboarding, due: hired_due(next, today), reason: None },
            Event(EventKind::TaskOpened),
        ];
        if leaving(next) {
            // Hired with a fixed end date: onboard now; the termination is handled when HR records it again.
            effects.push(Event(EventKind::EmployeeUpdated));
        }
        return Decision { hub: fresh(HubStatus::Onboarding), effects };
    };

    let mut hub = hub.clone();
    let mut effects = Vec::new();
    let rehired = prev.status == EmploymentStatus::Terminated && !leaving(next);
    if rehired {
        // Whatever the last employment left open is moot now.
        let open = match hub.status {
            HubStatus::Onboarding => Some(TaskKind::Onboarding),
            HubStatus::Offboarding => Some(TaskKind::Offboarding),
            _ => None,
        };
        if let Some(kind) = open {
            effects.push(CancelTask { kind, cycle: hub.cycle, why: "rehired in HR".into() });
        }
        if hub.license {
            hub.license = false;
            effects.push(ReleaseLicense);
            effects.push(Event(EventKind::LicenseReleased));
        }
        hub.cycle += 1;
        hub.status = HubStatus::Onboarding;
        hub.manual_offboard = None;
        effects.push(Event(EventKind::EmployeeHired));
        effects.push(OpenTask { kind: TaskKind::Onboarding, due: hired_due(next, today), reason: None });
        effects.push(Event(EventKind::TaskOpened));
        return Decision { hub, effects };
    }

    let newly_leaving = !leaving(prev) && leaving(next);
    if leaving(next) {
        let effective = next.status == EmploymentStatus::Terminated;
        // Someone IT looks after is leaving and has no offboarding yet. This holds whenever HR says so, not only on
        // the change that first said it, so a termination seen together with the hire is not lost.
        let offboard_now = hub.status == HubStatus::Active || (hub.status == HubStatus::Onboarding && effective);
        match hub.status {
            HubStatus::Active | HubStatus::Onboarding if offboard_now => {
                effects.push(Event(EventKind::EmployeeTerminated));
                if hub.status == HubStatus::Onboarding {
                    effects.push(CancelTask {
                        kind: TaskKind::Onboarding,
                        cycle: hub.cycle,
                        why: "terminated before onboarding was completed".into(),
                    });
                }
                hub.status = HubStatus::Offboarding;
                effects.push(OpenTask { kind: TaskKind::Offboarding, due: leaving_due(next, today), reason: None });
                effects.push(Event(EventKind::TaskOpened));
                return Decision { hub, effects };
            }
            // A joiner with a leaving date ahead (a fixed-term contract): onboarding goes on; completing it opens
            // the offboarding.
            HubStatus::Active | HubStatus::Onboarding => {}
            HubStatus::Offboarding | HubStatus::Offboarded if newly_leaving => {
                // Already offboarded by hand (or earlier): record HR's word on that task, open nothing.
                effects.push(Event(EventKind::EmployeeTerminated));
                let note = HrNote { at: now, note: "HR recorded the termination".into(), end_date: next.end_date };
                effects.push(NoteOnTask { kind: TaskKind::Offboarding, cycle: hub.cycle, note, due: None });
                return Decision { hub, effects };
            }
            HubStatus::NotSetUp => {
                effects.push(Event(EventKind::EmployeeTerminated));
                hub.status = HubStatus::Former;
                return Decision { hub, effects };
            }
            HubStatus::Offboarding | HubStatus::Offboarded | HubStatus::Former => {}
        }
    }

    effects.push(Event(EventKind::EmployeeUpdated));
    if leaving(prev) && leaving(next) && prev.end_date != next.end_date && hub.status == HubStatus::Offboarding {
        let note = HrNote { at: now, note: "HR changed the termination date".into(), end_date: next.end_date };
        let due = if hub.manual_offboard.is_none() { next.end_date } else { None };
        effects.push(NoteOnTask { kind: TaskKind::Offboarding, cycle: hub.cycle, note, due });
    }
    if leaving(prev) && !leaving(next) && hub.status == HubStatus::Offboarding {
        let note = HrNote { at: now, note: "HR withdrew the termination".into(), end_date: None };
        effects.push(NoteOnTask { kind: TaskKind::Offboarding, cycle: hub.cycle, note, due: None });
    }
    if hub.status == HubStatus::Onboarding {
        if prev.home_address != next.home_address {
            effects.push(ShipTo { cycle: hub.cycle, address: next.home_address.clone() });
        }
        if prev.start_date != next.start_date {
            let note = HrNote { at: now, note: "HR changed the start date".into(), end_date: None };
            effects.push(NoteOnTask {
                kind: TaskKind::Onboarding,
                cycle: hub.cycle,
                note,
                due: Some(hired_due(next, today)),
            });
        }
    }
    Decision { hub, effects }
}

/// The admin sets up someone imported with the first sync: they get a license.
pub fn on_setup(hub: &Hub, hr: &Employee) -> Result<Decision, LifecycleError> {
    if hub.status != HubStatus::NotSetUp {
        return Err(LifecycleError::NotAllowed(format!(
            "only people not set up yet can be set up (this one is {:?})",
            hub.status
        )));
    }
    if !matches!(hr.status, EmploymentStatus::Active | EmploymentStatus::OnLeave) {
        return Err(LifecycleError::NotAllowed("only active employees can be set up".into()));
    }
    let hub = Hub { status: HubStatus::Active, license: true, ..hub.clone() };
    Ok(Decision { hub, effects: vec![Effect::GrantLicense, Effect::Event(EventKind::LicenseGranted)] })
}

/// The admin offboards someone now, before HR has caught up.
pub fn on_manual_offboard(
    hub: &Hub,
    by: &str,
    reason: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Decision, LifecycleError> {
    if !matches!(hub.status, HubStatus::Onboarding | HubStatus::Active | HubStatus::NotSetUp) {
        return Err(LifecycleError::NotAllowed(format!("already {:?}", hub.status).to_lowercase()));
    }
    let mut effects = Vec::new();
    if hub.status == HubStatus::Onboarding {
        effects.push(Effect::CancelTask {
            kind: TaskKind::Onboarding,
            cycle: hub.cycle,
            why: "offboarded by an admin before onboarding was completed".into(),
        });
    }
    effects.push(Effect::OpenTask { kind: TaskKind::Offboarding, due: today, reason: Some(reason.to_owned()) });
    effects.push(Effect::Event(EventKind::TaskOpened));
    let manual = ManualOffboard { by: by.to_owned(), reason: reason.to_owned(), at: now };
    let hub = Hub { status: HubStatus::Offboarding, manual_offboard: Some(manual), ..hub.clone() };
    Ok(Decision { hub, effects })
}

/// The admin completes an open task. Onboarding with hub access grants the license; offboarding releases it.
/// Completing the onboarding of someone HR already has leaving opens their offboarding.
pub fn on_task_completed(hub: &Hub, hr: &Employee, kind: TaskKind, hub_access: bool, today: NaiveDate) -> Decision {
    let mut hub = hub.clone();
    let mut effects = vec![
        Effect::CompleteTask { kind, cycle: hub.cycle, hub_access: hub_access && kind == TaskKind::Onboarding },
        Effect::Event(EventKind::TaskCompleted),
    ];
    match kind {
        TaskKind::Onboarding => {
            hub.status = HubStatus::Active;
            if hub_access && !hub.license {
                hub.license = true;
                effects.push(Effect::GrantLicense);
                effects.push(Effect::Event(EventKind::LicenseGranted));
            }
            if leaving(hr) {
                hub.status = HubStatus::Offboarding;
                effects.push(Effect::OpenTask {
                    kind: TaskKind::Offboarding,
                    due: leaving_due(hr, today),
                    reason: None,
                });
                effects.push(Effect::Event(EventKind::TaskOpened));
            }
        }
        TaskKind::Offboarding => {
            hub.status = HubStatus::Offboarded;
            if hub.license {
                hub.license = false;
                effects.push(Effect::ReleaseLicense);
                effects.push(Effect::Event(EventKind::LicenseReleased));
            }
        }
    }
    Decision { hub, effects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::employee::tests::ada;
    use Effect::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn hub(status: HubStatus, license: bool) -> Hub {
        Hub { status, license, cycle: 1, manual_offboard: None }
    }

    fn terminated(on: NaiveDate) -> Employee {
        let mut e = ada();
        e.end_date = Some(on);
        if on <= today() {
            e.status = EmploymentStatus::Terminated;
        }
        e
    }

    fn opens(d: &Decision) -> Vec<TaskKind> {
        d.effects.iter().filter_map(|e| if let OpenTask { kind, .. } = e { Some(*kind) } else { None }).collect()
    }

    #[test]
    fn the_first_import_lists_current_staff_for_setup_without_tasks() {
        let d = on_observed(None, &ada(), true, today(), now());
        assert_eq!(d.hub.status, HubStatus::NotSetUp);
        assert!(!d.hub.license);
        assert!(d.effects.is_empty());
    }

    #[test]
    fn a_pre_hire_in_the_first_import_is_onboarded_on_the_start_date() {
        let mut starter = ada();
        starter.status = EmploymentStatus::Pending;
        starter.start_date = NaiveDate::from_ymd_opt(2026, 6, 15);
        let d = on_observed(None, &starter, true, today(), now());
        assert_eq!(d.hub.status, HubStatus::Onboarding);
        assert!(d.effects.contains(&OpenTask {
            kind: TaskKind::Onboarding,
            due: starter.start_date.unwrap(),
            reason: None
        }));
    }

    #[test]
    fn a_hire_after_setup_opens_onboarding_due_today_or_on_the_start_date() {
        let d = on_observed(None, &ada(), false, today(), now());
        assert_eq!(opens(&d), vec![TaskKind::Onboarding]);
        assert!(d.effects.contains(&OpenTask { kind: TaskKind::Onboarding, due: today(), reason: None }));
        assert_eq!(d.events().collect::<Vec<_>>(), vec![EventKind::EmployeeHired, EventKind::TaskOpened]);
    }

    #[test]
    fn a_termination_opens_offboarding_due_on_the_date() {
        let leave = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let d = on_observed(Some((&ada(), &hub(HubStatus::Active, true))), &terminated(leave), false, today(), now());
        assert_eq!(d.hub.status, HubStatus::Offboarding);
        assert!(d.hub.license, "the license is released when the offboarding is done");
        assert!(d.effects.contains(&OpenTask { kind: TaskKind::Offboarding, due: leave, reason: None }));
    }

    #[test]
    fn a_termination_during_onboarding_cancels_it() {
        let d = on_observed(
            Some((&ada(), &hub(HubStatus::Onboarding, false))),
            &terminated(today()),
            false,
            today(),
            now(),
        );
        assert!(matches!(d.effects[1], CancelTask { kind: TaskKind::Onboarding, cycle: 1, .. }));
        assert_eq!(opens(&d), vec![TaskKind::Offboarding]);
    }

    #[test]
    fn hr_termination_after_manual_offboarding_opens_no_second_task() {
        let manual =
            on_manual_offboard(&hub(HubStatus::Active, true), "admin:it", "laptop stolen", today(), now()).unwrap();
        assert_eq!(opens(&manual), vec![TaskKind::Offboarding]);
        let d = on_observed(Some((&ada(), &manual.hub)), &terminated(today()), false, today(), now());
        assert!(opens(&d).is_empty());
        assert!(matches!(d.effects[1], NoteOnTask { kind: TaskKind::Offboarding, cycle: 1, .. }));
        let done = on_task_completed(&manual.hub, &ada(), TaskKind::Offboarding, false, today());
        let late = on_observed(Some((&ada(), &done.hub)), &terminated(today()), false, today(), now());
        assert!(opens(&late).is_empty(), "even after the offboarding was completed");
    }

    #[test]
    fn a_rehire_starts_a_new_cycle_with_a_new_onboarding_task() {
        let gone = terminated(today());
        let offboarded = Hub { status: HubStatus::Offboarded, license: false, cycle: 1, manual_offboard: None };
        let d = on_observed(Some((&gone, &offboarded)), &ada(), false, today(), now());
        assert_eq!(d.hub.cycle, 2);
        assert_eq!(d.hub.status, HubStatus::Onboarding);
        assert_eq!(opens(&d), vec![TaskKind::Onboarding]);
    }

    #[test]
    fn field_changes_open_nothing_but_follow_open_tasks() {
        let mut moved = ada();
        moved.home_address.as_mut().unwrap().city = Some("Paris".into());
        moved.title = Some("Staff Engineer".into());
        let d = on_observed(Some((&ada(), &hub(HubStatus::Onboarding, false))), &moved, false, today(), now());
        assert!(opens(&d).is_empty());
        assert!(d.effects.contains(&ShipTo { cycle: 1, address: moved.home_address.clone() }));
        let active = on_observed(Some((&ada(), &hub(HubStatus::Active, true))), &moved, false, today(), now());
        assert_eq!(active.effects, vec![Event(EventKind::EmployeeUpdated)]);
    }

    #[test]
    fn setup_grants_a_license_once_and_only_to_current_staff() {
        let d = on_setup(&hub(HubStatus::NotSetUp, false), &ada()).unwrap();
        assert!(d.hub.license && d.hub.status == HubStatus::Active);
        assert!(on_setup(&d.hub, &ada()).is_err(), "not twice");
        assert!(on_setup(&hub(HubStatus::NotSetUp, false), &terminated(today())).is_err());
    }

    #[test]
    fn completing_tasks_moves_licenses() {
        let onboarded =
            on_task_completed(&hub(HubStatus::Onboarding, false), &ada(), TaskKind::Onboarding, true, today());
        assert!(onboarded.hub.license && onboarded.effects.contains(&GrantLicense));
        let without =
            on_task_completed(&hub(HubStatus::Onboarding, false), &ada(), TaskKind::Onboarding, false, today());
        assert!(!without.hub.license);
        let left = on_task_completed(&hub(HubStatus::Offboarding, true), &ada(), TaskKind::Offboarding, false, today());
        assert!(!left.hub.license && left.effects.contains(&ReleaseLicense));
        assert_eq!(left.hub.status, HubStatus::Offboarded);
    }

    #[test]
    fn manual_offboarding_twice_is_refused() {
        let first = on_manual_offboard(&hub(HubStatus::Active, true), "admin:it", "left", today(), now()).unwrap();
        assert!(on_manual_offboard(&first.hub, "admin:it", "again", today(), now()).is_err());
    }

    #[test]
    fn a_hire_seen_with_a_leaving_date_is_still_offboarded() {
        let fixed_term = terminated(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap());
        let hired = on_observed(None, &fixed_term, false, today(), now());
        assert_eq!(opens(&hired), vec![TaskKind::Onboarding]);
        // Onboarding completes while the end date is still ahead: the offboarding opens, due on that date.
        let done = on_task_completed(&hired.hub, &fixed_term, TaskKind::Onboarding, true, today());
        assert_eq!(done.hub.status, HubStatus::Offboarding);
        assert!(done.effects.contains(&OpenTask {
            kind: TaskKind::Offboarding,
            due: fixed_term.end_date.unwrap(),
            reason: None
        }));
        // Or the termination takes effect before onboarding is done: onboarding is cancelled, offboarding opens.
        let mut gone = fixed_term.clone();
        gone.status = EmploymentStatus::Terminated;
        let d = on_observed(Some((&fixed_term, &hired.hub)), &gone, false, today(), now());
        assert_eq!(opens(&d), vec![TaskKind::Offboarding]);
    }

    #[test]
    fn a_rehire_cancels_whatever_the_last_employment_left_open() {
        let gone = terminated(today());
        let onboarding = hub(HubStatus::Onboarding, false);
        let d = on_observed(Some((&gone, &onboarding)), &ada(), false, today(), now());
        assert!(d.effects.contains(&CancelTask { kind: TaskKind::Onboarding, cycle: 1, why: "rehired in HR".into() }));
        assert_eq!(opens(&d), vec![TaskKind::Onboarding]);
        assert_eq!(d.hub.cycle, 2);
    }
}
