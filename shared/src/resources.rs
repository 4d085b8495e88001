//! The AWS resources IT Hub needs, defined once. The local bootstrap creates them from these definitions, and a
//! test holds `infra/template.yaml` to the same values so the two cannot drift.

#[cfg(feature = "bootstrap")]
pub use bootstrap::{BootstrapError, Deployed, bootstrap};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1_PK: &str = "GSI1PK";
pub const GSI1_SK: &str = "GSI1SK";
/// Epoch seconds after which DynamoDB may delete the item.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The worker's Lambda timeout. SQS's visibility timeout is six times this, as AWS recommends for event sources.
pub const WORKER_TIMEOUT_SECS: i32 = 60;
/// How long one step of a sync run keeps reading pages before it hands the rest to a continuation: well inside
/// the worker's timeout, so no invocation reaches it.
pub const RUN_STEP_BUDGET_SECS: i32 = 20;
/// How long a step holds its run. Longer than any step takes; shorter than the run queue's visibility timeout,
/// so a step that died is resumed by its redelivered message.
pub const RUN_LEASE_SECS: i32 = 3 * WORKER_TIMEOUT_SECS;
pub const VISIBILITY_TIMEOUT_SECS: i32 = 6 * WORKER_TIMEOUT_SECS;
/// Receives before a message moves to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: i32 = 5;
/// Dead letters are kept for 14 days, SQS's maximum, so an operator has time to look.
pub const DLQ_RETENTION_SECS: i32 = 14 * 24 * 3600;

// Held at compile time: a message must not reappear while a worker may still be on it, and it gets at least five
// tries before it is dead-lettered.
const _: () = assert!(VISIBILITY_TIMEOUT_SECS >= 6 * WORKER_TIMEOUT_SECS);
const _: () = assert!(MAX_RECEIVE_COUNT >= 5);
const _: () = assert!(RUN_STEP_BUDGET_SECS * 2 <= WORKER_TIMEOUT_SECS);
const _: () = assert!(RUN_LEASE_SECS > WORKER_TIMEOUT_SECS && RUN_LEASE_SECS < VISIBILITY_TIMEOUT_SECS);

/// Resource names. In AWS the template names them; locally and in tests a prefix keeps runs apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub table: String,
    pub queue: String,
    pub dead_letter_queue: String,
    /// The standard queue of sync-run steps, and its dead-letter queue.
    pub run_queue: String,
    pub run_dead_letter_queue: String,
    pub bus: String,
}

impl Names {
    pub fn prefixed(prefix: &str) -> Self {
        Self {
            table: format!("{prefix}-main"),
            queue: format!("{prefix}-changes.fifo"),
            dead_letter_queue: format!("{prefix}-changes-dlq.fifo"),
            run_queue: format!("{prefix}-runs"),
            run_dead_letter_queue: format!("{prefix}-runs-dlq"),
            bus: format!("{prefix}-events"),
        }
    }
}

/// Settings of the change queue. Tests shorten the visibility timeout to watch redelivery happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    pub visibility_timeout_secs: i32,
    pub max_receive_count: i32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self { visibility_timeout_secs: VISIBILITY_TIMEOUT_SECS, max_receive_count: MAX_RECEIVE_COUNT }
    }
}

