//! Connections: each HR system's status and runs, "Sync now", previews, held runs to approve or reject, adding a
//! connection with the provider's own form, editing it with the same form, and rotating its webhook secret.

use super::layout::{self, alert, badge, csrf, maybe_time, time, words};
use super::{Admin, Failure, Page, see};
use crate::AdminApi;
use crate::connections::public_url;
use axum::extract::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ithub::domain::{EmployeeId, RunId};
use ithub::providers::{NewConnection, ProviderKind};
use ithub::service::{CreatedConnection, SyncOptions};
use ithub::store::{Connection, RunStatus, SyncRun};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A form that shows a secret once (connecting, rotating) carries a one-time nonce: sent again (a reload, a
/// double click), it is refused instead of making a second connection or a second rotation, which would retire the
/// secret the HR system was just given.
fn nonce() -> Markup {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    html! { input type="hidden" name="nonce" value=(hex::encode(bytes)); }
}

/// `true` the first time a nonce is sent (an hour's memory); `false` for a repeat.
async fn first_time(api: &AdminApi, admin: &Admin, nonce: Option<&str>) -> Result<bool, Failure> {
    let Some(nonce) = nonce.filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return Err(
            crate::ApiError::BadRequest("this form is missing its one-time token; reload the page".into()).into()
        );
    };
    let key = format!("console:{}:{nonce}", admin.caller.tenant);
    let claim = api.service.store.claim_delivery(&key, chrono::Duration::hours(1), Utc::now()).await?;
    Ok(claim == ithub::store::DeliveryClaim::Claimed)
}

fn repeated(admin: &Admin, what: &str) -> Response {
    let content = html! {
        p.alert role="alert" { "This form was already sent: " (what) " once. Its secret was shown then and is not shown again; "
            "if it was not copied, rotate the webhook secret on the connection's page." }
        p { a href="/console/connections" { "Back to connections" } }
    };
    (StatusCode::CONFLICT, layout::page(admin, "/console/connections", "Already done", content)).into_response()
}

fn kind_of(raw: &str) -> Option<ProviderKind> {
    ProviderKind::ALL.iter().copied().find(|k| k.name() == raw)
}

/// What to set up on the HR system's side, by how the provider reaches IT Hub.
fn hr_side(kind: ProviderKind) -> Markup {
    let caps = kind.capabilities();
    html! {
        @if caps.push {
            p { "Give your identity provider the SCIM base URL and the bearer token below. It pushes people to IT Hub; nothing is polled." }
        } @else if caps.webhooks {
            p { "In " (kind.display_name()) ", register the webhook URL below for employee changes and give it the webhook secret to sign with. "
                "IT Hub also polls " (kind.display_name()) " on its schedule, so nothing is missed if a webhook is lost." }
        } @else {
            p { (kind.display_name()) " sends no webhooks IT Hub can use: it is polled on the schedule. Nothing to set up on its side beyond the credentials." }
        }
    }
}

fn status_line(c: &Connection) -> Markup {
    let now = Utc::now();
    html! {
        @if !c.held_runs.is_empty() {
            span.badge.held { "waiting for approval" }
        } @else if c.busy(now) {
            span.badge.running { "syncing" }
        } @else if c.last_polled_at.is_some() || c.last_full_at.is_some() {
            span.badge.ok { "connected" }
        } @else {
            span.badge { "not synced yet" }
        }
    }
}

pub async fn list(State(api): State<AdminApi>, Extension(admin): Extension<Admin>) -> Page {
    let page = api.service.store.page_connections(&admin.caller.tenant, crate::MAX_LIMIT, None).await?;
    let content = html! {
        @if page.items.is_empty() {
            div.empty {
                h2 { "Connect your HR system" }
                p { "IT Hub reads your employees from your HR system: hires open onboarding tasks, terminations open offboarding tasks." }
                p { a.button href="/console/connections/new" { "Connect an HR system" } }
            }
        } @else {
            table {
                caption.visually-hidden { "HR connections" }
                thead { tr { th scope="col" { "HR system" } th scope="col" { "Status" } th scope="col" { "Active people" } th scope="col" { "Last run" } th scope="col" { "Last full sync" } } }
                tbody {
                    @for c in &page.items {
                        tr {
                            th scope="row" { a href={ "/console/connections/" (c.id) } { (c.provider.kind().display_name()) } " " code.id { (c.id) } }
                            td { (status_line(c)) }
                            td { (c.active_people) }
                            td { (maybe_time(c.last_polled_at.as_ref())) }
                            td { (maybe_time(c.last_full_at.as_ref())) }
                        }
                    }
                }
            }
            p { a.button href="/console/connections/new" { "Connect another HR system" } }
        }
    };
    Ok(layout::page(&admin, "/console/connections", "Connections", content))
}

