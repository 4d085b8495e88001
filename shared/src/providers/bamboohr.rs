//! BambooHR: API key over HTTP Basic; the employee dataset (Datasets v2, pages of up to 1,000 whole records) for
//! the full listing, for the records of people `employees/changed?since=` names, and for one person a webhook
//! names; webhooks signed with HMAC-SHA256 over the body followed by the timestamp.

use super::BaseUrl;
use super::auth::{Secret, StaticToken, TokenSource};
use super::http::{Http, RetryPolicy, check, json};
use super::signature::{Algorithm, any_secret_signs};
use super::{
    Capabilities, ChangePage, HrProvider, ProviderError, ProviderKind, RecordFailure, RecordPage,
    WEBHOOK_TOLERANCE_SECS, WebhookDelivery, WebhookError,
};
use crate::domain::{Address, Employee, EmploymentStatus};
use crate::validation::{FieldErrors, is_slug};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const SIGNATURE_HEADER: &str = "x-bamboohr-signature";
pub const TIMESTAMP_HEADER: &str = "x-bamboohr-timestamp";

/// Where a BambooHR company is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BambooHrSettings))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The company's subdomain: `acme` for `acme.bamboohr.com`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,100}$"))]
    pub company_domain: String,
    /// Overrides `https://{company_domain}.bamboohr.com` (a sandbox): http or https, a host, an optional port and a plain
    /// path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub base_url: Option<BaseUrl>,
}

/// A BambooHR API key (sent as the HTTP Basic user name).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BambooHrCredentials))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub api_key: String,
    /// For a global webhook set up in BambooHR (Settings → Webhooks), the private key BambooHR generated for it.
    /// Leave it out and IT Hub registers a permissioned webhook itself and keeps the key BambooHR issues for it.
    /// Write-only: kept as the connection's webhook secret and never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(write_only, min_length = 1, max_length = 4096, pattern = r"^\S([\s\S]*\S)?$")
    )]
    pub webhook_secret: Option<String>,
}

/// The BambooHR connector.
pub struct Connector;

impl super::Connector for Connector {
    const NAME: &'static str = "bamboohr";
    const DISPLAY_NAME: &'static str = "BambooHR";
    const CAPABILITIES: Capabilities =
        Capabilities { full_listing: true, changes_feed: true, webhooks: true, push: false, event_queue: false };
    type Settings = Settings;
    type Credentials = Credentials;

    fn validate(settings: &Settings, credentials: &Credentials, errors: &mut FieldErrors) {
        let domain_ok = is_slug(&settings.company_domain, 100);
        errors.check(domain_ok, "settings.company_domain", "1-100 letters, digits, dashes or underscores");
        let key_ok = (1..=4096).contains(&credentials.api_key.chars().count());
        errors.check(key_ok, "credentials.api_key", "must be given (at most 4096 characters)");
        let secret_ok = credentials.webhook_secret.as_deref().is_none_or(super::pasted_secret_ok);
        errors.check(secret_ok, "credentials.webhook_secret", super::PASTED_SECRET_RULE);
    }

    // BambooHR issues every webhook's key: IT Hub keeps the one its registration is answered with, or the one an
    // admin pastes for a global webhook.
    const VENDOR_ISSUES_WEBHOOK_SECRET: bool = true;

    fn take_webhook_secret(credentials: &mut Credentials) -> Option<String> {
        credentials.webhook_secret.take()
    }

    fn base_url(settings: &Settings) -> Option<&str> {
        settings.base_url.as_deref()
    }

    fn connect(settings: &Settings, credentials: &Credentials, link: super::Link) -> Box<dyn HrProvider> {
        let account = hex::encode(Sha256::digest(credentials.api_key.as_bytes()));
        Box::new(BambooHr::new(settings, StaticToken::new(&credentials.api_key), link.http).for_account(&account))
    }

