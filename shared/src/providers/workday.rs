//! Workday: an integration system user (ISU) signing each SOAP request with a WS-Security `UsernameToken`
//! (`user@tenant` and its password as text in the envelope's header; HTTP Basic for a RaaS report), or an API
//! client registered for integrations, whose refresh token buys access tokens at the tenant's token endpoint
//! (`{host}/ccx/oauth2/{tenant}/token`, the client by HTTP Basic), sent as `Authorization: Bearer` (on SOAP as
//! on RaaS: third-party clients do so, Workday's own word on it was not found).
//!
//! By default the SOAP `Get_Workers` operation of Human_Resources
//! (`POST {host}/ccx/service/{tenant}/Human_Resources/{version}`): pages of 100 workers with `Page`/`Count`, every
//! page of one listing pinned to the same `As_Of_Entry_DateTime` and `As_Of_Effective_Date` so the pages read
//! one snapshot; changes by `Transaction_Log_Criteria_Data`, both windows Workday needs
//! (transactions *entered* since the state, then changes that *took effect* since it); one or a few workers by
//! `Request_References`. A connection may instead name a RaaS report (Report-as-a-Service, JSON), which Workday
//! answers whole, in one response. Workday pushes no signed webhooks, so a connection is polled.
//!
//! Assumptions where the fact sheet marks a fact unverified or tenant-dependent, each followed by the fake:
//! - a worker is keyed by `Employee_ID` (or `Contingent_Worker_ID`), never by WID (a conversion makes a second
//!   WID for the same person); a manager is named by the same ids in `Manager_Reference`, WID only as a fallback;
//! - e-mail and address usage is read from `Type_Reference/@Descriptor` (`Work`, `Home`), case-insensitively;
//! - the department is the organisation of the type the connection names (`SUPERVISORY` by default);
//! - the title is `Business_Title`, else `Position_Title`, of the primary job (WWS v30 and later);
//! - transactions can take up to an hour to reach the log, so the change state is kept an hour behind;
//! - a RaaS report has the columns `Employee_ID`, `First_Name`, `Last_Name`, `Work_Email`, `Personal_Email`,
//!   `Phone`, `Job_Title`, `Department`, `Manager_ID`, `Hire_Date`, `Termination_Date`, `Active` and `On_Leave`
//!   (`1`/`0`) — the aliases the README asks the report's author to give.

use super::BaseUrl;
use super::auth::{OAuthClient, RefreshingToken, Secret};
use super::http::{Http, RetryPolicy, check, json};
use super::json_text as text;
use super::leading_date;
use super::{Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::{FieldErrors, is_slug};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use quick_xml::escape::escape;
use roxmltree::{Document, Node};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// Where a Workday tenant is reached and how it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WorkdaySettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The tenant's web-services host (`https://wd2-impl-services1.workday.com`): http or https, a host, an
    /// optional port and a plain path.
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: BaseUrl,
    /// The tenant name in the service path (`acme`, `acme_preview`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub tenant: String,
    /// The Web Services version (default `v44.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^v[0-9]{2}\\.[0-9]$"))]
    pub version: Option<String>,
    /// The organisation type whose name is the department (`Organization_Type_ID`, default `SUPERVISORY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub department_type: Option<String>,
    /// Read this RaaS report instead of `Get_Workers` (it must be web-service enabled and carry the columns
    /// the README lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub report: Option<Report>,
}

/// A custom report served as JSON by Report-as-a-Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WorkdayReport))]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The report owner's user name.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.@-]{1,100}$"))]
    pub owner: String,
    /// The report's web-service name.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub name: String,
}

/// How a connection signs in to Workday, told apart by its fields: an integration system user (the form stored
/// before API clients were supported) or an API client's refresh token.
#[derive(Clone, Serialize)]
#[serde(untagged)]
pub enum Credentials {
    UsernameToken(IntegrationUser),
    OAuth(ApiClient),
}

/// The integration system user (`ISU_ithub@acme`; a name without `@` gets the connection's tenant) and its
/// password, sent as a WS-Security `UsernameToken`; its security group must reach worker personal data, contact
/// data, organisations and the management chain.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntegrationUser {
    /// The integration system user, `ISU_ithub@acme` (`@` and the tenant added when left out).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub username: String,
    /// Its password.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub password: String,
}

/// An API client registered for integrations, and a refresh token issued for it to a user with the same reach
/// as an integration system user would need.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiClient {
    /// Instead of a user: the client ID of an API client registered for integrations.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub client_id: String,
    /// Its client secret.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub client_secret: String,
    /// A refresh token Workday issued for it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub refresh_token: String,
}

/// The fields only an API client has: any of them makes the credentials an API client's, so a mistake in one
/// is reported against that form's fields.
const API_CLIENT_FIELDS: [&str; 3] = ["client_id", "client_secret", "refresh_token"];

impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let api_client = API_CLIENT_FIELDS.iter().any(|f| fields.contains_key(*f));
        let fields = Value::Object(fields);
        let read = if api_client {
            ApiClient::deserialize(fields).map(Self::OAuth)
        } else {
            IntegrationUser::deserialize(fields).map(Self::UsernameToken)
        };
        read.map_err(serde::de::Error::custom)
    }
}

/// Either form, each an object of its own fields only.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Credentials {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::OneOfBuilder;
        let description = "An integration system user (`username`, `password`: a WS-Security UsernameToken), or an \
            API client registered for integrations (`client_id`, `client_secret`, `refresh_token`: OAuth 2.0).";
        OneOfBuilder::new()
            .item(<IntegrationUser as utoipa::PartialSchema>::schema())
            .item(<ApiClient as utoipa::PartialSchema>::schema())
            .description(Some(description))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Credentials {
    fn name() -> std::borrow::Cow<'static, str> {
        "WorkdayCredentials".into()
    }
}

pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "workday";
    const DISPLAY_NAME: &'static str = "Workday";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: false, push: false, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        errors.check(is_slug(&settings.tenant, 100), "settings.tenant", "1-100 letters, digits, dashes or underscores");
        let version_ok = settings.version.as_deref().is_none_or(|v| {
            let digits = v.strip_prefix('v').and_then(|v| v.split_once('.'));
            digits.is_some_and(|(major, minor)| {
                major.len() == 2 && minor.len() == 1 && (major.to_owned() + minor).bytes().all(|b| b.is_ascii_digit())
            })
        });
        errors.check(version_ok, "settings.version", "a Web Services version such as v44.0");
        let type_ok = settings.department_type.as_deref().is_none_or(|t| is_slug(t, 100));
        errors.check(
            type_ok,
            "settings.department_type",
            "an Organization_Type_ID: letters, digits, dashes, underscores",
        );
        if let Some(report) = &settings.report {
            let owner_ok = (1..=100).contains(&report.owner.len())
                && report.owner.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b));
            errors.check(owner_ok, "settings.report.owner", "1-100 letters, digits or _ . @ -");
            errors.check(
                is_slug(&report.name, 100),
                "settings.report.name",
                "1-100 letters, digits, dashes or underscores",
            );
        }
        let fields = match credentials {
            Credentials::UsernameToken(user) => {
                vec![("credentials.username", &user.username, 256), ("credentials.password", &user.password, 4096)]
            }
            Credentials::OAuth(client) => vec![
                ("credentials.client_id", &client.client_id, 256),
                ("credentials.client_secret", &client.client_secret, 4096),
                ("credentials.refresh_token", &client.refresh_token, 4096),
            ],
        };
        for (field, value, max) in fields {
            let reason = format!("must be given (at most {max} characters)");
            errors.check((1..=max).contains(&value.chars().count()), field, &reason);
        }
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        Some(settings.base_url.as_str())
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        Box::new(Workday::new(settings, credentials, link))
    }
}

pub struct Workday {
    host: String,
    settings: Settings,
    sign_in: SignIn,
    http: Http,
    retry: RetryPolicy,
}

/// How each request proves who sends it.
enum SignIn {
    /// An integration system user: a WS-Security `UsernameToken` in each SOAP envelope (as `user@tenant`), HTTP
    /// Basic on a RaaS report (the name as given).
    UsernameToken { user: String, soap_user: String, password: Secret },
    /// An API client's access token, bought with its refresh token: `Authorization: Bearer` on every request.
    Bearer(RefreshingToken),
}

/// The OASIS WS-Security 1.0 namespace of the `Security` header, and the type of a password sent as text.
pub const WSSE_NAMESPACE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const PASSWORD_TEXT: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

/// Workers asked for per `Get_Workers` page (Workday allows 1–999).
pub const PAGE_SIZE: u32 = 100;
pub const DEFAULT_VERSION: &str = "v44.0";
/// How far behind its run the change state is kept: transactions can take up to an hour to reach the log.
const LOG_DELAY_HOURS: i64 = 1;

/// Where a listing or a change read stands: the page to read next, the snapshot every page is pinned to, and
/// for changes which window and its end.
#[derive(Serialize, Deserialize)]
struct Position {
    page: u32,
    as_of: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<Window>,
    /// Workers the entered window already read, which the effective window skips (up to [`SEEN_CAP`]; past it
    /// a worker can be read twice, which the comparison absorbs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
}

/// How many workers the entered window remembers for the effective window to skip.
const SEEN_CAP: usize = 2_000;

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Window {
    /// Transactions entered since the state.
    Entered,
    /// Changes that took effect since the state.
    Effective,
}

/// What to ask `Get_Workers` for.
enum Ask<'a> {
    All,
    Changed { window: Window, from: DateTime<Utc>, through: DateTime<Utc> },
    Ids { kind: &'a str, ids: &'a [String] },
}

impl Workday {
    pub fn new(settings: &Settings, credentials: &Credentials, link: super::Link) -> Self {
        let host = settings.base_url.trim_end_matches('/').to_owned();
        let sign_in = match credentials {
            Credentials::UsernameToken(isu) => SignIn::UsernameToken {
                user: isu.username.clone(),
                soap_user: soap_user(&isu.username, &settings.tenant),
                password: Secret::new(&isu.password),
            },
            Credentials::OAuth(client) => {
                let endpoint = OAuthClient {
                    url: format!("{host}/ccx/oauth2/{}/token", settings.tenant),
                    client_id: client.client_id.clone(),
                    client_secret: Secret::new(&client.client_secret),
                    basic: true,
                    refreshes: true,
                    http: link.http.clone(),
                };
                // A refresh token Workday rotated since the credentials were given replaces theirs.
                let refresh = link.refresh_token.clone().unwrap_or_else(|| Secret::new(&client.refresh_token));
                SignIn::Bearer(RefreshingToken::new(Box::new(endpoint), Some(refresh), link.refresh_tokens.clone()))
            }
        };
        Self { host, settings: settings.clone(), sign_in, http: link.http, retry: RetryPolicy::default() }
    }

