//! Calls to HR systems with the politeness they ask for (429 and 503 are retried after `Retry-After` or an
//! exponential backoff, a bounded number of times), within the process's egress rule ([`Egress`]): the URL of
//! every request and every redirect is checked, and in the Lambda functions so is every address a host name
//! resolves to ([`PublicResolver`]), so a name that resolves to a private or metadata address is never connected
//! to. Token requests ([`Http::send_to_token_endpoint`]) follow no redirect at all.

use super::ProviderError;
use super::auth::{Secret, TokenSource};
use chrono::{DateTime, Utc};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Where this process may send HR requests, and so which `base_url` a connection may be given.
///
/// - `Public` (the Lambda functions): https only, to public addresses. A host given as an address, and every
///   address a host name resolves to when a connection is made ([`PublicResolver`]), must pass [`public_ip`]: not
///   this machine, a private network, link-local (the instance metadata service among them), shared (carrier-grade
///   NAT) or any other special-purpose range; a name none of whose addresses passes is refused by name
///   ([`ProviderError::Egress`]) before any connection. Names that are plainly local (`localhost`, `*.internal`, a
///   single label) are refused without a lookup, and no proxy from the environment is used (the address checked
///   is the address connected to). So a tenant's HR credential can only go to a public HR system.
/// - `LoopbackOnly` (the local runner and the tests, which "allow local targets"): http or https, and requests go
///   to loopback addresses only (or `localhost`, resolved as the system does), so a connection made with any
///   `base_url` (an API fuzzer makes many) never sends a request off the machine.
///
/// In both, a redirect is followed at most 5 times, each to a URL the rule permits (and, in `Public`, to an
/// address the resolver lets through), and a token request follows none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    Public,
    LoopbackOnly,
}

impl Egress {
    /// Whether a request to `url` may be sent, by its text: the scheme, and the host if it is an address or a
    /// plainly local name. (In `Public`, the addresses a name resolves to are checked when connecting.)
    pub fn permits(self, url: &reqwest::Url) -> bool {
        match self {
            Self::Public => url.scheme() == "https" && url.host().is_some_and(|h| !local_host(&h)),
            Self::LoopbackOnly => match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            },
        }
    }

    /// Checks a connection's `base_url` override: a plain URL (scheme, host, optional port and path, at most 2048
    /// characters; no user name, query or fragment) that this deployment may call, by its text (as
    /// [`Egress::permits`]; what a name resolves to is checked on every request, the connection's check among
    /// them).
    pub fn check_base_url(self, url: Option<&str>, field: &str, errors: &mut crate::validation::FieldErrors) {
        let Some(url) = url else { return };
        if !BaseUrl::is_plain(url) {
            errors.check(false, field, "must be an http or https URL: scheme, host, optional port and path");
            return;
        }
        if self == Self::Public {
            let parsed = reqwest::Url::parse(url);
            let https = url.starts_with("https://");
            errors.check(https, field, "must use https");
            let public = parsed.as_ref().is_ok_and(|u| u.host().is_some_and(|h| !local_host(&h)));
            errors.check(!https || public, field, "must name a public host, not a loopback, private or link-local one");
        }
    }
}

/// A host that is not a public HR system by its text: an address [`public_ip`] refuses, or a name that is this
/// machine's or a private network's (`localhost`, `*.localhost`, `*.internal`, a single label).
fn local_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => !public_ip(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => !public_ip(IpAddr::V6(*ip)),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") || !name.contains('.')
        }
    }
}

/// IPv4 ranges that are no public HR system's address: the IANA IPv4 Special-Purpose Address Registry's (RFC 6890
/// and its updates), whether or not the registry calls them globally reachable (none is where an HR system
/// lives), and the reserved 240.0.0.0/4.
const NOT_PUBLIC_V4: [(Ipv4Addr, u8); 18] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network" (RFC 791)
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private (RFC 1918)
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space, carrier-grade NAT (RFC 6598)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback (RFC 1122)
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, the instance metadata service (RFC 3927)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private (RFC 1918)
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments: DS-Lite, NAT64 discovery (RFC 6890)
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation, TEST-NET-1 (RFC 5737)
    (Ipv4Addr::new(192, 31, 196, 0), 24), // AS112-v4 (RFC 7535)
    (Ipv4Addr::new(192, 52, 193, 0), 24), // AMT (RFC 7450)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast, deprecated (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private (RFC 1918)
    (Ipv4Addr::new(192, 175, 48, 0), 24), // AS112 direct delegation (RFC 7534)
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking (RFC 2544)
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation, TEST-NET-2 (RFC 5737)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation, TEST-NET-3 (RFC 5737)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast (RFC 5771)
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved (RFC 1112), with the limited broadcast 255.255.255.255
];

