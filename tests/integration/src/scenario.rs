//! The fault-injection scenario (issue 12): a company imported, a share of it set up, then hires, terminations,
//! edits and rehires, all through the functions as deployed (webhooks, "sync now", the worker from both queues,
//! the schedule's queue tick), while a [`FaultProxy`] fails a share of their AWS calls and the fake BambooHR a share
//! of its API calls. What it ends with is a [`Snapshot`] read through the admin API and the event tap, compared by
//! the caller with what the script asked for and with the same script run without faults.

use crate::faults::{FaultProxy, Plan, Tally};
use crate::{
    Admin, Stack, WORLD_SECRET, connect, fake_bamboo, paste_bamboo_webhook, serve, stack_with, take_all, tap, tenant,
};
use chrono::{Duration as Days, Utc};
use fake_hr::Fault;
use ithub::resources::QueueSettings;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One run of the scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// People in the company before the first import.
    pub people: u32,
    /// HR changes after it: 30% hires, 30% terminations (of people set up), 20% edits, 20% rehires (of people
    /// terminated and offboarded).
    pub changes: u32,
    /// AWS faults, through the proxy.
    pub aws: Plan,
    /// Every `hr_every`-th HR API call refused (0: none).
    pub hr_every: u32,
    /// How long the whole scenario may take before it is reported stuck.
    pub deadline: Duration,
}

/// What the script asked for, to check the end state against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Script {
    pub set_up: u32,
    pub hires: u32,
    pub terminations: u32,
    pub edits: u32,
    pub rehires: u32,
}

impl Scenario {
    pub fn script(&self) -> Script {
        let hires = self.changes * 3 / 10;
        let terminations = self.changes * 3 / 10;
        let edits = self.changes * 2 / 10;
        let rehires = (self.changes - hires - terminations - edits).min(terminations);
        Script { set_up: self.people / 4, hires, terminations, edits, rehires }
    }
}

/// The end state, as an admin and an event consumer see it, keyed by HR id (the hub's ids differ between runs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// HR id → first, last, email, department, HR status, hub status, cycle.
    pub employees: BTreeMap<String, Vec<String>>,
    /// (HR id, kind, cycle, status) → how many such tasks.
    pub tasks: BTreeMap<(String, String, u64, String), u32>,
    pub licenses: u64,
    /// HR id (`-` for entries on no one) → its audit actions, sorted.
    pub audit: BTreeMap<String, Vec<String>>,
    /// (detail-type, HR id or `-`) → distinct events (by `event_id`).
    pub events: BTreeMap<(String, String), u32>,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub snapshot: Snapshot,
    /// The fake's records of the people, HR id → first, last, email, department (what the hub must show).
    pub hr: BTreeMap<String, Vec<String>>,
    pub aws: Tally,
    pub hr_calls: u64,
    /// HR calls the fake refused with an injected fault.
    pub hr_faults: u64,
    /// Webhook deliveries the receiver did not take (answered other than 2xx); the poll reads those changes.
    pub webhooks_refused: usize,
    pub webhooks_sent: usize,
    /// Event publications beyond the first of each event (same `event_id`, at-least-once delivery).
    pub event_repeats: usize,
    /// Messages that reached a dead-letter queue and were redriven (`ithub-operator redrive`) as they came.
    pub dead_letters: usize,
    /// Messages left in the dead-letter queues at the end, after every redrive: must be none.
    pub dead_letters_left: usize,
    /// Runs that ended failed and were started again ("sync now" once more).
    pub runs_retried: u32,
    pub elapsed: Duration,
}

/// The queue settings of the scenario: a short visibility timeout, so that a receive whose answer was lost
/// comes back within seconds (it is 360 s in the template).
pub const SCENARIO_QUEUES: QueueSettings = QueueSettings { visibility_timeout_secs: 15, max_receive_count: 5 };

struct Run {
    stack: Stack,
    faulty: Stack,
    admin: Admin,
    worker: worker::Worker,
    connection_id: ithub::domain::ConnectionId,
    tenant: ithub::domain::TenantId,
    deadline: Instant,
    runs_retried: u32,
    /// Dead letters moved back to their queues so far.
    redriven: usize,
}

