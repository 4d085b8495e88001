//! Tasks: the Onboarding and Offboarding tabs, and a task's checklist (done, skip, note) and completion.

use super::layout::{self, alert, badge, csrf, time, words};
use super::{Admin, Failure, Page, htmx, see};
use crate::AdminApi;
use axum::extract::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ithub::domain::{ItemStatus, TaskKind, TaskStatus};
use ithub::store::StoredTask;
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    kind: Option<TaskKind>,
    #[serde(default)]
    status: Option<TaskStatus>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn list(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<ListQuery>,
) -> Page {
    let kind = query.kind.unwrap_or(TaskKind::Onboarding);
    let status = query.status.unwrap_or(TaskStatus::Open);
    let page = api
        .service
        .store
        .list_tasks(&admin.caller.tenant, status, Some(kind), crate::DEFAULT_LIMIT, query.cursor.as_deref())
        .await?;
    let tab = |k: TaskKind, label: &str| {
        let href = format!("/console/tasks?kind={}&status={}", k.as_str(), status.as_str());
        html! {
            li { @if k == kind { a href=(href) aria-current="page" { (label) } } @else { a href=(href) { (label) } } }
        }
    };
    let content = html! {
        nav.tabs aria-label="Task kind" {
            ul { (tab(TaskKind::Onboarding, "Onboarding")) (tab(TaskKind::Offboarding, "Offboarding")) }
        }
        p.subtabs {
            @for s in [TaskStatus::Open, TaskStatus::Completed, TaskStatus::Cancelled] {
                @let href = format!("/console/tasks?kind={}&status={}", kind.as_str(), s.as_str());
                @if s == status { strong aria-current="true" { (words(&s)) } } @else { a href=(href) { (words(&s)) } }
                " "
            }
        }
        @if page.items.is_empty() {
            p.empty {
                @if status == TaskStatus::Open {
                    "No open " (kind.as_str()) " tasks. "
                    @if kind == TaskKind::Onboarding { "A hire in your HR system opens one here." }
                    @else { "A termination in your HR system, or “Offboard now” on a person's page, opens one here." }
                } @else { "None." }
            }
        } @else {
            table {
                caption.visually-hidden { (words(&kind)) " tasks, " (words(&status)) }
                thead { tr { th scope="col" { "Person" } th scope="col" { "Due" } th scope="col" { "Checklist" } th scope="col" { "Opened" } th scope="col" { "Status" } } }
                tbody {
                    @for t in &page.items {
                        @let done = t.task.items.iter().filter(|i| i.status != ItemStatus::Open).count();
                        tr {
                            th scope="row" { a href={ "/console/tasks/" (t.task.id) } { (t.task.employee_name) } }
                            td { (t.task.due_date) }
                            td { (done) " of " (t.task.items.len()) " done" }
                            td { (time(&t.task.opened_at)) }
                            td { (badge(&t.task.status)) }
                        }
                    }
                }
            }
            (layout::next_page("/console/tasks", &[("kind", kind.as_str()), ("status", status.as_str())], page.next_cursor.as_deref()))
        }
    };
    Ok(layout::page(&admin, "/console/tasks", "Tasks", content))
}

