//! Every IT Hub function in one process, wired to the AWS APIs at `AWS_ENDPOINT_URL` (moto, locally): the HTTP
//! routes API Gateway would serve, an interval in place of the EventBridge schedule, and an SQS receive loop in
//! place of the Lambda trigger. Tests build the same [`Stack`].

pub mod trigger;

use admin_api::AdminApi;
use ithub::bus::Bus;
use ithub::queue::Queue;
use ithub::resources::{self, Deployed, Names, QueueSettings};
use ithub::secrets::Secrets;
use ithub::service::Service;
use ithub::store::Store;
use ithub::sync::Syncer;
use std::time::Duration;
use webhook::Webhooks;
use worker::Worker;

/// The deployed resources and a client for each, built once.
#[derive(Clone)]
pub struct Stack {
    pub deployed: Deployed,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub store: Store,
    pub queue: Queue,
    /// The run queue: steps of sync runs.
    pub runs: Queue,
    pub bus: Bus,
    pub secrets: Secrets,
    /// HR requests go to loopback only: the sandbox and fake servers live there, and nothing else is called.
    pub http: ithub::providers::Http,
    /// Where this process serves HTTP, for the webhook URLs the admin API gives out.
    pub public_url: Option<String>,
}

impl Stack {
    /// Creates (or finds) the resources named by `names` and connects to them.
    pub async fn bootstrap(names: &Names, settings: QueueSettings) -> Result<Self, resources::BootstrapError> {
        let aws = ithub::aws_config().await;
        let (dynamodb, sqs) = (aws_sdk_dynamodb::Client::new(&aws), aws_sdk_sqs::Client::new(&aws));
        Self::bootstrap_with(&aws, names, settings, dynamodb, sqs).await
    }

    /// [`Stack::bootstrap`] with DynamoDB and SQS clients of the caller's making (a benchmark counts their
    /// calls).
    pub async fn bootstrap_with(
        aws: &aws_config::SdkConfig,
        names: &Names,
        settings: QueueSettings,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
    ) -> Result<Self, resources::BootstrapError> {
        let deployed = resources::bootstrap(aws, names, settings).await?;
        Ok(Self {
            store: Store::new(dynamodb.clone(), &deployed.table),
            queue: Queue::new(sqs.clone(), &deployed.queue_url),
            runs: Queue::new(sqs.clone(), &deployed.run_queue_url),
            bus: Bus::new(aws_sdk_eventbridge::Client::new(aws), &deployed.bus),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(aws)).with_prefix(ithub::config::secret_prefix()),
            public_url: None,
            http: ithub::providers::Http::new(ithub::providers::Egress::LoopbackOnly),
            deployed,
            sqs,
            dynamodb,
        })
    }

    /// The service layer every change goes through.
    pub fn service(&self) -> Service {
        Service::new(self.store.clone(), self.bus.clone())
    }

    pub fn worker(&self) -> Worker {
        Worker::new(self.service(), self.syncer())
    }

    /// What carries sync runs out, step by step.
    pub fn syncer(&self) -> Syncer {
        Syncer::new(self.service(), self.queue.clone(), self.runs.clone(), self.secrets.clone(), self.http.clone())
    }

    /// The routes API Gateway serves: the admin API and the webhook receiver.
    pub fn router(&self) -> axum::Router {
        admin_api::router(AdminApi {
            service: self.service(),
            secrets: self.secrets.clone(),
            runs: self.runs.clone(),
            public_url: self.public_url.clone(),
            egress: ithub::providers::Egress::LoopbackOnly,
        })
        .merge(webhook::router(Webhooks {
            store: self.store.clone(),
            queue: self.queue.clone(),
            secrets: self.secrets.clone(),
            http: self.http.clone(),
        }))
    }

    /// Runs the poller every `every`, as the EventBridge schedule would.
    pub async fn schedule_poller(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = ithub::schedule::schedule(&self.store, &self.runs, chrono::Utc::now()).await {
                tracing::error!(%error, "scheduled poll failed");
            }
        }
    }

    /// Feeds the worker from both queues, as the two SQS triggers would.
    pub async fn feed_worker(self) {
        let changes = tokio::spawn(self.clone().feed(self.deployed.queue_url.clone()));
        let runs = self.deployed.run_queue_url.clone();
        self.feed(runs).await;
        changes.abort();
    }

    async fn feed(self, queue_url: String) {
        let worker = self.worker();
        loop {
            if let Err(error) = trigger::run_once(&worker, &self.sqs, &queue_url, 1).await {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