    fn verify_webhook(
        secrets: &[String],
        headers: &::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, WebhookError> {
        verify_webhook(secrets, headers, body, now)
    }
}

pub struct BambooHr {
    /// `https://{company}.bamboohr.com/api` (or the override's `/api`).
    api: String,
    key: Box<dyn TokenSource>,
    http: Http,
    retry: RetryPolicy,
    /// The fields to read, learnt from the account on first use.
    plan: std::sync::Mutex<Option<FieldPlan>>,
    /// Names the account (its address and a hash of its key) in [`PLANS`], where the plans learnt in this
    /// process are kept for [`PLAN_TTL`]: a run's steps and a webhook's reads do not each read the catalogue.
    account: Option<String>,
}

/// Field plans learnt in this process, by account, and when.
static PLANS: std::sync::Mutex<BTreeMap<String, (std::time::Instant, FieldPlan)>> =
    std::sync::Mutex::new(BTreeMap::new());

/// How long a learnt field plan is trusted before the catalogue is read again.
const PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Rows a Datasets v2 page holds at most (BambooHR's maximum).
pub const PAGE_SIZE: u32 = 1000;

/// The employee-dataset fields a sync cannot do without (the dataset's own names, not v1's): who someone is, and
/// when they start and leave. An account whose key may not read one of them cannot be synced.
pub const REQUIRED_FIELDS: [&str; 6] = ["eeid", "firstName", "lastName", "status", "hireDate", "terminationDate"];

/// Fields read where the account has them and the key may read them; otherwise left out, and said so.
pub const OPTIONAL_FIELDS: [&str; 14] = [
    "email",
    "homeEmail",
    "mobilePhone",
    "addressLineOne",
    "addressLineTwo",
    "city",
    "state",
    "zipcode",
    "country",
    "jobInformationJobTitle",
    "jobInformationDepartment",
    "supervisorEid",
    "jobInformationReportsTo",
    "employmentStatus",
];

/// The field the change list's people are filtered by, where the account's dataset has it.
const LAST_CHANGED: &str = "lastChanged";

/// Why an optional field is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    /// The account's employee dataset has no such field (`GET /api/v1_2/datasets/employee/fields`).
    NotInDataset,
    /// The key may not read it (BambooHR refused a request naming it).
    NotReadable,
}

/// What this connection reads of the employee dataset: the fields the account has and the key may read, and
/// whether changed people can be filtered by `lastChanged` (else they are read by the ids the change list names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPlan {
    pub fields: Vec<&'static str>,
    pub skipped: Vec<(&'static str, Skipped)>,
    pub last_changed: bool,
}

impl FieldPlan {
    /// The plan for an account whose dataset has `catalog`; a missing required field is named.
    pub fn from_catalog(catalog: &std::collections::HashSet<String>) -> Result<Self, ProviderError> {
        let missing: Vec<&str> = REQUIRED_FIELDS.into_iter().filter(|f| !catalog.contains(*f)).collect();
        if !missing.is_empty() {
            return Err(ProviderError::Setup(format!(
                "the employee dataset has no {} field (required)",
                missing.join(", ")
            )));
        }
        let (present, absent): (Vec<&'static str>, Vec<&'static str>) =
            OPTIONAL_FIELDS.into_iter().partition(|f| catalog.contains(*f));
        Ok(Self {
            fields: REQUIRED_FIELDS.into_iter().chain(present).collect(),
            skipped: absent.into_iter().map(|f| (f, Skipped::NotInDataset)).collect(),
            last_changed: catalog.contains(LAST_CHANGED),
        })
    }

    /// Leaves out the fields BambooHR says the key may not read; `false` when it named none of this plan's
    /// fields (nothing to leave out). A required one is an error naming it.
    fn restrict(&mut self, refused: &[String]) -> Result<bool, ProviderError> {
        let required: Vec<&str> = REQUIRED_FIELDS.into_iter().filter(|f| refused.iter().any(|r| r == f)).collect();
        if !required.is_empty() {
            return Err(ProviderError::Setup(format!(
                "the API key may not read the {} field (required)",
                required.join(", ")
            )));
        }
        let before = self.fields.len();
        let (kept, dropped): (Vec<&'static str>, Vec<&'static str>) =
            self.fields.iter().partition(|f| !refused.iter().any(|r| r == *f));
        self.fields = kept;
        self.skipped.extend(dropped.into_iter().map(|f| (f, Skipped::NotReadable)));
        Ok(self.fields.len() < before)
    }
}

/// Catalogue pages read at most: 50 of 1,000 fields, far beyond the 450-odd an account has.
const MAX_CATALOG_PAGES: u32 = 50;

/// People read by id per change page when `lastChanged` cannot be filtered by.
const CHANGED_IDS_PER_PAGE: usize = 1000;

impl BambooHr {
    pub fn new(settings: &Settings, key: impl TokenSource + 'static, http: Http) -> Self {
        let host = match settings.base_url.as_deref() {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.bamboohr.com", settings.company_domain),
        };
        Self {
            api: format!("{host}/api"),
            key: Box::new(key),
            http,
            retry: RetryPolicy::default(),
            plan: std::sync::Mutex::new(None),
            account: None,
        }
    }

    /// Shares learnt field plans with other connectors of this process reaching the same account (`account`
    /// names the key, not the key itself).
    pub fn for_account(mut self, account: &str) -> Self {
        self.account = Some(format!("{} {account}", self.api));
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/{path}", self.api);
        self.http
            .send_authorized(&self.retry, &url, self.key.as_ref(), |client, url, key| {
                let request = client.request(method.clone(), url);
                build(request.basic_auth(key.expose(), Some("x")).header(reqwest::header::ACCEPT, "application/json"))
            })
            .await
    }

    /// The fields this connection reads: the account's employee-dataset catalogue, read once
    /// (`GET /api/v1_2/datasets/employee/fields`, pages of 1,000).
    pub async fn field_plan(&self) -> Result<FieldPlan, ProviderError> {
        if let Some(plan) = self.cached_plan() {
            return Ok(plan);
        }
        let mut catalog = std::collections::HashSet::new();
        for page in 1..=MAX_CATALOG_PAGES {
            let query = [("page", page.to_string()), ("page_size", "1000".to_owned())];
            let response =
                self.call(reqwest::Method::GET, "v1_2/datasets/employee/fields", |r| r.query(&query)).await?;
            if response.status() == reqwest::StatusCode::FORBIDDEN {
                return Err(ProviderError::Setup("the API key may not read the employee dataset's fields".into()));
            }
            let body: FieldCatalog = json(check(response).await?).await?;
            catalog.extend(body.fields.into_iter().map(|f| f.name));
            let last = body.pagination.as_ref().is_none_or(|p| {
                p.next_page.as_deref().is_none_or(str::is_empty) || p.total_pages.is_some_and(|t| u64::from(page) >= t)
            });
            if last {
                break;
            }
        }
        let plan = FieldPlan::from_catalog(&catalog)?;
        self.keep_plan(&plan);
        Ok(plan)
    }