impl Scenario {
    /// Runs the scenario on a fresh stack in moto; panics if it does not settle by its deadline.
    pub async fn run(&self) -> Outcome {
        let started = Instant::now();
        let stack = stack_with(SCENARIO_QUEUES).await;
        let (tenant_id, key) = tenant(&stack).await;
        let fake = fake_bamboo(fake_hr::generated_company(self.people)).await;
        let connection = connect(&stack, &tenant_id, &fake, WORLD_SECRET).await;
        let tap = tap(&stack).await;

        let aws = ithub::aws_config().await;
        let upstream = std::env::var("AWS_ENDPOINT_URL").expect("moto's URL");
        let proxy = FaultProxy::start(&upstream).await;
        let mut faulty = stack.with_functions_through(&proxy.config(&aws));
        let api = serve(&faulty).await;
        faulty.public_url = Some(api.clone());
        let admin = Admin::new(&api, &key);
        paste_bamboo_webhook(&stack, &connection, &fake, &format!("{api}/webhooks/{}", connection.id)).await;
        // Steps of a few seconds with a short lease: a step whose answer was lost is resumed within seconds.
        let syncer = faulty.syncer().with_budget(Duration::from_secs(3), Duration::from_secs(10));
        let worker = faulty.worker_with(syncer);
        let mut run = Run {
            stack: stack.clone(),
            faulty,
            admin: admin.clone(),
            worker,
            connection_id: connection.id.clone(),
            tenant: tenant_id.clone(),
            deadline: started + self.deadline,
            runs_retried: 0,
            redriven: 0,
        };

        proxy.set(self.aws.clone());
        if self.hr_every > 0 {
            fake.inject(Fault::every(self.hr_every));
        }
        let (hr_calls_before, hr_refused_before) = (fake.api_calls(), fake.refused_calls());

        // The first import, then the first quarter of the company set up.
        run.sync_now().await;
        let script = self.script();
        let employees = run.employee_ids().await;
        let ids: Vec<&String> = (1..=script.set_up).map(|n| &employees[&n.to_string()]).collect();
        for chunk in ids.chunks(100) {
            let (status, body) = admin.post("/v1/employees/setup", json!({ "employee_ids": chunk })).await;
            assert_eq!(status, 200, "setup: {body}");
            assert!(body["refused"].as_array().is_some_and(Vec::is_empty), "setup refused some: {body}");
        }

        // Hires, terminations of people set up, edits of people not set up: one change per person.
        let today = Utc::now().date_naive();
        for n in 0..script.hires {
            let first = format!("Hire{n}");
            fake.hire(json!({
                "firstName": first, "lastName": "New", "email": format!("hire{n}@bigco.example"),
                "jobInformationDepartment": "Engineering", "jobInformationJobTitle": "Engineer",
            }))
            .await;
        }
        for n in 0..script.terminations {
            fake.terminate(n + 1, today).await;
        }
        for n in 0..script.edits {
            let id = script.set_up + 1 + n;
            fake.change(id, json!({ "jobInformationDepartment": format!("Moved {n}") })).await;
        }
        run.sync_now().await;

        // The first `rehires` leavers are offboarded by IT, then rehired by HR.
        let offboarding = run.tasks_by_hr_id("offboarding").await;
        for n in 0..script.rehires {
            let task = &offboarding[&(n + 1).to_string()];
            admin.tick_all(task).await;
            let (status, body) = admin.post(&format!("/v1/tasks/{task}/complete"), json!({})).await;
            assert_eq!(status, 200, "complete {task}: {body}");
        }
        for n in 0..script.rehires {
            let start = (today + Days::days(3)).format("%Y-%m-%d").to_string();
            fake.change(
                n + 1,
                json!({"status": "Active", "employmentStatus": "Full-Time", "terminationDate": "0000-00-00",
                       "hireDate": start}),
            )
            .await;
        }
        run.sync_now().await;

        proxy.set(Plan::none());
        let dead_letters_left = run.dead_letters().await;

        let deliveries = fake.deliveries();
        let hr_calls = fake.api_calls() - hr_calls_before;
        let (snapshot, event_repeats) = run.snapshot(&tap).await;
        let mut hr = BTreeMap::new();
        for id in 1..=(self.people + script.hires) {
            let Some(record) = fake.record(id) else { continue };
            let field = |name: &str| record[name].as_str().unwrap_or_default().to_owned();
            hr.insert(
                id.to_string(),
                vec![field("firstName"), field("lastName"), field("email"), field("jobInformationDepartment")],
            );
        }
        Outcome {
            snapshot,
            hr,
            aws: proxy.tally(),
            hr_calls,
            hr_faults: fake.refused_calls() - hr_refused_before,
            webhooks_refused: deliveries.iter().filter(|d| !(200..300).contains(&d.status)).count(),
            webhooks_sent: deliveries.len(),
            event_repeats,
            dead_letters: run.redriven,
            dead_letters_left,
            runs_retried: run.runs_retried,
            elapsed: started.elapsed(),
        }
    }
}

