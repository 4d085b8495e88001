//! The resource definitions: the bootstrap is idempotent and builds what `shared/src/resources.rs` says, and
//! `infra/template.yaml` declares the same table and queues.

use aws_sdk_sqs::types::QueueAttributeName;
use integration_tests::*;
use ithub::resources::{self, Names, QueueSettings};
use serde_yaml_ng::Value;

pub fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("infra/template.yaml")).expect("valid YAML")
}

fn properties<'a>(template: &'a Value, resource: &str) -> &'a Value {
    &template["Resources"][resource]["Properties"]
}

fn strings(value: &Value, field: &str) -> Vec<(String, String)> {
    value
        .as_sequence()
        .expect("a list")
        .iter()
        .map(|v| {
            let name = v["AttributeName"].as_str().unwrap_or_default().to_owned();
            (name, v[field].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[test]
fn the_template_declares_the_table_the_code_uses() {
    let t = template();
    let table = properties(&t, "Table");
    let s = |v: &str| v.to_owned();
    assert_eq!(
        strings(&table["AttributeDefinitions"], "AttributeType"),
        [resources::PK, resources::SK, resources::GSI1_PK, resources::GSI1_SK].map(|a| (s(a), s("S"))).to_vec()
    );
    assert_eq!(
        strings(&table["KeySchema"], "KeyType"),
        vec![(s(resources::PK), s("HASH")), (s(resources::SK), s("RANGE"))]
    );
    let gsi = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"].as_str(), Some(resources::GSI1));
    assert_eq!(
        strings(&gsi["KeySchema"], "KeyType"),
        vec![(s(resources::GSI1_PK), s("HASH")), (s(resources::GSI1_SK), s("RANGE"))]
    );
    assert_eq!(gsi["Projection"]["ProjectionType"].as_str(), Some("ALL"));
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"].as_str(), Some(resources::TTL_ATTRIBUTE));
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
}

#[test]
fn the_template_declares_the_queues_the_code_uses() {
    let t = template();
    let queue = properties(&t, "ChangesQueue");
    assert_eq!(queue["FifoQueue"].as_bool(), Some(true));
    assert_eq!(queue["ContentBasedDeduplication"].as_bool(), Some(false));
    assert_eq!(queue["VisibilityTimeout"].as_i64(), Some(resources::VISIBILITY_TIMEOUT_SECS as i64));
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"].as_i64(), Some(resources::MAX_RECEIVE_COUNT as i64));
    let dlq = properties(&t, "ChangesDeadLetterQueue");
    assert_eq!(dlq["FifoQueue"].as_bool(), Some(true));
    assert_eq!(dlq["MessageRetentionPeriod"].as_i64(), Some(resources::DLQ_RETENTION_SECS as i64));

    let runs = properties(&t, "RunQueue");
    assert!(runs["FifoQueue"].is_null(), "run steps may be delayed: a standard queue");
    assert_eq!(runs["VisibilityTimeout"].as_i64(), Some(resources::VISIBILITY_TIMEOUT_SECS as i64));
    assert_eq!(runs["RedrivePolicy"]["maxReceiveCount"].as_i64(), Some(resources::MAX_RECEIVE_COUNT as i64));
    let run_dlq = properties(&t, "RunDeadLetterQueue");
    assert_eq!(run_dlq["MessageRetentionPeriod"].as_i64(), Some(resources::DLQ_RETENTION_SECS as i64));

    let worker = properties(&t, "WorkerFunction");
    assert_eq!(worker["Timeout"].as_i64(), Some(resources::WORKER_TIMEOUT_SECS as i64));
    for queue in ["Changes", "Runs"] {
        let trigger = &worker["Events"][queue]["Properties"];
        assert_eq!(trigger["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"), "{queue}");
    }
}

#[test]
fn every_function_gets_the_configuration_it_reads() {
    let t = template();
    let vars = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().expect("variables");
    for var in [
        ithub::config::TABLE,
        ithub::config::QUEUE_URL,
        ithub::config::RUN_QUEUE_URL,
        ithub::config::EVENT_BUS,
        ithub::config::SECRET_PREFIX,
    ] {
        assert!(vars.contains_key(var), "{var} is not set for the functions");
    }
    for function in FUNCTIONS {
        let code = properties(&t, function)["CodeUri"].as_str().unwrap_or_default().to_owned();
        assert!(code.ends_with("bootstrap.zip"), "{function} deploys the cargo-lambda zip");
    }
}

/// API Gateway checks no one: each route reaches a function that checks its caller itself (the admin key, the
/// SCIM token, the HR system's signature) and answers a refusal in its own documented form. The routes are exactly
/// these; a new one must say here how its callers are checked.
#[test]
fn every_route_reaches_a_function_that_checks_its_caller() {
    let t = template();
    assert!(properties(&t, "HttpApi")["Auth"].is_null(), "no API Gateway authorizer");
    assert!(resources_of_type(&t, "AWS::Serverless::Function").iter().all(|(name, _)| !name.contains("Authorizer")));
    let mut routes = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        for (_, event) in resource["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "HttpApi" {
                assert!(event["Properties"]["Auth"].is_null(), "{name:?} sets an authorizer");
                let route = format!(
                    "{} {}",
                    event["Properties"]["Method"].as_str().unwrap(),
                    event["Properties"]["Path"].as_str().unwrap()
                );
                routes.push(format!("{} {route}", name.as_str().unwrap()));
            }
        }
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "AdminApiFunction ANY /console/{proxy+}", // a console session (tests/it/console.rs)
            "AdminApiFunction ANY /scim/v2/{proxy+}", // the connection's SCIM token
            "AdminApiFunction ANY /v1/{proxy+}",      // an admin key (tests/it/keys.rs, behind_api_gateway_…)
            "AdminApiFunction GET /console",          // redirects to a page that needs a session
            "AdminApiFunction GET /health",           // open
            "WebhookFunction POST /webhooks/{connection_id}", // the HR system's signature
        ]
    );
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_builds_the_definitions() {
    let prefix = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let names = Names::prefixed(&prefix);
    let first = stack_for(&names).await;
    let second = stack_for(&names).await;
    assert_eq!(first.deployed, second.deployed, "a second run finds what the first made");

    let table = first.dynamodb.describe_table().table_name(&names.table).send().await.unwrap().table.unwrap();
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some(resources::GSI1));
    let ttl = first.dynamodb.describe_time_to_live().table_name(&names.table).send().await.unwrap();
    let ttl = ttl.time_to_live_description.unwrap();
    assert_eq!(ttl.attribute_name(), Some(resources::TTL_ATTRIBUTE));

    let attributes = first
        .sqs
        .get_queue_attributes()
        .queue_url(&first.deployed.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], resources::VISIBILITY_TIMEOUT_SECS.to_string());
    let redrive: serde_json::Value = serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["maxReceiveCount"].as_i64(), Some(resources::MAX_RECEIVE_COUNT as i64));
    assert!(redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&names.dead_letter_queue));
}

