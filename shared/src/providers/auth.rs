//! How a connector gets the credential it sends: a static key, or an access token that is fetched, cached until
//! shortly before it expires and refreshed by one caller at a time. Where the HR system rotates the refresh token
//! on every use, a [`RefreshTokenStore`] (the connection's secret in Secrets Manager, with a DynamoDB lease:
//! `secrets::ConnectionRefreshTokens`) makes the refresh one process's at a time across every Lambda, and keeps
//! the rotated token where the next process finds it.

use super::ProviderError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A secret string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a connector's credential comes from.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The credential to send now.
    async fn token(&self) -> Result<Secret, ProviderError>;

    /// The HR system refused the last token: forget it, so the next call gets a fresh one. `false` where there
    /// is no other to get (a static key), so asking again would only be refused again.
    async fn invalidate(&self) -> bool;
}

/// A key that does not change (BambooHR's API key).
pub struct StaticToken(Secret);

impl StaticToken {
    pub fn new(key: impl Into<String>) -> Self {
        Self(Secret::new(key))
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<Secret, ProviderError> {
        Ok(self.0.clone())
    }

    async fn invalidate(&self) -> bool {
        false
    }
}

/// What a token endpoint granted.
pub struct Grant {
    pub access_token: Secret,
    pub expires_in: Duration,
    /// A new refresh token, where the HR system rotates them.
    pub refresh_token: Option<Secret>,
}

/// Exchanges a refresh token (or client credentials, when `refresh_token` is `None`) for an access token.
#[async_trait]
pub trait TokenEndpoint: Send + Sync {
    async fn grant(&self, refresh_token: Option<&Secret>) -> Result<Grant, ProviderError>;
}

/// An OAuth 2.0 token endpoint taking the client-credentials grant as a form (RFC 6749 §4.4), the client
/// authenticated in the body or by HTTP Basic; and the refresh-token grant, where the HR system issues one.
pub struct OAuthClient {
    pub url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The client authenticates by HTTP Basic rather than in the body.
    pub basic: bool,
    /// Spend refresh tokens (the refresh-token grant); otherwise every grant is a client-credentials one and a
    /// refresh token in the answer is ignored.
    pub refreshes: bool,
    pub http: super::Http,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The longest a token is kept before it is renewed, whatever lifetime its answer gave.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Assumed when a token answer gives no lifetime: an hour, renewed early as every grant is.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

#[async_trait]
impl TokenEndpoint for OAuthClient {
    async fn grant(&self, refresh_token: Option<&Secret>) -> Result<Grant, ProviderError> {
        let refresh_token = refresh_token.filter(|_| self.refreshes);
        let mut form: Vec<(&str, &str)> = match refresh_token {
            Some(token) => vec![("grant_type", "refresh_token"), ("refresh_token", token.expose())],
            None => vec![("grant_type", "client_credentials")],
        };
        if !self.basic {
            form.extend([("client_id", self.client_id.as_str()), ("client_secret", self.client_secret.expose())]);
        }
        let retry = super::RetryPolicy::default();
        // No redirect is followed: the request carries the client's secret.
        let response = self
            .http
            .send_to_token_endpoint(&retry, &self.url, |client, url| {
                let request = client.post(url).form(&form).header(reqwest::header::ACCEPT, "application/json");
                if self.basic {
                    request.basic_auth(&self.client_id, Some(self.client_secret.expose()))
                } else {
                    request
                }
            })
            .await?;
        let status = response.status().as_u16();
        if matches!(status, 400 | 401 | 403) {
            // `invalid_client` or `invalid_grant`: the credentials, not the moment.
            return Err(ProviderError::Unauthorized(status));
        }
        let answer: TokenAnswer = super::http::json(super::http::check(response).await?).await?;
        Ok(Grant {
            access_token: Secret::new(answer.access_token),
            expires_in: answer.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME),
            refresh_token: answer.refresh_token.filter(|_| self.refreshes).map(Secret::new),
        })
    }
}

/// Where a connection's refresh token lives between processes, and who may spend it now.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// The refresh token as last saved (another process may have rotated it since this one started).
    async fn load(&self) -> Result<Option<Secret>, ProviderError>;
    async fn save(&self, refresh_token: &Secret) -> Result<(), ProviderError>;
    /// Takes the right to refresh for a short while; `false` while another process holds it.
    async fn try_lock(&self) -> Result<bool, ProviderError>;
    async fn unlock(&self);
}