impl Run {
    fn check_deadline(&self, what: &str) {
        assert!(Instant::now() < self.deadline, "the scenario did not settle in time: {what}");
    }

    /// "Sync now" through the admin API, then the functions until the run has finished and both queues are empty;
    /// a run that fails (the HR system refused too often) is started again, as an admin would.
    async fn sync_now(&mut self) {
        loop {
            let path = format!("/v1/connections/{}/sync", self.connection_id);
            let (status, run) = self.admin.post(&path, json!({})).await;
            self.check_deadline("sync now");
            if status >= 500 {
                // The API failed (AWS refused it more often than the SDK retries): work the queues, ask again.
                self.settle(None).await;
                continue;
            }
            assert_eq!(status, 202, "sync now: {run}");
            let run_id = run["run_id"].as_str().expect("a run id").to_owned();
            let succeeded = self.settle(Some(&run_id)).await;
            if !run["started"].as_bool().unwrap_or(true) {
                continue; // that was a run already going: this sync is yet to start
            }
            if succeeded {
                return;
            }
            self.runs_retried += 1;
        }
    }

    /// Works both queues (and the schedule's every-minute queue tick, which resumes stalled runs) until `run_id`
    /// has finished and nothing is left to receive; returns whether the run succeeded.
    async fn settle(&mut self, run_id: Option<&str>) -> bool {
        let mut last_tick = Instant::now();
        loop {
            self.check_deadline("settle");
            let mut received = 0;
            for queue in [&self.stack.deployed.run_queue_url, &self.stack.deployed.queue_url] {
                if let Ok(outcome) = self.faulty.trigger_once(&self.worker, queue, 0).await {
                    received += outcome.received;
                }
            }
            // The schedule's tick, which resumes a run whose step died (its lease passed): a step whose write was
            // applied but whose answer was lost ends without carrying its run on, as a killed step would.
            if last_tick.elapsed() > Duration::from_secs(5) {
                let _ = self.faulty.poll(Utc::now(), ithub::schedule::Tick::All).await;
                last_tick = Instant::now();
            }
            if received > 0 {
                continue;
            }
            if self.redrive().await > 0 {
                continue;
            }
            let finished = match run_id {
                None => Some(true),
                Some(id) => {
                    let (status, run) = self.admin_direct_run(id).await;
                    match status.as_str() {
                        "succeeded" => Some(true),
                        "failed" => Some(false),
                        "held" => panic!("the run was held: {run}"),
                        _ => None,
                    }
                }
            };
            if let Some(succeeded) = finished
                && self.in_flight().await == 0
            {
                return succeeded;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// What reached a dead-letter queue, redriven as the runbook says (`ithub-operator redrive`); how many.
    async fn redrive(&mut self) -> usize {
        if self.dead_letters().await == 0 {
            return 0;
        }
        let mut moved = 0;
        for (dlq, source) in [
            (&self.stack.deployed.dead_letter_queue_url, &self.stack.deployed.queue_url),
            (&self.stack.deployed.run_dead_letter_queue_url, &self.stack.deployed.run_queue_url),
        ] {
            moved += operator::redrive(&self.stack.sqs, dlq, source).await.expect("redrive");
        }
        self.redriven += moved;
        moved
    }

    /// A run's status, read without faults.
    async fn admin_direct_run(&self, run_id: &str) -> (String, Value) {
        let run = self.stack.store.get_run(&self.tenant, &self.connection_id, run_id).await.expect("read the run");
        let run = serde_json::to_value(run.expect("the run exists")).expect("a run is JSON");
        (run["status"].as_str().unwrap_or_default().to_owned(), run)
    }

    /// Messages on both queues, visible or in flight, read without faults.
    async fn in_flight(&self) -> u64 {
        let mut total = 0;
        for queue in [&self.stack.deployed.run_queue_url, &self.stack.deployed.queue_url] {
            total += self.depth(queue).await;
        }
        total
    }

    async fn depth(&self, queue: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        let out = self
            .stack
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(Name::ApproximateNumberOfMessages)
            .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(Name::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .expect("queue attributes from moto");
        let attributes = out.attributes.unwrap_or_default();
        [
            Name::ApproximateNumberOfMessages,
            Name::ApproximateNumberOfMessagesNotVisible,
            Name::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .filter_map(|name| attributes.get(name)?.parse::<u64>().ok())
        .sum()
    }

    async fn dead_letters(&self) -> usize {
        let dlqs = [&self.stack.deployed.dead_letter_queue_url, &self.stack.deployed.run_dead_letter_queue_url];
        let mut total = 0;
        for dlq in dlqs {
            total += self.depth(dlq).await as usize;
        }
        total
    }

    /// HR id → the hub's employee id, for everyone.
    async fn employee_ids(&self) -> BTreeMap<String, String> {
        let all = self.admin.all("/v1/employees").await;
        all.iter().map(|e| (e["hr"]["hr_id"].as_str().unwrap_or_default().to_owned(), text(&e["id"]))).collect()
    }

    /// HR id → the id of their task of `kind`.
    async fn tasks_by_hr_id(&self, kind: &str) -> BTreeMap<String, String> {
        let hr_of: BTreeMap<String, String> = self.employee_ids().await.into_iter().map(|(h, e)| (e, h)).collect();
        let tasks = self.admin.all(&format!("/v1/tasks?kind={kind}")).await;
        tasks.iter().filter_map(|t| Some((hr_of.get(t["employee_id"].as_str()?)?.clone(), text(&t["id"])))).collect()
    }

    /// The end state through the admin API, and the events on the tap.
    async fn snapshot(&self, tap: &str) -> (Snapshot, usize) {
        let mut snapshot = Snapshot::default();
        let mut hr_of = BTreeMap::new();
        for e in self.admin.all("/v1/employees").await {
            let hr_id = e["hr"]["hr_id"].as_str().unwrap_or_default().to_owned();
            hr_of.insert(e["id"].as_str().unwrap_or_default().to_owned(), hr_id.clone());
            let fields = vec![
                text(&e["hr"]["first_name"]),
                text(&e["hr"]["last_name"]),
                text(&e["hr"]["work_email"]),
                text(&e["hr"]["department"]),
                text(&e["hr"]["status"]),
                text(&e["hub"]["status"]),
                text(&e["hub"]["cycle"]),
            ];
            snapshot.employees.insert(hr_id, fields);
        }
        let person = |v: &Value| hr_of.get(v.as_str().unwrap_or_default()).cloned().unwrap_or_else(|| "-".into());
        for (kind, status) in
            ["onboarding", "offboarding"].iter().flat_map(|k| ["open", "completed", "cancelled"].map(|s| (k, s)))
        {
            for t in self.admin.all(&format!("/v1/tasks?kind={kind}&status={status}")).await {
                let key = (
                    person(&t["employee_id"]),
                    (*kind).to_owned(),
                    t["cycle"].as_u64().unwrap_or_default(),
                    t["status"].as_str().unwrap_or_default().to_owned(),
                );
                *snapshot.tasks.entry(key).or_default() += 1;
            }
        }
        let (_, licenses) = self.admin.get("/v1/licenses").await;
        snapshot.licenses = licenses["count"].as_u64().expect("a license count");
        for entry in self.admin.all("/v1/audit").await {
            let who = person(&entry["employee_id"]);
            snapshot.audit.entry(who).or_default().push(entry["action"].as_str().unwrap_or_default().to_owned());
        }
        for actions in snapshot.audit.values_mut() {
            actions.sort();
        }
        let mut seen = BTreeSet::new();
        let mut repeats = 0;
        for body in take_all(&self.stack, tap).await {
            let event: Value = serde_json::from_str(&body).expect("an event is JSON");
            let id = event["detail"]["event_id"].as_str().unwrap_or_default().to_owned();
            if !seen.insert(id) {
                repeats += 1;
                continue;
            }
            let key =
                (event["detail-type"].as_str().unwrap_or_default().to_owned(), person(&event["detail"]["employee_id"]));
            *snapshot.events.entry(key).or_default() += 1;
        }
        (snapshot, repeats)
    }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())
}