    fn cached_plan(&self) -> Option<FieldPlan> {
        if let Some(plan) = self.plan.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Some(plan);
        }
        let account = self.account.as_ref()?;
        let plans = PLANS.lock().unwrap_or_else(|p| p.into_inner());
        let (learnt, plan) = plans.get(account)?;
        (learnt.elapsed() < PLAN_TTL).then(|| plan.clone())
    }

    fn keep_plan(&self, plan: &FieldPlan) {
        *self.plan.lock().unwrap_or_else(|p| p.into_inner()) = Some(plan.clone());
        if let Some(account) = &self.account {
            let mut plans = PLANS.lock().unwrap_or_else(|p| p.into_inner());
            plans.retain(|_, (learnt, _)| learnt.elapsed() < PLAN_TTL);
            plans.insert(account.clone(), (std::time::Instant::now(), plan.clone()));
        }
    }

    /// One page of the employee dataset: rows matching `filter`, in `eeid` order so pages are stable. A request
    /// naming a field the key may not read is refused whole (403 naming the fields): those are left out of the
    /// plan and the page asked for again.
    async fn dataset_page(&self, filter: &str, page: u32, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let mut plan = self.field_plan().await?;
        let data: Dataset = loop {
            let body = serde_json::json!({
                "fields": plan.fields, "filter": filter, "orderBy": "eeid asc", "page": page, "pageSize": PAGE_SIZE,
            });
            let response = self.call(reqwest::Method::POST, "v2/datasets/employee/data", |r| r.json(&body)).await?;
            if response.status() != reqwest::StatusCode::FORBIDDEN {
                break json(check(response).await?).await?;
            }
            let refused: Problem = json(response).await.unwrap_or_default();
            let refused: Vec<String> = refused.fields.into_keys().collect();
            if !plan.restrict(&refused)? {
                return Err(ProviderError::Setup("the API key may not read the employee dataset".into()));
            }
            self.keep_plan(&plan);
        };
        let mut out = RecordPage::default();
        for (n, row) in data.data.into_iter().enumerate() {
            match row.fields.into_employee(today) {
                Ok(employee) => out.records.push(employee),
                Err(failure) => out.failures.push(failure.or_row(page, n)),
            }
        }
        if data.links.and_then(|l| l.next).is_some() {
            out.next = Some(following(page)?.to_string());
        }
        Ok(out)
    }

    /// Who changed since `since` (not deleted), in id order, and who was deleted; the change list is not paged.
    async fn changed_since(&self, since: &str) -> Result<(Vec<String>, Vec<String>, Option<String>), ProviderError> {
        let response =
            self.call(reqwest::Method::GET, "v1/employees/changed", |r| r.query(&[("since", since)])).await?;
        let body: Changed = json(check(response).await?).await?;
        let (deleted, changed): (Vec<_>, Vec<_>) =
            body.employees.into_values().partition(|e| e.action.eq_ignore_ascii_case("deleted"));
        let mut changed: Vec<String> = changed.into_iter().map(|e| e.id).collect();
        changed.sort_by(|a, b| id_order(a, b));
        Ok((changed, deleted.into_iter().map(|e| e.id).collect(), body.latest))
    }
}

/// BambooHR's ids are numbers written out: shorter first, then by text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `POST /api/v1/webhooks`'s answer (the id is a string in the description; a number is read too).
#[derive(Deserialize)]
struct MadeWebhook {
    #[serde(default)]
    id: Value,
    #[serde(default, rename = "privateKey")]
    private_key: Option<String>,
}