async fn stack_for(names: &Names) -> Stack {
    Stack::bootstrap(names, QueueSettings::default()).await.expect("bootstrap")
}

/// A part of the template as YAML text, intrinsic functions included (`!Ref X` reads as `!Ref X`).
pub fn text(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    let all = t["Resources"].as_mapping().expect("resources");
    all.iter().filter(|(_, r)| r["Type"] == kind).map(|(name, r)| (name.as_str().unwrap_or_default(), r)).collect()
}

const FUNCTIONS: [&str; 4] = ["WebhookFunction", "PollerFunction", "WorkerFunction", "AdminApiFunction"];

#[test]
fn the_stack_keeps_its_data_and_its_logs_for_a_set_time() {
    let t = template();
    let table = &t["Resources"]["Table"];
    assert_eq!(
        (table["DeletionPolicy"].as_str(), table["UpdateReplacePolicy"].as_str()),
        (Some("Retain"), Some("Retain"))
    );
    assert_eq!(table["Properties"]["DeletionProtectionEnabled"].as_bool(), Some(true));
    let groups = resources_of_type(&t, "AWS::Logs::LogGroup");
    for function in FUNCTIONS {
        let group =
            groups.iter().find(|(_, g)| text(&g["Properties"]["LogGroupName"]).contains(&format!("${{{function}}}")));
        let (name, group) = group.unwrap_or_else(|| panic!("{function} has no log group of the stack's"));
        assert!(
            text(&group["Properties"]["RetentionInDays"]).contains("LogRetentionDays"),
            "{name} keeps logs forever"
        );
    }
    let api = properties(&t, "HttpApi");
    assert!(text(&api["AccessLogSettings"]["DestinationArn"]).contains("ApiAccessLogs"), "the API logs its access");
    let format = api["AccessLogSettings"]["Format"].as_str().unwrap_or_default();
    assert!(format.contains("$context.status") && !format.contains("querystring") && !format.contains("body"));
}

