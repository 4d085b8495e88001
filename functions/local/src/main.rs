//! `ithub-local`: runs IT Hub on one machine against moto.
//!
//! - `ithub-local bootstrap`: create the table, queues and bus (idempotent), print their names.
//! - `ithub-local run`: bootstrap, start the sandbox HR system with a sample company, create a demo tenant with an
//!   admin key and a connection to the sandbox, then serve every function until Ctrl-C.
//! - `ithub-local serve`: bootstrap, then serve every function (API, webhooks, schedule, worker) for the tenants
//!   and connections already there: what a restarted deployment does (the fault tests kill and restart it).
//!
//! `ITHUB_VISIBILITY_TIMEOUT_SECONDS` (queues this process creates), `ITHUB_STEP_SECONDS` and `ITHUB_LEASE_SECONDS`
//! (a sync step's budget and its lease) shorten the deployed values for tests; unset, they are the template's.

use chrono::Utc;
use ithub::domain::{Actor, TenantId};
use ithub::providers::NewConnection;
use ithub::resources::{Names, QueueSettings};
use ithub::service::Acting;
use local::Stack;
use std::net::SocketAddr;
use std::time::Duration;

mod sandboxes;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("ithub-local: {message}");
    std::process::exit(2)
}

fn address(name: &str, default: &str) -> SocketAddr {
    let raw = setting(name, default);
    raw.parse().unwrap_or_else(|_| fail(format!("{name} must be host:port, got {raw:?}")))
}

#[tokio::main]
async fn main() {
    ithub::telemetry::init();
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        fail("AWS_ENDPOINT_URL is not set; point it at the moto server (make run does this)");
    }
    let names = Names::prefixed(&setting("ITHUB_PREFIX", "ithub-local"));
    let command = std::env::args().nth(1).unwrap_or_else(|| "run".into());
    let mut queues = QueueSettings::default();
    if let Some(secs) = number("ITHUB_VISIBILITY_TIMEOUT_SECONDS") {
        queues.visibility_timeout_secs = secs as i32;
    }
    let mut stack = Stack::bootstrap(&names, queues).await.unwrap_or_else(|e| fail(e));
    match (number("ITHUB_STEP_SECONDS"), number("ITHUB_LEASE_SECONDS")) {
        (Some(step), Some(lease)) => stack.step_budget = Some((Duration::from_secs(step), Duration::from_secs(lease))),
        (None, None) => {}
        _ => fail("ITHUB_STEP_SECONDS and ITHUB_LEASE_SECONDS go together: set both or neither"),
    }
    match command.as_str() {
        "bootstrap" => {
            let d = &stack.deployed;
            println!(
                "table {}\nqueue {}\ndead-letter queue {}\nbus {}",
                d.table, d.queue_url, d.dead_letter_queue_url, d.bus
            );
        }
        "run" => run(stack).await,
        "serve" => serve(stack).await,
        other => fail(format!("unknown command {other:?}; use `run`, `serve` or `bootstrap`")),
    }
}

fn number(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok().filter(|v| !v.trim().is_empty())?;
    Some(raw.trim().parse().unwrap_or_else(|_| fail(format!("{name} must be a whole number of seconds, got {raw:?}"))))
}

/// Every function, for what is already in the table: no tenant, connection or sandbox is made.
async fn serve(mut stack: Stack) {
    let api_addr = address("ITHUB_API_ADDR", "127.0.0.1:8080");
    let poll_secs: u64 =
        setting("ITHUB_POLL_SECONDS", "5").parse().unwrap_or_else(|_| fail("ITHUB_POLL_SECONDS must be a number"));
    let listener = tokio::net::TcpListener::bind(api_addr)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {api_addr}: {e}")));
    let api_url = format!("http://{}", listener.local_addr().map_or(api_addr, |a| a));
    stack.public_url = Some(api_url.clone());
    tokio::spawn(stack.clone().schedule_poller(Duration::from_secs(poll_secs)));
    tokio::spawn(stack.clone().feed_worker());
    println!("IT Hub is serving at {api_url}");
    if let Err(e) = axum::serve(listener, stack.router()).await {
        fail(e);
    }
}