/// `GET /api/v1_2/datasets/employee/fields`'s answer.
#[derive(Deserialize)]
struct FieldCatalog {
    #[serde(default)]
    fields: Vec<CatalogField>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct CatalogField {
    name: String,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    total_pages: Option<u64>,
    #[serde(default)]
    next_page: Option<String>,
}

/// A problem+json refusal; a 403 names the fields the key may not read in `fields`.
#[derive(Default, Deserialize)]
struct Problem {
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

/// `POST /api/v2/datasets/employee/data`'s answer.
#[derive(Deserialize)]
struct Dataset {
    #[serde(default)]
    data: Vec<Row>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Row {
    fields: Record,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Changed {
    #[serde(default)]
    latest: Option<String>,
    #[serde(default)]
    employees: BTreeMap<String, ChangedEntry>,
}

#[derive(Deserialize)]
struct ChangedEntry {
    id: String,
    action: String,
}

/// Where a change read stands between pages: the dataset page to read next (filtering by `lastChanged`), or
/// the last id read (reading the change list's people by id), and the `latest` the change list gave.
#[derive(Serialize, Deserialize)]
struct ChangeToken {
    page: u32,
    #[serde(default)]
    latest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

/// Everyone employed or about to start: active records, and pre-hires (inactive until their hire date, which may
/// be today where the company's day starts later than UTC's).
fn listing_filter(today: NaiveDate) -> String {
    format!("status eq 'Active' or hireDate ge '{today}'")
}

/// Ids are BambooHR's digits (letters allowed); anything else cannot name anyone and must not reach a filter.
fn plain_id(hr_id: &str) -> bool {
    !hr_id.is_empty() && hr_id.len() <= 32 && hr_id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// People asked for by id in one dataset request (an `or` of `eq` terms; `in` takes only options fields).
const IDS_PER_REQUEST: usize = 50;

#[async_trait]
impl HrProvider for BambooHr {
    fn kind(&self) -> ProviderKind {
        ProviderKind::BambooHr
    }

    async fn start_state(&self, now: DateTime<Utc>) -> Result<String, ProviderError> {
        // BambooHR's change list takes a time; the listing that follows reads everyone as of now.
        Ok(super::earlier(now, START_OVERLAP).to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    async fn list_page(&self, page: Option<&str>, today: NaiveDate) -> Result<RecordPage, ProviderError> {
        let page = page_number(page)?;
        self.dataset_page(&listing_filter(today), page, today).await
    }

    async fn changes_page(
        &self,
        state: &str,
        page: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangePage, ProviderError> {
        let since = parse_timestamp(state).ok_or_else(|| ProviderError::Malformed("stored change state".into()))?;
        let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut out = ChangePage::default();
        let plan = self.field_plan().await?;
        let (token, listed) = match page {
            Some(raw) => {
                let token = serde_json::from_str::<ChangeToken>(raw)
                    .map_err(|_| ProviderError::Malformed("change page token".into()))?;
                (token, None)
            }
            None => {
                let (changed, deleted, latest) = self.changed_since(&since).await?;
                out.removed = deleted;
                if changed.is_empty() {
                    out.state = latest.as_deref().and_then(|l| next_state(l, now)).or(Some(state.to_owned()));
                    return Ok(out);
                }
                (ChangeToken { page: 1, latest, after: None }, Some(changed))
            }
        };
        let next = if plan.last_changed {
            // Their whole records, whatever their status now (a termination makes them inactive).
            let filter = format!("lastChanged ge '{since}'");
            out.page = self.dataset_page(&filter, token.page, now.date_naive()).await?;
            match out.page.next.take() {
                Some(_) => {
                    Some(ChangeToken { page: following(token.page)?, latest: token.latest.clone(), after: None })
                }
                None => None,
            }
        } else {
            // No `lastChanged` in this account's dataset: the people the change list names, by id, a page of them
            // at a time (the list is read again for each later page, from after the last id read).
            let changed = match listed {
                Some(changed) => changed,
                None => self.changed_since(&since).await?.0,
            };
            let after = token.after.as_deref();
            let batch: Vec<String> = changed
                .into_iter()
                .filter(|id| after.is_none_or(|a| id_order(id, a).is_gt()))
                .take(CHANGED_IDS_PER_PAGE + 1)
                .collect();
            let more = batch.len() > CHANGED_IDS_PER_PAGE;
            let batch = batch.get(..CHANGED_IDS_PER_PAGE.min(batch.len())).unwrap_or_default();
            out.page = self.fetch_many(batch).await?;
            let last = batch.last().cloned();
            match more {
                true => Some(ChangeToken { page: following(token.page)?, latest: token.latest.clone(), after: last }),
                false => None,
            }
        };
        match next {
            Some(next) => out.page.next = serde_json::to_string(&next).ok(),
            None => {
                out.state = token.latest.as_deref().and_then(|l| next_state(l, now)).or(Some(state.to_owned()));
            }
        }
        Ok(out)
    }

    /// A permissioned webhook (`POST /api/v1/webhooks`): event-based (`employee.created|updated|deleted`), JSON,
    /// monitoring the fields a sync reads; BambooHR answers its `privateKey` once, in this answer.
    async fn register_webhook(
        &self,
        url: &str,
        _token: Option<&Secret>,
    ) -> Result<Option<super::RegisteredWebhook>, ProviderError> {
        let plan = self.field_plan().await?;
        let monitored: Vec<&str> = plan.fields.iter().copied().filter(|f| *f != "eeid").collect();
        let body = serde_json::json!({
            "name": "IT Hub", "url": url, "format": "json",
            "events": ["employee.created", "employee.updated", "employee.deleted"],
            "monitorFields": monitored, "postFields": {}, "includeCompanyDomain": false,
        });
        let response = self.call(reqwest::Method::POST, "v1/webhooks", |r| r.json(&body)).await?;
        if response.status() == reqwest::StatusCode::FORBIDDEN {
            return Err(ProviderError::Setup(
                "the API key may not make webhooks (or read the fields monitored)".into(),
            ));
        }
        let made: MadeWebhook = json(check(response).await?).await?;
        let id = super::json_text(&made.id).ok_or_else(|| ProviderError::Malformed("the webhook has no id".into()))?;
        let key = made.private_key.filter(|k| !k.is_empty());
        let key = key.ok_or_else(|| ProviderError::Malformed("the webhook's privateKey is missing".into()))?;
        Ok(Some(super::RegisteredWebhook { id, signing_key: Secret::new(key) }))
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), ProviderError> {
        if !plain_id(id) {
            return Err(ProviderError::Malformed("stored webhook id".into()));
        }
        let response = self.call(reqwest::Method::DELETE, &format!("v1/webhooks/{id}"), |r| r).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        check(response).await.map(|_| ())
    }

    /// The field list first (what the account has), then the shared reads; the fields step says which optional
    /// fields are left out, once the reads have found any the key may not read.
    async fn check(&self, today: NaiveDate) -> Vec<super::CheckStep> {
        use super::{CheckOutcome, CheckStep};
        if let Err(error) = self.field_plan().await {
            return vec![
                CheckStep::new("fields", CheckOutcome::Failed, error.to_string()),
                CheckStep::new("list", CheckOutcome::Skipped, "the field list could not be used"),
            ];
        }
        let reads = super::check_reads(self, today).await;
        let plan = self.cached_plan();
        let fields = match plan {
            Some(plan) if plan.skipped.is_empty() => {
                CheckStep::new("fields", CheckOutcome::Passed, format!("all {} fields a sync reads", plan.fields.len()))
            }
            Some(plan) => {
                let skipped: Vec<String> = plan
                    .skipped
                    .iter()
                    .map(|(f, why)| match why {
                        Skipped::NotInDataset => format!("{f} (not in the employee dataset)"),
                        Skipped::NotReadable => format!("{f} (the API key may not read it)"),
                    })
                    .collect();
                CheckStep::new("fields", CheckOutcome::Warning, format!("left out: {}", skipped.join(", ")))
            }
            None => CheckStep::new("fields", CheckOutcome::Failed, "the field list was not read"),
        };
        std::iter::once(fields).chain(reads).collect()
    }

    async fn fetch(&self, hr_id: &str) -> Result<Option<Employee>, ProviderError> {
        let mut page = self.fetch_many(&[hr_id.to_owned()]).await?;
        if let Some(failure) = page.failures.pop() {
            return Err(ProviderError::Malformed(failure.reason));
        }
        Ok(page.records.into_iter().find(|e| e.hr_id == hr_id))
    }

    async fn fetch_many(&self, hr_ids: &[String]) -> Result<RecordPage, ProviderError> {
        let today = Utc::now().date_naive();
        let ids: Vec<&String> = hr_ids.iter().filter(|id| plain_id(id)).collect();
        let mut out = RecordPage::default();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let filter = chunk.iter().map(|id| format!("eeid eq '{id}'")).collect::<Vec<_>>().join(" or ");
            let page = self.dataset_page(&filter, 1, today).await?;
            out.records.extend(page.records);
            out.failures.extend(page.failures);
        }
        Ok(out)
    }
}

/// The page after `page`; a page token at the end of the numbers (one we never gave out) is refused, not wrapped.
fn following(page: u32) -> Result<u32, ProviderError> {
    page.checked_add(1).ok_or_else(|| ProviderError::Malformed("page token".into()))
}

fn page_number(page: Option<&str>) -> Result<u32, ProviderError> {
    match page {
        None => Ok(1),
        Some(raw) => raw.parse().map_err(|_| ProviderError::Malformed("listing page token".into())),
    }
}

/// How far before a full listing the change feed starts, so a change made while it runs is read again.
const START_OVERLAP: chrono::Duration = chrono::Duration::minutes(1);

/// How far BambooHR's clock may be from ours, for deciding that a second is over.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// `changed?since=` is inclusive and has one-second resolution. Asking again from `latest` re-reads the people
/// changed in that second, which is safe (they compare unchanged); asking from the next second could miss a
/// change made later in the same second. So move past `latest` only once that second is surely over on
/// BambooHR's clock.
fn next_state(latest: &str, now: DateTime<Utc>) -> Option<String> {
    let latest = parse_timestamp(latest)?;
    let over = latest.checked_add_signed(CLOCK_SKEW).is_some_and(|surely| now > surely);
    let next = if over { super::later(latest, chrono::Duration::seconds(1)) } else { latest };
    Some(next.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A row of the employee dataset. Values may be strings, numbers or null; a field the key may not read comes
/// back empty and is named in `_restrictedFields`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(default)]
    eeid: Value,
    #[serde(default)]
    first_name: Value,
    #[serde(default)]
    last_name: Value,
    #[serde(default)]
    email: Value,
    #[serde(default)]
    home_email: Value,
    #[serde(default)]
    mobile_phone: Value,
    #[serde(default)]
    address_line_one: Value,
    #[serde(default)]
    address_line_two: Value,
    #[serde(default)]
    city: Value,
    #[serde(default)]
    state: Value,
    #[serde(default)]
    zipcode: Value,
    #[serde(default)]
    country: Value,
    #[serde(default)]
    job_information_job_title: Value,
    #[serde(default)]
    job_information_department: Value,
    #[serde(default)]
    supervisor_eid: Value,
    #[serde(default)]
    job_information_reports_to: Value,
    #[serde(default)]
    status: Value,
    #[serde(default)]
    employment_status: Value,
    #[serde(default)]
    hire_date: Value,
    #[serde(default)]
    termination_date: Value,
}

use serde_json::Value;

/// A value as text: strings trimmed, numbers written out; blank, null and anything else mean "no value".
fn text(value: Value) -> Option<String> {
    super::json_text(&value)
}

/// Dates are `yyyy-mm-dd`; an unset date comes back as `0000-00-00`, an empty string or null. Anything else is
/// a record we cannot map.
fn date(value: Value, field: &'static str) -> Result<Option<NaiveDate>, String> {
    match text(value) {
        None => Ok(None),
        Some(v) if v == "0000-00-00" => Ok(None),
        Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d").map(Some).map_err(|_| format!("{field} is not a date")),
    }
}

/// Why a row could not be mapped; the HR id when the row had one.
#[derive(Debug)]
pub struct Unmapped {
    hr_id: Option<String>,
    reason: String,
}

impl Unmapped {
    fn or_row(self, page: u32, row: usize) -> RecordFailure {
        let hr_id = self.hr_id.unwrap_or_else(|| format!("page {page} row {}", row.saturating_add(1)));
        RecordFailure { hr_id, reason: self.reason }
    }
}

impl Record {
    pub fn into_employee(self, today: NaiveDate) -> Result<Employee, Unmapped> {
        let hr_id = text(self.eeid);
        let fail = |reason: String| Unmapped { hr_id: hr_id.clone(), reason };
        let Some(id) = hr_id.clone() else {
            return Err(fail("the row has no eeid".into()));
        };
        let start_date = date(self.hire_date, "hireDate").map_err(fail)?;
        let end_date = date(self.termination_date, "terminationDate").map_err(fail)?;
        let history = text(self.employment_status).unwrap_or_default().to_ascii_lowercase();
        let inactive = text(self.status).is_some_and(|s| s.eq_ignore_ascii_case("inactive"));
        let pre_hire = start_date.is_some_and(|d| d > today);
        // Inactive with a hire date of today or later: a pre-hire BambooHR has not switched on yet.
        let not_started =
            inactive && start_date.is_some_and(|d| d >= today) && end_date.is_none() && history != "terminated";
        let terminated_undated = history == "terminated" && end_date.is_none();
        let status = if not_started {
            EmploymentStatus::Pending
        } else if inactive || terminated_undated || end_date.is_some_and(|d| d < today) {
            EmploymentStatus::Terminated
        } else if pre_hire {
            EmploymentStatus::Pending
        } else if history.contains("leave") {
            EmploymentStatus::OnLeave
        } else {
            EmploymentStatus::Active
        };
        let address = Address {
            line1: text(self.address_line_one),
            line2: text(self.address_line_two),
            city: text(self.city),
            region: text(self.state),
            postal_code: text(self.zipcode),
            country: text(self.country),
        };
        Ok(Employee {
            hr_id: id,
            first_name: text(self.first_name).unwrap_or_default(),
            last_name: text(self.last_name).unwrap_or_default(),
            work_email: text(self.email),
            personal_email: text(self.home_email),
            phone: text(self.mobile_phone),
            home_address: (!address.is_empty()).then_some(address),
            title: text(self.job_information_job_title),
            department: text(self.job_information_department),
            manager_hr_id: text(self.supervisor_eid),
            manager_name: text(self.job_information_reports_to),
            status,
            start_date,
            end_date,
            withheld: Vec::new(),
        })
    }
}

/// Event-based (`employee.created|updated|deleted`) and legacy field-based (`employees: [...]`) payloads.
#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Event {
        #[serde(default, rename = "type")]
        kind: String,
        data: EventData,
    },
    Fields {
        employees: Vec<FieldEmployee>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    employee_id: serde_json::Value,
}

#[derive(Deserialize)]
struct FieldEmployee {
    id: serde_json::Value,
    #[serde(default)]
    action: String,
}

/// Checks `X-BambooHR-Signature` (hex HMAC-SHA256 of the raw body followed by `X-BambooHR-Timestamp`) against
/// each secret in constant time, refuses timestamps outside the tolerance, then reads the employee ids.
pub fn verify_webhook(
    secrets: &[String],
    headers: &::http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookDelivery, WebhookError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    let signature = hex::decode(signature).map_err(|_| WebhookError::BadSignature)?;
    if !any_secret_signs(secrets, Algorithm::HmacSha256, &[body, timestamp.as_bytes()], &signature) {
        return Err(WebhookError::BadSignature);
    }
    let sent_at = parse_timestamp(timestamp).ok_or(WebhookError::BadTimestamp)?;
    let apart = now.signed_duration_since(sent_at).num_seconds().checked_abs().unwrap_or(i64::MAX);
    if apart > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookError::Stale(WEBHOOK_TOLERANCE_SECS));
    }
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|_| WebhookError::BadPayload("expected data.employeeId or employees[].id".into()))?;
    let raw_ids: Vec<(serde_json::Value, bool)> = match payload {
        Payload::Event { kind, data } => vec![(data.employee_id, kind.ends_with(".deleted"))],
        Payload::Fields { employees } => {
            employees.into_iter().map(|e| (e.id, e.action.eq_ignore_ascii_case("deleted"))).collect()
        }
    };
    let named: Vec<(String, bool)> =
        raw_ids.into_iter().filter_map(|(id, deleted)| Some((text(id)?, deleted))).collect();
    if named.is_empty() {
        return Err(WebhookError::BadPayload("names no employee".into()));
    }
    let removed = named.iter().filter(|(_, deleted)| *deleted).map(|(id, _)| id.clone()).collect();
    let hr_ids = named.into_iter().map(|(id, _)| id).collect();
    // BambooHR deliveries carry no event id; a redelivery repeats the body byte for byte.
    let delivery_key = hex::encode(Sha256::digest(body));
    Ok(WebhookDelivery { delivery_key, hr_ids, removed })
}

/// BambooHR documents no format for the timestamp header: Unix seconds and ISO 8601 are both seen.
fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(secs) = raw.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0);
    }
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_at_the_end_of_the_numbers_is_refused_not_wrapped() {
        assert_eq!(following(1).ok(), Some(2));
        assert!(matches!(following(u32::MAX), Err(ProviderError::Malformed(_))));
    }
    use ::http::{HeaderMap, HeaderValue};
    use hmac::{Hmac, Mac};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn record(mut json: serde_json::Value) -> Employee {
        json["eeid"] = "7".into();
        serde_json::from_value::<Record>(json).unwrap().into_employee(day("2026-06-01")).unwrap()
    }

