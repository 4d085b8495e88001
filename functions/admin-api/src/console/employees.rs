//! Employees: the list with its filters and initial setup, and a person's page (HR's fields read-only, IT's
//! editable, immediate offboarding).

use super::layout::{self, alert, badge, csrf, notice, time, words};
use super::{Admin, Failure, Page, see};
use crate::AdminApi;
use axum::extract::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ithub::domain::{EmployeeId, HubStatus, TaskKind};
use ithub::store::{EmployeeFilter, StoredEmployee};
use maud::{Markup, html};
use serde::Deserialize;

const STATUSES: &[HubStatus] = &[
    HubStatus::NotSetUp,
    HubStatus::Onboarding,
    HubStatus::Active,
    HubStatus::Offboarding,
    HubStatus::Offboarded,
    HubStatus::Former,
];

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    status: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    set_up: String,
    #[serde(default)]
    cursor: Option<String>,
}

fn status_of(raw: &str) -> Option<HubStatus> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
}

fn may_set_up(e: &StoredEmployee) -> bool {
    e.hub.status == HubStatus::NotSetUp && e.hr.status == ithub::domain::EmploymentStatus::Active
}

pub async fn list(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<ListQuery>,
) -> Page {
    let filter = EmployeeFilter {
        hub_status: status_of(&query.status),
        department: Some(query.department.trim().to_owned()).filter(|d| !d.is_empty()),
        license: None,
        set_up: match query.set_up.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        text: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
    };
    let page = api
        .service
        .store
        .list_employees(&admin.caller.tenant, &filter, crate::DEFAULT_LIMIT, query.cursor.as_deref())
        .await?;
    let filtered =
        filter.hub_status.is_some() || filter.department.is_some() || filter.set_up.is_some() || filter.text.is_some();
    let connections = if page.items.is_empty() && !filtered {
        api.service.store.page_connections(&admin.caller.tenant, 1, None).await?.items.len()
    } else {
        1
    };
    let content = html! {
        form.filters method="get" action="/console/employees" role="search" aria-label="Filter employees" {
            div {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(query.q) placeholder="Name or email";
            }
            div {
                label for="department" { "Department" }
                input #department type="text" name="department" value=(query.department);
            }
            div {
                label for="status" { "Status in IT Hub" }
                select #status name="status" {
                    option value="" { "Any" }
                    @for status in STATUSES {
                        @let value = words(status).replace(' ', "_");
                        option value=(value) selected[query.status == value] { (words(status)) }
                    }
                }
            }
            div {
                label for="set_up" { "Set up" }
                select #set_up name="set_up" {
                    option value="" { "Either" }
                    option value="yes" selected[query.set_up == "yes"] { "Set up" }
                    option value="no" selected[query.set_up == "no"] { "Not set up" }
                }
            }
            button type="submit" { "Filter" }
        }
        @if page.items.is_empty() {
            @if connections == 0 {
                div.empty {
                    h2 { "Connect your HR system" }
                    p { "Employees come from your HR system. Connect it, and they appear here after its first sync." }
                    p { a.button href="/console/connections/new" { "Connect an HR system" } }
                }
            } @else if filtered {
                p.empty { "Nobody matches these filters. " a href="/console/employees" { "Clear the filters" } "." }
            } @else {
                p.empty { "No employees yet: the first sync is still on its way. Follow it under " a href="/console/connections" { "Connections" } "." }
            }
        } @else {
            form #setup-form method="post" action="/console/employees/setup" {
                (csrf(&admin))
                table {
                    caption.visually-hidden { "Employees" }
                    thead {
                        tr {
                            th scope="col" { span.visually-hidden { "Select" } }
                            th scope="col" { "Name" }
                            th scope="col" { "Work email" }
                            th scope="col" { "Department" }
                            th scope="col" { "Title" }
                            th scope="col" { "In HR" }
                            th scope="col" { "In IT Hub" }
                            th scope="col" { "License" }
                        }
                    }
                    tbody {
                        @for e in &page.items {
                            tr {
                                td {
                                    @if may_set_up(e) {
                                        input type="checkbox" name="employee_id" value=(e.id) id={ "pick-" (e.id) }
                                            aria-label={ "Select " (e.name()) };
                                    }
                                }
                                th scope="row" { a href={ "/console/employees/" (e.id) } { (e.name()) } }
                                td { (e.hr.work_email.as_deref().unwrap_or("—")) }
                                td { (e.hr.department.as_deref().unwrap_or("—")) }
                                td { (e.hr.title.as_deref().unwrap_or("—")) }
                                td { (badge(&e.hr.status)) }
                                td { (badge(&e.hub.status)) }
                                td { @if e.hub.license { "Yes" } @else { "No" } }
                            }
                        }
                    }
                }
                div.actions {
                    button #setup-button type="submit" { "Set up selected" }
                    p #setup-summary .help aria-live="polite" {
                        "Select people who are not set up yet. Each person set up gets a paid license."
                    }
                }
            }
            (layout::next_page(
                "/console/employees",
                &[("q", &query.q), ("department", &query.department), ("status", &query.status), ("set_up", &query.set_up)],
                page.next_cursor.as_deref(),
            ))
        }
    };
    Ok(layout::page(&admin, "/console/employees", "Employees", content))
}