    /// A request signed as the credentials say: a SOAP request (`soap`) gets the WS-Security header to put in its
    /// envelope from the `build`er's third argument (empty with a bearer token), a report HTTP Basic. A bearer
    /// token Workday refuses is replaced once.
    async fn call(
        &self,
        url: &str,
        soap: bool,
        build: impl Fn(&reqwest::Client, &str, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let tokens = match &self.sign_in {
            SignIn::UsernameToken { user, soap_user, password } => {
                let header = if soap { security_header(soap_user, password) } else { String::new() };
                return self
                    .http
                    .send(&self.retry, url, |client, url| {
                        let request = build(client, url, &header);
                        if soap { request } else { request.basic_auth(user, Some(password.expose())) }
                    })
                    .await;
            }
            SignIn::Bearer(tokens) => tokens,
        };
        self.http
            .send_authorized(&self.retry, url, tokens, |client, url, token| {
                build(client, url, "").bearer_auth(token.expose())
            })
            .await
    }

    fn version(&self) -> &str {
        self.settings.version.as_deref().unwrap_or(DEFAULT_VERSION)
    }

    fn department_type(&self) -> &str {
        self.settings.department_type.as_deref().unwrap_or("SUPERVISORY")
    }

    /// One `Get_Workers` page: the workers read and how many pages the answer has.
    async fn get_workers(
        &self,
        ask: Ask<'_>,
        page: u32,
        as_of: DateTime<Utc>,
    ) -> Result<(Vec<Result<Employee, RecordFailure>>, u32), ProviderError> {
        let url = format!("{}/ccx/service/{}/Human_Resources/{}", self.host, self.settings.tenant, self.version());
        let response = self
            .call(&url, true, |client, url, header| {
                client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
                    .header("SOAPAction", "")
                    .body(request(&ask, self.version(), page, as_of, header))
            })
            .await?;
        let bytes = super::http::body(check(response).await?).await?;
        let xml =
            std::str::from_utf8(&bytes).map_err(|_| ProviderError::Malformed("the answer is not UTF-8".into()))?;
        parse_workers(xml, self.department_type(), as_of.date_naive())
    }

    /// A listing or change page from where `position` stands.
    async fn page_from(
        &self,
        position: Position,
        ask: Ask<'_>,
        today: NaiveDate,
    ) -> Result<(RecordPage, u32), ProviderError> {
        let (workers, pages) = self.get_workers(ask, position.page, position.as_of).await?;
        let mut out = RecordPage::default();
        for worker in workers {
            match worker {
                Ok(e) => out.records.push(e),
                Err(failure) => out.failures.push(failure),
            }
        }
        // The answer is as of the pinned time; a record read now is judged by today.
        for record in &mut out.records {
            record.status = status_on(record, today);
        }
        out.records = one_profile_each(out.records);
        Ok((out, pages))
    }

    /// The whole RaaS report, as records (Workday serves a report in one answer).
    async fn report(&self, report: &Report, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let url = format!(
            "{}/ccx/service/customreport2/{}/{}/{}",
            self.host, self.settings.tenant, report.owner, report.name
        );
        let response = self.call(&url, false, |client, url, _| client.get(url).query(&[("format", "json")])).await?;
        #[derive(Deserialize)]
        struct Entries {
            #[serde(rename = "Report_Entry", default)]
            entries: Vec<HashMap<String, Value>>,
        }
        let entries: Entries = json(check(response).await?).await?;
        let mut out = RecordPage::default();
        for (n, entry) in entries.entries.into_iter().enumerate() {
            match from_report(&entry, today) {
                Ok(e) => out.records.push(e),
                Err(reason) => {
                    let hr_id = entry
                        .get("Employee_ID")
                        .and_then(text)
                        .unwrap_or_else(|| format!("page row {}", n.saturating_add(1)));
                    out.failures.push(RecordFailure { hr_id, reason });
                }
            }
        }
        Ok(out)
    }
}

fn malformed_token() -> ProviderError {
    ProviderError::Malformed("page token".into())
}

/// The name a SOAP request signs in with: `user@tenant`, the connection's tenant added to a bare name.
fn soap_user(username: &str, tenant: &str) -> String {
    if username.contains('@') { username.to_owned() } else { format!("{username}@{tenant}") }
}

/// The WS-Security header signing a SOAP request as an integration system user: a `UsernameToken` with the
/// password as text (both escaped). It holds the password: it goes into the request's body and nowhere else.
fn security_header(user: &str, password: &Secret) -> String {
    format!(
        "<soapenv:Header><wsse:Security soapenv:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE_NAMESPACE}\">\
         <wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type=\"{PASSWORD_TEXT}\">{}</wsse:Password>\
         </wsse:UsernameToken></wsse:Security></soapenv:Header>",
        escape(user),
        escape(password.expose()),
    )
}

/// The SOAP envelope of a `Get_Workers_Request` with `header` (a [`security_header`], or nothing); every value
/// is escaped.
fn request(ask: &Ask<'_>, version: &str, page: u32, as_of: DateTime<Utc>, header: &str) -> String {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut criteria = String::new();
    let mut references = String::new();
    match ask {
        Ask::All => {}
        Ask::Changed { window, from, through } => {
            let range = match window {
                Window::Entered => format!(
                    "<bsvc:Updated_From>{}</bsvc:Updated_From><bsvc:Updated_Through>{}</bsvc:Updated_Through>",
                    time(*from),
                    time(*through)
                ),
                Window::Effective => format!(
                    "<bsvc:Effective_From>{}</bsvc:Effective_From><bsvc:Effective_Through>{}</bsvc:Effective_Through>",
                    time(*from),
                    time(*through)
                ),
            };
            criteria = format!(
                "<bsvc:Request_Criteria><bsvc:Transaction_Log_Criteria_Data><bsvc:Transaction_Date_Range_Data>{range}\
                 </bsvc:Transaction_Date_Range_Data></bsvc:Transaction_Log_Criteria_Data></bsvc:Request_Criteria>"
            );
        }
        Ask::Ids { kind, ids } => {
            let refs: String = ids
                .iter()
                .map(|id| {
                    format!(
                        "<bsvc:Worker_Reference><bsvc:ID bsvc:type=\"{}\">{}</bsvc:ID></bsvc:Worker_Reference>",
                        escape(*kind),
                        escape(id.as_str())
                    )
                })
                .collect();
            references = format!(
                "<bsvc:Request_References bsvc:Skip_Non_Existing_Instances=\"true\">{refs}</bsvc:Request_References>"
            );
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:bsvc=\"urn:com.workday/bsvc\">\
         {header}<soapenv:Body><bsvc:Get_Workers_Request bsvc:version=\"{version}\">{references}{criteria}\
         <bsvc:Response_Filter><bsvc:As_Of_Effective_Date>{effective}</bsvc:As_Of_Effective_Date>\
         <bsvc:As_Of_Entry_DateTime>{entry}</bsvc:As_Of_Entry_DateTime><bsvc:Page>{page}</bsvc:Page>\
         <bsvc:Count>{count}</bsvc:Count></bsvc:Response_Filter>\
         <bsvc:Response_Group><bsvc:Include_Reference>true</bsvc:Include_Reference>\
         <bsvc:Include_Personal_Information>true</bsvc:Include_Personal_Information>\
         <bsvc:Include_Employment_Information>true</bsvc:Include_Employment_Information>\
         <bsvc:Include_Organizations>true</bsvc:Include_Organizations>\
         <bsvc:Include_Management_Chain_Data>true</bsvc:Include_Management_Chain_Data></bsvc:Response_Group>\
         </bsvc:Get_Workers_Request></soapenv:Body></soapenv:Envelope>",
        version = escape(version),
        effective = as_of.date_naive(),
        entry = time(as_of),
        count = PAGE_SIZE,
    )
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The element at a path of local names below `node`.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

fn content(node: Option<Node>) -> Option<String> {
    node.and_then(|n| n.text()).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// An attribute by local name (`wd:type` is `type`).
fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attributes().find(|a| a.name() == name).map(|a| a.value())
}

/// The value of the `ID` of this type in a reference (`Worker_Reference`, `Manager_Reference`, …).
fn reference_id(reference: Node, kind: &str) -> Option<String> {
    children(reference, "ID").find(|id| attr(*id, "type") == Some(kind)).and_then(|id| content(Some(id)))
}

/// Whether a contact entry's usage is `kind` (`WORK`, `HOME`), by descriptor or by usage type id.
fn used_as(entry: Node, kind: &str) -> bool {
    entry.descendants().filter(|n| n.tag_name().name() == "Type_Reference").any(|t| {
        attr(t, "Descriptor").is_some_and(|d| d.eq_ignore_ascii_case(kind))
            || children(t, "ID").any(|id| id.text().is_some_and(|v| v.trim().eq_ignore_ascii_case(kind)))
    })
}

fn flag(node: Option<Node>) -> bool {
    content(node).is_some_and(|v| is_true(&v))
}

/// An `xsd:boolean` that is true: `1` or `true` (Workday writes `1`, the schema takes either).
fn is_true(value: &str) -> bool {
    let value = value.trim();
    value == "1" || value.eq_ignore_ascii_case("true")
}

fn date_of(node: Option<Node>, field: &str) -> Result<Option<NaiveDate>, String> {
    leading_date(content(node).as_deref(), field)
}

/// A `Get_Workers` answer: each worker as an employee (or why not) and the number of pages.
pub fn parse_workers(
    xml: &str,
    department_type: &str,
    as_of: NaiveDate,
) -> Result<(Vec<Result<Employee, RecordFailure>>, u32), ProviderError> {
    let doc = Document::parse(xml).map_err(|e| ProviderError::Malformed(format!("XML at {}", e.pos())))?;
    let root = doc.root_element();
    let Some(response) = root.descendants().find(|n| n.tag_name().name() == "Get_Workers_Response") else {
        return Err(ProviderError::Malformed("no Get_Workers_Response in the answer".into()));
    };
    let pages = content(at(response, &["Response_Results", "Total_Pages"])).and_then(|p| p.parse().ok()).unwrap_or(1);
    let workers = at(response, &["Response_Data"])
        .into_iter()
        .flat_map(|data| children(data, "Worker"))
        .map(|worker| into_employee(worker, department_type, as_of))
        .collect();
    Ok((workers, pages))
}

/// One `Worker` element as an employee. Fails naming the field, never a value.
fn into_employee(worker: Node, department_type: &str, as_of: NaiveDate) -> Result<Employee, RecordFailure> {
    let reference = child(worker, "Worker_Reference");
    let data = child(worker, "Worker_Data");
    let hr_id = reference
        .and_then(|r| reference_id(r, "Employee_ID").or_else(|| reference_id(r, "Contingent_Worker_ID")))
        .or_else(|| content(data.and_then(|d| child(d, "Worker_ID"))))
        .or_else(|| reference.and_then(|r| reference_id(r, "WID")))
        .ok_or_else(|| RecordFailure {
            hr_id: "page (a worker without an id)".into(),
            reason: "a worker without an id".into(),
        })?;
    let fail = |reason: String| RecordFailure { hr_id: hr_id.clone(), reason };
    let Some(data) = data else { return Err(fail("Worker_Data is missing".into())) };
    let personal = child(data, "Personal_Data");
    let names = personal.and_then(|p| child(p, "Name_Data"));
    let name = |kind: &str, part: &str| content(names.and_then(|n| at(n, &[kind, "Name_Detail_Data", part])));
    let contact = personal.and_then(|p| child(p, "Contact_Data"));
    let email = |usage: &str| {
        contact
            .into_iter()
            .flat_map(|c| children(c, "Email_Address_Data"))
            .find(|e| used_as(*e, usage))
            .and_then(|e| content(child(e, "Email_Address")))
    };
    let phones: Vec<Node> = contact.into_iter().flat_map(|c| children(c, "Phone_Data")).collect();
    let mobile = |p: &&Node| {
        child(**p, "Phone_Device_Type_Reference")
            .and_then(|d| attr(d, "Descriptor"))
            .is_some_and(|d| d.eq_ignore_ascii_case("Mobile"))
    };
    let phone =
        phones.iter().find(mobile).or(phones.first()).and_then(|p| {
            attr(*p, "Formatted_Phone").map(str::to_owned).or_else(|| content(child(*p, "Phone_Number")))
        });
    let home = contact.into_iter().flat_map(|c| children(c, "Address_Data")).find(|a| used_as(*a, "HOME")).map(|a| {
        let line = |kind: &str| content(children(a, "Address_Line_Data").find(|l| attr(*l, "Type") == Some(kind)));
        Address {
            line1: line("ADDRESS_LINE_1"),
            line2: line("ADDRESS_LINE_2"),
            city: content(child(a, "Municipality")),
            region: child(a, "Country_Region_Reference").and_then(|r| attr(r, "Descriptor")).map(str::to_owned),
            postal_code: content(child(a, "Postal_Code")),
            country: child(a, "Country_Reference").and_then(|r| reference_id(r, "ISO_3166-1_Alpha-2_Code")),
        }
    });
    let employment = child(data, "Employment_Data");
    let job = employment.and_then(|e| {
        let jobs: Vec<Node> = children(e, "Worker_Job_Data").collect();
        let primary = jobs.iter().find(|j| attr(**j, "Primary_Job").is_some_and(is_true)).or(jobs.first()).copied();
        primary.and_then(|j| child(j, "Position_Data")).or_else(|| child(e, "Position_Data"))
    });
    let title = content(job.and_then(|j| child(j, "Business_Title")))
        .or_else(|| content(job.and_then(|j| child(j, "Position_Title"))));
    let status = employment.and_then(|e| child(e, "Worker_Status_Data"));
    let field = |name: &str| status.and_then(|s| child(s, name));
    let start_date = date_of(field("Hire_Date"), "Hire_Date").map_err(fail)?;
    let terminated = flag(field("Terminated"));
    let end_date =
        if terminated { date_of(field("Termination_Date"), "Termination_Date").map_err(fail)? } else { None };
    let on_leave =
        status.into_iter().flat_map(|s| children(s, "Leave_Status_Data")).any(|l| flag(child(l, "On_Leave")));
    let status = if terminated {
        EmploymentStatus::Terminated
    } else if !flag(field("Active")) || start_date.is_some_and(|d| d > as_of) {
        EmploymentStatus::Pending
    } else if on_leave {
        EmploymentStatus::OnLeave
    } else {
        EmploymentStatus::Active
    };
    let department = child(data, "Organization_Data")
        .into_iter()
        .flat_map(|o| children(o, "Worker_Organization_Data"))
        .filter_map(|w| child(w, "Organization_Data"))
        .find(|o| {
            child(*o, "Organization_Type_Reference")
                .and_then(|r| reference_id(r, "Organization_Type_ID"))
                .is_some_and(|t| t.eq_ignore_ascii_case(department_type))
        })
        .and_then(|o| content(child(o, "Organization_Name")));
    let manager = at(data, &["Management_Chain_Data", "Worker_Supervisory_Management_Chain_Data"])
        .and_then(|chain| children(chain, "Management_Chain_Data").last())
        .and_then(|link| child(link, "Manager_Reference"))
        .and_then(|r| reference_id(r, "Employee_ID").or_else(|| reference_id(r, "WID")));
    Ok(Employee {
        hr_id: hr_id.clone(),
        first_name: name("Preferred_Name_Data", "First_Name")
            .or_else(|| name("Legal_Name_Data", "First_Name"))
            .unwrap_or_default(),
        last_name: name("Preferred_Name_Data", "Last_Name")
            .or_else(|| name("Legal_Name_Data", "Last_Name"))
            .unwrap_or_default(),
        work_email: email("WORK"),
        personal_email: email("HOME"),
        phone,
        home_address: home.filter(|a| !a.is_empty()),
        title,
        department,
        manager_hr_id: manager,
        manager_name: None,
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
    })
}

/// One record per person: a conversion between employee and contingent worker leaves a second, inactive
/// profile with the same id, and the active one is the person.
fn one_profile_each(records: Vec<Employee>) -> Vec<Employee> {
    let mut out: Vec<Employee> = Vec::with_capacity(records.len());
    for record in records {
        match out.iter_mut().find(|r| r.hr_id == record.hr_id) {
            Some(kept) if kept.status == EmploymentStatus::Terminated => *kept = record,
            Some(_) => {}
            None => out.push(record),
        }
    }
    out
}

/// A record's status on `today`: someone whose start is still ahead is pending, whatever the snapshot said.
fn status_on(record: &Employee, today: NaiveDate) -> EmploymentStatus {
    match record.status {
        EmploymentStatus::Active | EmploymentStatus::OnLeave if record.start_date.is_some_and(|d| d > today) => {
            EmploymentStatus::Pending
        }
        status => status,
    }
}

/// One RaaS row (columns named as the README asks) as an employee.
pub fn from_report(row: &HashMap<String, Value>, today: NaiveDate) -> Result<Employee, String> {
    let get = |column: &str| row.get(column).and_then(text);
    let hr_id = get("Employee_ID").ok_or("Employee_ID is missing")?;
    let date = |column: &str| leading_date(get(column).as_deref(), column);
    let on = |column: &str| get(column).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let start_date = date("Hire_Date")?;
    let end_date = date("Termination_Date")?;
    let status = if end_date.is_some_and(|d| d < today) {
        EmploymentStatus::Terminated
    } else if !on("Active") || start_date.is_some_and(|d| d > today) {
        if end_date.is_some() { EmploymentStatus::Terminated } else { EmploymentStatus::Pending }
    } else if on("On_Leave") {
        EmploymentStatus::OnLeave
    } else {
        EmploymentStatus::Active
    };
    Ok(Employee {
        hr_id,
        first_name: get("First_Name").unwrap_or_default(),
        last_name: get("Last_Name").unwrap_or_default(),
        work_email: get("Work_Email"),
        personal_email: get("Personal_Email"),
        phone: get("Phone"),
        home_address: None,
        title: get("Job_Title"),
        department: get("Department"),
        manager_hr_id: get("Manager_ID"),
        manager_name: None,
        status,
        start_date,
        end_date,
        withheld: Vec::new(),
    })
}

/// Workday ids are letters, digits, dashes and underscores; anything else names nobody.
fn plain_id(hr_id: &str) -> bool {
    !hr_id.is_empty() && hr_id.len() <= 64 && hr_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[async_trait]
impl HrProvider for Workday {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Workday
    }

    async fn start_state(&self, now: DateTime<Utc>) -> Result<String, ProviderError> {
        Ok(super::earlier(now, Duration::hours(LOG_DELAY_HOURS)).to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        if let Some(report) = &self.settings.report {
            // As for the SOAP listing: who left is not part of it (a report listing everyone ever employed would
            // otherwise import people who left long ago).
            let mut out = self.report(report, today).await?;
            out.records.retain(|r| r.status != EmploymentStatus::Terminated);
            return Ok(out);
        }
        let position = match page {
            Some(raw) => serde_json::from_str(raw).map_err(|_| malformed_token())?,
            None => Position { page: 1, as_of: Utc::now(), window: None, seen: Vec::new() },
        };
        let (page_no, as_of) = (position.page, position.as_of);
        let (mut out, pages) = self.page_from(position, Ask::All, today).await?;
        // Everyone Workday has, which includes those who left: they are not part of a listing.
        out.records.retain(|r| r.status != EmploymentStatus::Terminated);
        out.next = (page_no < pages).then(|| {
            serde_json::to_string(&Position { page: page_no.saturating_add(1), as_of, window: None, seen: Vec::new() })
                .unwrap_or_default()
        });
        Ok(out)
    }

    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError> {
        let from = DateTime::parse_from_rfc3339(state)
            .map_err(|_| ProviderError::Malformed("stored change state".into()))?
            .with_timezone(&Utc);
        if let Some(report) = &self.settings.report {
            // A report has no change window: read it whole, and the comparison keeps only what changed.
            let mut records = self.report(report, now.date_naive()).await?;
            records.next = None;
            let state =
                Some(super::earlier(now, Duration::hours(LOG_DELAY_HOURS)).to_rfc3339_opts(SecondsFormat::Secs, true));
            return Ok(ChangePage { page: records, removed: Vec::new(), state });
        }
        let position: Position = match page {
            Some(raw) => serde_json::from_str(raw).map_err(|_| malformed_token())?,
            None => Position { page: 1, as_of: now, window: Some(Window::Entered), seen: Vec::new() },
        };
        let window = position.window.ok_or_else(malformed_token)?;
        let (page_no, through, mut seen) = (position.page, position.as_of, position.seen.clone());
        let ask = Ask::Changed { window, from, through };
        let (mut records, pages) = self.page_from(position, ask, now.date_naive()).await?;
        match window {
            Window::Entered => {
                let ids = records.records.iter().map(|r| &r.hr_id).chain(records.failures.iter().map(|f| &f.hr_id));
                seen.extend(ids.cloned());
                if seen.len() > SEEN_CAP {
                    seen.clear();
                }
            }
            Window::Effective => {
                records.records.retain(|r| !seen.contains(&r.hr_id));
                records.failures.retain(|f| !seen.contains(&f.hr_id));
            }
        }
        let next = if page_no < pages {
            Some(Position { page: page_no.saturating_add(1), as_of: through, window: Some(window), seen })
        } else if window == Window::Entered {
            Some(Position { page: 1, as_of: through, window: Some(Window::Effective), seen })
        } else {
            None
        };
        let state = next.is_none().then(|| {
            super::earlier(through, Duration::hours(LOG_DELAY_HOURS)).to_rfc3339_opts(SecondsFormat::Secs, true)
        });
        let next = next.map(|p| serde_json::to_string(&p).unwrap_or_default());
        Ok(ChangePage { page: RecordPage { next, ..records }, removed: Vec::new(), state })
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        super::only_record(self.fetch_many(&[hr_id.to_owned()]).await?)
    }

    /// One request for all of them as employees, and one more for any not found, as contingent workers.
    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        let today = Utc::now().date_naive();
        let ids: Vec<String> = hr_ids.iter().filter(|id| plain_id(id)).cloned().collect();
        if let Some(report) = &self.settings.report {
            let mut all = self.report(report, today).await?;
            all.records.retain(|r| ids.contains(&r.hr_id));
            all.failures.retain(|f| ids.contains(&f.hr_id));
            return Ok(all);
        }
        // Both id types for everyone: after a conversion a person has a profile of each, and the active one counts.
        let mut out = RecordPage::default();
        for kind in ["Employee_ID", "Contingent_Worker_ID"] {
            for chunk in ids.chunks(PAGE_SIZE as usize) {
                let position = Position { page: 1, as_of: Utc::now(), window: None, seen: Vec::new() };
                let (found, _) = self.page_from(position, Ask::Ids { kind, ids: chunk }, today).await?;
                out.records.extend(found.records);
                out.failures.extend(found.failures);
            }
        }
        out.records = one_profile_each(out.records);
        out.failures.retain(|f| !out.records.iter().any(|r| r.hr_id == f.hr_id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const ANSWER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
<wd:Get_Workers_Response xmlns:wd="urn:com.workday/bsvc" wd:version="v44.0">
 <wd:Response_Results><wd:Total_Results>1</wd:Total_Results><wd:Total_Pages>3</wd:Total_Pages><wd:Page>1</wd:Page></wd:Response_Results>
 <wd:Response_Data><wd:Worker>
  <wd:Worker_Reference><wd:ID wd:type="WID">3aa5550b</wd:ID><wd:ID wd:type="Employee_ID">21001</wd:ID></wd:Worker_Reference>
  <wd:Worker_Data><wd:Worker_ID>21001</wd:Worker_ID>
   <wd:Personal_Data><wd:Name_Data>
     <wd:Legal_Name_Data><wd:Name_Detail_Data><wd:First_Name>Augusta</wd:First_Name><wd:Last_Name>Lovelace</wd:Last_Name></wd:Name_Detail_Data></wd:Legal_Name_Data>
     <wd:Preferred_Name_Data><wd:Name_Detail_Data><wd:First_Name>Ada</wd:First_Name><wd:Last_Name>Lovelace</wd:Last_Name></wd:Name_Detail_Data></wd:Preferred_Name_Data>
    </wd:Name_Data>
    <wd:Contact_Data>
     <wd:Address_Data><wd:Country_Reference><wd:ID wd:type="ISO_3166-1_Alpha-2_Code">GB</wd:ID></wd:Country_Reference>
      <wd:Address_Line_Data wd:Type="ADDRESS_LINE_1">1 Main St</wd:Address_Line_Data><wd:Municipality>London</wd:Municipality>
      <wd:Postal_Code>N1 9GU</wd:Postal_Code><wd:Usage_Data><wd:Type_Data wd:Primary="1"><wd:Type_Reference wd:Descriptor="Home"/></wd:Type_Data></wd:Usage_Data></wd:Address_Data>
     <wd:Phone_Data wd:Formatted_Phone="+44 20 0000"><wd:Phone_Number>200000</wd:Phone_Number><wd:Phone_Device_Type_Reference wd:Descriptor="Landline"/></wd:Phone_Data>
     <wd:Phone_Data wd:Formatted_Phone="+44 7700 900000"><wd:Phone_Device_Type_Reference wd:Descriptor="Mobile"/></wd:Phone_Data>
     <wd:Email_Address_Data><wd:Email_Address>ada@home.example</wd:Email_Address><wd:Usage_Data><wd:Type_Data><wd:Type_Reference wd:Descriptor="Home"/></wd:Type_Data></wd:Usage_Data></wd:Email_Address_Data>
     <wd:Email_Address_Data><wd:Email_Address>ada@corp.example</wd:Email_Address><wd:Usage_Data><wd:Type_Data><wd:Type_Reference wd:Descriptor="Work"/></wd:Type_Data></wd:Usage_Data></wd:Email_Address_Data>
    </wd:Contact_Data></wd:Personal_Data>
   <wd:Employment_Data>
    <wd:Worker_Job_Data wd:Primary_Job="0"><wd:Position_Data><wd:Position_Title>Side job</wd:Position_Title></wd:Position_Data></wd:Worker_Job_Data>
    <wd:Worker_Job_Data wd:Primary_Job="1"><wd:Position_Data><wd:Position_Title>Engineer</wd:Position_Title><wd:Business_Title>Senior Engineer</wd:Business_Title></wd:Position_Data></wd:Worker_Job_Data>
    <wd:Worker_Status_Data><wd:Active>1</wd:Active><wd:Hire_Date>2020-01-06</wd:Hire_Date><wd:Terminated>0</wd:Terminated></wd:Worker_Status_Data>
   </wd:Employment_Data>
   <wd:Organization_Data>
    <wd:Worker_Organization_Data><wd:Organization_Data><wd:Organization_Name>R&amp;D cost centre</wd:Organization_Name><wd:Organization_Type_Reference><wd:ID wd:type="Organization_Type_ID">COST_CENTER</wd:ID></wd:Organization_Type_Reference></wd:Organization_Data></wd:Worker_Organization_Data>
    <wd:Worker_Organization_Data><wd:Organization_Data><wd:Organization_Name>Engineering</wd:Organization_Name><wd:Organization_Type_Reference><wd:ID wd:type="Organization_Type_ID">SUPERVISORY</wd:ID></wd:Organization_Type_Reference></wd:Organization_Data></wd:Worker_Organization_Data>
   </wd:Organization_Data>
   <wd:Management_Chain_Data><wd:Worker_Supervisory_Management_Chain_Data>
    <wd:Management_Chain_Data><wd:Manager_Reference><wd:ID wd:type="WID">top</wd:ID><wd:ID wd:type="Employee_ID">20001</wd:ID></wd:Manager_Reference></wd:Management_Chain_Data>
    <wd:Management_Chain_Data><wd:Manager_Reference><wd:ID wd:type="WID">7bf6</wd:ID><wd:ID wd:type="Employee_ID">21000</wd:ID></wd:Manager_Reference></wd:Management_Chain_Data>
   </wd:Worker_Supervisory_Management_Chain_Data></wd:Management_Chain_Data>
  </wd:Worker_Data></wd:Worker></wd:Response_Data>
</wd:Get_Workers_Response></env:Body></env:Envelope>"#;

    #[test]
    fn maps_a_get_workers_answer() {
        let (workers, pages) = parse_workers(ANSWER, "SUPERVISORY", day("2026-06-01")).unwrap();
        assert_eq!(pages, 3);
        let e = workers.into_iter().next().unwrap().unwrap();
        assert_eq!((e.hr_id.as_str(), e.first_name.as_str(), e.last_name.as_str()), ("21001", "Ada", "Lovelace"));
        assert_eq!(
            (e.work_email.as_deref(), e.personal_email.as_deref()),
            (Some("ada@corp.example"), Some("ada@home.example"))
        );
        assert_eq!(e.phone.as_deref(), Some("+44 7700 900000"), "the mobile first");
        let home = e.home_address.unwrap();
        assert_eq!(
            (home.line1.as_deref(), home.city.as_deref(), home.country.as_deref()),
            (Some("1 Main St"), Some("London"), Some("GB"))
        );
        assert_eq!(e.title.as_deref(), Some("Senior Engineer"), "the primary job's business title");
        assert_eq!(e.department.as_deref(), Some("Engineering"), "the supervisory organisation, not the cost centre");
        assert_eq!(e.manager_hr_id.as_deref(), Some("21000"), "the nearest manager, by Employee_ID");
        assert_eq!((e.status, e.start_date), (EmploymentStatus::Active, Some(day("2020-01-06"))));
        let by_cost_centre = parse_workers(ANSWER, "cost_center", day("2026-06-01")).unwrap().0.remove(0).unwrap();
        assert_eq!(by_cost_centre.department.as_deref(), Some("R&D cost centre"));
    }

    #[test]
    fn the_primary_job_is_found_whichever_way_its_boolean_is_written() {
        // `Primary_Job` is an `xsd:boolean` in Workday's schema: `true` says what `1` says.
        let worded = ANSWER
            .replace("wd:Primary_Job=\"0\"", "wd:Primary_Job=\"false\"")
            .replace("wd:Primary_Job=\"1\"", "wd:Primary_Job=\"true\"");
        let e = parse_workers(&worded, "SUPERVISORY", day("2026-06-01")).unwrap().0.remove(0).unwrap();
        assert_eq!(e.title.as_deref(), Some("Senior Engineer"), "the primary job's, not the first job's");
    }

    #[test]
    fn statuses_follow_the_worker_status_data() {
        let with = |status: &str| {
            ANSWER.replace(
                "<wd:Active>1</wd:Active><wd:Hire_Date>2020-01-06</wd:Hire_Date><wd:Terminated>0</wd:Terminated>",
                status,
            )
        };
        let read = |xml: String| parse_workers(&xml, "SUPERVISORY", day("2026-06-01")).unwrap().0.remove(0);
        use EmploymentStatus::*;
        let future =
            with("<wd:Active>0</wd:Active><wd:Hire_Date>2026-07-01</wd:Hire_Date><wd:Terminated>0</wd:Terminated>");
        assert_eq!(read(future).unwrap().status, Pending);
        let left = with(
            "<wd:Active>0</wd:Active><wd:Hire_Date>2020-01-06</wd:Hire_Date><wd:Terminated>1</wd:Terminated><wd:Termination_Date>2026-05-29</wd:Termination_Date>",
        );
        let left = read(left).unwrap();
        assert_eq!((left.status, left.end_date), (Terminated, Some(day("2026-05-29"))));
        let leave = with(
            "<wd:Active>1</wd:Active><wd:Hire_Date>2020-01-06</wd:Hire_Date><wd:Leave_Status_Data><wd:On_Leave>1</wd:On_Leave></wd:Leave_Status_Data>",
        );
        assert_eq!(read(leave).unwrap().status, OnLeave);
        let bad = read(with("<wd:Active>1</wd:Active><wd:Hire_Date>06/01/2020</wd:Hire_Date>")).unwrap_err();
        assert_eq!((bad.hr_id.as_str(), bad.reason.as_str()), ("21001", "Hire_Date is not a date"));
        assert!(matches!(
            parse_workers("<not xml", "SUPERVISORY", day("2026-06-01")),
            Err(ProviderError::Malformed(_))
        ));
    }

    #[test]
    fn requests_pin_the_snapshot_and_escape_every_value() {
        let as_of = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let all = request(&Ask::All, "v44.0", 2, as_of, "");
        assert!(all.contains("<bsvc:As_Of_Entry_DateTime>2026-06-01T12:00:00.000Z</bsvc:As_Of_Entry_DateTime>"));
        assert!(all.contains("<bsvc:Page>2</bsvc:Page><bsvc:Count>100</bsvc:Count>"));
        Document::parse(&all).expect("well-formed");
        let ids = ["<evil>&".to_owned()];
        let asked = request(&Ask::Ids { kind: "Employee_ID", ids: &ids }, "v44.0", 1, as_of, "");
        assert!(asked.contains("&lt;evil&gt;&amp;"));
        Document::parse(&asked).expect("well-formed");
        let from = as_of - Duration::days(1);
        let effective =
            request(&Ask::Changed { window: Window::Effective, from, through: as_of }, "v44.0", 1, as_of, "");
        assert!(effective.contains("<bsvc:Effective_From>2026-05-31T12:00:00.000Z</bsvc:Effective_From>"));
    }

    #[test]
    fn the_security_header_is_an_escaped_wss_username_token() {
        let header = security_header("ISU_<ithub>@acme", &Secret::new("p<&ss]]>word"));
        assert!(header.contains("p&lt;&amp;ss]]&gt;word"), "the password escaped");
        let as_of = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let envelope = request(&Ask::All, "v44.0", 1, as_of, &header);
        let doc = Document::parse(&envelope).expect("well-formed");
        let soap = "http://schemas.xmlsoap.org/soap/envelope/";
        let security = doc.descendants().find(|n| n.has_tag_name((WSSE_NAMESPACE, "Security"))).expect("wsse:Security");
        assert_eq!(security.parent().map(|p| p.tag_name()), Some(roxmltree::ExpandedName::from((soap, "Header"))));
        let token = child(security, "UsernameToken").unwrap();
        let (username, password) = (child(token, "Username").unwrap(), child(token, "Password").unwrap());
        assert!(token.children().filter(|n| n.is_element()).all(|n| n.tag_name().namespace() == Some(WSSE_NAMESPACE)));
        assert_eq!((username.text(), password.text()), (Some("ISU_<ithub>@acme"), Some("p<&ss]]>word")));
        assert_eq!(password.attribute("Type"), Some(PASSWORD_TEXT));
        assert!(PASSWORD_TEXT.ends_with("#PasswordText"));
        assert_eq!(soap_user("ISU_ithub", "acme"), "ISU_ithub@acme", "a bare name gets the tenant");
        assert_eq!(soap_user("ISU_ithub@acme", "other"), "ISU_ithub@acme");
    }

    #[test]
    fn credentials_are_a_user_or_an_api_client_and_each_bad_field_is_named() {
        use super::super::Connector as _;
        let settings: Settings =
            serde_json::from_value(serde_json::json!({ "base_url": "https://wd2.example", "tenant": "acme" })).unwrap();
        let read = |json: Value| serde_json::from_value::<Credentials>(json);
        // The form stored before API clients: read as the integration system user, and written back the same.
        let stored = serde_json::json!({ "username": "ISU_ithub@acme", "password": "pw" });
        let user = read(stored.clone()).unwrap();
        assert!(matches!(&user, Credentials::UsernameToken(u) if u.username == "ISU_ithub@acme"));
        assert_eq!(serde_json::to_value(&user).unwrap(), stored);
        let client = read(serde_json::json!({ "client_id": "c", "client_secret": "s", "refresh_token": "r" })).unwrap();
        assert!(matches!(client, Credentials::OAuth(ref c) if c.refresh_token == "r"));
        // A field of either form makes it that form, and what is missing or foreign is named.
        let missing = read(serde_json::json!({ "client_id": "c", "client_secret": "s" })).err().unwrap().to_string();
        assert!(missing.contains("refresh_token"), "{missing}");
        let mixed = read(serde_json::json!({ "username": "u", "client_id": "c" })).err().unwrap().to_string();
        assert!(mixed.contains("unknown field `username`"), "{mixed}");
        let fields = |credentials: &Credentials| {
            let mut errors = FieldErrors::default();
            Connector::validate(&settings, credentials, &mut errors);
            errors.into_result().err().unwrap_or_default().into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        let empty = read(serde_json::json!({ "client_id": "", "client_secret": "s", "refresh_token": "" })).unwrap();
        assert_eq!(fields(&empty), ["credentials.client_id", "credentials.refresh_token"]);
        let empty = read(serde_json::json!({ "username": "u", "password": "" })).unwrap();
        assert_eq!(fields(&empty), ["credentials.password"]);
        assert!(fields(&client).is_empty() && fields(&user).is_empty());
    }

    #[test]
    fn a_converted_worker_is_their_active_profile() {
        let (mut workers, _) = parse_workers(ANSWER, "SUPERVISORY", day("2026-06-01")).unwrap();
        let active = workers.remove(0).unwrap();
        let mut old = active.clone();
        old.status = EmploymentStatus::Terminated;
        let kept = one_profile_each(vec![old.clone(), active.clone()]);
        assert_eq!((kept.len(), kept[0].status), (1, EmploymentStatus::Active));
        let kept = one_profile_each(vec![active, old]);
        assert_eq!((kept.len(), kept[0].status), (1, EmploymentStatus::Active), "whichever comes first");
    }

    #[test]
    fn maps_a_report_row() {
        let row: HashMap<String, Value> = serde_json::from_value(serde_json::json!({
            "Employee_ID": "21001", "First_Name": "Ada", "Last_Name": "Lovelace", "Work_Email": "ada@corp.example",
            "Hire_Date": "2020-01-06", "Active": "1", "Department": "Engineering", "Manager_ID": "21000" }))
        .unwrap();
        let e = from_report(&row, day("2026-06-01")).unwrap();
        assert_eq!(
            (e.hr_id.as_str(), e.status, e.department.as_deref()),
            ("21001", EmploymentStatus::Active, Some("Engineering"))
        );
        let mut gone = row.clone();
        gone.insert("Termination_Date".into(), Value::from("2026-05-01"));
        assert_eq!(from_report(&gone, day("2026-06-01")).unwrap().status, EmploymentStatus::Terminated);
    }
}