/// Special-purpose ranges inside IPv6 global unicast (2000::/3), from the IANA IPv6 Special-Purpose Address
/// Registry. Everything outside 2000::/3 is refused anyway (loopback, unspecified, IPv4-compatible, discard-only
/// 100::/64, local-use NAT64 64:ff9b:1::/48, unique-local fc00::/7, link-local fe80::/10, multicast ff00::/8,
/// and space IANA has not allocated), except the two forms that carry an IPv4 address, judged by that address.
const NOT_PUBLIC_V6: [(Ipv6Addr, u8); 4] = [
    // IETF protocol assignments (RFC 2928): Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID, AS112 and more.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation (RFC 3849)
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),     // 6to4 (RFC 3056), relayed to an IPv4 address
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),     // documentation (RFC 9637)
];

/// The NAT64 well-known prefix, 64:ff9b::/96 (RFC 6052): the last 32 bits are the IPv4 address reached.
const NAT64: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0);

/// Whether `ip` can be a public HR system's address: the one range rule of [`Egress::Public`], for a host given
/// as an address and for every address a host name resolves to. IPv4 outside [`NOT_PUBLIC_V4`]; IPv6 in global
/// unicast (2000::/3) outside [`NOT_PUBLIC_V6`]; an IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) address
/// as the IPv4 address it reaches.
pub fn public_ip(ip: IpAddr) -> bool {
    let within_v4 = |ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)| {
        let mask = 32u32.checked_sub(u32::from(len)).and_then(|shift| u32::MAX.checked_shl(shift)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(net) & mask
    };
    let within_v6 = |ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)| {
        let mask = 128u32.checked_sub(u32::from(len)).and_then(|shift| u128::MAX.checked_shl(shift)).unwrap_or(0);
        u128::from(ip) & mask == u128::from(net) & mask
    };
    match ip {
        IpAddr::V4(ip) => !NOT_PUBLIC_V4.iter().any(|range| within_v4(ip, *range)),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return public_ip(IpAddr::V4(v4));
            }
            if within_v6(ip, (NAT64, 96)) {
                return public_ip(IpAddr::V4(Ipv4Addr::from(u128::from(ip) as u32)));
            }
            let global_unicast = within_v6(ip, (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3));
            global_unicast && !NOT_PUBLIC_V6.iter().any(|range| within_v6(ip, *range))
        }
    }
}

/// Looks up the addresses of a host name: the system's resolver ([`SystemLookup`]) in the Lambda functions; in
/// tests, whatever answer the test needs (a private address for a public name, say).
#[async_trait::async_trait]
pub trait Lookup: Send + Sync {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The system's resolver (`getaddrinfo`, off the async threads), as reqwest's own would resolve.
pub struct SystemLookup;

#[async_trait::async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0)).await?.map(|address| address.ip()).collect())
    }
}

/// The resolver of an [`Egress::Public`] client: the addresses its [`Lookup`] gives for a host name, less those
/// [`public_ip`] refuses. A name with none left fails to resolve ([`NonPublicAddress`], which a request's error
/// names as [`ProviderError::Egress`]), so nothing connects to it. Every connection resolves through it, a
/// redirect's to a new host too.
#[derive(Clone)]
pub struct PublicResolver {
    lookup: Arc<dyn Lookup>,
}

impl PublicResolver {
    pub fn new(lookup: Arc<dyn Lookup>) -> Self {
        Self { lookup }
    }

    /// The public addresses of `host`, or why there are none: the lookup's own error, or [`NonPublicAddress`].
    pub async fn public_addresses(&self, host: &str) -> Result<Vec<IpAddr>, BoxError> {
        let found = self.lookup.lookup(host).await?;
        let public: Vec<IpAddr> = found.into_iter().filter(|ip| public_ip(*ip)).collect();
        if public.is_empty() {
            return Err(Box::new(NonPublicAddress { host: host.to_owned() }));
        }
        Ok(public)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let public = resolver.public_addresses(name.as_str()).await?;
            // Port 0: reqwest puts the URL's (or the scheme's) in.
            let addresses: reqwest::dns::Addrs = Box::new(public.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addresses)
        })
    }
}

/// A host name that resolves to no address [`public_ip`] allows. It names the host, never an address.
#[derive(Debug)]
pub struct NonPublicAddress {
    pub host: String,
}

impl std::fmt::Display for NonPublicAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, which resolves to a non-public address", self.host)
    }
}

impl std::error::Error for NonPublicAddress {}

/// The HTTP client for HR systems, one per process (connection pools and TLS sessions are reused across
/// invocations), with the process's egress rule applied to every request and every redirect.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// The same rules, following no redirect: for token endpoints, whose requests carry the client's secret.
    token_client: reqwest::Client,
    egress: Egress,
    lookup: Arc<dyn Lookup>,
}

impl Http {
    pub fn new(egress: Egress) -> Self {
        Self::with_lookup(egress, Arc::new(SystemLookup))
    }

    /// A client whose [`Egress::Public`] resolver asks `lookup` (the tests' answers) instead of the system; under
    /// `LoopbackOnly` names are resolved as the system does, and `lookup` is not used.
    #[allow(clippy::expect_used, reason = "the client's configuration is fixed: it fails at start-up or never")]
    pub fn with_lookup(egress: Egress, lookup: Arc<dyn Lookup>) -> Self {
        let build = |follow| {
            Self::builder(crate::tls::hr_client(), egress, &lookup, follow)
                .build()
                .expect("a valid HTTP client configuration")
        };
        Self { client: build(true), token_client: build(false), egress, lookup: lookup.clone() }
    }

