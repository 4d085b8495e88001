//! Calls to HR systems with the politeness they ask for: 429 and 503 are retried after `Retry-After` (or an
//! exponential backoff), a bounded number of times.

use super::ProviderError;
use super::auth::{Secret, TokenSource};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Where this process may send HR requests, and so which `base_url` a connection may be given.
///
/// - `Public` (the Lambda functions): https only, to hosts that are not this machine, a private network or a
///   link-local address (the instance metadata service among them), so a tenant's HR credential can only go to
///   a public HR system.
/// - `LoopbackOnly` (the local runner and the tests, which "allow local targets"): http or https, and requests go
///   to loopback addresses only, so a connection made with any `base_url` (an API fuzzer makes many) never sends
///   a request off the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    Public,
    LoopbackOnly,
}

impl Egress {
    /// Whether a request to `url` may be sent.
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
    /// characters; no user name, query or fragment) that this deployment may call.
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

/// A host that is this machine, a private network, link-local (cloud metadata), or otherwise not a public HR
/// system.
fn local_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => {
            let [a, b, ..] = ip.octets();
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_multicast()
                || ip.is_documentation()
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || a == 0
        }
        url::Host::Ipv6(ip) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || ip.to_ipv4_mapped().is_some_and(|v4| local_host(&url::Host::Ipv4(v4)))
        }
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") || !name.contains('.')
        }
    }
}

/// The HTTP client for HR systems, one per process (connection pools and TLS sessions are reused across
/// invocations), with the process's egress rule applied to every request and every redirect.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    egress: Egress,
}

impl Http {
    pub fn new(egress: Egress) -> Self {
        let client = Self::builder(crate::tls::hr_client(), egress).build().expect("a valid HTTP client configuration");
        Self { client, egress }
    }

    fn builder(builder: reqwest::ClientBuilder, egress: Egress) -> reqwest::ClientBuilder {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || !egress.permits(attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        builder
            .user_agent(concat!("IT-Hub/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .redirect(redirects)
    }

    /// The same rules, presenting a client certificate (PEM certificate chain and private key) on every
    /// connection, for HR systems that require mutual TLS. Loopback targets (the local runner's and the tests'
    /// fakes, whose server certificates are made up when they start) are not held to a public CA.
    pub fn with_identity(&self, pem: &[u8]) -> Result<Self, ProviderError> {
        let malformed = || ProviderError::Malformed("the client certificate or key is not valid PEM".into());
        let tls = match self.egress {
            Egress::LoopbackOnly => {
                crate::tls::loopback_client_with_identity(reqwest::Identity::from_pem(pem).map_err(|_| malformed())?)
            }
            Egress::Public => crate::tls::hr_client_with_identity(pem).map_err(|_| malformed())?,
        };
        let client = Self::builder(tls, self.egress).build();
        let client = client.map_err(transport)?;
        Ok(Self { client, egress: self.egress })
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
        let parsed = reqwest::Url::parse(url).map_err(|_| ProviderError::Egress("a malformed URL".into()))?;
        if !self.egress.permits(&parsed) {
            return Err(ProviderError::Egress(parsed.host_str().unwrap_or("that host").to_owned()));
        }
        retry.send(|| build(&self.client, url)).await
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
        let mut attempt = 0;
        loop {
            attempt += 1;
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
            let backoff = self.base_delay * 2u32.pow(attempt - 1);
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

/// A failed request, named: a timeout says so, anything else says what failed (never the URL, which can carry
/// an id).
pub fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        return ProviderError::TimedOut(REQUEST_TIMEOUT.as_secs());
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
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
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
}