async fn run(mut stack: Stack) {
    let api_addr = address("ITHUB_API_ADDR", "127.0.0.1:8080");
    let sandbox_addr = address("ITHUB_SANDBOX_ADDR", "127.0.0.1:8081");
    let poll_secs: u64 =
        setting("ITHUB_POLL_SECONDS", "5").parse().unwrap_or_else(|_| fail("ITHUB_POLL_SECONDS must be a number"));

    let sandbox = fake_hr::start_sandbox(sandbox_addr, Utc::now().date_naive())
        .await
        .unwrap_or_else(|e| fail(format!("cannot start the sandbox HR system on {sandbox_addr}: {e}")));
    let listener = tokio::net::TcpListener::bind(api_addr)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {api_addr}: {e}")));

    let tenant = TenantId::generate();
    stack.store.create_tenant(&tenant, "Acme Inc (demo)").await.unwrap_or_else(|e| fail(e));
    let (admin_key, key_hash) = ithub::apikey::generate();
    stack.store.put_api_key(&key_hash, &tenant, "make run demo key", None).await.unwrap_or_else(|e| fail(e));
    // Connected as an admin would connect it: the sandbox says what to send, the service layer does the rest.
    let request: NewConnection = serde_json::from_value(sandbox.connection_request()).unwrap_or_else(|e| fail(e));
    let acting = Acting { tenant: tenant.clone(), actor: Actor::Admin { key: "make run".into() } };
    let made = stack.service().create_connection(&stack.secrets, stack.http.egress(), &acting, request).await;
    let made = made.unwrap_or_else(|e| fail(format!("cannot connect the sandbox: {e}")));
    let connection = made.connection;
    // The address actually bound: `ITHUB_API_ADDR` may ask for port 0 (any free port), as the API tests do.
    let api_url = format!("http://{}", listener.local_addr().map_or(api_addr, |a| a));
    stack.public_url = Some(api_url.clone());
    // The connection check, as the console runs it on connecting: it registers IT Hub's webhook with BambooHR,
    // which issues the key IT Hub keeps.
    let webhook_url = format!("{api_url}/webhooks/{}", connection.id);
    let service = stack.service();
    let check = service.check_connection(&stack.secrets, &stack.http, &acting, connection.id.as_str(), &webhook_url);
    match check.await {
        Ok(check) if check.ok => tracing::info!("the sandbox connection's check passed; its webhook is registered"),
        Ok(check) => tracing::warn!(steps = ?check.steps, "the sandbox connection's check found problems"),
        Err(error) => tracing::error!(%error, "could not check the sandbox connection"),
    }

    let mut env = format!(
        "ITHUB_API_URL={api_url}\nITHUB_CONSOLE_URL={api_url}/console\nITHUB_ADMIN_KEY={admin_key}\nITHUB_SANDBOX_URL={}\nITHUB_TENANT_ID={tenant}\nITHUB_CONNECTION_ID={}\n",
        sandbox.base_url(),
        connection.id
    );
    // The other sandbox HR systems, each with the small sample company and a connection of its own.
    let others = setting("ITHUB_SANDBOX_PROVIDERS", "adp,hibob,personio,gusto,rippling,workday");
    let mut lines = Vec::new();
    for (n, provider) in others.split(',').map(str::trim).filter(|p| !p.is_empty() && *p != "none").enumerate() {
        let port = if sandbox_addr.port() == 0 { 0 } else { sandbox_addr.port() + 1 + n as u16 };
        let addr = SocketAddr::new(sandbox_addr.ip(), port);
        let (url, hire) = sandboxes::start(provider, addr, &stack, &acting, &api_url).await.unwrap_or_else(|e| fail(e));
        env.push_str(&format!("ITHUB_SANDBOX_{}_URL={url}\n", provider.to_ascii_uppercase()));
        lines.push(format!("  {provider:<13} {url}   (hire: {hire})"));
    }
    // A SCIM connection, for Okta, Entra or an HR system's SCIM export (or curl) to push users to.
    let scim_request: NewConnection =
        serde_json::from_value(serde_json::json!({"provider": "scim", "settings": {}, "credentials": {}}))
            .unwrap_or_else(|e| fail(e));
    let scim = stack.service().create_connection(&stack.secrets, stack.http.egress(), &acting, scim_request).await;
    let scim_token = scim.unwrap_or_else(|e| fail(format!("cannot make the SCIM connection: {e}"))).scim_token;
    let scim_token = scim_token.unwrap_or_else(|| fail("a SCIM connection comes with its token"));
    env.push_str(&format!("ITHUB_SCIM_URL={api_url}/scim/v2\nITHUB_SCIM_TOKEN={scim_token}\n"));
    lines.push(format!(
        "  scim          {api_url}/scim/v2   (token {scim_token}; create: curl -X POST {api_url}/scim/v2/Users \\\n                -H 'Authorization: Bearer {scim_token}' -H 'content-type: application/scim+json' \\\n                -d '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"nia@acme.example\"}}')"
    ));
    let env_file = setting("ITHUB_RUN_ENV", ".local/run.env");
    let written = std::path::Path::new(&env_file)
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&env_file, &env));
    if let Err(e) = written {
        fail(format!("cannot write {env_file}: {e}"));
    }

    tokio::spawn(stack.clone().schedule_poller(Duration::from_secs(poll_secs)));
    tokio::spawn(stack.clone().feed_worker());
    let server = axum::serve(listener, stack.router()).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });

    println!(
        "\nIT Hub is running (every function in this process, AWS APIs from moto).\n\n  \
         console       {api_url}/console   (open it in a browser and sign in with the admin key below)\n  \
         admin API     {api_url}   (try: curl -H 'Authorization: Bearer {admin_key}' {api_url}/v1/employees)\n  \
         admin key     {admin_key}\n  \
         sandbox HR    {}   (hire: curl -X POST {}/sandbox/employees -H 'content-type: application/json' -d '{{\"firstName\":\"Nia\",\"lastName\":\"Okafor\"}}')\n  \
         polling every {poll_secs}s; webhooks from the sandbox arrive at {api_url}/webhooks/{}\n{}\n\n  \
         These values are also in .local/run.env. Ctrl-C stops everything.\n",
        sandbox.base_url(),
        sandbox.base_url(),
        connection.id,
        lines.join("\n")
    );
    if let Err(e) = server.await {
        fail(e);
    }
}