    /// The client settings: the egress rule on every redirect (at most 5; none where `follow` is false) and, in
    /// `Public`, on every address through [`PublicResolver`], with no proxy from the environment.
    fn builder(
        builder: reqwest::ClientBuilder,
        egress: Egress,
        lookup: &Arc<dyn Lookup>,
        follow: bool,
    ) -> reqwest::ClientBuilder {
        let redirects = if follow {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 || !egress.permits(attempt.url()) {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        let builder = builder
            .user_agent(concat!("IT-Hub/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .redirect(redirects);
        match egress {
            Egress::Public => builder.dns_resolver(PublicResolver::new(lookup.clone())).no_proxy(),
            Egress::LoopbackOnly => builder,
        }
    }

    /// The same rules, presenting a client certificate (PEM certificate chain and private key) on every
    /// connection, for HR systems that require mutual TLS. Loopback targets (the local runner's and the tests'
    /// fakes, whose server certificates are made up when they start) are not held to a public CA.
    pub fn with_identity(&self, pem: &[u8]) -> Result<Self, ProviderError> {
        let malformed = || ProviderError::Malformed("the client certificate or key is not valid PEM".into());
        let build = |follow| {
            let tls = match self.egress {
                Egress::LoopbackOnly => crate::tls::loopback_client_with_identity(
                    reqwest::Identity::from_pem(pem).map_err(|_| malformed())?,
                ),
                Egress::Public => crate::tls::hr_client_with_identity(pem).map_err(|_| malformed())?,
            };
            Self::builder(tls, self.egress, &self.lookup, follow).build().map_err(transport)
        };
        Ok(Self { client: build(true)?, token_client: build(false)?, egress: self.egress, lookup: self.lookup.clone() })
    }

    pub fn egress(&self) -> Egress {
        self.egress
    }

    /// Sends the request `build` makes for `url`, with `retry`'s politeness, if this process may call `url`.
    pub async fn send(
        &self,
        retry: &RetryPolicy,
        url: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        self.send_with(&self.client, retry, url, build).await
    }

    /// Sends a request to a token endpoint as [`Http::send`] does, except that no redirect is followed: the
    /// request carries the client's secret (or a refresh token), which go to the address the connection names and
    /// nowhere else. A redirect (any 3xx) is [`ProviderError::Egress`], and its target is not called.
    pub async fn send_to_token_endpoint(
        &self,
        retry: &RetryPolicy,
        url: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = self.send_with(&self.token_client, retry, url, build).await?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ProviderError::Egress(format!(
                "where the token endpoint redirected (HTTP {}): token requests follow no redirect",
                status.as_u16()
            )));
        }
        Ok(response)
    }

    async fn send_with(
        &self,
        client: &reqwest::Client,
        retry: &RetryPolicy,
        url: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| ProviderError::Egress("a malformed URL".into()))?;
        if !self.egress.permits(&parsed) {
            return Err(ProviderError::Egress(parsed.host_str().unwrap_or("that host").to_owned()));
        }
        retry.send(|| build(client, url)).await
    }

    /// Sends the request `build` makes for `url` with the credential `tokens` gives (`build`'s third argument), as
    /// [`Http::send`] does. A credential the HR system refuses (401) is forgotten and, where `tokens` can get
    /// another (an access token, refreshed), the request is sent once more with it; a static key is not sent
    /// again. The answer, refused or not, is the caller's to check.
    pub async fn send_authorized(
        &self,
        retry: &RetryPolicy,
        url: &str,
        tokens: &dyn TokenSource,
        build: impl Fn(&reqwest::Client, &str, &Secret) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut fresh = false;
        loop {
            let token = tokens.token().await?;
            let response = self.send(retry, url, |client, url| build(client, url, &token)).await?;
            if response.status() != reqwest::StatusCode::UNAUTHORIZED || fresh || !tokens.invalidate().await {
                return Ok(response);
            }
            fresh = true;
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    /// A `Retry-After` longer than this is not waited out inside one invocation: the run fails and resumes from
    /// its cursor next time.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// Sends the request built by `build` until it gets an answer that is not a throttle.
    pub async fn send(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let response = build().send().await.map_err(transport)?;
            let status = response.status().as_u16();
            if !matches!(status, 429 | 503) {
                return Ok(response);
            }
            let asked = retry_after(response.headers(), Utc::now());
            if let Some(asked) = asked.filter(|a| *a > MAX_RETRY_AFTER) {
                return Err(ProviderError::WaitTooLong(asked.as_secs()));
            }
            if attempt >= self.attempts {
                return Err(ProviderError::RateLimited { attempts: attempt, retry_after: asked });
            }
            let doubling = 2u32.checked_pow(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
            let backoff = self.base_delay.checked_mul(doubling).unwrap_or(Duration::MAX);
            let wait = asked.unwrap_or(backoff);
            if wait > self.max_delay {
                // Longer than a request should wait in place: the caller resumes later.
                return Err(ProviderError::RateLimited { attempts: attempt, retry_after: Some(wait) });
            }
            tracing::warn!(status, attempt, wait_ms = wait.as_millis() as u64, "HR system throttled us");
            tokio::time::sleep(wait).await;
        }
    }
}

/// How long one request to an HR system may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest `Retry-After` a run waits out (resuming later from its checkpoint); a longer one fails the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The most of an HR system's answer IT Hub reads: a page of 1,000 whole records is well under 1 MB.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A failed request, named: a timeout says so, a host refused for the address it resolves to is
/// [`ProviderError::Egress`], anything else says what failed (never the URL, which can carry an id).
pub fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        return ProviderError::TimedOut(REQUEST_TIMEOUT.as_secs());
    }
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        if let Some(refused) = inner.downcast_ref::<NonPublicAddress>() {
            return ProviderError::Egress(refused.to_string());
        }
        cause = inner.source();
    }
    ProviderError::Transport(error.without_url().to_string())
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some(at.signed_duration_since(now).to_std().unwrap_or(Duration::ZERO))
}