/// How long a process waits for another's refresh before giving up, and how often it looks.
const WAIT_FOR_REFRESH: Duration = Duration::from_secs(10);
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Refreshed this long before the grant says it expires, so a token never expires in flight.
const EARLY: Duration = Duration::from_secs(60);

struct Cached {
    access: Secret,
    until: Instant,
}

struct State {
    cached: Option<Cached>,
    refresh_token: Option<Secret>,
}

/// An access token fetched on first use, reused until shortly before it expires, then refreshed. The lock makes
/// concurrent callers wait for one refresh instead of each spending the refresh token.
pub struct RefreshingToken {
    endpoint: Box<dyn TokenEndpoint>,
    store: Option<Arc<dyn RefreshTokenStore>>,
    state: Mutex<State>,
}

impl RefreshingToken {
    pub fn new(
        endpoint: Box<dyn TokenEndpoint>,
        refresh_token: Option<Secret>,
        store: Option<Arc<dyn RefreshTokenStore>>,
    ) -> Self {
        Self { endpoint, store, state: Mutex::new(State { cached: None, refresh_token }) }
    }
}

impl RefreshingToken {
    async fn refresh(&self, state: &mut State, store: Option<&dyn RefreshTokenStore>) -> Result<Secret, ProviderError> {
        let grant = self.endpoint.grant(state.refresh_token.as_ref()).await?;
        if let Some(rotated) = grant.refresh_token {
            // The old refresh token is spent: keep the new one in memory whatever happens to the save.
            state.refresh_token = Some(rotated.clone());
            if let Some(store) = store
                && let Err(error) = store.save(&rotated).await
            {
                tracing::error!(%error, "could not save a rotated refresh token; this process keeps it in memory");
            }
        }
        // A lifetime past a day is taken as a day (renewed then): `expires_in` is the HR system's number.
        let lifetime = grant.expires_in.min(MAX_LIFETIME).saturating_sub(EARLY);
        let until = Instant::now().checked_add(lifetime).unwrap_or_else(Instant::now);
        state.cached = Some(Cached { access: grant.access_token.clone(), until });
        Ok(grant.access_token)
    }
}

