//! Property test through the real worker, DynamoDB (moto), the fake BambooHR and the admin API: random sequences of
//! HR changes, redeliveries, out-of-order deliveries and admin actions leave the invariants intact.

use chrono::{Duration, Utc};
use integration_tests::*;
use ithub::messages::EmployeeObserved;
use ithub::service::Applied;
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Step {
    Terminate { in_days: i64 },
    Rehire,
    Move { city: u8 },
    Redeliver { back: usize },
    Setup,
    Offboard,
    Complete { hub_access: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-1i64..6).prop_map(|in_days| Step::Terminate { in_days }),
        Just(Step::Rehire),
        (0u8..3).prop_map(|city| Step::Move { city }),
        (0usize..4).prop_map(|back| Step::Redeliver { back }),
        Just(Step::Setup),
        Just(Step::Offboard),
        any::<bool>().prop_map(|hub_access| Step::Complete { hub_access }),
    ]
}

struct Run {
    world: World,
    employee: String,
    delivered: Vec<EmployeeObserved>,
    /// Commits made so far: each must have left exactly one audit entry.
    commits: usize,
}

impl Run {
    /// Reads the person from HR as the poller would and hands the observation to the worker.
    async fn observe(&mut self) {
        let provider = self
            .world
            .stack
            .secrets
            .connect(&self.world.connection, self.world.stack.http.clone(), &self.world.stack.store)
            .await
            .unwrap();
        let record = provider.fetch("1").await.unwrap().unwrap();
        let observation = observed(&self.world.tenant, &self.world.connection.id, record, Utc::now());
        self.deliver(observation).await;
    }

    async fn deliver(&mut self, observation: EmployeeObserved) {
        let applied = self.world.stack.worker().apply(observation.clone()).await.unwrap();
        if matches!(applied, Applied::Created | Applied::Updated) {
            self.commits += 1;
        }
        self.delivered.push(observation);
    }

    async fn run(&mut self, step: &Step) {
        let admin = self.world.admin.clone();
        match step {
            Step::Terminate { in_days } => {
                self.world.fake.terminate(1, Utc::now().date_naive() + Duration::days(*in_days)).await;
                self.observe().await;
            }
            Step::Rehire => {
                let back = json!({"status": "Active", "employmentHistoryStatus": "Full-Time", "terminationDate": "0000-00-00"});
                self.world.fake.change(1, back).await;
                self.observe().await;
            }
            Step::Move { city } => {
                self.world.fake.change(1, json!({"city": format!("City {city}")})).await;
                self.observe().await;
            }
            Step::Redeliver { back } => {
                if let Some(old) = self.delivered.iter().rev().nth(*back).cloned() {
                    self.deliver(old).await;
                }
            }
            Step::Setup => {
                let (_, result) = admin.post("/v1/employees/setup", json!({"employee_ids": [self.employee]})).await;
                self.commits += result["set_up"].as_array().map_or(0, Vec::len);
            }
            Step::Offboard => {
                let path = format!("/v1/employees/{}/offboard", self.employee);
                if admin.post(&path, json!({"reason": "property test"})).await.0 == 201 {
                    self.commits += 1;
                }
            }
            Step::Complete { hub_access } => {
                let open = admin.all("/v1/tasks?status=open").await;
                let Some(task) = open.into_iter().find(|t| t["employee_id"] == self.employee.as_str()) else {
                    return;
                };
                let id = task["id"].as_str().unwrap();
                self.commits += task["open_items"].as_array().map_or(0, Vec::len);
                admin.tick_all(id).await;
                let access = *hub_access && task["kind"] == "onboarding";
                let (status, body) =
                    admin.post(&format!("/v1/tasks/{id}/complete"), json!({"hub_access": access})).await;
                assert!(status == 200 || status == 409, "{status}: {body}");
                if status == 200 {
                    self.commits += 1;
                }
            }
        }
    }

    async fn check(&self) {
        let admin = &self.world.admin;
        let (_, employee) = admin.get(&format!("/v1/employees/{}", self.employee)).await;
        for kind in ["onboarding", "offboarding"] {
            let open = admin.all(&format!("/v1/tasks?status=open&kind={kind}")).await;
            let mine = open.iter().filter(|t| t["employee_id"] == self.employee.as_str()).count();
            assert!(mine <= 1, "{mine} open {kind} tasks");
        }
        let (_, licenses) = admin.get("/v1/licenses").await;
        let holds = licenses["items"].as_array().unwrap().iter().any(|l| l["employee_id"] == self.employee.as_str());
        assert_eq!(holds, employee["hub"]["license"] == true, "the license list agrees with the employee");
        if holds {
            let status = employee["hub"]["status"].as_str().unwrap();
            assert!(status == "active" || status == "offboarding", "license held while {status}");
        }
        let trail = admin.all(&format!("/v1/audit?employee_id={}", self.employee)).await;
        assert_eq!(trail.len(), self.commits, "every transition is audited, once");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hr_events_duplicates_reorders_and_admin_actions_keep_the_invariants(steps in prop::collection::vec(step(), 1..8)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let world = World::new(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
            let mut run = Run { world, employee: String::new(), delivered: Vec::new(), commits: 0 };
            run.observe().await;
            run.employee = run.world.admin.employee_by_hr_id("1").await["id"].as_str().unwrap().to_owned();
            for step in &steps {
                run.run(step).await;
            }
            run.check().await;
        });
    }
}