/// What the OpenAPI document says of a `base_url`; [`Egress::check_base_url`] holds exactly this where local targets
/// are allowed, and adds https and a public host where they are not.
pub const BASE_URL_PATTERN: &str = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]*)*$";

/// A connection's override of its HR system's address (a sandbox, a test environment, a fake): a plain http or
/// https URL, at most [`BaseUrl::MAX_LENGTH`] characters, matching [`BASE_URL_PATTERN`]. Every connector's
/// `base_url` setting is one: written in JSON as the string itself, and documented once, here (each connector's
/// schema inlines it beside its own description). Reading one takes any string: whether it is plain, and one this
/// deployment may call, is [`Egress::check_base_url`]'s to say, naming the field, with the connection's other
/// faults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub const MAX_LENGTH: usize = 2048;

    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `url` is a plain http or https URL (scheme, host, optional port and path; no user name, query or
    /// fragment) of at most [`BaseUrl::MAX_LENGTH`] characters: what [`BASE_URL_PATTERN`] and the length allow.
    pub fn is_plain(url: &str) -> bool {
        url.chars().count() <= Self::MAX_LENGTH && plain_url(url)
    }

    /// The address to call: the override's if there is one, else `default`, without a trailing `/`.
    pub fn root_or(url: Option<&Self>, default: &str) -> String {
        url.map_or(default, Self::as_str).trim_end_matches('/').to_owned()
    }
}

impl std::ops::Deref for BaseUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BaseUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(Self::MAX_LENGTH))
            .pattern(Some(BASE_URL_PATTERN))
            .into()
    }
}

/// Inlined into each connector's settings (`#[schema(inline)]`), never a component of its own.
#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BaseUrl {}

fn plain_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let path_ok = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b));
    host_ok && port_ok && path_ok
}

/// Turns a non-success answer into an error that says what happened.
/// Reads a JSON body; a body we cannot read names the position, never the value.
pub async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, ProviderError> {
    let bytes = body(response).await?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed(crate::validation::json_error_position(&e)))
}

/// Reads a body of at most [`MAX_BODY_BYTES`], chunk by chunk: a longer one is refused as soon as it passes the
/// limit (whatever its `Content-Length` says), so no answer can fill the function's memory.
pub async fn body(response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    body_within(response, MAX_BODY_BYTES).await
}

