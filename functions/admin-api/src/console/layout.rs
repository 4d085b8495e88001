//! The page shell every screen shares, and small pieces of markup used across screens.

use super::{Admin, HTMX_PATH};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

/// The screens in the navigation, by path and label.
const NAV: &[(&str, &str)] = &[
    ("/console/employees", "Employees"),
    ("/console/tasks", "Tasks"),
    ("/console/connections", "Connections"),
    ("/console/playbook", "Playbook"),
    ("/console/audit", "Audit log"),
    ("/console/licenses", "Licenses"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // No eval, no inline indicator styles: the console's content security policy allows neither.
            meta name="htmx-config" content=r#"{"allowEval":false,"includeIndicatorStyles":false,"allowScriptTags":false}"#;
            title { (title) " · IT Hub" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src=(HTMX_PATH) defer {}
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A signed-in page: the navigation (`section` is the current one), sign-out, and the content.
pub fn page(admin: &Admin, section: &str, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/employees" { "IT Hub" }
                    nav aria-label="Main" {
                        ul {
                            @for (path, label) in NAV {
                                li {
                                    @if *path == section {
                                        a href=(path) aria-current="page" { (label) }
                                    } @else {
                                        a href=(path) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form.signout method="post" action="/console/sign-out" {
                        (csrf(admin))
                        button.link type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
                footer {
                    p { "Times are shown in " span.tz { "UTC" } "." }
                }
            }
        }
    }
}

/// A page outside a session: sign-in and errors.
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.top { a.brand href="/console/employees" { "IT Hub" } }
                main #main tabindex="-1" { (content) }
            }
        }
    }
}

pub fn error_body(title: &str, message: &str) -> Markup {
    html! {
        h1 { (title) }
        p.alert role="alert" { (message) }
        p { a href="/console/employees" { "Back to employees" } }
    }
}

/// The session's CSRF token, as every state-changing form sends it.
pub fn csrf(admin: &Admin) -> Markup {
    html! { input type="hidden" name="csrf" value=(admin.csrf); }
}

/// A time, in UTC as rendered and in the admin's own time zone once the page's script has run.
pub fn time(at: &DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M UTC")) } }
}

pub fn maybe_time(at: Option<&DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { "never" },
    }
}

/// An error or notice above a form.
pub fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.alert role="alert" { (message) }
        }
    }
}

pub fn notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.notice role="status" { (message) }
        }
    }
}

/// "Next page" for a list that pages: the same query with the cursor.
pub fn next_page(path: &str, query: &[(&str, &str)], cursor: Option<&str>) -> Markup {
    let Some(cursor) = cursor else {
        return html! {};
    };
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
        url.append_pair(key, value);
    }
    url.append_pair("cursor", cursor);
    html! { p.pager { a href={ (path) "?" (url.finish()) } { "Next page →" } } }
}

/// A word for a snake_case value (`not_set_up` → "not set up").
pub fn words(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

pub fn badge(value: &impl serde::Serialize) -> Markup {
    let text = words(value);
    html! { span class={ "badge " (text.replace(' ', "-")) } { (text) } }
}