pub async fn setup(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    // One `employee_id` per ticked box: a repeated field, read straight from the form.
    let ids: Vec<String> =
        url::form_urlencoded::parse(&body).filter(|(k, _)| k == "employee_id").map(|(_, v)| v.into_owned()).collect();
    if ids.is_empty() {
        let body = html! {
            (alert(Some("Nobody was selected. Tick the people to set up, then press “Set up selected”.")))
            p { a href="/console/employees?set_up=no" { "Back to the people not set up" } }
        };
        let page = layout::page(&admin, "/console/employees", "Set up employees", body);
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    if ids.len() > 100 {
        return Err(crate::ApiError::BadRequest("set up at most 100 people at a time".into()).into());
    }
    let tenant = &admin.caller.tenant;
    let outcome = api.service.setup(&admin.caller.acting(), &ids).await?;
    // Each person set up got a license in the same write: one count (over every license) is enough.
    let (after, _) = api.service.store.page_licenses(tenant, 1, None).await?;
    let added = outcome.set_up.len() as u64;
    let before = after.saturating_sub(added);
    let body = html! {
        p.notice role="status" {
            "Set up " (outcome.set_up.len()) " " (if outcome.set_up.len() == 1 { "person" } else { "people" }) ". "
            "Licenses in use: " (before) " → " (after) " (+" (added) ")."
        }
        @if !outcome.set_up.is_empty() {
            h2 { "Set up" }
            ul { @for e in &outcome.set_up { li { a href={ "/console/employees/" (e.id) } { (e.name()) } } } }
        }
        @if !outcome.refused.is_empty() {
            h2 { "Not set up" }
            ul { @for r in &outcome.refused { li { code { (r.employee_id) } ": " (r.reason) } } }
        }
        p { a href="/console/employees" { "Back to employees" } " · " a href="/console/licenses" { "Licenses" } }
    };
    Ok(layout::page(&admin, "/console/employees", "Set up employees", body).into_response())
}

/// A person's page, with an optional message above it (a refused form).
async fn detail_page(api: &AdminApi, admin: &Admin, id: &str, message: Option<&str>, saved: Option<&str>) -> Page {
    let e = api.service.employee(&admin.caller.tenant, id).await?;
    let provider = api
        .service
        .store
        .get_connection(&admin.caller.tenant, &e.connection_id)
        .await?
        .map(|c| c.provider.kind().display_name())
        .unwrap_or("your HR system");
    let mut tasks = Vec::new();
    for kind in [TaskKind::Onboarding, TaskKind::Offboarding] {
        let task_id = e.hub.task_id(&e.id, kind);
        if let Some(task) = api.service.store.get_task(&admin.caller.tenant, &task_id).await? {
            tasks.push(task);
        }
    }
    let hr = &e.hr;
    let address = hr.home_address.as_ref().map(|a| {
        [&a.line1, &a.line2, &a.city, &a.region, &a.postal_code, &a.country]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let rows: Vec<(&str, Option<String>)> = vec![
        ("First name", Some(hr.first_name.clone())),
        ("Last name", Some(hr.last_name.clone())),
        ("Work email", hr.work_email.clone()),
        ("Personal email", hr.personal_email.clone()),
        ("Phone", hr.phone.clone()),
        ("Home address", address),
        ("Title", hr.title.clone()),
        ("Department", hr.department.clone()),
        ("Manager", hr.manager_name.clone().or_else(|| hr.manager_hr_id.clone())),
        ("Employment status", Some(words(&hr.status))),
        ("Start date", hr.start_date.map(|d| d.to_string())),
        ("End date", hr.end_date.map(|d| d.to_string())),
        ("ID in HR", Some(hr.hr_id.clone())),
    ];
    let can_offboard = matches!(e.hub.status, HubStatus::NotSetUp | HubStatus::Onboarding | HubStatus::Active);
    let content = html! {
        (alert(message))
        (notice(saved))
        p.status { "In IT Hub: " (badge(&e.hub.status)) " · License: " @if e.hub.license { "yes" } @else { "no" } }
        section aria-labelledby="hr-heading" {
            h2 #hr-heading { "From " (provider) }
            p.help #hr-help {
                "These fields are managed in " (provider) ": edit them there, and IT Hub follows on its next sync. "
                "Last synced " (time(&e.observed_at)) "."
            }
            dl.fields aria-describedby="hr-help" {
                @for (label, value) in &rows {
                    dt { (label) }
                    dd { (value.as_deref().unwrap_or("—")) }
                }
            }
        }
        section aria-labelledby="it-heading" {
            h2 #it-heading { "IT's fields" }
            form.card method="post" action={ "/console/employees/" (e.id) "/fields" } {
                (csrf(admin))
                label for="label" { "Label" }
                input #label type="text" name="label" maxlength="64" value=(e.fields.label.as_deref().unwrap_or(""));
                label for="it_notes" { "IT notes" }
                textarea #it_notes name="it_notes" maxlength="2000" rows="3" { (e.fields.it_notes.as_deref().unwrap_or("")) }
                button type="submit" { "Save IT's fields" }
            }
        }
        section aria-labelledby="tasks-heading" {
            h2 #tasks-heading { "Tasks" }
            @if tasks.is_empty() {
                p { "No onboarding or offboarding task is open for this person." }
            } @else {
                ul {
                    @for t in &tasks {
                        li { a href={ "/console/tasks/" (t.task.id) } { (words(&t.task.kind)) " task" } " — " (badge(&t.task.status)) ", due " (t.task.due_date) }
                    }
                }
            }
            p { a href={ "/console/audit?employee_id=" (e.id) } { "This person's history" } }
        }
        @if can_offboard {
            section aria-labelledby="actions-heading" {
                h2 #actions-heading { "Actions" }
                details.actions open[message.is_some()] {
                    summary { "Offboard now" }
                    form.card method="post" action={ "/console/employees/" (e.id) "/offboard" } {
                        (csrf(admin))
                        p.help {
                            "Offboarding now opens the offboarding task at once, before " (provider)
                            " records the termination. When it does, that is noted on this task; no second task opens."
                        }
                        label for="reason" { "Reason" }
                        textarea #reason name="reason" required maxlength="500" rows="2" {}
                        div.check {
                            input #confirm type="checkbox" name="confirm" value="yes" required;
                            label for="confirm" { "Yes, offboard " (e.name()) " now" }
                        }
                        button.danger type="submit" { "Offboard" }
                    }
                }
            }
        }
    };
    Ok(layout::page(admin, "/console/employees", &e.name(), content))
}

pub async fn detail(State(api): State<AdminApi>, Extension(admin): Extension<Admin>, Path(id): Path<String>) -> Page {
    detail_page(&api, &admin, &id, None, None).await
}

#[derive(Deserialize)]
pub struct FieldsForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    it_notes: String,
}

pub async fn fields(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    Form(form): Form<FieldsForm>,
) -> Result<Response, Failure> {
    let value = |s: String| {
        let s = s.trim().to_owned();
        if s.is_empty() { serde_json::Value::Null } else { serde_json::Value::String(s) }
    };
    let mut changes = serde_json::Map::new();
    changes.insert("label".into(), value(form.label));
    changes.insert("it_notes".into(), value(form.it_notes.replace("\r\n", "\n")));
    match api.service.edit_fields(&admin.caller.acting(), &id, &changes).await {
        Ok(_) => Ok(detail_page(&api, &admin, &id, None, Some("IT's fields are saved.")).await?.into_response()),
        Err(error) => {
            let (status, message) = Failure::from(error).message();
            Ok((status, detail_page(&api, &admin, &id, Some(&message), None).await?).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct OffboardForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn offboard(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    Form(form): Form<OffboardForm>,
) -> Result<Response, Failure> {
    if EmployeeId::parse(&id).is_none() {
        return Err(Failure::NotFound("employee"));
    }
    let refused = if form.confirm.as_deref() != Some("yes") {
        Some((StatusCode::BAD_REQUEST, "Tick the confirmation to offboard this person now.".to_owned()))
    } else if !ithub::validation::has_text(&form.reason) {
        Some((StatusCode::BAD_REQUEST, "Give a reason for offboarding now.".to_owned()))
    } else {
        match api.service.offboard(&admin.caller.acting(), &id, form.reason.trim()).await {
            Ok(task) => return Ok(see(format!("/console/tasks/{}", task.task.id))),
            Err(error) => Some(Failure::from(error).message()),
        }
    };
    let (status, message) = refused.unwrap_or((StatusCode::BAD_REQUEST, String::new()));
    Ok((status, detail_page(&api, &admin, &id, Some(&message), None).await?).into_response())
}

/// Screens link people by name; this keeps the markup for one in one place.
pub fn link(id: &EmployeeId, name: &str) -> Markup {
    html! { a href={ "/console/employees/" (id) } { (name) } }
}