/// One field of a provider's form, read from the API's own schema for that provider (the committed OpenAPI
/// document), so the form asks for what the API takes.
struct Field {
    /// `settings.company_domain`, `credentials.api_key`, `settings.report.owner`.
    name: String,
    label: String,
    help: Option<String>,
    required: bool,
    integer: bool,
    secret: bool,
    multiline: bool,
}

fn document() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(crate::routes::OPENAPI).unwrap_or(Value::Null))
}

fn schema_name(kind: ProviderKind, part: &str) -> Option<String> {
    let variants = document()["components"]["schemas"]["NewConnection"]["oneOf"].as_array()?;
    let variant = variants.iter().find(|v| v["properties"]["provider"]["enum"][0] == kind.name())?;
    let reference = variant["properties"][part]["$ref"].as_str()?;
    reference.rsplit('/').next().map(str::to_owned)
}

fn label_of(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    let label = format!("{first}{}", chars.as_str());
    label.replace(" url", " URL").replace(" uuid", " UUID").replace(" id", " ID").replace("Api ", "API ")
}

fn fields_of(prefix: &str, schema: &Value, parent_required: bool, out: &mut Vec<Field>) {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else { return };
    for (name, property) in properties {
        let full = format!("{prefix}.{name}");
        // An optional object (`oneOf: [null, {…}]`): its fields, each optional unless the object is given.
        if let Some(object) = property["oneOf"].as_array().and_then(|o| o.iter().find(|s| s["type"] == "object")) {
            fields_of(&full, object, false, out);
            continue;
        }
        let types: Vec<&str> = match &property["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let max = property["maxLength"].as_u64().unwrap_or(0);
        out.push(Field {
            label: label_of(name),
            help: property["description"].as_str().map(|d| d.replace('\n', " ").replace('`', "")),
            required: parent_required && required.contains(&name.as_str()),
            integer: types.contains(&"integer"),
            secret: prefix == "credentials",
            multiline: max > 4096,
            name: full,
        });
    }
}

fn form_fields(kind: ProviderKind) -> Vec<Field> {
    let schemas = &document()["components"]["schemas"];
    let mut fields = Vec::new();
    for part in ["settings", "credentials", "schedule"] {
        if let Some(name) = schema_name(kind, part) {
            let schema = &schemas[name.as_str()];
            // Credentials of several forms (`oneOf`): every form's fields, none required on its own.
            match schema["oneOf"].as_array() {
                Some(forms) => forms.iter().for_each(|form| fields_of(part, form, false, &mut fields)),
                None => fields_of(part, schema, true, &mut fields),
            }
        }
    }
    fields
}

/// A provider's form: connecting it, or, given the connection, editing it (the credentials not required, left
/// empty to keep them; a webhook secret the HR system issues is pasted by rotating instead).
fn provider_form(
    admin: &Admin,
    kind: ProviderKind,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
    editing: Option<&ithub::domain::ConnectionId>,
) -> Markup {
    let mut fields = form_fields(kind);
    if editing.is_some() {
        fields.retain(|f| f.name != "credentials.webhook_secret");
        fields.iter_mut().filter(|f| f.secret).for_each(|f| f.required = false);
    }
    let group = |part: &str| fields.iter().filter(move |f| f.name.starts_with(&format!("{part}."))).collect::<Vec<_>>();
    let render = |f: &Field| {
        let id = f.name.replace('.', "-");
        let help_id = format!("{id}-help");
        let error = errors.get(&f.name);
        let value = if f.secret { "" } else { values.get(&f.name).map(String::as_str).unwrap_or("") };
        html! {
            div.field {
                label for=(id) { (f.label) @if f.required { " (required)" } }
                @if f.multiline {
                    textarea id=(id) name=(f.name) rows="4" required[f.required] aria-describedby=(help_id) aria-invalid=[error.map(|_| "true")] { (value) }
                } @else {
                    input id=(id) name=(f.name) type=(if f.secret { "password" } else if f.integer { "number" } else { "text" })
                        value=(value) required[f.required] autocomplete="off" aria-describedby=(help_id)
                        aria-invalid=[error.map(|_| "true")];
                }
                p id=(help_id) .help {
                    @if let Some(error) = error { span.error { (error) " " } }
                    (f.help.as_deref().unwrap_or(""))
                }
            }
        }
    };
    if let Some(id) = editing {
        return html! {
            form.card method="post" action={ "/console/connections/" (id) "/edit" } {
                (csrf(admin))
                fieldset { legend { "Where " (kind.display_name()) " is" } @for f in group("settings") { (render(f)) } @if group("settings").is_empty() { p.help { "Nothing to set." } } }
                fieldset {
                    legend { "New credentials" }
                    p.help { "Leave these empty to keep the current credentials; to replace them (a rotated API key, say), fill in every one." }
                    @for f in group("credentials") { (render(f)) }
                }
                fieldset { legend { "Schedule" } p.help { "A field left empty goes back to its default." } @for f in group("schedule") { (render(f)) } }
                button type="submit" { "Save changes" }
            }
        };
    }
    html! {
        form.card method="post" action="/console/connections" {
            (csrf(admin))
            (nonce())
            input type="hidden" name="provider" value=(kind.name());
            fieldset { legend { "Where " (kind.display_name()) " is" } @for f in group("settings") { (render(f)) } @if group("settings").is_empty() { p.help { "Nothing to set." } } }
            fieldset { legend { "Credentials" } @for f in group("credentials") { (render(f)) } @if group("credentials").is_empty() { p.help { "None: IT Hub issues a token when the connection is made." } } }
            fieldset { legend { "Schedule (optional)" } @for f in group("schedule") { (render(f)) } }
            button type="submit" { "Connect " (kind.display_name()) }
        }
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    provider: Option<String>,
}

pub async fn new(Extension(admin): Extension<Admin>, Query(query): Query<NewQuery>) -> Page {
    let kind = query.provider.as_deref().and_then(kind_of);
    let content = html! {
        nav aria-label="HR systems" {
            ul.providers {
                @for k in ProviderKind::ALL {
                    li { a href={ "/console/connections/new?provider=" (k.name()) } aria-current=[(Some(*k) == kind).then_some("page")] { (k.display_name()) } }
                }
            }
        }
        @match kind {
            Some(kind) => { h2 { (kind.display_name()) } (hr_side(kind)) (provider_form(&admin, kind, &BTreeMap::new(), &BTreeMap::new(), None)) }
            None => { p { "Choose your HR system." } }
        }
    };
    Ok(layout::page(&admin, "/console/connections", "Connect an HR system", content))
}

/// The form's fields as the API's connection request: `settings.x` under `settings`, numbers as numbers, empty
/// fields left out (an optional object left wholly empty is left out too).
fn request_of(kind: ProviderKind, values: &BTreeMap<String, String>) -> Value {
    let fields = form_fields(kind);
    let mut root = Map::new();
    root.insert("provider".into(), Value::String(kind.name().into()));
    for part in ["settings", "credentials"] {
        root.insert(part.into(), Value::Object(Map::new()));
    }
    for field in &fields {
        let Some(raw) = values.get(&field.name).map(|v| v.trim()).filter(|v| !v.is_empty()) else { continue };
        let value = if field.integer {
            raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(raw.to_owned()))
        } else {
            Value::String(raw.replace("\r\n", "\n"))
        };
        insert(&mut root, &field.name.split('.').collect::<Vec<_>>(), value);
    }
    Value::Object(root)
}

/// Puts `value` at `path` (`settings`, `report`, `owner`), making the objects on the way.
fn insert(node: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            node.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            if let Value::Object(child) = node.entry((*first).to_owned()).or_insert_with(|| Value::Object(Map::new())) {
                insert(child, rest, value);
            }
        }
    }
}