    /// A connection's secret as stored, holding these credentials, never prints them.
    #[cfg(feature = "secrets")]
    #[test]
    fn a_connection_secret_never_shows_its_key_in_debug_output() {
        let credentials =
            super::super::Credentials::BambooHr(Credentials { api_key: "api-key-123".into(), webhook_secret: None });
        let secret = crate::secrets::ConnectionSecret {
            credentials,
            webhook_secrets: vec!["whsec-9".into()],
            refresh_token: None,
            registered_webhook: None,
        };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("api-key-123") && !shown.contains("whsec-9"), "{shown}");
    }

    #[test]
    fn maps_a_dataset_row() {
        let e = record(serde_json::json!({
            "firstName": "Ava", "lastName": "Nguyen", "email": "ava@corp.example",
            "homeEmail": "ava@home.example", "mobilePhone": "555-0100", "addressLineOne": "1 Main St",
            "addressLineTwo": "", "city": "Provo", "state": "UT", "zipcode": 84601, "country": "United States",
            "jobInformationJobTitle": "Engineering Manager", "jobInformationDepartment": "Engineering",
            "supervisorEid": 100, "jobInformationReportsTo": "Smith, Jane",
            "status": "Active", "employmentStatus": "Full-Time", "hireDate": "2021-03-01",
            "terminationDate": "0000-00-00", "_restrictedFields": []
        }));
        assert_eq!((e.hr_id.as_str(), e.first_name.as_str()), ("7", "Ava"));
        assert_eq!(e.personal_email.as_deref(), Some("ava@home.example"));
        assert_eq!(e.title.as_deref(), Some("Engineering Manager"));
        assert_eq!(e.manager_name.as_deref(), Some("Smith, Jane"));
        assert_eq!(e.manager_hr_id.as_deref(), Some("100"), "numbers are read as text");
        let address = e.home_address.unwrap();
        assert_eq!((address.line2, address.region.as_deref()), (None, Some("UT")));
        assert_eq!(address.postal_code.as_deref(), Some("84601"));
        assert_eq!(e.status, EmploymentStatus::Active);
        assert_eq!(e.start_date, Some(day("2021-03-01")));
        assert_eq!(e.end_date, None, "0000-00-00 means no termination");
    }

