//! Under faults: the functions' AWS calls through a fault-injecting proxy in front of moto, the fake BambooHR
//! refusing a share of its calls, and what is left in a dead-letter queue redriven. The full-size scenario (2,000
//! people, 200 changes) runs in `make soak`; this is its short version.

use integration_tests::faults::{AwsFault, FaultProxy, Plan};
use integration_tests::scenario::{Outcome, Scenario, Script};
use integration_tests::*;
use ithub::resources::QueueSettings;
use std::time::Duration;

/// What the script's changes must leave, whatever failed on the way.
fn assert_the_script_was_applied_once(label: &str, people: u32, script: Script, outcome: &Outcome) {
    let snapshot = &outcome.snapshot;
    assert_eq!(snapshot.employees.len() as u32, people + script.hires, "{label}: one employee per person");
    for (hr_id, fields) in &outcome.hr {
        let hub = snapshot.employees.get(hr_id).unwrap_or_else(|| panic!("{label}: HR id {hr_id} is missing"));
        assert_eq!(&hub[..4], &fields[..], "{label}: HR id {hr_id}'s fields");
    }
    let count = |kind: &str| snapshot.tasks.iter().filter(|((_, k, _, _), _)| k == kind).map(|(_, n)| n).sum::<u32>();
    assert_eq!(count("onboarding"), script.hires + script.rehires, "{label}: an onboarding task per hire and rehire");
    assert_eq!(count("offboarding"), script.terminations, "{label}: an offboarding task per termination");
    assert!(snapshot.tasks.values().all(|n| *n == 1), "{label}: no task twice: {:?}", snapshot.tasks);
    assert_eq!(
        snapshot.licenses,
        u64::from(script.set_up - script.rehires),
        "{label}: licenses of those set up, less the leavers offboarded"
    );
    let terminated = snapshot.events.iter().filter(|((kind, _), _)| kind == "employee.terminated");
    assert_eq!(terminated.map(|(_, n)| n).sum::<u32>(), script.terminations, "{label}: a termination event each");
    let hired = snapshot.events.get(&("employee.hired".to_owned(), "1".to_owned()));
    assert_eq!(hired, Some(&1), "{label}: the first leaver's rehire event, once");
    let imports = snapshot.audit.get("-").map_or(0, |actions| actions.iter().filter(|a| *a == "hr.import").count());
    assert_eq!(imports, 1, "{label}: one import entry");
    assert_eq!(outcome.dead_letters_left, 0, "{label}: nothing left dead-lettered ({} redriven)", outcome.dead_letters);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_and_its_changes_under_aws_and_hr_faults_end_as_they_do_without_them() {
    faults_change_nothing(200, 40, Duration::from_secs(900)).await;
}

/// The full scenario, for `make soak`: `SOAK_PEOPLE` (2,000) people and `SOAK_CHANGES` (200) changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the full-size scenario: make soak"]
async fn soak_the_full_scenario_under_faults() {
    let number = |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    faults_change_nothing(number("SOAK_PEOPLE", 2_000), number("SOAK_CHANGES", 200), Duration::from_secs(3_600)).await;
}

/// The same script run twice at once, without faults and with 10% of AWS calls and every tenth HR call failing:
/// both end as the script says, and the same.
async fn faults_change_nothing(people: u32, changes: u32, deadline: Duration) {
    let base = Scenario { people, changes, aws: Plan::none(), hr_every: 0, deadline };
    let faulty = Scenario { aws: Plan::mixed(0.1, 12), hr_every: 10, ..base.clone() };
    let (clean, faulted) = tokio::join!(base.run(), faulty.run());
    let script = base.script();
    assert_the_script_was_applied_once("without faults", base.people, script, &clean);
    assert_the_script_was_applied_once("under faults", base.people, script, &faulted);
    assert!(faulted.aws.total_faults() > 20, "faults were injected: {:?}", faulted.aws);
    assert!(faulted.aws.faults_of(|k| k == AwsFault::LostAnswer) > 0, "some answers were lost: {:?}", faulted.aws);
    assert!(faulted.hr_faults > 0, "the HR system refused some calls ({} calls)", faulted.hr_calls);
    assert_eq!(clean.snapshot.employees, faulted.snapshot.employees, "employees");
    assert_eq!(clean.snapshot.tasks, faulted.snapshot.tasks, "tasks");
    assert_eq!(clean.snapshot.licenses, faulted.snapshot.licenses, "licenses");
    // Entries on people; the connection's own (each "sync now", say) depend on how often an admin had to ask.
    fn on_people(o: &Outcome) -> Vec<(&String, &Vec<String>)> {
        o.snapshot.audit.iter().filter(|(who, _)| *who != "-").collect()
    }
    assert_eq!(on_people(&clean), on_people(&faulted), "audit entries");
    assert_eq!(clean.snapshot.events, faulted.snapshot.events, "events");
    eprintln!(
        "under faults: {} AWS calls, {} faults ({:?}); {} HR calls, {} refused; {} dead letters redriven; {} event repeats; {} runs retried; {:?}",
        faulted.aws.total_calls(),
        faulted.aws.total_faults(),
        faulted.aws.faults,
        faulted.hr_calls,
        faulted.hr_faults,
        faulted.dead_letters,
        faulted.event_repeats,
        faulted.runs_retried,
        faulted.elapsed
    );
}

/// A change whose events cannot be published (the worker's role may not call PutEvents) is retried, then
/// dead-lettered; once the permission is back, the operator's redrive moves it back, and the change and its events happen once.
#[tokio::test]
async fn a_redriven_dead_letter_applies_and_publishes_exactly_once() {
    let stack = stack_with(QueueSettings { visibility_timeout_secs: 1, max_receive_count: 3 }).await;
    let (tenant_id, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let connection = connect(&stack, &tenant_id, &fake, WORLD_SECRET).await;
    let tap = tap(&stack).await;
    let aws = ithub::aws_config().await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let faulty = stack.with_functions_through(&proxy.config(&aws));
    proxy.set(Plan::only(&["PutEvents"], 1.0, &[AwsFault::Denied]));

    let record = record("1", "Ada");
    let message =
        ithub::messages::Message::EmployeeObserved(observed(&tenant_id, &connection.id, record, chrono::Utc::now()));
    stack.queue.send(std::slice::from_ref(&message)).await.expect("queue the change");
    let worker = faulty.worker();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let dead = loop {
        faulty.trigger_once(&worker, &stack.deployed.queue_url, 1).await.expect("receive");
        let dead = peek(&stack, &stack.deployed.dead_letter_queue_url).await;
        if !dead.is_empty() {
            break dead;
        }
        assert!(std::time::Instant::now() < deadline, "the change was never dead-lettered");
    };
    assert_eq!(dead.len(), 1);
    assert!(proxy.tally().faults_of(|_| true) >= 3, "every publish was refused");
    assert!(peek(&stack, &tap).await.is_empty(), "nothing was published");

    proxy.set(Plan::none());
    // The dead letter is in flight for 30 s after `peek`; the redrive waits for it to come back.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut moved = 0;
    while moved == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing to redrive");
        moved = operator::redrive(&stack.sqs, &stack.deployed.dead_letter_queue_url, &stack.deployed.queue_url)
            .await
            .unwrap();
        if moved == 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    assert_eq!(moved, 1);
    drain_with(&stack, &worker).await;
    // A second redrive finds nothing, and a repeat of the same change is a no-op.
    assert_eq!(
        operator::redrive(&stack.sqs, &stack.deployed.dead_letter_queue_url, &stack.deployed.queue_url).await.unwrap(),
        0
    );
    stack.queue.send(std::slice::from_ref(&message)).await.expect("queue the change again");
    drain_with(&stack, &worker).await;

    let events: Vec<serde_json::Value> =
        peek(&stack, &tap).await.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let mut kinds: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["employee.hired", "task.opened"], "each event once: {events:?}");
    let employees = stack.store.list_employees(&tenant_id, &Default::default(), 10, None).await.unwrap();
    assert_eq!(employees.items.len(), 1);
    let tasks = stack.store.list_tasks(&tenant_id, ithub::domain::TaskStatus::Open, None, 10, None).await.unwrap();
    assert_eq!(tasks.items.len(), 1, "one onboarding task");
}

/// `ithub-local serve` (every function in one process, as the local runner runs them) on `port`, for the stack
/// named `prefix`, with short steps and a short visibility timeout; answers once its API does.
async fn start_local(prefix: &str, port: u16, log: &std::path::Path) -> tokio::process::Child {
    let exe = std::env::current_exe().expect("this test's path");
    let binary = exe.parent().and_then(|deps| deps.parent()).expect("the target directory").join("ithub-local");
    assert!(binary.exists(), "{} is missing: build it (cargo build -p local)", binary.display());
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("the local stack's log");
    let child = tokio::process::Command::new(binary)
        .arg("serve")
        .env("ITHUB_PREFIX", prefix)
        .env("ITHUB_API_ADDR", format!("127.0.0.1:{port}"))
        .env("ITHUB_POLL_SECONDS", "1")
        .env("ITHUB_VISIBILITY_TIMEOUT_SECONDS", "10")
        .env("ITHUB_STEP_SECONDS", "2")
        .env("ITHUB_LEASE_SECONDS", "5")
        .env("RUST_LOG", "info,ithub=debug")
        .env("ITHUB_LOG_FORMAT", "text")
        .stdout(log.try_clone().expect("the log, twice"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start ithub-local");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let health = format!("http://127.0.0.1:{port}/health");
    while !reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
        assert!(std::time::Instant::now() < deadline, "ithub-local never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The local stack killed (SIGKILL) in the middle of an import and started again: the import resumes from its
/// checkpoint once its lease has passed, and ends with everyone imported once, one import entry in the audit trail and
/// nothing dead-lettered.
#[tokio::test]
async fn the_local_stack_killed_mid_import_resumes_and_imports_everyone_once() {
    let prefix = format!("k{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queues = QueueSettings { visibility_timeout_secs: 10, max_receive_count: 5 };
    let stack = Stack::bootstrap(&ithub::resources::Names::prefixed(&prefix), queues).await.expect("bootstrap");
    let (tenant_id, key) = tenant(&stack).await;
    let people = 1_500;
    let fake = fake_bamboo(fake_hr::generated_company(people)).await;
    let connection = connect(&stack, &tenant_id, &fake, WORLD_SECRET).await;
    let port = free_port();
    let admin = Admin::new(&format!("http://127.0.0.1:{port}"), &key);

    // Both processes' logs, kept for a failure to show (the test's target directory; never personal data).
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-local.log"));
    let mut first = start_local(&prefix, port, &log).await;
    let (status, run) = admin.post(&format!("/v1/connections/{}/sync", connection.id), serde_json::json!({})).await;
    assert_eq!(status, 202, "{run}");
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    let read = || async { stack.store.get_run(&tenant_id, &connection.id, &run_id).await.unwrap().unwrap() };
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let at_kill = loop {
        let run = read().await;
        if run.counts.imported >= 100 {
            break run;
        }
        assert!(std::time::Instant::now() < deadline, "the import never got going: {run:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    first.kill().await.expect("SIGKILL");
    let after_kill = read().await;
    assert!(!after_kill.status.is_finished(), "killed mid-import: {} of {people} imported", at_kill.counts.imported);

    let _second = start_local(&prefix, port, &log).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    loop {
        let run = read().await;
        let employees = admin.all("/v1/employees").await;
        if run.status == ithub::store::RunStatus::Succeeded && employees.len() >= people as usize {
            let ids: std::collections::BTreeSet<&str> =
                employees.iter().map(|e| e["hr"]["hr_id"].as_str().unwrap()).collect();
            assert_eq!((ids.len(), employees.len()), (people as usize, people as usize), "each person once");
            break;
        }
        let late = std::time::Instant::now() >= deadline;
        assert!(!late, "the import never finished: {run:?}, {} (log: {})", employees.len(), log.display());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let imports = admin.all("/v1/audit").await.into_iter().filter(|e| e["action"] == "hr.import").count();
    assert_eq!(imports, 1, "one import entry");
    // The restarted stack's schedule ticks every second: it carried this run on, and no run beside it did the
    // import for it.
    assert_eq!(read().await.counts.imported, u64::from(people), "this run imported everyone");
    for other in admin.all(&format!("/v1/connections/{}/runs", connection.id)).await {
        assert!(other["run_id"] == run_id.as_str() || other["counts"]["imported"] == 0, "another import: {other}");
    }
    for dlq in [&stack.deployed.dead_letter_queue_url, &stack.deployed.run_dead_letter_queue_url] {
        assert!(peek(&stack, dlq).await.is_empty(), "nothing dead-lettered");
    }
}