#[async_trait]
impl TokenSource for RefreshingToken {
    async fn token(&self) -> Result<Secret, ProviderError> {
        let mut state = self.state.lock().await;
        if let Some(cached) = state.cached.as_ref().filter(|c| c.until > Instant::now()) {
            return Ok(cached.access.clone());
        }
        let Some(store) = self.store.clone() else {
            return self.refresh(&mut state, None).await;
        };
        let deadline = Instant::now().checked_add(WAIT_FOR_REFRESH).unwrap_or_else(Instant::now);
        while !store.try_lock().await? {
            if Instant::now() > deadline {
                return Err(ProviderError::Transport("another process kept the token refresh too long".into()));
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        // Whoever refreshed last rotated the token: spend that one, not the one this process started with.
        let refreshed = match store.load().await {
            Ok(latest) => {
                if latest.is_some() {
                    state.refresh_token = latest;
                }
                self.refresh(&mut state, Some(store.as_ref())).await
            }
            Err(error) => Err(error),
        };
        store.unlock().await;
        refreshed
    }

    async fn invalidate(&self) -> bool {
        self.state.lock().await.cached = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A token endpoint that rotates its refresh token on every grant and refuses a spent one.
    struct Rotating {
        grants: AtomicUsize,
        current: std::sync::Mutex<String>,
        lifetime: Duration,
    }

    #[async_trait]
    impl TokenEndpoint for Rotating {
        async fn grant(&self, refresh_token: Option<&Secret>) -> Result<Grant, ProviderError> {
            let rotated = {
                let mut current = self.current.lock().unwrap();
                if refresh_token.map(Secret::expose) != Some(current.as_str()) {
                    return Err(ProviderError::Unauthorized(401));
                }
                let n = self.grants.fetch_add(1, Ordering::SeqCst) + 1;
                *current = format!("refresh-{n}");
                n
            };
            // A real endpoint takes a while: concurrent callers pile up behind the lock meanwhile.
            tokio::task::yield_now().await;
            Ok(Grant {
                access_token: Secret::new(format!("access-{rotated}")),
                expires_in: self.lifetime,
                refresh_token: Some(Secret::new(format!("refresh-{rotated}"))),
            })
        }
    }

    #[derive(Default)]
    struct Saved(std::sync::Mutex<Vec<String>>);

    #[async_trait]
    impl RefreshTokenStore for Saved {
        async fn load(&self) -> Result<Option<Secret>, ProviderError> {
            Ok(self.0.lock().unwrap().last().map(Secret::new))
        }

        async fn save(&self, refresh_token: &Secret) -> Result<(), ProviderError> {
            self.0.lock().unwrap().push(refresh_token.expose().to_owned());
            Ok(())
        }

        async fn try_lock(&self) -> Result<bool, ProviderError> {
            Ok(true)
        }

        async fn unlock(&self) {}
    }

    fn endpoint(lifetime: Duration) -> Rotating {
        Rotating { grants: AtomicUsize::new(0), current: std::sync::Mutex::new("refresh-0".into()), lifetime }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh_and_the_rotated_token_is_saved() {
        let saved = Arc::new(Saved::default());
        let source = Arc::new(RefreshingToken::new(
            Box::new(endpoint(Duration::from_secs(3600))),
            Some(Secret::new("refresh-0")),
            Some(saved.clone()),
        ));
        let calls = (0..8).map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await.map(|t| t.expose().to_owned()) })
        });
        for call in futures::future::join_all(calls).await {
            assert_eq!(call.unwrap().unwrap(), "access-1", "one refresh served everyone");
        }
        assert_eq!(*saved.0.lock().unwrap(), vec!["refresh-1".to_owned()]);
    }

    #[tokio::test]
    async fn an_expiring_or_refused_token_is_refreshed_with_the_rotated_refresh_token() {
        let source = RefreshingToken::new(Box::new(endpoint(EARLY)), Some(Secret::new("refresh-0")), None);
        assert_eq!(source.token().await.unwrap().expose(), "access-1");
        assert_eq!(source.token().await.unwrap().expose(), "access-2", "a token inside the early window is renewed");
        source.invalidate().await;
        assert_eq!(source.token().await.unwrap().expose(), "access-3");
    }

    #[tokio::test]
    async fn a_lifetime_of_any_size_is_kept_at_most_a_day_never_overflowing() {
        // `expires_in` of 10^18 s (past what an `Instant` can hold), and the largest a duration can be.
        for lifetime in [Duration::from_secs(1_000_000_000_000_000_000), Duration::MAX] {
            let source = RefreshingToken::new(Box::new(endpoint(lifetime)), Some(Secret::new("refresh-0")), None);
            assert_eq!(source.token().await.unwrap().expose(), "access-1");
            assert_eq!(source.token().await.unwrap().expose(), "access-1", "kept, not renewed at once");
        }
    }

    #[tokio::test]
    async fn a_token_endpoint_that_redirects_is_not_followed_and_the_grant_fails_by_name() {
        super::super::http::test_servers::assert_token_redirects_are_not_followed(|url, n| {
            Box::new(OAuthClient {
                url,
                client_id: "client".into(),
                client_secret: Secret::new("s3cret"),
                basic: n == 1,
                refreshes: n != 2,
                http: super::super::Http::new(super::super::Egress::LoopbackOnly),
            })
        })
        .await;
    }

    #[test]
    fn a_secret_never_prints() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(<redacted>)");
    }
}