#[cfg(feature = "bootstrap")]
mod bootstrap {
    use super::*;
    use aws_config::SdkConfig;
    use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
    };
    use aws_sdk_sqs::types::QueueAttributeName;

    /// What the bootstrap made (or found).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Deployed {
        pub table: String,
        pub queue_url: String,
        pub dead_letter_queue_url: String,
        pub run_queue_url: String,
        pub run_dead_letter_queue_url: String,
        pub bus: String,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("bootstrap failed while {step}: {detail}")]
    pub struct BootstrapError {
        step: &'static str,
        detail: String,
    }

    fn failed(step: &'static str) -> impl Fn(String) -> BootstrapError {
        move |detail| BootstrapError { step, detail }
    }

    /// Creates the table, the queue with its dead-letter queue, and the event bus. Safe to run again: what exists is
    /// kept.
    pub async fn bootstrap(sdk: &SdkConfig, names: &Names, queue: QueueSettings) -> Result<Deployed, BootstrapError> {
        create_table(&aws_sdk_dynamodb::Client::new(sdk), &names.table).await?;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let (queue_url, dead_letter_queue_url) =
            create_queue_pair(&sqs, &names.queue, &names.dead_letter_queue, true, queue).await?;
        let (run_queue_url, run_dead_letter_queue_url) =
            create_queue_pair(&sqs, &names.run_queue, &names.run_dead_letter_queue, false, queue).await?;
        create_bus(&aws_sdk_eventbridge::Client::new(sdk), &names.bus).await?;
        Ok(Deployed {
            table: names.table.clone(),
            queue_url,
            dead_letter_queue_url,
            run_queue_url,
            run_dead_letter_queue_url,
            bus: names.bus.clone(),
        })
    }

    fn key(name: &str, kind: KeyType) -> KeySchemaElement {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
    }

    async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), BootstrapError> {
        let attributes = [PK, SK, GSI1_PK, GSI1_SK].map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        });
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1_PK, KeyType::Hash))
            .key_schema(key(GSI1_SK, KeyType::Range))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .expect("name and keys are set");
        let created = client
            .create_table()
            .table_name(table)
            .set_attribute_definitions(Some(attributes.to_vec()))
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .global_secondary_indexes(gsi)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(err) = created {
            let exists = err.as_service_error().and_then(|e| e.code()) == Some("ResourceInUseException");
            if !exists {
                return Err(failed("creating the table")(DisplayErrorContext(err).to_string()));
            }
        }
        let ttl = client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| failed("reading the table's TTL")(DisplayErrorContext(e).to_string()))?;
        let enabled =
            ttl.time_to_live_description.and_then(|d| d.time_to_live_status) == Some(TimeToLiveStatus::Enabled);
        if !enabled {
            let spec = TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .expect("name and flag are set");
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| failed("turning on TTL")(DisplayErrorContext(e).to_string()))?;
        }
        Ok(())
    }

    /// A queue and its dead-letter queue: FIFO for changes, standard for run steps.
    async fn create_queue_pair(
        client: &aws_sdk_sqs::Client,
        name: &str,
        dead_letter_name: &str,
        fifo: bool,
        settings: QueueSettings,
    ) -> Result<(String, String), BootstrapError> {
        let sqs_error = |step| move |e: aws_sdk_sqs::Error| failed(step)(DisplayErrorContext(e).to_string());
        let mut dlq = client
            .create_queue()
            .queue_name(dead_letter_name)
            .attributes(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION_SECS.to_string());
        if fifo {
            dlq = dlq.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let dlq_url = dlq
            .send()
            .await
            .map_err(|e| sqs_error("creating the dead-letter queue")(e.into()))?
            .queue_url
            .unwrap_or_default();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| sqs_error("reading the dead-letter queue's ARN")(e.into()))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": settings.max_receive_count,
        });
        let mut queue = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, settings.visibility_timeout_secs.to_string())
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
        if fifo {
            queue = queue
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
        }
        let queue_url = queue
            .send()
            .await
            .map_err(|e| sqs_error("creating the change queue")(e.into()))?
            .queue_url
            .unwrap_or_default();
        Ok((queue_url, dlq_url))
    }

    async fn create_bus(client: &aws_sdk_eventbridge::Client, bus: &str) -> Result<(), BootstrapError> {
        match client.create_event_bus().name(bus).send().await {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().and_then(|e| e.code()) == Some("ResourceAlreadyExistsException") => {
                Ok(())
            }
            Err(err) => Err(failed("creating the event bus")(DisplayErrorContext(err).to_string())),
        }
    }
}
