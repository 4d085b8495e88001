//! Every IT Hub function in one process, wired to the AWS APIs at `AWS_ENDPOINT_URL` (moto, locally): the HTTP
//! routes API Gateway would serve, an interval in place of the EventBridge schedule, and an SQS receive loop in
//! place of the Lambda trigger. Tests build the same [`Stack`].

pub mod trigger;

use admin_api::AdminApi;
use ithub::bus::Bus;
use ithub::queue::Queue;
use ithub::resources::{self, Deployed, Names, QueueSettings};
use ithub::schedule::{ScheduleReport, StartError, Tick, schedule_tick};
use ithub::secrets::Secrets;
use ithub::service::Service;
use ithub::store::Store;
use ithub::sync::Syncer;
use std::time::Duration;
use webhook::Webhooks;
use worker::Worker;

/// The deployed resources and a client for each, built once. The public clients are the caller's own (tests read
/// and arrange state with them); each function runs with clients of its own, named for it.
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
    /// A sync step's time budget and lease, when shorter than the deployed ones (tests).
    pub step_budget: Option<(Duration, Duration)>,
    functions: Functions,
}

/// The AWS clients of one function. Each function's are made with its name as the SDK's app name (`app/worker` in
/// the user agent), as in its Lambda (`ithub::function_aws_config`), so the local AWS endpoint can tell whose call is whose:
/// the IAM test compares what each function calls with what the template grants its role.
#[derive(Clone)]
struct Clients {
    store: Store,
    queue: Queue,
    runs: Queue,
    bus: Bus,
    secrets: Secrets,
    sqs: aws_sdk_sqs::Client,
}

#[derive(Clone)]
struct Functions {
    admin_api: Clients,
    webhook: Clients,
    worker: Clients,
    poller: Clients,
    /// What Lambda's SQS event source mapping does (receive, delete) on the worker's behalf.
    trigger: Clients,
}

impl Functions {
    fn new(
        aws: &aws_config::SdkConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        sqs: &aws_sdk_sqs::Client,
        deployed: &Deployed,
    ) -> Self {
        let named = |app: &str| Clients::named(app, aws, dynamodb, sqs, deployed);
        Self {
            admin_api: named("admin-api"),
            webhook: named("webhook"),
            worker: named("worker"),
            poller: named("poller"),
            trigger: named("lambda-sqs-trigger"),
        }
    }
}

impl Clients {
    fn named(
        app: &str,
        aws: &aws_config::SdkConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        sqs: &aws_sdk_sqs::Client,
        deployed: &Deployed,
    ) -> Self {
        let name = aws_config::AppName::new(app.to_owned()).expect("a valid app name");
        let aws = aws.to_builder().app_name(name.clone()).build();
        let dynamodb =
            aws_sdk_dynamodb::Client::from_conf(dynamodb.config().to_builder().app_name(name.clone()).build());
        let sqs = aws_sdk_sqs::Client::from_conf(sqs.config().to_builder().app_name(name).build());
        Self {
            store: Store::new(dynamodb, &deployed.table),
            queue: Queue::new(sqs.clone(), &deployed.queue_url),
            runs: Queue::new(sqs.clone(), &deployed.run_queue_url),
            bus: Bus::new(aws_sdk_eventbridge::Client::new(&aws), &deployed.bus),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(&aws))
                .with_prefix(ithub::config::secret_prefix()),
            sqs,
        }
    }

    fn service(&self) -> Service {
        Service::new(self.store.clone(), self.bus.clone())
    }
}

impl Stack {
    /// Creates (or finds) the resources named by `names` and connects to them.
    pub async fn bootstrap(names: &Names, settings: QueueSettings) -> Result<Self, resources::BootstrapError> {
        let aws = ithub::aws_config().await;
        let (dynamodb, sqs) = (aws_sdk_dynamodb::Client::new(&aws), aws_sdk_sqs::Client::new(&aws));
        Self::bootstrap_with(&aws, names, settings, dynamodb, sqs).await
    }