    #[test]
    fn a_row_that_cannot_be_mapped_names_the_person_and_the_field_but_no_value() {
        let row = serde_json::json!({"eeid": "9", "firstName": "Ava", "hireDate": "31/02/2021"});
        let failure = serde_json::from_value::<Record>(row).unwrap().into_employee(day("2026-06-01")).unwrap_err();
        let failure = failure.or_row(1, 0);
        assert_eq!((failure.hr_id.as_str(), failure.reason.as_str()), ("9", "hireDate is not a date"));
        let nameless = serde_json::from_value::<Record>(serde_json::json!({"firstName": "Ava"})).unwrap();
        let failure = nameless.into_employee(day("2026-06-01")).unwrap_err().or_row(2, 4);
        assert_eq!(failure.hr_id, "page 2 row 5");
    }

    #[test]
    fn state_moves_past_latest_only_when_that_second_is_over() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(next_state("2026-06-01T11:59:30+00:00", now).as_deref(), Some("2026-06-01T11:59:30Z"));
        assert_eq!(next_state("2026-06-01T11:50:00+00:00", now).as_deref(), Some("2026-06-01T11:50:01Z"));
        assert_eq!(next_state("not a time", now), None);
    }

    #[test]
    fn statuses_follow_dates_and_history() {
        let status = |j: serde_json::Value| record(j).status;
        use EmploymentStatus::*;
        assert_eq!(status(serde_json::json!({"status": "Active", "hireDate": "2026-07-01"})), Pending);
        assert_eq!(status(serde_json::json!({"status": "Inactive"})), Terminated);
        assert_eq!(status(serde_json::json!({"status": "Inactive", "hireDate": "2026-07-01"})), Pending, "a pre-hire");
        assert_eq!(
            status(serde_json::json!({"status": "Inactive", "hireDate": "2026-06-01"})),
            Pending,
            "starts today"
        );
        let gone_on_day_one = serde_json::json!({"status": "Inactive", "hireDate": "2026-06-01",
            "employmentStatus": "Terminated", "terminationDate": "2026-06-01"});
        assert_eq!(status(gone_on_day_one), Terminated, "hired and let go the same day");
        assert_eq!(status(serde_json::json!({"status": "Active", "terminationDate": "2026-05-31"})), Terminated);
        assert_eq!(
            status(serde_json::json!({"employmentStatus": "Terminated", "terminationDate": "2026-06-30"})),
            Active,
            "a termination dated ahead is still employed until then"
        );
        assert_eq!(status(serde_json::json!({"employmentStatus": "Terminated"})), Terminated);
        assert_eq!(status(serde_json::json!({"employmentStatus": "Leave of Absence"})), OnLeave);
        assert_eq!(status(serde_json::json!({"terminationDate": ""})), Active);
    }

