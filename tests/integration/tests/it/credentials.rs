//! Rotating refresh tokens across processes: two token sources that share a connection's secret (Secrets Manager
//! on moto) and its refresh lease (DynamoDB on moto) never both spend one refresh token, against a token endpoint
//! over HTTP that rotates the refresh token on every grant and refuses a spent one.

use async_trait::async_trait;
use axum::extract::State;
use integration_tests::*;
use ithub::providers::ProviderError;
use ithub::providers::auth::{Grant, RefreshingToken, Secret, TokenEndpoint, TokenSource};
use ithub::secrets::{ConnectionRefreshTokens, ConnectionSecret};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The HR system's token endpoint: `POST /token` with `refresh_token=…`.
#[derive(Clone, Default)]
struct Issuer {
    current: Arc<Mutex<(u32, String)>>,
    refused: Arc<Mutex<u32>>,
}

async fn token(State(issuer): State<Issuer>, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let offered = body.strip_prefix("refresh_token=").unwrap_or_default().to_owned();
    let mut current = issuer.current.lock().unwrap();
    if offered != current.1 {
        *issuer.refused.lock().unwrap() += 1;
        return (axum::http::StatusCode::UNAUTHORIZED, "invalid_grant").into_response();
    }
    current.0 += 1;
    current.1 = format!("refresh-{}", current.0);
    // Expires at once, so every call refreshes.
    let body = serde_json::json!({"access_token": format!("access-{}", current.0), "expires_in": 0, "refresh_token": current.1});
    axum::Json(body).into_response()
}

struct HttpEndpoint(String);

#[async_trait]
impl TokenEndpoint for HttpEndpoint {
    async fn grant(&self, refresh_token: Option<&Secret>) -> Result<Grant, ProviderError> {
        let body = format!("refresh_token={}", refresh_token.map(Secret::expose).unwrap_or_default());
        let response = reqwest::Client::new().post(&self.0).body(body).send().await.unwrap();
        if !response.status().is_success() {
            return Err(ProviderError::Unauthorized(response.status().as_u16()));
        }
        let json: serde_json::Value = response.json().await.unwrap();
        Ok(Grant {
            access_token: Secret::new(json["access_token"].as_str().unwrap()),
            expires_in: Duration::from_secs(json["expires_in"].as_u64().unwrap()),
            refresh_token: json["refresh_token"].as_str().map(Secret::new),
        })
    }
}

#[tokio::test]
async fn two_processes_refreshing_at_once_never_spend_the_same_refresh_token() {
    let stack = stack().await;
    let issuer = Issuer { current: Arc::new(Mutex::new((0, "refresh-0".into()))), ..Issuer::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/token", axum::routing::post(token)).with_state(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let secret_id = format!("ithub/test/{}", uuid::Uuid::new_v4().simple());
    let credentials = serde_json::from_value(serde_json::json!({"provider": "bamboohr", "api_key": "k"})).unwrap();
    let stored = ConnectionSecret {
        credentials,
        webhook_secrets: vec![],
        refresh_token: Some("refresh-0".into()),
        registered_webhook: None,
    };
    stack.secrets.create(&secret_id, &stored).await.unwrap();

    // Two processes: each its own token source and lease holder, both starting from the stored token.
    let process = || {
        let store = ConnectionRefreshTokens::new(stack.secrets.clone(), stack.store.clone(), &secret_id);
        Arc::new(RefreshingToken::new(
            Box::new(HttpEndpoint(url.clone())),
            Some(Secret::new("refresh-0")),
            Some(Arc::new(store)),
        ))
    };
    let (a, b) = (process(), process());
    for _ in 0..4 {
        let (one, two) = tokio::join!(a.token(), b.token());
        assert!(one.is_ok() && two.is_ok(), "{one:?} {two:?}");
    }
    assert_eq!(*issuer.refused.lock().unwrap(), 0, "no spent refresh token was ever offered");
    let grants = issuer.current.lock().unwrap().0;
    assert_eq!(grants, 8, "every call refreshed once");
    let saved = stack.secrets.get_fresh(&secret_id).await.unwrap().refresh_token;
    assert_eq!(saved.as_deref(), Some(format!("refresh-{grants}").as_str()), "the newest token is kept");
}

/// A deployment names its connections' secrets under its own prefix (`ithub/{stack}` in AWS, where its functions
/// may read nothing else); the connection finds its credential there.
#[tokio::test]
async fn a_connections_secret_is_named_under_the_deployments_prefix() {
    let stack = stack().await;
    let (tenant, _) = tenant(&stack).await;
    let fake = fake_bamboo(vec![(1, person("Ada", "Lovelace", "Engineering"))]).await;
    let secrets = stack.secrets.clone().with_prefix("ithub/stack-a/");
    let acting =
        ithub::service::Acting { tenant: tenant.clone(), actor: ithub::domain::Actor::Admin { key: "t".into() } };
    let request = serde_json::from_value(fake.connection_request()).unwrap();
    let made = stack.service().create_connection(&secrets, stack.http.egress(), &acting, request).await.unwrap();
    let expected = format!("ithub/stack-a/{tenant}/{}", made.connection.id);
    assert_eq!(made.connection.secret_id, expected);
    let kept = stack.secrets.get_fresh(&expected).await.expect("the secret is where the connection says");
    // BambooHR issues the webhook's key: none is kept until IT Hub registers its webhook or an admin pastes one.
    assert!(kept.webhook_secrets.is_empty() && made.webhook_secret.is_none(), "nothing made up by IT Hub");
}