/// The checklist and the completion form: what htmx swaps after an item changes. `updated` is the item just
/// changed, which takes the keyboard focus after the swap (its button was replaced).
fn work(admin: &Admin, t: &StoredTask, message: Option<&str>, updated: Option<&str>) -> Markup {
    let task = &t.task;
    let open = task.open_items();
    html! {
        section #task-work aria-labelledby="checklist-heading" {
            h2 #checklist-heading { "Checklist" }
            (alert(message))
            ol.checklist {
                @for item in &task.items {
                    @let name_id = format!("name-{}", item.id);
                    li.item id={ "item-" (item.id) } tabindex="-1" data-updated=[(updated == Some(item.id.as_str())).then_some("true")] {
                        div {
                            strong id=(name_id) { (item.name) } " " (badge(&item.status))
                            span.kind { " · " (words(&item.kind)) }
                            @if let Some(detail) = &item.detail { p.help { (detail) } }
                            @if let Some(note) = item.note.as_deref().filter(|n| !n.is_empty()) { p.note { "Note: " (note) } }
                        }
                        @if task.is_open() {
                            @let action = format!("/console/tasks/{}/items/{}", task.id, item.id);
                            form method="post" action=(action) hx-post=(action) hx-target="#task-work" hx-swap="outerHTML" {
                                (csrf(admin))
                                label for={ "note-" (item.id) } { "Note for " (item.name) }
                                input id={ "note-" (item.id) } type="text" name="note" maxlength="1000" placeholder="Note (optional)"
                                    value=(item.note.as_deref().unwrap_or(""));
                                // First, so that Enter in the note saves the note and leaves the status as it is.
                                button.secondary id={ "save-" (item.id) } type="submit" name="status" value=(words(&item.status)) aria-describedby=(name_id) { "Save note" }
                                @if item.status == ItemStatus::Open {
                                    button id={ "done-" (item.id) } type="submit" name="status" value="done" aria-describedby=(name_id) { "Done" }
                                    button.secondary id={ "skip-" (item.id) } type="submit" name="status" value="skipped" aria-describedby=(name_id) { "Skip" }
                                } @else {
                                    button.secondary id={ "reopen-" (item.id) } type="submit" name="status" value="open" aria-describedby=(name_id) { "Reopen" }
                                }
                            }
                        }
                    }
                }
            }
            @if task.is_open() {
                form.card #complete method="post" action={ "/console/tasks/" (task.id) "/complete" } {
                    (csrf(admin))
                    @if task.kind == TaskKind::Onboarding {
                        div.check {
                            input #hub_access type="checkbox" name="hub_access" value="yes";
                            label for="hub_access" { "Give " (task.employee_name) " access to IT Hub (uses a paid license)" }
                        }
                    } @else {
                        p.help { "Completing offboarding releases the person's license." }
                    }
                    @if open.is_empty() {
                        button type="submit" { "Complete task" }
                    } @else {
                        button type="submit" disabled aria-describedby="complete-help" { "Complete task" }
                        p #complete-help .help { (open.len()) " checklist items are still open: mark each done or skipped first." }
                    }
                }
            }
        }
    }
}

async fn detail_page(api: &AdminApi, admin: &Admin, id: &str, message: Option<&str>) -> Page {
    let t = api.service.task(&admin.caller.tenant, id).await?;
    let task = &t.task;
    let title = format!(
        "{}: {}",
        if task.kind == TaskKind::Onboarding { "Onboarding" } else { "Offboarding" },
        task.employee_name
    );
    let content = html! {
        p.status {
            (badge(&task.status)) " · due " (task.due_date) " · opened " (time(&task.opened_at))
            " · " (super::employees::link(&task.employee_id, "person's page"))
        }
        @if let Some(reason) = &task.reason { p { "Reason: " (reason) } }
        @for note in &task.hr_notes { p.note { "From HR, " (time(&note.at)) ": " (note.note) } }
        @if let Some(closed) = &task.closed_at {
            p { "Closed " (time(closed))
                @if let Some(access) = task.hub_access { " · IT Hub access: " @if access { "given" } @else { "not given" } } }
        }
        (work(admin, &t, message, None))
        p { a href={ "/console/tasks?kind=" (task.kind.as_str()) } { "Back to " (task.kind.as_str()) " tasks" } }
    };
    Ok(layout::page(admin, "/console/tasks", &title, content))
}

pub async fn detail(State(api): State<AdminApi>, Extension(admin): Extension<Admin>, Path(id): Path<String>) -> Page {
    detail_page(&api, &admin, &id, None).await
}

#[derive(Deserialize)]
pub struct ItemForm {
    status: ItemStatus,
    #[serde(default)]
    note: String,
}

pub async fn item(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    headers: HeaderMap,
    Path((id, item)): Path<(String, String)>,
    Form(form): Form<ItemForm>,
) -> Result<Response, Failure> {
    // An empty note clears it (the API keeps a note it is not sent).
    let note = Some(form.note.trim().to_owned());
    let result = api.service.update_item(&admin.caller.acting(), &id, &item, form.status, note).await;
    match (result, htmx(&headers)) {
        (Ok(task), true) => Ok(work(&admin, &task, None, Some(&item)).into_response()),
        (Ok(_), false) => Ok(see(format!("/console/tasks/{id}"))),
        (Err(error), fragment) => {
            let (status, message) = Failure::refusal(error)?;
            if fragment {
                // 200: htmx swaps only successful answers, and the refusal must be shown.
                let task = api.service.task(&admin.caller.tenant, &id).await?;
                return Ok(work(&admin, &task, Some(&message), Some(&item)).into_response());
            }
            Ok((status, detail_page(&api, &admin, &id, Some(&message)).await?).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    hub_access: Option<String>,
}

pub async fn complete(
    State(api): State<AdminApi>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Result<Response, Failure> {
    let hub_access = form.hub_access.as_deref() == Some("yes");
    match api.service.complete_task(&admin.caller.acting(), &id, hub_access).await {
        Ok(_) => Ok(see(format!("/console/tasks/{id}"))),
        Err(error) => {
            let (status, message) = Failure::refusal(error)?;
            Ok((status, detail_page(&api, &admin, &id, Some(&message)).await?).into_response())
        }
    }
}