    const FIXTURE_BODY: &str = r#"{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}"#;

    fn signed(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// The vector from the providers reference: key `test-private-key`, timestamp 1769884920.
    const FIXTURE_SIG: &str = "8a9bbff957766dd991561e6fad13cafa4c3a479a39dc86c5ab8089351a2b117a";

    #[test]
    fn accepts_the_reference_vector() {
        let secrets = vec!["test-private-key".to_owned()];
        let d = verify_webhook(&secrets, &signed("1769884920", FIXTURE_SIG), FIXTURE_BODY.as_bytes(), at(1769884920))
            .unwrap();
        assert_eq!(d.hr_ids, vec!["67890"]);
    }

    #[test]
    fn either_secret_passes_during_rotation() {
        let secrets = vec!["new-secret".to_owned(), "test-private-key".to_owned()];
        let headers = signed("1769884920", FIXTURE_SIG);
        assert!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), at(1769884920)).is_ok());
    }

    #[test]
    fn refuses_tampering_wrong_keys_and_stale_times() {
        let secrets = vec!["test-private-key".to_owned()];
        let now = at(1769884920);
        let headers = signed("1769884920", FIXTURE_SIG);
        let tampered = FIXTURE_BODY.replace("67890", "67891");
        assert_eq!(verify_webhook(&secrets, &headers, tampered.as_bytes(), now), Err(WebhookError::BadSignature));
        let other = vec!["another-key".to_owned()];
        assert_eq!(verify_webhook(&other, &headers, FIXTURE_BODY.as_bytes(), now), Err(WebhookError::BadSignature));
        assert_eq!(verify_webhook(&[], &headers, FIXTURE_BODY.as_bytes(), now), Err(WebhookError::BadSignature));
        let later = at(1769884920 + 301);
        assert_eq!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), later), Err(WebhookError::Stale(300)));
        let earlier = at(1769884920 - 301);
        assert_eq!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), earlier), Err(WebhookError::Stale(300)));
        assert!(verify_webhook(&secrets, &headers, FIXTURE_BODY.as_bytes(), at(1769884920 + 299)).is_ok());
    }

    #[test]
    fn missing_headers_are_named() {
        let secrets = vec!["k".to_owned()];
        let mut h = HeaderMap::new();
        assert_eq!(verify_webhook(&secrets, &h, b"{}", at(0)), Err(WebhookError::MissingHeader(TIMESTAMP_HEADER)));
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_static("0"));
        assert_eq!(verify_webhook(&secrets, &h, b"{}", at(0)), Err(WebhookError::MissingHeader(SIGNATURE_HEADER)));
    }

    #[test]
    fn reads_field_based_payloads_and_iso_timestamps() {
        let body = br#"{"employees":[{"action":"Updated","changedFields":["First Name"],"fields":{"First Name":"Bryony"},"id":"12345","timestamp":"2026-01-31T18:42:00+0000"},{"action":"Created","changedFields":[],"fields":{},"id":12346}]}"#;
        let ts = "2026-01-31T18:42:00+00:00";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(body);
        mac.update(ts.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let now = DateTime::parse_from_rfc3339(ts).unwrap().with_timezone(&Utc);
        let d = verify_webhook(&["k".to_owned()], &signed(ts, &sig), body, now).unwrap();
        assert_eq!(d.hr_ids, vec!["12345", "12346"]);
    }

    #[test]
    fn a_signed_body_that_names_nobody_is_refused() {
        let body = br#"{"type":"company.updated","data":{}}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(body);
        mac.update(b"100");
        let sig = hex::encode(mac.finalize().into_bytes());
        let err = verify_webhook(&["k".to_owned()], &signed("100", &sig), body, at(100)).unwrap_err();
        assert!(matches!(err, WebhookError::BadPayload(_)));
    }
}