    /// [`Stack::bootstrap`] with DynamoDB and SQS clients of the caller's making (a benchmark counts their
    /// calls; the functions' clients are made from their configuration, interceptors included).
    pub async fn bootstrap_with(
        aws: &aws_config::SdkConfig,
        names: &Names,
        settings: QueueSettings,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
    ) -> Result<Self, resources::BootstrapError> {
        let deployed = resources::bootstrap(aws, names, settings).await?;
        let functions = Functions::new(aws, &dynamodb, &sqs, &deployed);
        Ok(Self {
            store: Store::new(dynamodb.clone(), &deployed.table),
            queue: Queue::new(sqs.clone(), &deployed.queue_url),
            runs: Queue::new(sqs.clone(), &deployed.run_queue_url),
            bus: Bus::new(aws_sdk_eventbridge::Client::new(aws), &deployed.bus),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(aws)).with_prefix(ithub::config::secret_prefix()),
            public_url: None,
            step_budget: None,
            http: ithub::providers::Http::new(ithub::providers::Egress::LoopbackOnly),
            functions,
            deployed,
            sqs,
            dynamodb,
        })
    }

    /// The same stack whose functions reach AWS with `aws` (another endpoint: a fault-injecting proxy, say); the
    /// caller's own clients are unchanged.
    pub fn with_functions_through(&self, aws: &aws_config::SdkConfig) -> Self {
        let mut stack = self.clone();
        let (dynamodb, sqs) = (aws_sdk_dynamodb::Client::new(aws), aws_sdk_sqs::Client::new(aws));
        stack.functions = Functions::new(aws, &dynamodb, &sqs, &self.deployed);
        stack
    }

    /// The same stack as new instances of its functions would see it, remembering no secrets: what a function
    /// does after a secret changed without it (or after its cache expired).
    pub fn new_instances(&self) -> Self {
        let mut stack = self.clone();
        let functions = &mut stack.functions;
        for clients in [&mut functions.admin_api, &mut functions.webhook, &mut functions.worker, &mut functions.poller]
        {
            clients.secrets = clients.secrets.without_cache();
        }
        stack
    }

    /// The service layer every change goes through, as the admin API function holds it.
    pub fn service(&self) -> Service {
        self.functions.admin_api.service()
    }

    /// The worker function's handler.
    pub fn worker(&self) -> Worker {
        Worker::new(self.functions.worker.service(), self.syncer())
    }

    /// The worker function's handler with a syncer of the caller's making (a shorter step budget, say).
    pub fn worker_with(&self, syncer: Syncer) -> Worker {
        Worker::new(self.functions.worker.service(), syncer)
    }

    /// What carries sync runs out, step by step (in the worker function).
    pub fn syncer(&self) -> Syncer {
        let worker = &self.functions.worker;
        let syncer = Syncer::new(
            worker.service(),
            worker.queue.clone(),
            worker.runs.clone(),
            worker.secrets.clone(),
            self.http.clone(),
        );
        match self.step_budget {
            Some((budget, lease)) => syncer.with_budget(budget, lease),
            None => syncer,
        }
    }

    /// The same stack with another cap on connections per tenant, in every function (as if each were deployed
    /// with `ITHUB_MAX_CONNECTIONS_PER_TENANT`).
    pub fn with_connection_cap(mut self, cap: u32) -> Self {
        self.store = self.store.with_connection_cap(cap);
        for clients in [
            &mut self.functions.admin_api,
            &mut self.functions.webhook,
            &mut self.functions.worker,
            &mut self.functions.poller,
        ] {
            clients.store = clients.store.clone().with_connection_cap(cap);
        }
        self
    }

    /// The routes API Gateway serves: the admin API and the webhook receiver.
    pub fn router(&self) -> axum::Router {
        let (admin, webhook) = (&self.functions.admin_api, &self.functions.webhook);
        admin_api::router(AdminApi {
            service: admin.service(),
            secrets: admin.secrets.clone(),
            runs: admin.runs.clone(),
            public_url: self.public_url.clone(),
            egress: ithub::providers::Egress::LoopbackOnly,
        })
        .merge(webhook::router(Webhooks {
            store: webhook.store.clone(),
            queue: webhook.queue.clone(),
            secrets: webhook.secrets.clone(),
            http: self.http.clone(),
        }))
    }

    /// One tick of the poller function's schedule: `Tick::All` (the main schedule) or `Tick::Queues` (the
    /// every-minute drain).
    pub async fn poll(&self, now: chrono::DateTime<chrono::Utc>, tick: Tick) -> Result<ScheduleReport, StartError> {
        schedule_tick(&self.functions.poller.store, &self.functions.poller.runs, now, tick).await
    }

    /// What Lambda's SQS trigger does once: receive a batch from `queue_url` (long-polling for `wait_secs`), hand it
    /// to `worker`, delete what succeeded.
    pub async fn trigger_once(
        &self,
        worker: &Worker,
        queue_url: &str,
        wait_secs: i32,
    ) -> Result<trigger::BatchOutcome, aws_sdk_sqs::Error> {
        trigger::run_once(worker, &self.functions.trigger.sqs, queue_url, wait_secs).await
    }

    /// Runs the poller every `every`, as the EventBridge schedule would.
    pub async fn schedule_poller(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = self.poll(chrono::Utc::now(), Tick::All).await {
                tracing::error!(%error, "scheduled poll failed");
            }
        }
    }

    /// Feeds the worker from both queues, as the two SQS triggers would, for as long as this future lives
    /// (dropping it stops both loops).
    pub async fn feed_worker(self) {
        self.start_feeding().finished().await;
    }

    /// Starts feeding the worker from both queues; [`Feeding::stop`] stops it between receives.
    pub fn start_feeding(&self) -> Feeding {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        for queue_url in [&self.deployed.queue_url, &self.deployed.run_queue_url] {
            loops.spawn(self.clone().feed(queue_url.clone(), stopped.clone()));
        }
        Feeding { stop, loops }
    }

    /// One queue's loop. A handler that panics is logged and the loop goes on receiving (its batch comes back
    /// after the visibility timeout, as it would to a fresh Lambda environment): one bad message never stops
    /// every tenant's work in the local runner.
    async fn feed(self, queue_url: String, mut stopped: tokio::sync::watch::Receiver<bool>) {
        use futures::FutureExt;
        let worker = self.worker();
        while !*stopped.borrow() {
            let once = std::panic::AssertUnwindSafe(self.trigger_once(&worker, &queue_url, 1)).catch_unwind().await;
            match once {
                Ok(Ok(_)) => continue,
                Ok(Err(error)) => {
                    tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "receive failed");
                }
                Err(_) => tracing::error!("a handler panicked; this queue's feeder carries on"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped.changed() => {}
            }
        }
    }
}

/// The worker being fed from both queues (see [`Stack::start_feeding`]). Dropped, its loops are aborted
/// wherever they are.
pub struct Feeding {
    stop: tokio::sync::watch::Sender<bool>,
    loops: tokio::task::JoinSet<()>,
}

impl Feeding {
    /// Stops feeding once each loop's receive under way has been answered and its messages worked, and returns
    /// then. Aborting a loop instead can leave a receive the queue still answers (moto keeps a long poll going
    /// after its caller has gone): the message it hands out is hidden for the visibility timeout with nobody to
    /// work it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.finished().await;
    }

    async fn finished(mut self) {
        while self.loops.join_next().await.is_some() {}
    }
}
