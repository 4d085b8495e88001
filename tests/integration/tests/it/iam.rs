//! Least privilege from evidence: each function's IAM policy in `infra/template.yaml` grants exactly the AWS calls
//! it was seen to make. `make test` records every call each function makes against moto (infra/local/aws_calls.py,
//! by the SDK app name each function's clients carry) and fails when one is missing from `infra/aws-calls.tsv`;
//! this test holds the template to that file: every call granted, nothing granted that is never called, save the
//! exceptions below, each with its reason.

use crate::infra::{template, text};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

type Grant = (String, String);

/// The functions and the app names their clients carry.
const FUNCTIONS: [(&str, &str); 4] = [
    ("admin-api", "AdminApiFunction"),
    ("webhook", "WebhookFunction"),
    ("worker", "WorkerFunction"),
    ("poller", "PollerFunction"),
];

/// Granted without being seen, and why. Keep this short: each line is a permission no test exercises.
const UNSEEN_BUT_GRANTED: [(&str, &str, &str, &str); 0] = [];

/// What Lambda's SQS event source mapping does with the function's role (the local runner's trigger, app name
/// `lambda-sqs-trigger`): SAM grants these itself for each `Type: SQS` event (AWSLambdaSQSQueueExecutionRole).
const EVENT_SOURCE_ACTIONS: [&str; 3] = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

fn evidence() -> Vec<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/aws-calls.tsv");
    let text = std::fs::read_to_string(path).expect("infra/aws-calls.tsv: run `make iam-evidence`");
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "function, action, resource: {line:?}");
            (fields[0].to_owned(), fields[1].to_owned(), fields[2].to_owned())
        })
        .collect()
}

/// A policy's resource as the evidence names it: the template's logical id, `Table/index/GSI1` for the index,
/// `Secret` for the stack's secrets.
fn resource_name(resource: &Value) -> String {
    let text = text(resource);
    let text = text.trim();
    if let Some(get_att) = text.strip_prefix("!GetAtt ") {
        return get_att.strip_suffix(".Arn").unwrap_or_else(|| panic!("an ARN: {text}")).to_owned();
    }
    if text.starts_with("!Sub") && text.contains("${Table.Arn}/index/GSI1") {
        return "Table/index/GSI1".into();
    }
    if text.starts_with("!Sub") && text.contains(":secret:ithub/${AWS::StackName}/*") {
        return "Secret".into();
    }
    panic!("a resource the IAM test does not know: {text}")
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value.as_sequence() {
        Some(items) => items.iter().collect(),
        None => vec![value],
    }
}

/// Every (action, resource) the function's policies allow.
fn granted(t: &Value, function: &str) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    let policies = t["Resources"][function]["Properties"]["Policies"].as_sequence().expect("policies");
    for policy in policies {
        let statements = policy["Statement"].as_sequence().unwrap_or_else(|| panic!("{function}: inline statements"));
        for statement in statements {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            assert!(statement["Condition"].is_null(), "{function}: conditions are not modelled here");
            for action in one_or_many(&statement["Action"]) {
                let action = action.as_str().expect("an action name");
                assert!(!action.contains('*'), "{function}: no wildcard actions ({action})");
                for resource in one_or_many(&statement["Resource"]) {
                    grants.insert((action.to_owned(), resource_name(resource)));
                }
            }
        }
    }
    grants
}

fn seen(evidence: &[(String, String, String)], app: &str) -> BTreeSet<Grant> {
    evidence
        .iter()
        .filter(|(a, _, _)| a == app)
        .map(|(_, action, resource)| (action.clone(), resource.clone()))
        .collect()
}

#[test]
fn each_function_is_granted_exactly_the_calls_it_makes() {
    let t = template();
    let evidence = evidence();
    let known: BTreeSet<&str> = FUNCTIONS.iter().map(|(app, _)| *app).chain(["lambda-sqs-trigger"]).collect();
    for (app, _, _) in &evidence {
        assert!(known.contains(app.as_str()), "calls by an unknown caller {app}");
    }
    let mut problems = Vec::new();
    for (app, function) in FUNCTIONS {
        let seen = seen(&evidence, app);
        assert!(!seen.is_empty(), "no calls recorded for {app}: is the recording working?");
        let granted = granted(&t, function);
        for (action, resource) in seen.difference(&granted) {
            problems.push(format!("{function} calls {action} on {resource} but is not granted it"));
        }
        for (action, resource) in granted.difference(&seen) {
            let excused = UNSEEN_BUT_GRANTED.iter().any(|(f, a, r, _)| (*f, *a, *r) == (app, action, resource));
            if !excused {
                problems.push(format!("{function} is granted {action} on {resource} but never calls it"));
            }
        }
    }
    for (function, action, resource, _) in UNSEEN_BUT_GRANTED {
        assert!(!seen(&evidence, function).contains(&(action.into(), resource.into())), "{action} is seen now");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_sqs_trigger_only_does_what_sam_grants_for_the_workers_queue_events() {
    let t = template();
    let events = t["Resources"]["WorkerFunction"]["Properties"]["Events"].as_mapping().expect("events");
    let queues: BTreeSet<String> =
        events.values().filter(|e| e["Type"] == "SQS").map(|e| resource_name(&e["Properties"]["Queue"])).collect();
    assert_eq!(queues, BTreeSet::from(["ChangesQueue".to_owned(), "RunQueue".to_owned()]));
    let trigger = seen(&evidence(), "lambda-sqs-trigger");
    assert!(!trigger.is_empty(), "the local trigger's calls are recorded");
    for (action, resource) in trigger {
        assert!(EVENT_SOURCE_ACTIONS.contains(&action.as_str()) && queues.contains(&resource), "{action} {resource}");
    }
}

/// The Lambdas' own AWS configuration (`ithub::function_aws_config`: what Lambda puts in the environment, without
/// aws-config's chains) reaches AWS and names its function: the local runner's clients are made another way, so
/// this is where the configuration each Lambda starts with is tried. The calls are the poller's own.
#[tokio::test]
async fn a_lambdas_own_configuration_reaches_aws_as_that_function() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = integration_tests::stack().await;
    let aws = ithub::function_aws_config("poller");
    assert_eq!(aws.app_name().map(ToString::to_string).as_deref(), Some("poller"), "the user agent's app name");

    let read = aws_sdk_dynamodb::Client::new(&aws)
        .get_item()
        .table_name(&stack.deployed.table)
        .key(ithub::resources::PK, AttributeValue::S("TENANT#nobody".into()))
        .key(ithub::resources::SK, AttributeValue::S("CONNECTION#nothing".into()))
        .send()
        .await
        .expect("GetItem with the Lambda's configuration");
    assert!(read.item.is_none(), "nothing is stored under that key");

    aws_sdk_sqs::Client::new(&aws)
        .send_message()
        .queue_url(&stack.deployed.run_queue_url)
        .message_body("a step")
        .send()
        .await
        .expect("SendMessage with the Lambda's configuration");
    assert_eq!(integration_tests::peek(&stack, &stack.deployed.run_queue_url).await, ["a step"]);
}
