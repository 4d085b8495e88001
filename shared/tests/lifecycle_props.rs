//! Property test of the lifecycle rules alone (no I/O): random sequences of HR changes and admin actions for one
//! person, checked against the invariants that must hold after every step.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ithub::domain::lifecycle::{self, Decision, Effect, Hub, HubStatus};
use ithub::domain::{Address, ConnectionId, Employee, EmployeeId, EmploymentStatus, TaskId, TaskKind, TaskStatus};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Step {
    Hire { start_in: i64 },
    Terminate { in_days: i64 },
    Rehire { start_in: i64 },
    WithdrawTermination,
    Move { city: u8 },
    Retitle { title: u8 },
    Setup,
    ManualOffboard,
    Complete { hub_access: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-5i64..20).prop_map(|start_in| Step::Hire { start_in }),
        (-3i64..10).prop_map(|in_days| Step::Terminate { in_days }),
        (0i64..10).prop_map(|start_in| Step::Rehire { start_in }),
        Just(Step::WithdrawTermination),
        (0u8..3).prop_map(|city| Step::Move { city }),
        (0u8..3).prop_map(|title| Step::Retitle { title }),
        Just(Step::Setup),
        Just(Step::ManualOffboard),
        any::<bool>().prop_map(|hub_access| Step::Complete { hub_access }),
    ]
}

struct Model {
    id: EmployeeId,
    today: NaiveDate,
    now: DateTime<Utc>,
    hr: Option<Employee>,
    hub: Option<Hub>,
    tasks: BTreeMap<TaskId, (TaskKind, u32, TaskStatus)>,
    license: bool,
}

fn base(today: NaiveDate) -> Employee {
    Employee {
        hr_id: "1".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        work_email: None,
        personal_email: None,
        phone: None,
        home_address: None,
        title: None,
        department: None,
        manager_hr_id: None,
        manager_name: None,
        status: EmploymentStatus::Active,
        start_date: Some(today),
        end_date: None,
        withheld: Vec::new(),
    }
}

impl Model {
    fn carry_out(&mut self, decision: Decision) {
        let hub = decision.hub.clone();
        for effect in &decision.effects {
            match effect {
                Effect::OpenTask { kind, .. } => {
                    let id = hub.task_id(&self.id, *kind);
                    assert!(!self.tasks.contains_key(&id), "a task id is never reused: {id}");
                    self.tasks.insert(id, (*kind, hub.cycle, TaskStatus::Open));
                }
                Effect::CancelTask { kind, cycle, .. } => {
                    if let Some(task) = self.tasks.get_mut(&TaskId::derive(&self.id, *kind, *cycle))
                        && task.2 == TaskStatus::Open
                    {
                        task.2 = TaskStatus::Cancelled;
                    }
                }
                Effect::CompleteTask { kind, cycle, .. } => {
                    if let Some(task) = self.tasks.get_mut(&TaskId::derive(&self.id, *kind, *cycle)) {
                        task.2 = TaskStatus::Completed;
                    }
                }
                Effect::GrantLicense => self.license = true,
                Effect::ReleaseLicense => self.license = false,
                Effect::NoteOnTask { .. } | Effect::ShipTo { .. } | Effect::Event(_) => {}
            }
        }
        self.hub = Some(hub);
    }

    fn observe(&mut self, next: Employee, initial_import: bool) {
        if self.hr.as_ref() == Some(&next) {
            return; // the worker writes nothing for unchanged facts
        }
        let current = self.hr.as_ref().zip(self.hub.as_ref());
        let decision = lifecycle::on_observed(current, &next, initial_import, self.today, self.now);
        self.hr = Some(next);
        self.carry_out(decision);
    }

    fn open_task(&self) -> Option<(TaskId, TaskKind)> {
        let hub = self.hub.as_ref()?;
        self.tasks
            .iter()
            .find(|(_, (_, cycle, status))| *cycle == hub.cycle && *status == TaskStatus::Open)
            .map(|(id, (kind, _, _))| (id.clone(), *kind))
    }