/// A connection check's report, step by step.
fn check_report(check: &ithub::service::ConnectionCheck) -> Markup {
    use ithub::providers::CheckOutcome;
    html! {
        section.check aria-labelledby="check-heading" {
            h2 #check-heading { "Connection check" }
            p role="status" { @if check.ok { "Every call a sync makes works." } @else { "Something a sync needs does not work yet: see below." } " Checked " (time(&check.checked_at)) "." }
            table {
                caption.visually-hidden { "The connection check, step by step" }
                thead { tr { th scope="col" { "Step" } th scope="col" { "Result" } th scope="col" { "What was found" } } }
                tbody {
                    @for step in &check.steps {
                        tr data-step=(step.step) {
                            th scope="row" { (step.step.replace('_', " ")) }
                            td { @match step.outcome {
                                CheckOutcome::Passed => span.badge.ok { "passed" },
                                CheckOutcome::Warning => span.badge.warn { "warning" },
                                CheckOutcome::Failed => span.badge.bad { "failed" },
                                CheckOutcome::Skipped => span.badge { "skipped" },
                            } }
                            td { (step.detail) }
                        }
                    }
                }
            }
        }
    }
}

fn created_page(
    api: &AdminApi,
    admin: &Admin,
    headers: &HeaderMap,
    made: &CreatedConnection,
    rotated: bool,
    check: Option<&ithub::service::ConnectionCheck>,
) -> Markup {
    let kind = made.connection.provider.kind();
    let base = public_url(api, headers);
    let webhook_url = format!("{base}/webhooks/{}", made.connection.id);
    let title = if rotated { "New webhook secret" } else { "Connected" };
    let content = html! {
        p.notice role="status" {
            @if rotated { "A new webhook secret is made. The previous one keeps working until the next rotation, so switch " (kind.display_name()) " over now." }
            @else { (kind.display_name()) " is connected. Its first sync has been asked for." }
        }
        p.alert { "Copy these now: the secret" @if made.scim_token.is_some() { " and the token" } " are not shown again." }
        (hr_side(kind))
        dl.fields {
            @if kind.capabilities().push {
                dt { "SCIM base URL" } dd { code { (base) "/scim/v2" } }
                @if let Some(token) = &made.scim_token { dt { "SCIM bearer token" } dd { code.secret { (token) } } }
            } @else {
                dt { "Webhook URL" } dd { code { (webhook_url) } }
            }
            @if let Some(secret) = &made.webhook_secret { dt { "Webhook secret" } dd { code.secret { (secret) } } }
        }
        @if let Some(check) = check { (check_report(check)) }
        p { a.button href={ "/console/connections/" (made.connection.id) } { "Go to the connection" } }
    };
    layout::page(admin, "/console/connections", title, content)
}