async fn body_within(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ProviderError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ProviderError::TooLarge(limit));
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if out.len().saturating_add(chunk.len()) > limit {
            return Err(ProviderError::TooLarge(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub async fn check(response: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(response),
        401 | 403 => Err(ProviderError::Unauthorized(status)),
        _ => {
            // The body (and any error text) can quote a record: the status alone goes to logs and run records.
            let detail = response.status().canonical_reason().unwrap_or("error").to_owned();
            Err(ProviderError::Status { status, detail })
        }
    }
}

/// Servers for the tests of every module that sends token requests.
#[cfg(test)]
pub(crate) mod test_servers {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A token endpoint on loopback that answers every request `status` with `Location:` another loopback
    /// server's `/steal`; the count is how many connections that one received.
    pub async fn redirecting_token_endpoint(status: u16) -> (String, Arc<AtomicUsize>) {
        let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let steal = format!("http://{}/steal", target.local_addr().unwrap());
        let reached = Arc::new(AtomicUsize::new(0));
        let counted = reached.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = target.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
            }
        });
        let endpoint = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth/token", endpoint.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = endpoint.accept().await {
                let steal = steal.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let answer = format!(
                        "HTTP/1.1 {status} Moved\r\nlocation: {steal}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        (url, reached)
    }

    /// Asserts that the token endpoint `endpoint` makes for a URL (the `n`th of several) follows none of a
    /// redirecting endpoint's 302, 307 and 308: the grant fails as an egress error naming neither the target nor
    /// the secret (`s3cret`), and the target receives nothing.
    pub async fn assert_token_redirects_are_not_followed(
        endpoint: impl Fn(String, usize) -> Box<dyn super::super::auth::TokenEndpoint>,
    ) {
        use super::super::{ProviderError, auth::Secret};
        for (n, status) in [302, 307, 308].into_iter().enumerate() {
            let (url, reached) = redirecting_token_endpoint(status).await;
            let granted = endpoint(url, n).grant(Some(&Secret::new("refresh"))).await;
            let Err(ProviderError::Egress(refused)) = &granted else {
                panic!("{status}: {:?}", granted.map(|g| g.expires_in))
            };
            assert!(refused.contains(&format!("token endpoint redirected (HTTP {status})")), "{refused}");
            assert!(!refused.contains("s3cret") && !refused.contains("/steal"), "{refused}");
            assert_eq!(
                reached.load(Ordering::SeqCst),
                0,
                "{status}: the client's secret went to the redirect's target"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_egress_refuses_every_other_host() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        for local in ["http://127.0.0.1:8080/x", "http://127.9.9.9", "http://[::1]:1", "http://LOCALHOST"] {
            assert!(Egress::LoopbackOnly.permits(&url(local)), "{local}");
        }
        for remote in ["http://10.0.0.1", "http://169.254.169.254", "https://api.bamboohr.com", "http://0.0.0.0"] {
            assert!(!Egress::LoopbackOnly.permits(&url(remote)), "{remote}");
        }
    }

    #[test]
    fn public_egress_calls_public_https_hosts_only() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(Egress::Public.permits(&url("https://api.bamboohr.com/api")));
        assert!(Egress::Public.permits(&url("https://93.184.215.14")));
        for local in [
            "http://api.bamboohr.com",
            "https://127.0.0.1",
            "https://10.1.2.3",
            "https://172.16.0.1",
            "https://192.168.1.1",
            "https://169.254.169.254",
            "https://100.64.0.1",
            "https://0.0.0.0",
            "https://[::1]",
            "https://[fd00::1]",
            "https://[fe80::1]",
            "https://[::ffff:10.0.0.1]",
            "https://localhost",
            "https://metadata.google.internal",
            "https://intranet",
        ] {
            assert!(!Egress::Public.permits(&url(local)), "{local}");
        }
    }

    #[test]
    fn a_public_deployment_refuses_local_and_plain_http_base_urls_naming_the_field() {
        let check = |egress: Egress, u: &str| {
            let mut errors = crate::validation::FieldErrors::default();
            egress.check_base_url(Some(u), "settings.base_url", &mut errors);
            errors.into_result().map_err(|e| e.iter().map(|e| e.reason.clone()).collect::<Vec<_>>().join("; "))
        };
        assert!(check(Egress::Public, "https://acme.example.com/api").is_ok());
        for bad in ["http://169.254.169.254/", "https://10.0.0.8", "http://hr.example.com", "https://h.example.com/#x"]
        {
            let refused = check(Egress::Public, bad);
            assert!(refused.is_err(), "{bad}");
        }
        assert!(check(Egress::Public, "https://u:p@h.example.com").is_err(), "no user info");
        assert!(check(Egress::LoopbackOnly, "http://127.0.0.1:8081").is_ok(), "local targets where allowed");
        assert!(check(Egress::LoopbackOnly, "http://h.example.com/#x").is_err(), "never a fragment");
    }

    #[test]
    fn a_base_url_is_written_and_read_as_the_string_itself() {
        let url: BaseUrl = serde_json::from_value(serde_json::json!("http://127.0.0.1:8081/api/")).unwrap();
        assert_eq!(serde_json::to_value(&url).unwrap(), serde_json::json!("http://127.0.0.1:8081/api/"));
        assert_eq!(BaseUrl::root_or(Some(&url), "https://api.example.com"), "http://127.0.0.1:8081/api");
        assert_eq!(BaseUrl::root_or(None, "https://api.example.com/"), "https://api.example.com");
        // Reading takes any string; the connection's checks name the field of one that is not plain.
        assert!(serde_json::from_value::<BaseUrl>(serde_json::json!("ftp://x")).is_ok());
        assert!(!BaseUrl::is_plain("ftp://x"));
        let longest = format!("https://h.example/{}", "a".repeat(BaseUrl::MAX_LENGTH - 18));
        assert!(BaseUrl::is_plain(&longest));
        assert!(!BaseUrl::is_plain(&format!("{longest}a")), "one character too long");
    }

    /// Every connector's `base_url` is documented as [`BaseUrl`] is (the pattern and length the connection's checks
    /// hold), with its own description, and is optional wherever the HR system has a fixed address.
    #[cfg(feature = "openapi")]
    #[test]
    fn every_connectors_base_url_is_documented_as_the_one_checked() {
        use super::super::{adp, bamboohr, gusto, hibob, personio, rippling, workday};
        use utoipa::PartialSchema;
        let schemas = [
            ("adp", adp::Settings::schema()),
            ("bamboohr", bamboohr::Settings::schema()),
            ("gusto", gusto::Settings::schema()),
            ("hibob", hibob::Settings::schema()),
            ("personio", personio::Settings::schema()),
            ("rippling", rippling::Settings::schema()),
            ("workday", workday::Settings::schema()),
        ];
        for (name, schema) in schemas {
            let schema = serde_json::to_value(schema).unwrap();
            let base_url = &schema["properties"]["base_url"];
            assert!(base_url["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {base_url}");
            let forms = base_url["oneOf"].as_array().unwrap_or_else(|| panic!("{name}: {base_url}"));
            let url = forms.iter().find(|f| f["type"] == "string").unwrap_or_else(|| panic!("{name}: {base_url}"));
            assert_eq!(url["pattern"], BASE_URL_PATTERN, "{name}");
            assert_eq!(url["maxLength"], BaseUrl::MAX_LENGTH, "{name}");
            let required = schema["required"].as_array().is_some_and(|r| r.contains(&"base_url".into()));
            assert_eq!(required, name == "workday", "{name}: only Workday has no address of its own");
            let nullable = forms.iter().any(|f| f["type"] == "null");
            assert_eq!(nullable, !required, "{name}: {base_url}");
        }
    }

    #[test]
    fn base_urls_are_plain_http_urls() {
        for good in ["https://api.example.com", "http://127.0.0.1:45123", "https://h/a/b-c.d/", "http://x:1"] {
            assert!(plain_url(good), "{good}");
        }
        for bad in ["ftp://x", "https://", "https://u@h", "https://h?q", "https://h#f", "https://h:123456", "h"] {
            assert!(!plain_url(bad), "{bad}");
        }
    }
    /// An HR system on loopback answering its requests, one a connection, with `statuses` in turn (then 200),
    /// and keeping the `Authorization` header each came with.
    async fn hr_system(statuses: &[u16]) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/people", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (kept, statuses) = (seen.clone(), statuses.to_vec());
        tokio::spawn(async move {
            let mut statuses = statuses.into_iter();
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let auth = head.lines().find_map(|l| l.strip_prefix("authorization: ")).unwrap_or("").to_owned();
                kept.lock().unwrap().push(auth);
                let status = statuses.next().unwrap_or(200);
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (url, seen)
    }

    /// An access token that a refusal replaces (`t1`, `t2`, …), or a key that stays (`renews` false).
    struct Tokens {
        issued: std::sync::atomic::AtomicUsize,
        renews: bool,
    }

    impl Tokens {
        fn new(renews: bool) -> Self {
            Self { issued: std::sync::atomic::AtomicUsize::new(1), renews }
        }
    }

    #[async_trait::async_trait]
    impl TokenSource for Tokens {
        async fn token(&self) -> Result<Secret, ProviderError> {
            Ok(Secret::new(format!("t{}", self.issued.load(std::sync::atomic::Ordering::SeqCst))))
        }

        async fn invalidate(&self) -> bool {
            if self.renews {
                self.issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            self.renews
        }
    }

    async fn send_authorized(statuses: &[u16], tokens: &dyn TokenSource) -> (u16, Vec<String>) {
        let (url, seen) = hr_system(statuses).await;
        let http = Http::new(Egress::LoopbackOnly);
        let answer = http
            .send_authorized(&RetryPolicy::default(), &url, tokens, |client, url, token| {
                client.get(url).bearer_auth(token.expose())
            })
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        (answer.status().as_u16(), seen)
    }

    #[tokio::test]
    async fn a_refused_access_token_is_replaced_once_and_the_request_sent_again() {
        let (status, seen) = send_authorized(&[401], &Tokens::new(true)).await;
        assert_eq!(status, 200);
        assert_eq!(seen, ["bearer t1", "bearer t2"]);
    }

    #[tokio::test]
    async fn a_replaced_token_refused_again_is_the_answer_not_a_third_request() {
        let tokens = Tokens::new(true);
        let (status, seen) = send_authorized(&[401, 401], &tokens).await;
        assert_eq!(status, 401);
        assert_eq!(seen, ["bearer t1", "bearer t2"]);
        assert_eq!(tokens.token().await.unwrap().expose(), "t2", "forgotten once, not twice");
    }

    #[tokio::test]
    async fn a_refused_static_key_is_not_sent_again() {
        let (status, seen) = send_authorized(&[401], &super::super::auth::StaticToken::new("key")).await;
        assert_eq!((status, seen.len()), (401, 1));
        let (status, seen) = send_authorized(&[401], &Tokens::new(false)).await;
        assert_eq!((status, seen), (401, vec!["bearer t1".to_owned()]));
    }

    #[tokio::test]
    async fn only_a_401_replaces_the_token() {
        for refused in [403, 404, 500] {
            let (status, seen) = send_authorized(&[refused], &Tokens::new(true)).await;
            assert_eq!((status, seen), (refused, vec!["bearer t1".to_owned()]), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_throttled_request_is_retried_with_the_same_token() {
        let retry =
            RetryPolicy { attempts: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_secs(1) };
        let (url, seen) = hr_system(&[429, 401]).await;
        let tokens = Tokens::new(true);
        let answer = Http::new(Egress::LoopbackOnly)
            .send_authorized(&retry, &url, &tokens, |client, url, token| client.get(url).bearer_auth(token.expose()))
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(*seen.lock().unwrap(), ["bearer t1", "bearer t1", "bearer t2"]);
    }

    /// An HR system that answers every request with `head` (status line and headers) and then `body_chunks`
    /// chunks of 64 KiB, closing the connection to end the body.
    async fn raw_answer(head: &'static str, body_chunks: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/people", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(head.as_bytes()).await;
                    let chunk = vec![b' '; 64 * 1024];
                    for _ in 0..body_chunks {
                        if stream.write_all(&chunk).await.is_err() {
                            return; // the client stopped reading
                        }
                    }
                });
            }
        });
        url
    }

    fn quick() -> RetryPolicy {
        RetryPolicy { attempts: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_secs(1) }
    }

    #[tokio::test]
    async fn a_retry_after_longer_than_a_day_is_a_named_error_not_an_overflow() {
        let head = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 100000000000000\r\ncontent-length: 0\r\n\r\n";
        let url = raw_answer(head, 0).await;
        let sent = Http::new(Egress::LoopbackOnly).send(&quick(), &url, |client, url| client.get(url)).await;
        assert!(matches!(sent, Err(ProviderError::WaitTooLong(100_000_000_000_000))), "{sent:?}");
        let error = sent.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("longer than a run waits"), "{error}");
        // A wait within the day is the caller's to resume after, as before.
        let head = "HTTP/1.1 503 Busy\r\nretry-after: 3600\r\ncontent-length: 0\r\n\r\n";
        let url = raw_answer(head, 0).await;
        let sent = Http::new(Egress::LoopbackOnly).send(&quick(), &url, |client, url| client.get(url)).await;
        assert!(
            matches!(sent, Err(ProviderError::RateLimited { retry_after: Some(wait), .. }) if wait.as_secs() == 3600),
            "{sent:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_past_the_limit_is_refused_as_it_streams_in() {
        // No length given: 10 MiB streamed, refused once 1 MiB has come.
        let url =
            raw_answer("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n", 160).await;
        let http = Http::new(Egress::LoopbackOnly);
        let answer = http.send(&quick(), &url, |client, url| client.get(url)).await.unwrap();
        assert!(matches!(body_within(answer, 1024 * 1024).await, Err(ProviderError::TooLarge(1_048_576))));
        // A length past the limit is refused before any of it is read.
        let url = raw_answer("HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n", 1).await;
        let answer = http.send(&quick(), &url, |client, url| client.get(url)).await.unwrap();
        assert!(matches!(body(answer).await, Err(ProviderError::TooLarge(MAX_BODY_BYTES))));
        // Within the limit, the body is read whole.
        let url = raw_answer("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", 3).await;
        let answer = http.send(&quick(), &url, |client, url| client.get(url)).await.unwrap();
        assert_eq!(body(answer).await.map(|b| b.len()).ok(), Some(3 * 64 * 1024));
    }

    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Thu, 01 Jan 2026 00:00:07 GMT"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn public_ip_refuses_every_special_purpose_range_in_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let public = [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:2800:220:1:248:1893:25c8:1946",
            "2a00:1450:4001:800::200e",
            "2001:200::1",
            "2001:4860:4860::8888",
            "::ffff:93.184.215.14",
            "::ffff:8.8.8.8",
            "64:ff9b::5db8:d70e", // NAT64 of 93.184.215.14
            "64:ff9b::8.8.8.8",
        ];
        for address in public {
            assert!(public_ip(ip(address)), "{address} is public");
        }
        let not_public = [
            // IPv4
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.0",
            "10.0.0.5",
            "10.255.255.255",
            "100.64.0.0",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "169.254.170.2", // the ECS task metadata address
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6
            "::",
            "::1",
            "::127.0.0.1", // IPv4-compatible, deprecated
            "100::1",      // discard-only
            "fc00::1",
            "fd00:ec2::254", // the instance metadata service over IPv6
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001::1",   // Teredo
            "2001:2::1", // benchmarking
            "2001:10::1",
            "2001:db8::1",
            "2002:a00:1::1", // 6to4
            "3fff::1",
            "64:ff9b:1::1", // local-use NAT64
            "4000::1",      // not allocated
            // IPv4 in IPv6: judged by the IPv4 address
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.5",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::ffff:0.0.0.0",
            "64:ff9b::a00:5", // NAT64 of 10.0.0.5
            "64:ff9b::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::198.18.0.1",
        ];
        for address in not_public {
            assert!(!public_ip(ip(address)), "{address} is not public");
        }
        // The URL rule uses the same function for a host given as an address.
        for address in not_public {
            let host = if address.contains(':') { format!("[{address}]") } else { address.to_owned() };
            let url = reqwest::Url::parse(&format!("https://{host}/")).unwrap();
            assert!(!Egress::Public.permits(&url), "{url}");
        }
        for address in public {
            let host = if address.contains(':') { format!("[{address}]") } else { address.to_owned() };
            let url = reqwest::Url::parse(&format!("https://{host}/")).unwrap();
            assert!(Egress::Public.permits(&url), "{url}");
        }
    }

    /// A lookup that answers `addresses` for every name, counting the questions.
    struct Answers(Vec<IpAddr>, std::sync::atomic::AtomicUsize);

    impl Answers {
        fn new(addresses: &[&str]) -> Arc<Self> {
            let addresses = addresses.iter().map(|a| a.parse().unwrap()).collect();
            Arc::new(Self(addresses, std::sync::atomic::AtomicUsize::new(0)))
        }
    }

    #[async_trait::async_trait]
    impl Lookup for Answers {
        async fn lookup(&self, _host: &str) -> std::io::Result<Vec<IpAddr>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.0.is_empty() {
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"));
            }
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn a_public_name_that_resolves_to_a_non_public_address_is_refused_by_name() {
        for private in ["10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe"] {
            let answers = Answers::new(&[private]);
            let http = Http::with_lookup(Egress::Public, answers.clone());
            let sent = http.send(&quick(), "https://hr.example.com/v1/people", |client, url| client.get(url)).await;
            let Err(ProviderError::Egress(refused)) = &sent else { panic!("{private}: {sent:?}") };
            assert_eq!(refused, "hr.example.com, which resolves to a non-public address", "{private}");
            assert!(!refused.contains(private), "the address is not named");
            let message = sent.err().unwrap().to_string();
            assert_eq!(message, "this deployment may not call hr.example.com, which resolves to a non-public address");
            assert_eq!(answers.1.load(std::sync::atomic::Ordering::SeqCst), 1, "{private}: looked up, not retried");
        }
    }

    #[tokio::test]
    async fn no_connection_is_made_to_a_refused_address() {
        // A server that would answer, at the address the name resolves to.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let http = Http::with_lookup(Egress::Public, Answers::new(&["127.0.0.1"]));
        let url = format!("https://hr.example.com:{port}/v1/people");
        let sent = http.send(&quick(), &url, |client, url| client.get(url)).await;
        assert!(matches!(&sent, Err(ProviderError::Egress(e)) if e.contains("non-public")), "{sent:?}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the server saw a connection");
        // The control: a client without the resolver does connect there.
        let unchecked = crate::tls::hr_client().resolve("hr.example.com", ([127, 0, 0, 1], port).into()).build();
        let _ = unchecked.unwrap().get(&url).timeout(Duration::from_millis(500)).send().await;
        let accepted = tokio::time::timeout(Duration::from_secs(1), listener.accept()).await;
        assert!(accepted.is_ok(), "the control reached the server");
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_the_public_addresses_of_a_mixed_answer() {
        use reqwest::dns::Resolve;
        let answers = Answers::new(&[
            "10.0.0.5",
            "93.184.215.14",
            "169.254.169.254",
            "fe80::1",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::5db8:d70e",
        ]);
        let resolver = PublicResolver::new(answers);
        let kept: Vec<SocketAddr> = resolver.resolve("hr.example.com".parse().unwrap()).await.unwrap().collect();
        let expected: Vec<SocketAddr> = ["93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d70e"]
            .iter()
            .map(|a| SocketAddr::new(a.parse().unwrap(), 0))
            .collect();
        assert_eq!(kept, expected);
        // With no public address left, the lookup fails, naming the host.
        let resolver = PublicResolver::new(Answers::new(&["10.0.0.5", "fd00:ec2::254", "::ffff:169.254.169.254"]));
        let refused = resolver.public_addresses("hr.example.com").await.unwrap_err();
        assert_eq!(refused.downcast_ref::<NonPublicAddress>().map(|e| e.host.as_str()), Some("hr.example.com"));
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_transport_error_not_an_egress_one() {
        let http = Http::with_lookup(Egress::Public, Answers::new(&[]));
        let sent = http.send(&quick(), "https://hr.example.com/", |client, url| client.get(url)).await;
        assert!(matches!(sent, Err(ProviderError::Transport(_))), "{sent:?}");
    }

    #[tokio::test]
    async fn a_token_request_follows_no_redirect_where_other_requests_do() {
        use std::sync::atomic::Ordering;
        for status in [301, 302, 303, 307, 308] {
            let (url, reached) = test_servers::redirecting_token_endpoint(status).await;
            let http = Http::new(Egress::LoopbackOnly);
            let form = [("client_secret", "s3cret")];
            let sent = http.send_to_token_endpoint(&quick(), &url, |client, url| client.post(url).form(&form)).await;
            let Err(ProviderError::Egress(refused)) = &sent else { panic!("{status}: {sent:?}") };
            assert!(refused.contains(&format!("token endpoint redirected (HTTP {status})")), "{refused}");
            assert!(!refused.contains("127.0.0.1") && !refused.contains("s3cret"), "{refused}");
            assert_eq!(reached.load(Ordering::SeqCst), 0, "{status}: the redirect's target was called");
            // Another request follows it (to loopback, which this rule allows): the servers do redirect.
            let followed = http.send(&quick(), &url, |client, url| client.get(url)).await.unwrap();
            assert_eq!(followed.status().as_u16(), 200, "{status}");
            assert_eq!(reached.load(Ordering::SeqCst), 1, "{status}");
        }
    }

    #[tokio::test]
    async fn a_redirect_to_a_host_the_rule_refuses_is_not_followed() {
        // LoopbackOnly: a redirect off the machine is answered with the 3xx, never followed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/people", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let answer = "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\n\
                              content-length: 0\r\nconnection: close\r\n\r\n";
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        let answer = Http::new(Egress::LoopbackOnly).send(&quick(), &url, |client, url| client.get(url)).await;
        assert_eq!(answer.unwrap().status().as_u16(), 302);
    }
}
