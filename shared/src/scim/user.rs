//! A SCIM User (core schema and the enterprise extension) as IT Hub reads it: checked on the way in, kept as sent,
//! and mapped to the one [`Employee`] shape every HR system maps to.
//!
//! The SCIM id is the person's HR id on the connection. `active: false` is a termination dated the day it arrives
//! (SCIM has no end date); a new active user is a hire.

use super::{ENTERPRISE_SCHEMA, ScimError, ScimType, USER_SCHEMA};
use crate::domain::{Address, Employee, EmploymentStatus};
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Attribute values longer than this are refused: they would only ever be abuse.
pub const MAX_VALUE_CHARS: usize = 1024;
/// `userName` and each email are lookup keys, so shorter still.
pub const MAX_KEY_CHARS: usize = 256;
/// ... and at most this many bytes (they are parts of DynamoDB sort keys).
pub const MAX_KEY_BYTES: usize = 512;
/// Emails, phone numbers or addresses one user may carry.
pub const MAX_MULTI_VALUES: usize = 20;

/// What the server owns and never keeps from a client: it answers with its own `id` and `meta`, and a password
/// is write-only (IT Hub signs nobody in with it, so it is dropped).
const SERVER_OWNED: &[&str] = &["id", "meta", "password"];

fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidValue, detail)
}

/// The resource to keep: an object with a `userName` and the core schema, without what the server owns. Values are
/// kept as sent; only their sizes and the types IT Hub reads are checked.
pub fn accept(mut resource: Value) -> Result<Value, ScimError> {
    let object =
        resource.as_object_mut().ok_or_else(|| ScimError::new(ScimType::InvalidSyntax, "a User is a JSON object"))?;
    object.retain(|k, _| !SERVER_OWNED.iter().any(|owned| k.eq_ignore_ascii_case(owned)));
    let schemas_ok = get(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(USER_SCHEMA))));
    if !schemas_ok {
        return Err(ScimError::new(ScimType::InvalidSyntax, format!("schemas must include {USER_SCHEMA}")));
    }
    // `active` as the strings "True" and "False" (Entra's habit) is the boolean.
    if let Some((_, active)) = object.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("active"))
        && let Some(flag) = active.as_str().and_then(|a| match a.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    {
        *active = Value::Bool(flag);
    }
    let fits = |key: &str| key.chars().count() <= MAX_KEY_CHARS && key.len() <= MAX_KEY_BYTES;
    let user_name = get(object, "userName").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if user_name.is_empty() || !fits(user_name) {
        return Err(invalid(format!("userName is required (1 to {MAX_KEY_CHARS} characters)")));
    }
    if let Some(external) = get(object, "externalId")
        && !external.is_null()
        && external.as_str().is_none_or(|e| e.is_empty() || !fits(e))
    {
        return Err(invalid(format!("externalId is a string of 1 to {MAX_KEY_CHARS} characters")));
    }
    if let Some(active) = get(object, "active")
        && !active.is_boolean()
        && !active.is_null()
    {
        return Err(invalid("active is true or false"));
    }
    for multi in ["emails", "phoneNumbers", "addresses"] {
        match get(object, multi) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.len() <= MAX_MULTI_VALUES => {
                if items.iter().any(|item| !item.is_object()) {
                    return Err(invalid(format!("each of {multi} is an object")));
                }
            }
            Some(_) => return Err(invalid(format!("{multi} is a list of at most {MAX_MULTI_VALUES} objects"))),
        }
    }
    if emails(object).iter().any(|e| !fits(e)) {
        return Err(invalid(format!("an email holds at most {MAX_KEY_CHARS} characters")));
    }
    if too_long(&resource) {
        return Err(invalid(format!("a value holds at most {MAX_VALUE_CHARS} characters")));
    }
    Ok(resource)
}

fn too_long(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().count() > MAX_VALUE_CHARS,
        Value::Array(items) => items.iter().any(too_long),
        Value::Object(map) => map.iter().any(|(k, v)| k.chars().count() > MAX_VALUE_CHARS || too_long(v)),
        _ => false,
    }
}

