//! The tenant's own pages: the playbook editor, the audit log and the licenses in use.

use super::layout::{self, alert, csrf, notice, time, words};
use super::{Admin, Failure, Page};
use crate::AdminApi;
use axum::extract::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ithub::domain::{EmployeeId, Playbook};
use maud::{Markup, html};
use serde::Deserialize;

fn items(list: &[ithub::domain::playbook::ItemTemplate]) -> Markup {
    html! {
        @if list.is_empty() { p.help { "None." } }
        @else { ul { @for i in list { li { (i.name) " " span.kind { "(" (words(&i.kind)) ", " code { (i.id) } ")" } } } } }
    }
}

fn playbook_page(admin: &Admin, current: &Playbook, text: &str, message: Option<&str>, saved: bool) -> Markup {
    let content = html! {
        (alert(message))
        (notice(saved.then_some("The playbook is saved. Tasks opened from now on follow it.")))
        p { "What every joiner gets and every leaver gives back, and the rules that add items by department or title. Tasks already open keep their checklists." }
        div.columns {
            section aria-labelledby="everyone-heading" {
                h2 #everyone-heading { "Everyone" }
                h3 { "Onboarding" } (items(&current.onboarding))
                h3 { "Offboarding" } (items(&current.offboarding))
                @for rule in &current.rules {
                    h2 { "Rule: " (rule.name) }
                    p.help {
                        "For " @if let Some(d) = &rule.when.department { "department “" (d) "” " }
                        @if let Some(t) = &rule.when.title_contains { "titles containing “" (t) "”" }
                        @if rule.when.department.is_none() && rule.when.title_contains.is_none() { "everyone" }
                    }
                    h3 { "Onboarding" } (items(&rule.onboarding))
                    h3 { "Offboarding" } (items(&rule.offboarding))
                }
            }
            section aria-labelledby="edit-heading" {
                h2 #edit-heading { "Edit" }
                form.card method="post" action="/console/playbook" {
                    (csrf(admin))
                    label for="playbook" { "Playbook (JSON, as the API's PUT /v1/playbook takes it)" }
                    textarea #playbook .code name="playbook" rows="24" spellcheck="false" aria-describedby="playbook-help" { (text) }
                    p #playbook-help .help {
                        "Items have an id (lower-case letters, digits and dashes), a kind (device, application, access_group, "
                        "revoke_access, recover_device, transfer_data), a name and an optional detail. Rules have a name, "
                        "a “when” (department, title_contains) and their own items."
                    }
                    button type="submit" { "Save the playbook" }
                }
            }
        }
    };
    layout::page(admin, "/console/playbook", "Playbook", content)
}

pub async fn playbook(State(api): State<AdminApi>, Extension(admin): Extension<Admin>) -> Page {
    let current = api.service.store.playbook(&admin.caller.tenant).await?;
    let text = serde_json::to_string_pretty(&current).unwrap_or_default();
    Ok(playbook_page(&admin, &current, &text, None, false))
}

#[derive(Deserialize)]
pub struct PlaybookForm {
    #[serde(default)]
    playbook: String,
}

pub async fn save_playbook(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Form(form): Form<PlaybookForm>,
) -> Result<Response, Failure> {
    let current = api.service.store.playbook(&admin.caller.tenant).await?;
    let message = match serde_json::from_str::<Playbook>(&form.playbook) {
        Err(error) => format!(
            "The playbook is not valid JSON of the right shape ({}, line {}): nothing was saved.",
            ithub::validation::public_reason(&error.to_string()),
            error.line()
        ),
        Ok(playbook) => match api.service.replace_playbook(&admin.caller.acting(), playbook).await {
            Ok(saved) => {
                let text = serde_json::to_string_pretty(&saved).unwrap_or_default();
                return Ok(playbook_page(&admin, &saved, &text, None, true).into_response());
            }
            Err(ithub::service::ServiceError::InvalidFields(errors)) => {
                let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
                format!("Nothing was saved: {}.", list.join("; "))
            }
            Err(error) => Failure::from(error).message().1,
        },
    };
    let page = playbook_page(&admin, &current, &form.playbook, Some(&message), false);
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    employee_id: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn audit(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<AuditQuery>,
) -> Page {
    let employee = match query.employee_id.as_deref().filter(|e| !e.is_empty()) {
        Some(raw) => Some(EmployeeId::parse(raw).ok_or(Failure::NotFound("employee"))?),
        None => None,
    };
    let tenant = &admin.caller.tenant;
    let page =
        api.service.store.list_audit(tenant, employee.as_ref(), crate::DEFAULT_LIMIT, query.cursor.as_deref()).await?;
    let ids: Vec<EmployeeId> = page.items.iter().filter_map(|a| a.employee_id.clone()).collect();
    let people = api.service.store.batch_get_employees(tenant, &ids).await?;
    let content = html! {
        @if let Some(id) = &employee {
            p { "Only what happened to " (people.get(id).map(|e| e.name()).unwrap_or_else(|| id.to_string())) ". " a href="/console/audit" { "Show everything" } }
        }
        @if page.items.is_empty() {
            p.empty { "Nothing has happened yet. Syncs, setups, tasks and settings changes are recorded here." }
        } @else {
            table {
                caption.visually-hidden { "Audit log, newest first" }
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "About" } } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td { (time(&a.at)) }
                            td { (a.actor.label()) }
                            td { (serde_json::to_value(a.action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                            td {
                                @if let Some(id) = &a.employee_id {
                                    @match people.get(id) {
                                        Some(e) => { (super::employees::link(id, &e.name())) }
                                        None => { code { (id) } }
                                    }
                                } @else if let Some(c) = &a.connection_id {
                                    a href={ "/console/connections/" (c) } { "connection " code { (c) } }
                                } @else { "the playbook" }
                            }
                        }
                    }
                }
            }
            (layout::next_page("/console/audit", &[("employee_id", query.employee_id.as_deref().unwrap_or(""))], page.next_cursor.as_deref()))
        }
    };
    Ok(layout::page(&admin, "/console/audit", "Audit log", content))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn licenses(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<PageQuery>,
) -> Page {
    let (count, page) =
        api.service.store.page_licenses(&admin.caller.tenant, crate::DEFAULT_LIMIT, query.cursor.as_deref()).await?;
    let content = html! {
        p.big { strong #license-count { (count) } " " (if count == 1 { "license" } else { "licenses" }) " in use" }
        p.help { "A license is used by each person set up, or given IT Hub access when their onboarding completes; completing their offboarding releases it." }
        @if page.items.is_empty() {
            p.empty { "Nobody holds a license yet. " a href="/console/employees?set_up=no" { "Set up your employees" } "." }
        } @else {
            table {
                caption.visually-hidden { "Who holds a license" }
                thead { tr { th scope="col" { "Person" } th scope="col" { "Since" } } }
                tbody { @for l in &page.items { tr { th scope="row" { (super::employees::link(&l.employee_id, &l.employee_name)) } td { (time(&l.granted_at)) } } } }
            }
            (layout::next_page("/console/licenses", &[], page.next_cursor.as_deref()))
        }
    };
    Ok(layout::page(&admin, "/console/licenses", "Licenses", content))
}