#[test]
fn two_stacks_fit_one_account_and_the_poller_never_overlaps_itself() {
    let t = template();
    let prefix = text(&t["Globals"]["Function"]["Environment"]["Variables"][ithub::config::SECRET_PREFIX]);
    assert!(prefix.contains("ithub/${AWS::StackName}"), "secrets are named per stack: {prefix}");
    for function in FUNCTIONS {
        let policies = text(&properties(&t, function)["Policies"]);
        for line in policies.lines().filter(|l| l.contains(":secret:")) {
            assert!(
                line.contains("secret:ithub/${AWS::StackName}/*"),
                "{function} may read other stacks' secrets: {line}"
            );
        }
    }
    let poller = properties(&t, "PollerFunction");
    assert_eq!(poller["ReservedConcurrentExecutions"].as_i64(), Some(1));
    for (name, event) in poller["Events"].as_mapping().unwrap() {
        assert!(text(&event["Properties"]["Name"]).contains("${AWS::StackName}"), "{name:?} is named per stack");
    }
    let webhook_route = &properties(&t, "HttpApi")["RouteSettings"]["POST /webhooks/{connection_id}"];
    assert!(
        webhook_route["ThrottlingRateLimit"].as_i64().is_some_and(|r| r > 0),
        "the public webhook route is throttled"
    );
}

#[test]
fn every_failure_an_operator_must_see_raises_an_alarm_that_notifies() {
    let t = template();
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let watching = |metric: &str, subject: &str| {
        alarms.iter().any(|(_, a)| {
            a["Properties"]["MetricName"] == metric && text(&a["Properties"]["Dimensions"]).contains(subject)
        })
    };
    for function in FUNCTIONS {
        assert!(watching("Errors", function), "no alarm on {function}'s errors");
    }
    for queue in ["ChangesDeadLetterQueue", "RunDeadLetterQueue"] {
        assert!(watching("ApproximateNumberOfMessagesVisible", queue), "no alarm on {queue}'s depth");
    }
    for queue in ["ChangesQueue", "RunQueue"] {
        assert!(watching("ApproximateAgeOfOldestMessage", queue), "no alarm on {queue}'s oldest message");
    }
    assert!(watching("5xx", "HttpApi"), "no alarm on API 5xx");
    for (name, alarm) in &alarms {
        let actions = text(&alarm["Properties"]["AlarmActions"]);
        assert!(
            actions.contains("AlarmTopicArn") && actions.contains("AlarmTopic"),
            "{name} notifies nobody by default"
        );
    }
    assert_eq!(
        t["Resources"]["AlarmTopic"]["Condition"].as_str(),
        Some("CreateAlarmTopic"),
        "a topic when none is given"
    );
}