    fn run(&mut self, step: &Step, first: bool) {
        let today = self.today;
        let current = self.hr.clone().unwrap_or_else(|| base(today));
        match step {
            Step::Hire { start_in } | Step::Rehire { start_in } => {
                let start = today + Duration::days(*start_in);
                let mut next = current;
                next.start_date = Some(start);
                next.end_date = None;
                next.status = if start > today { EmploymentStatus::Pending } else { EmploymentStatus::Active };
                self.observe(next, first);
            }
            Step::Terminate { in_days } => {
                let end = today + Duration::days(*in_days);
                let mut next = current;
                next.end_date = Some(end);
                next.status = if end < today { EmploymentStatus::Terminated } else { next.status };
                self.observe(next, first);
            }
            Step::WithdrawTermination => {
                let mut next = current;
                if next.status != EmploymentStatus::Terminated {
                    next.end_date = None;
                }
                self.observe(next, first);
            }
            Step::Move { city } => {
                let mut next = current;
                next.home_address = Some(Address { city: Some(format!("City {city}")), ..Address::default() });
                self.observe(next, first);
            }
            Step::Retitle { title } => {
                let mut next = current;
                next.title = Some(format!("Title {title}"));
                self.observe(next, first);
            }
            Step::Setup => {
                if let (Some(hub), Some(hr)) = (&self.hub, &self.hr)
                    && let Ok(decision) = lifecycle::on_setup(hub, hr)
                {
                    self.carry_out(decision);
                }
            }
            Step::ManualOffboard => {
                if let Some(hub) = &self.hub
                    && let Ok(decision) = lifecycle::on_manual_offboard(hub, "admin:test", "test", today, self.now)
                {
                    self.carry_out(decision);
                }
            }
            Step::Complete { hub_access } => {
                if let (Some(hub), Some(hr), Some((id, kind))) = (self.hub.clone(), self.hr.clone(), self.open_task()) {
                    let access = *hub_access && kind == TaskKind::Onboarding;
                    let decision = lifecycle::on_task_completed(&hub, &hr, kind, access, today);
                    self.carry_out(decision);
                    assert_eq!(self.tasks[&id].2, TaskStatus::Completed, "the decision completes the task");
                }
            }
        }
    }

    fn check(&self) {
        let Some(hub) = &self.hub else { return };
        let open = |kind| self.tasks.values().filter(|(k, _, s)| *k == kind && *s == TaskStatus::Open).count();
        assert!(open(TaskKind::Onboarding) <= 1, "at most one open onboarding task");
        assert!(open(TaskKind::Offboarding) <= 1, "at most one open offboarding task");
        assert_eq!(self.license, hub.license, "license effects agree with the state");
        if hub.license {
            assert!(
                matches!(hub.status, HubStatus::Active | HubStatus::Offboarding),
                "a license is held only by set-up or onboarded people not yet offboarded, not {:?}",
                hub.status
            );
        }
        let expected = match hub.status {
            HubStatus::Onboarding => (1, 0),
            HubStatus::Offboarding => (0, 1),
            _ => (0, 0),
        };
        assert_eq!((open(TaskKind::Onboarding), open(TaskKind::Offboarding)), expected, "{:?}", hub.status);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn lifecycle_invariants_hold_for_any_sequence(initial_import in any::<bool>(), steps in prop::collection::vec(step(), 1..25)) {
        let connection = ConnectionId::parse("con_00000000000000000000000000000001").unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let mut model = Model {
            id: EmployeeId::derive(&connection, "1"),
            today,
            now: DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().with_timezone(&Utc),
            hr: None,
            hub: None,
            tasks: BTreeMap::new(),
            license: false,
        };
        for (n, step) in steps.iter().enumerate() {
            model.run(step, initial_import && n == 0);
            model.check();
        }
    }
}