pub async fn create(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, Failure> {
    let Some(kind) = values.get("provider").and_then(|p| kind_of(p)) else {
        return Err(crate::ApiError::BadRequest("choose an HR system".into()).into());
    };
    if !first_time(&api, &admin, values.get("nonce").map(String::as_str)).await? {
        return Ok(repeated(&admin, "the connection was made"));
    }
    let request = request_of(kind, &values);
    let refused = match serde_json::from_value::<NewConnection>(request) {
        Err(error) => (BTreeMap::new(), ithub::validation::public_reason(&error.to_string())),
        Ok(new) => match api.service.create_connection(&api.secrets, api.egress, &admin.caller.acting(), new).await {
            Ok(made) => {
                // The first import, as "Sync now" would start it.
                if kind.capabilities().full_listing {
                    let _ = api
                        .service
                        .request_sync(
                            &api.runs,
                            &admin.caller.acting(),
                            made.connection.id.as_str(),
                            SyncOptions::default(),
                        )
                        .await;
                }
                let acting = admin.caller.acting();
                let check =
                    crate::connections::run_check(&api, &headers, &acting, made.connection.id.as_str()).await.ok();
                return Ok(created_page(&api, &admin, &headers, &made, false, check.as_ref()).into_response());
            }
            Err(ithub::service::ServiceError::InvalidFields(errors)) => {
                let by_field = errors.iter().map(|e| (e.field.clone(), e.reason.clone())).collect();
                (by_field, "Some fields are not valid: see below.".to_owned())
            }
            Err(error) => {
                let (_, message) = Failure::from(error).message();
                (BTreeMap::new(), message)
            }
        },
    };
    let (errors, message) = refused;
    let content = html! {
        h2 { (kind.display_name()) }
        (alert(Some(&message)))
        (hr_side(kind))
        (provider_form(&admin, kind, &values, &errors, None))
    };
    let page = layout::page(&admin, "/console/connections", "Connect an HR system", content);
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

fn counts(run: &SyncRun) -> Markup {
    let c = &run.counts;
    html! {
        dl.counts {
            dt { "Read" } dd { (c.seen) }
            dt { "Imported" } dd { (c.imported) }
            dt { "Hired" } dd { (c.hired) }
            dt { "Updated" } dd { (c.updated) }
            dt { "Terminated" } dd { (c.terminated) }
            dt { "Removed" } dd { (c.removed) }
            dt { "Failed" } dd { (c.failed) }
            dt { "Applied" } dd { (run.applied) " of " (run.queued) " queued" }
        }
    }
}

fn run_path(run: &SyncRun) -> String {
    format!("/console/connections/{}/runs/{}", run.connection_id, run.run_id)
}

/// A run's progress, inside a live region that stays in place: the inside is polled by htmx every two seconds
/// until the run is finished or held.
fn progress(run: &SyncRun) -> Markup {
    html! { div.progress role="status" aria-live="polite" { (progress_inner(run)) } }
}

fn progress_inner(run: &SyncRun) -> Markup {
    let finished = run.status.is_finished() || run.status == RunStatus::Held;
    html! {
        div id={ "run-" (run.run_id) } data-status=(words(&run.status))
            hx-get=[(!finished).then(|| format!("{}/progress", run_path(run)))] hx-trigger=[(!finished).then_some("every 2s")] hx-swap="outerHTML" {
            p {
                (badge(&run.status))
                @if !finished { " · " (words(&run.checkpoint.phase)) ", " (run.checkpoint.pages) " pages read" }
                @if let Some(at) = &run.resumes_at { " · the HR system asked to wait; resumes " (time(at)) }
            }
            @if !finished && run.queued > 0 {
                progress max=(run.queued) value=(run.applied.min(run.queued)) aria-label="Changes applied" { (run.applied) " of " (run.queued) }
            }
            (counts(run))
            @if let Some(error) = &run.error { p.alert { "Error: " (error) } }
        }
    }
}

async fn held_panel(api: &AdminApi, admin: &Admin, run: &SyncRun) -> Result<Markup, Failure> {
    let tenant = &admin.caller.tenant;
    let pending = api.service.store.page_pending(tenant, &run.run_id, crate::MAX_LIMIT, None).await?;
    let ids: Vec<EmployeeId> = pending.items.iter().map(|p| p.employee_id.clone()).collect();
    let people = api.service.store.batch_get_employees(tenant, &ids).await?;
    let path = run_path(run);
    Ok(html! {
        section.held aria-labelledby={ "held-" (run.run_id) } {
            h3 id={ "held-" (run.run_id) } { "Held: " (run.pending) " people would be offboarded" }
            p {
                "This run found more terminations and removals than the safeguard allows without you ("
                (run.threshold) "). Its hires and updates are applied; these wait for your decision."
            }
            ul.who {
                @for p in &pending.items {
                    li {
                        @match people.get(&p.employee_id) {
                            Some(e) => { (super::employees::link(&e.id, &e.name())) }
                            None => { "HR id " (p.hr_id) }
                        }
                        " — " @if p.record.is_some() { "terminated in HR" } @else { "no longer in the HR system" }
                    }
                }
            }
            @if pending.next_cursor.is_some() { p.help { "And more: the first " (pending.items.len()) " are shown." } }
            div.actions {
                form method="post" action={ (path) "/approve" } {
                    (csrf(admin))
                    button.danger type="submit" { "Approve: offboard them" }
                }
                form method="post" action={ (path) "/reject" } {
                    (csrf(admin))
                    button.secondary type="submit" { "Reject: keep them" }
                }
            }
        }
    })
}

async fn detail_page(api: &AdminApi, admin: &Admin, headers: &HeaderMap, id: &str, message: Option<&str>) -> Page {
    let c = api.service.connection(&admin.caller.acting(), id).await?;
    let kind = c.provider.kind();
    let runs = api.service.store.list_runs(&admin.caller.tenant, &c.id, 20, None).await?;
    // Every held run, however many runs came after it.
    let mut held = Vec::new();
    for run_id in &c.held_runs {
        if let Some(run) = api.service.store.get_run(&admin.caller.tenant, &c.id, run_id).await?
            && run.status == RunStatus::Held
        {
            held.push(held_panel(api, admin, &run).await?);
        }
    }
    let base = public_url(api, headers);
    let content = html! {
        (alert(message))
        p.status { (status_line(&c)) " · " (c.active_people) " active people · last full sync " (maybe_time(c.last_full_at.as_ref())) }
        @for panel in &held { (panel) }
        section aria-labelledby="sync-heading" {
            h2 #sync-heading { "Sync" }
            @if kind.capabilities().full_listing {
                div.actions {
                    @for (label, full, dry) in [("Sync now", false, false), ("Full sync", true, false), ("Preview a full sync", true, true)] {
                        form method="post" action={ "/console/connections/" (c.id) "/sync" } {
                            (csrf(admin))
                            @if full { input type="hidden" name="full" value="yes"; }
                            @if dry { input type="hidden" name="dry_run" value="yes"; }
                            button.secondary[dry] type="submit" { (label) }
                        }
                    }
                }
                p.help { "A preview reads everyone and records what a full sync would do, changing nothing." }
            } @else {
                p { (kind.display_name()) " pushes changes to IT Hub; there is nothing to poll." }
            }
        }
        section aria-labelledby="runs-heading" {
            h2 #runs-heading { "Runs" }
            @if runs.items.is_empty() {
                p.empty { "No runs yet. " @if kind.capabilities().full_listing { "Press “Sync now” for the first import." } }
            } @else {
                table {
                    caption.visually-hidden { "Sync runs, newest first" }
                    thead { tr { th scope="col" { "Asked for" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Read" } th scope="col" { "Hired" } th scope="col" { "Updated" } th scope="col" { "Terminated" } th scope="col" { "Removed" } th scope="col" { "Failed" } th scope="col" { "Error" } } }
                    tbody {
                        @for r in &runs.items {
                            tr {
                                th scope="row" { a href=(run_path(r)) { (time(&r.requested_at)) } }
                                td { (words(&r.mode)) @if r.dry_run { " preview" } " · " (words(&r.trigger)) }
                                td { (badge(&r.status)) }
                                td { (r.counts.seen) } td { (r.counts.hired) } td { (r.counts.updated) }
                                td { (r.counts.terminated) } td { (r.counts.removed) } td { (r.counts.failed) }
                                td { (r.error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="setup-heading" {
            h2 #setup-heading { "Set up on " (kind.display_name()) "'s side" }
            (hr_side(kind))
            dl.fields {
                @if kind.capabilities().push { dt { "SCIM base URL" } dd { code { (base) "/scim/v2" } } }
                @else { dt { "Webhook URL" } dd { code { (base) "/webhooks/" (c.id) } } }
                dt { "Connection" } dd { code { (c.id) } }
                dt { "Connected" } dd { (time(&c.created_at)) }
            }
            form.card method="post" action={ "/console/connections/" (c.id) "/check" } {
                (csrf(admin))
                p.help { "Tries every call a sync and the webhooks make, and says what works" @if kind.vendor_issues_webhook_secret() { " (where " (kind.display_name()) " lets IT Hub, it registers the webhook)" } "." }
                button.secondary type="submit" { "Check connection" }
            }
            form.card method="post" action={ "/console/connections/" (c.id) "/rotate" } {
                (csrf(admin))
                (nonce())
                @if kind.vendor_issues_webhook_secret() {
                    p.help { (kind.display_name()) " issues the webhook secret. Paste the one it shows; the previous one keeps working until the next rotation." " Where IT Hub registered the webhook itself, leave it empty: IT Hub registers a new one and keeps the key " (kind.display_name()) " issues for it." }
                    label for="webhook_secret" { "Webhook secret from " (kind.display_name()) }
                    input #webhook_secret type="password" name="webhook_secret" autocomplete="off";
                } @else {
                    p.help { "Rotating makes a new webhook secret" @if kind.capabilities().push { " and SCIM token (the old token stops at once)" } "; the previous secret keeps working until the next rotation." }
                }
                button.secondary type="submit" { "Rotate the webhook secret" }
            }
        }
        section aria-labelledby="edit-heading" {
            h2 #edit-heading { "Edit connection" }
            (provider_form(admin, kind, &form_values(&c), &BTreeMap::new(), Some(&c.id)))
        }
    };
    Ok(layout::page(admin, "/console/connections", &format!("{} connection", kind.display_name()), content))
}

pub async fn detail(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Page {
    detail_page(&api, &admin, &headers, &id, None).await
}

async fn find_run(api: &AdminApi, admin: &Admin, id: &str, run_id: &str) -> Result<SyncRun, Failure> {
    let c = api.service.connection(&admin.caller.acting(), id).await?;
    let run_id = RunId::parse(run_id).ok_or(Failure::NotFound("run"))?;
    api.service.store.get_run(&admin.caller.tenant, &c.id, run_id.as_str()).await?.ok_or(Failure::NotFound("run"))
}

pub async fn run(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path((id, run_id)): Path<(String, String)>,
) -> Page {
    let run = find_run(&api, &admin, &id, &run_id).await?;
    let held = if run.status == RunStatus::Held { Some(held_panel(&api, &admin, &run).await?) } else { None };
    let title = if run.dry_run { "Preview" } else { "Sync run" };
    let content = html! {
        p { (words(&run.mode)) " · " (words(&run.trigger)) " · asked for " (time(&run.requested_at))
            @if let Some(ended) = &run.ended_at { " · ended " (time(ended)) } }
        (progress(&run))
        @if let Some(held) = held { (held) }
        @if !run.samples.is_empty() {
            section aria-labelledby="samples-heading" {
                h2 #samples-heading { @if run.dry_run { "What it would do" } @else { "Some of the people" } }
                @for (kind, names) in &run.samples {
                    h3 { (kind.replace('_', " ")) }
                    ul { @for name in names { li { (name) } } }
                }
            }
        }
        @if !run.failures.is_empty() {
            section aria-labelledby="failures-heading" {
                h2 #failures-heading { "Records that could not be read" }
                ul { @for f in &run.failures { li { "HR id " (f.hr_id) ": " (f.reason) } } }
            }
        }
        p { a href={ "/console/connections/" (run.connection_id) } { "Back to the connection" } }
    };
    Ok(layout::page(&admin, "/console/connections", title, content))
}

/// The polled inside of a run's progress. Once the run has ended or is held, the page is reloaded instead, to show
/// what only the whole page has (a held run's people and its Approve and Reject).
pub async fn poll(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let run = find_run(&api, &admin, &id, &run_id).await?;
    if run.status.is_finished() || run.status == RunStatus::Held {
        return Ok(([("hx-refresh", "true")], progress_inner(&run)).into_response());
    }
    Ok(progress_inner(&run).into_response())
}

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    full: Option<String>,
    #[serde(default)]
    dry_run: Option<String>,
}

pub async fn sync(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SyncForm>,
) -> Result<Response, Failure> {
    let options =
        SyncOptions { full: form.full.as_deref() == Some("yes"), dry_run: form.dry_run.as_deref() == Some("yes") };
    match api.service.request_sync(&api.runs, &admin.caller.acting(), &id, options).await {
        Ok((connection, run, _)) => Ok(see(format!("/console/connections/{}/runs/{}", connection.id, run.run_id))),
        Err(error) => {
            let (status, message) = Failure::refusal(error)?;
            Ok((status, detail_page(&api, &admin, &headers, &id, Some(&message)).await?).into_response())
        }
    }
}

async fn decide(api: AdminApi, admin: Admin, id: String, run_id: String, approve: bool) -> Result<Response, Failure> {
    let run = api.service.decide_held_run(&api.runs, &admin.caller.acting(), &id, &run_id, approve).await?;
    Ok(see(run_path(&run)))
}

pub async fn approve(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    decide(api, admin, id, run_id, true).await
}

pub async fn reject(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    decide(api, admin, id, run_id, false).await
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    nonce: Option<String>,
    /// The secret an HR system that issues it shows (empty: none pasted).
    #[serde(default)]
    webhook_secret: Option<String>,
}

pub async fn rotate(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, Failure> {
    api.service.connection(&admin.caller.acting(), &id).await?;
    if !first_time(&api, &admin, form.nonce.as_deref()).await? {
        return Ok(repeated(&admin, "the secret was rotated"));
    }
    let rotation =
        ithub::service::WebhookSecretRotation { webhook_secret: form.webhook_secret.filter(|s| !s.is_empty()) };
    let made = crate::connections::run_rotation(&api, &headers, &admin.caller.acting(), &id, rotation).await?;
    Ok(created_page(&api, &admin, &headers, &made, true, None).into_response())
}

/// "Check connection": the connection check's report on a page of its own.
pub async fn check(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let connection = api.service.connection(&admin.caller.acting(), &id).await?;
    let check = crate::connections::run_check(&api, &headers, &admin.caller.acting(), &id).await?;
    let kind = connection.provider.kind();
    let content = html! {
        (check_report(&check))
        p { a.button href={ "/console/connections/" (connection.id) } { "Back to the connection" } }
    };
    let title = format!("{} connection check", kind.display_name());
    Ok(layout::page(&admin, "/console/connections", &title, content).into_response())
}

/// A connection's settings and schedule as its edit form's fields (`settings.company_domain`); never credentials.
fn form_values(c: &Connection) -> BTreeMap<String, String> {
    fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| flatten(&format!("{prefix}.{k}"), v, out)),
            Value::String(text) => {
                out.insert(prefix.to_owned(), text.clone());
            }
            Value::Null => {}
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut values = BTreeMap::new();
    flatten("settings", &serde_json::to_value(c.provider.untagged()).unwrap_or(Value::Null), &mut values);
    let schedule = [
        ("poll_interval_minutes", c.poll_interval_secs.map(|s| s / 60)),
        ("full_sync_interval_hours", c.full_interval_secs.map(|s| s / 3600)),
        ("safeguard_percent", c.safeguard_percent.map(u64::from)),
        ("safeguard_minimum", c.safeguard_minimum.map(u64::from)),
    ];
    for (name, number) in schedule {
        if let Some(number) = number {
            values.insert(format!("schedule.{name}"), number.to_string());
        }
    }
    values
}

/// The edit form's fields as the API's edit: the settings and the schedule whole (an empty schedule field is its
/// default), the credentials only if any of them is filled in.
fn edit_of(kind: ProviderKind, values: &BTreeMap<String, String>) -> Value {
    let mut edit = request_of(kind, values);
    if let Value::Object(parts) = &mut edit {
        parts.remove("provider");
        if parts.get("credentials").and_then(Value::as_object).is_some_and(Map::is_empty) {
            parts.remove("credentials");
        }
        parts.entry("schedule").or_insert_with(|| Value::Object(Map::new()));
    }
    edit
}

pub async fn edit(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, Failure> {
    let connection = api.service.connection(&admin.caller.acting(), &id).await?;
    let kind = connection.provider.kind();
    let refused = match serde_json::from_value::<ithub::service::ConnectionEdit>(edit_of(kind, &values)) {
        Err(error) => (BTreeMap::new(), ithub::validation::public_reason(&error.to_string())),
        Ok(edit) => {
            let acting = admin.caller.acting();
            match api.service.edit_connection(&api.secrets, api.egress, &acting, &id, edit).await {
                Ok(edited) => return Ok(see(format!("/console/connections/{}", edited.id))),
                Err(ithub::service::ServiceError::InvalidFields(errors)) => {
                    let by_field = errors.iter().map(|e| (e.field.clone(), e.reason.clone())).collect();
                    (by_field, "Some fields are not valid: see below. Nothing was changed.".to_owned())
                }
                Err(error) => {
                    let (_, message) = Failure::from(error).message();
                    (BTreeMap::new(), message)
                }
            }
        }
    };
    let (errors, message) = refused;
    let content = html! {
        (alert(Some(&message)))
        (provider_form(&admin, kind, &values, &errors, Some(&connection.id)))
        p { a href={ "/console/connections/" (connection.id) } { "Back to the connection" } }
    };
    let page =
        layout::page(&admin, "/console/connections", &format!("Edit the {} connection", kind.display_name()), content);
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}
