//! The sandbox HR systems `make run` starts besides BambooHR (`ITHUB_SANDBOX_PROVIDERS`): each a fake with the
//! small sample company, connected as an admin would connect it, its webhooks pointed at the local runner.

use ithub::providers::NewConnection;
use ithub::service::Acting;
use local::Stack;
use std::net::SocketAddr;

/// Starts one sandbox and connects the demo tenant to it; returns its URL and a command that hires someone.
pub async fn start(
    provider: &str,
    addr: SocketAddr,
    stack: &Stack,
    acting: &Acting,
    api_url: &str,
) -> Result<(String, String), String> {
    let today = chrono::Utc::now().date_naive();
    let cannot = |e: std::io::Error| format!("cannot start the {provider} sandbox on {addr}: {e}");
    let connect = async |request: serde_json::Value| {
        let request: NewConnection = serde_json::from_value(request).map_err(|e| e.to_string())?;
        let made = stack.service().create_connection(&stack.secrets, stack.http.egress(), acting, request).await;
        made.map_err(|e| format!("cannot connect the {provider} sandbox: {e}"))
    };
    let hire = |url: &str, body: &str| format!("curl -X POST {url} -H 'content-type: application/json' -d '{body}'");
    match provider {
        "hibob" => {
            let fake = fake_hr::FakeBob::start(addr, "SERVICE-DEMO", "demo-service-token", fake_hr::bob_sample(today))
                .await
                .map_err(cannot)?;
            let made = connect(fake.connection_request()).await?;
            // Bob issues the webhook secret as its webhook is added (once the runner serves, to answer its
            // connection test); the admin pastes it into IT Hub.
            let webhook = format!("{api_url}/webhooks/{}", made.connection.id);
            let (bob, service, secrets, acting, http) =
                (fake.clone(), stack.service(), stack.secrets.clone(), acting.clone(), stack.http.clone());
            tokio::spawn(async move {
                let established = bob.configure_webhook(&webhook).await;
                let rotation = ithub::service::WebhookSecretRotation { webhook_secret: bob.webhook_secret() };
                let id = made.connection.id.as_str();
                let pasted = service.rotate_webhook_secret(&secrets, &http, &acting, id, rotation, &webhook);
                match pasted.await {
                    Ok(_) => tracing::info!(established, "the Bob sandbox's webhook secret is pasted"),
                    Err(error) => tracing::error!(%error, "could not paste the Bob sandbox's webhook secret"),
                }
            });
            let url = fake.base_url().to_owned();
            let command = hire(&format!("{url}/sandbox/employees"), r#"{"firstName":"Nia","surname":"Okafor"}"#);
            Ok((url, command))
        }
        "personio" => {
            let people = fake_hr::personio_sample(today);
            let fake = fake_hr::FakePersonio::start(addr, "demo-client", "demo-client-secret", people)
                .await
                .map_err(cannot)?;
            let made = connect(fake.connection_request()).await?;
            // The connection check registers IT Hub's webhook through Personio's webhooks API, its token the
            // connection's webhook secret (Personio sends it verbatim).
            let webhook = format!("{api_url}/webhooks/{}", made.connection.id);
            let id = made.connection.id.as_str();
            let check = stack.service().check_connection(&stack.secrets, &stack.http, acting, id, &webhook).await;
            match check {
                Ok(check) if check.ok => tracing::info!("the Personio sandbox's webhook is registered"),
                Ok(check) => tracing::warn!(steps = ?check.steps, "the Personio sandbox's check found problems"),
                Err(error) => tracing::error!(%error, "could not check the Personio sandbox's connection"),
            }
            let url = fake.base_url().to_owned();
            let command = hire(&format!("{url}/sandbox/persons"), r#"{"first_name":"Nia","last_name":"Okafor"}"#);
            Ok((url, command))
        }
        "gusto" => {
            let people = fake_hr::gusto_sample(today);
            let fake = fake_hr::FakeGusto::start(addr, "demo-client", "demo-client-secret", "demo-refresh-0", people)
                .await
                .map_err(cannot)?;
            let made = connect(fake.connection_request()).await?;
            // Gusto sends its verification token once the runner serves; IT Hub confirms it and keeps it.
            let webhook = format!("{api_url}/webhooks/{}", made.connection.id);
            let subscriber = fake.clone();
            tokio::spawn(async move {
                let status = subscriber.subscribe(&webhook).await;
                tracing::info!(status, "the Gusto sandbox's webhook subscription was answered");
            });
            let url = fake.base_url().to_owned();
            let command = hire(&format!("{url}/sandbox/employees"), r#"{"first_name":"Nia","last_name":"Okafor"}"#);
            Ok((url, command))
        }
        "adp" => {
            // The API over mutual TLS on a free port; the sandbox controls (plain HTTP) on `addr`.
            let api = SocketAddr::new(addr.ip(), 0);
            let people = fake_hr::adp_sample(today);
            let fake = fake_hr::FakeAdp::start(api, addr, "demo-client", "demo-client-secret", people)
                .await
                .map_err(cannot)?;
            connect(fake.connection_request()).await?;
            let url = fake.sandbox_url().to_owned();
            let command = hire(&format!("{url}/sandbox/workers"), r#"{"givenName":"Nia","familyName1":"Okafor"}"#);
            Ok((url, command))
        }
        "rippling" => {
            let fake = fake_hr::FakeRippling::start(addr, "demo-rippling-key", fake_hr::rippling_sample(today))
                .await
                .map_err(cannot)?;
            connect(fake.connection_request()).await?;
            let url = fake.base_url().to_owned();
            let command = hire(&format!("{url}/sandbox/workers"), r#"{"first_name":"Nia","last_name":"Okafor"}"#);
            Ok((url, command))
        }
        "workday" => {
            let people = fake_hr::workday_sample(today);
            let fake = fake_hr::FakeWorkday::start(addr, "acme", "ISU_ithub@acme", "demo-isu-password", people)
                .await
                .map_err(cannot)?;
            connect(fake.connection_request(false)).await?;
            let url = fake.base_url().to_owned();
            let command = hire(&format!("{url}/sandbox/workers"), r#"{"first_name":"Nia","last_name":"Okafor"}"#);
            Ok((url, command))
        }
        other => Err(format!(
            "ITHUB_SANDBOX_PROVIDERS names {other:?}; choose from adp, hibob, personio, gusto, rippling, workday"
        )),
    }
}