/// The lower-case `userName` of an accepted resource.
pub fn user_name(resource: &Value) -> String {
    resource
        .as_object()
        .and_then(|o| get(o, "userName"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

pub fn external_id(resource: &Value) -> Option<String> {
    resource.as_object().and_then(|o| get(o, "externalId")).and_then(Value::as_str).map(str::to_owned)
}

fn emails(object: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = get(object, "emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_object().and_then(|e| get(e, "value")).and_then(Value::as_str))
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The lower-case email addresses of an accepted resource, for the lookup.
pub fn email_keys(resource: &Value) -> Vec<String> {
    resource.as_object().map(emails).unwrap_or_default()
}

/// The element of a multi-valued attribute of the given `type`, else the primary one, else the first.
fn pick<'a>(
    object: &'a Map<String, Value>,
    attribute: &str,
    kind: &str,
    fallback: bool,
) -> Option<&'a Map<String, Value>> {
    let items: Vec<&Map<String, Value>> =
        get(object, attribute).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    let of_type = |t: &str| {
        items
            .iter()
            .copied()
            .find(|i| get(i, "type").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(t)))
    };
    of_type(kind).or_else(|| {
        fallback
            .then(|| {
                items
                    .iter()
                    .copied()
                    .find(|i| get(i, "primary").and_then(Value::as_bool) == Some(true))
                    .or(items.first().copied())
            })
            .flatten()
    })
}

fn text(object: Option<&Map<String, Value>>, name: &str) -> Option<String> {
    object
        .and_then(|o| get(o, name))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The person a stored SCIM user describes, as of `today` (a deactivated user is terminated that day).
pub fn to_employee(id: &str, resource: &Value, today: NaiveDate) -> Employee {
    let empty = Map::new();
    let object = resource.as_object().unwrap_or(&empty);
    let name = get(object, "name").and_then(Value::as_object);
    let display = text(Some(object), "displayName");
    let (display_first, display_last) = match display.as_deref().and_then(|d| d.rsplit_once(' ')) {
        Some((first, last)) => (Some(first.to_owned()), Some(last.to_owned())),
        None => (display.clone(), None),
    };
    let enterprise =
        object.iter().find(|(k, _)| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)).and_then(|(_, v)| v.as_object());
    let manager = enterprise.and_then(|e| get(e, "manager"));
    let (manager_id, manager_name) = match manager {
        Some(Value::String(id)) => (Some(id.clone()), None),
        Some(Value::Object(m)) => (text(Some(m), "value"), text(Some(m), "displayName")),
        _ => (None, None),
    };
    let address = pick(object, "addresses", "home", true).map(|a| Address {
        line1: text(Some(a), "streetAddress"),
        line2: None,
        city: text(Some(a), "locality"),
        region: text(Some(a), "region"),
        postal_code: text(Some(a), "postalCode"),
        country: text(Some(a), "country"),
    });
    let active = get(object, "active").and_then(Value::as_bool).unwrap_or(true);
    Employee {
        hr_id: id.to_owned(),
        first_name: text(name, "givenName").or(display_first).unwrap_or_default(),
        last_name: text(name, "familyName").or(display_last).unwrap_or_default(),
        work_email: text(pick(object, "emails", "work", true), "value"),
        personal_email: text(pick(object, "emails", "home", false), "value"),
        phone: text(pick(object, "phoneNumbers", "work", true), "value"),
        home_address: address.filter(|a| !a.is_empty()),
        title: text(Some(object), "title"),
        department: text(enterprise, "department"),
        manager_hr_id: manager_id,
        manager_name,
        status: if active { EmploymentStatus::Active } else { EmploymentStatus::Terminated },
        start_date: None,
        end_date: (!active).then_some(today),
        withheld: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn okta_create() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "Test.User@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        })
    }

    #[test]
    fn a_password_and_the_servers_attributes_are_never_kept() {
        let mut sent = okta_create();
        sent["id"] = json!("chosen-by-client");
        sent["meta"] = json!({"version": "W/\"1\""});
        let kept = accept(sent).unwrap();
        assert!(kept.get("password").is_none() && kept.get("id").is_none() && kept.get("meta").is_none());
        assert_eq!(kept["locale"], "en-US", "what IT Hub does not read is kept as sent");
        assert_eq!(user_name(&kept), "test.user@okta.local");
        assert_eq!(email_keys(&kept), vec!["test.user@okta.local".to_owned()]);
        let entra = accept(json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "False"})).unwrap();
        assert_eq!(entra["active"], json!(false), "Entra's string is the boolean");
    }

    #[test]
    fn malformed_users_are_refused_with_the_reason() {
        for (bad, says) in [
            (json!({"schemas": [USER_SCHEMA]}), "userName"),
            (json!({"userName": "a"}), "schemas"),
            (json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "yes"}), "active"),
            (json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": "a@b"}), "emails"),
            (json!({"schemas": [USER_SCHEMA], "userName": "x".repeat(300)}), "userName"),
            (json!({"schemas": [USER_SCHEMA], "userName": "\u{1F600}".repeat(200)}), "userName"),
            (json!({"schemas": [USER_SCHEMA], "userName": "a", "title": "t".repeat(2000)}), "at most"),
            (json!([1]), "object"),
        ] {
            let error = accept(bad).unwrap_err();
            assert!(error.detail.contains(says), "{} should name {says}", error.detail);
        }
    }

    #[test]
    fn an_entra_user_maps_to_an_employee() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let user = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "ada",
            "userName": "ada@corp.example",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "ada@corp.example"},
                       {"type": "home", "value": "ada@home.example"}],
            "phoneNumbers": [{"type": "mobile", "value": "+1-555-0100"}],
            "addresses": [{"type": "home", "locality": "London", "country": "GB"}],
            "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
            "title": "Engineer",
            ENTERPRISE_SCHEMA: {"department": "Engineering", "employeeNumber": "42",
                                "manager": {"value": "m-1", "displayName": "Charles Babbage"}}
        });
        let e = to_employee("u-1", &user, today);
        assert_eq!((e.hr_id.as_str(), e.first_name.as_str(), e.last_name.as_str()), ("u-1", "Ada", "Lovelace"));
        assert_eq!(e.work_email.as_deref(), Some("ada@corp.example"));
        assert_eq!(e.personal_email.as_deref(), Some("ada@home.example"));
        assert_eq!(e.phone.as_deref(), Some("+1-555-0100"));
        assert_eq!(e.home_address.and_then(|a| a.city).as_deref(), Some("London"));
        assert_eq!((e.department.as_deref(), e.manager_hr_id.as_deref()), (Some("Engineering"), Some("m-1")));
        assert_eq!((e.status, e.end_date), (EmploymentStatus::Active, None));
        let mut gone = user.clone();
        gone["active"] = json!(false);
        let e = to_employee("u-1", &gone, today);
        assert_eq!((e.status, e.end_date), (EmploymentStatus::Terminated, Some(today)));
    }

    #[test]
    fn a_display_name_stands_in_for_a_missing_name() {
        let user = json!({"schemas": [USER_SCHEMA], "userName": "x", "displayName": "Grace Brewster Hopper"});
        let e = to_employee("u", &user, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("Grace Brewster", "Hopper"));
    }
}
