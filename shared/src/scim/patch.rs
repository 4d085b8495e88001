//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON.
//!
//! [`apply`] is atomic: it works on a copy and writes it back only when every operation succeeded. Keys are matched
//! case-insensitively and an existing key keeps its case. No schema is enforced beyond the mutability of `id`,
//! `meta`, `schemas` and `groups`, and `active` being a boolean.
//!
//! Leniencies beyond the RFC, for what Entra ID and Okta send:
//! - `op` is case-insensitive (`Add`, `Replace`, `Remove`); an empty `path` is no path; an empty operation list
//!   changes nothing.
//! - `active` given as the string `"True"`/`"False"` (any case) is stored as a boolean.
//! - the enterprise `manager` given as a string id is stored as `{"value": id}`, replacing the old manager whole.
//! - `add`/`replace` on `attr[filter].sub` (or `attr[filter]` with an object value) that matches no element appends
//!   a new element made of the filter's `eq` comparisons plus the value, when the filter is an `eq` or an `and` of
//!   `eq`s on sub-attributes (Entra sets a user's first work email with `replace emails[type eq "work"].value`).
//!   Other filters that match nothing are `noTarget`, as the RFC says.
//! - `remove` with a filter that matches nothing, or of an absent attribute, changes nothing (the RFC says
//!   `noTarget`); `remove` of a multi-valued attribute with a `value` array removes the elements with those `value`s
//!   (Entra's `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`).
//! - adding to a multi-valued attribute skips elements already there: equal, or with the same `value`.
//! - a write of `null` unassigns the target (RFC 7643 §2.5 makes null and unassigned equivalent).
//! - writing an unchanged value to a read-only attribute (a client echoing `id` or `schemas`) is not an error.
//! - a no-path value's keys may be any path (also filtered); keys of a schema URN's object are that schema's
//!   attribute paths.
//! - a path equal to a schema URN the resource already lists (in `schemas` or as a key) is that whole extension,
//!   like the core and enterprise URNs.
//!
//! Creating an extension object adds its URN to `schemas`, and removing it (or its last attribute) takes it out.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::filter::{self, AttrPath, CompareOp, Filter, PatchPath, get_ci};
use super::{ENTERPRISE_SCHEMA, PATCH_OP, ScimError, ScimType, USER_SCHEMA};

/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1000;

/// How deep `add`/`replace` merge objects into objects (extension → attribute → sub-attribute); deeper values are
/// replaced whole.
const MERGE_DEPTH: usize = 2;

/// A PATCH request body.
#[derive(Debug, Clone, Deserialize)]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations", alias = "OPERATIONS")]
    pub operations: Vec<PatchOperation>,
}

/// One operation. `value` is `Some(Value::Null)` for an explicit `null`, `None` when absent.
#[derive(Clone, Deserialize)]
pub struct PatchOperation {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "explicit")]
    pub value: Option<Value>,
}

/// Keeps an explicit `null` as `Some(Value::Null)`.
fn explicit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Shows the operation but not its path or value, which may hold personal data.
impl fmt::Debug for PatchOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatchOperation")
            .field("op", &self.op)
            .field("has_path", &self.path.is_some())
            .field("has_value", &self.value.is_some())
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Where an attribute lives: at the top level (core schema) or in a schema extension's object.
#[derive(Clone, PartialEq, Eq)]
enum Scope {
    Core,
    Ext(String),
}

/// Applies `request` to `resource` (a JSON object), all operations or none. Error details name the failing
/// operation by index and never quote values.
pub fn apply(resource: &mut Value, request: &PatchRequest) -> Result<(), ScimError> {
    if !request.schemas.iter().any(|s| s.eq_ignore_ascii_case(PATCH_OP)) {
        return Err(ScimError::new(ScimType::InvalidSyntax, format!("schemas must contain {PATCH_OP}")));
    }
    if request.operations.len() > MAX_OPERATIONS {
        return Err(ScimError::new(ScimType::InvalidValue, format!("at most {MAX_OPERATIONS} operations")));
    }
    let mut work = resource.clone();
    let Value::Object(root) = &mut work else {
        return Err(ScimError::new(ScimType::InvalidValue, "resource is not an object"));
    };
    for (i, operation) in request.operations.iter().enumerate() {
        apply_one(root, operation)
            .map_err(|e| ScimError::new(e.scim_type, format!("Operations[{i}]: {}", e.detail)))?;
    }
    *resource = work;
    Ok(())
}

fn apply_one(root: &mut Map<String, Value>, operation: &PatchOperation) -> Result<(), ScimError> {
    let op = [("add", Op::Add), ("replace", Op::Replace), ("remove", Op::Remove)]
        .into_iter()
        .find(|(name, _)| operation.op.eq_ignore_ascii_case(name))
        .map(|(_, op)| op)
        .ok_or_else(|| ScimError::new(ScimType::InvalidSyntax, "op must be add, replace or remove"))?;
    let path = operation.path.as_deref().map(str::trim_ascii).filter(|p| !p.is_empty());
    match (op, path) {
        (Op::Remove, None) => Err(ScimError::new(ScimType::NoTarget, "remove needs a path")),
        (Op::Remove, Some(path)) => {
            let path = resolve(root, path)?;
            remove(root, &path, operation.value.as_ref())
        }
        (Op::Add | Op::Replace, path) => {
            let value = operation.value.clone().ok_or_else(|| invalid_value("add and replace need a value"))?;
            let append = op == Op::Add;
            match path {
                None => write_object(root, None, value, append),
                Some(path) => {
                    let path = resolve(root, path)?;
                    write(root, None, &path, value, append)
                }
            }
        }
    }
}

fn invalid_value(detail: &str) -> ScimError {
    ScimError::new(ScimType::InvalidValue, detail)
}

fn invalid_path(detail: &str) -> ScimError {
    ScimError::new(ScimType::InvalidPath, detail)
}

/// Parses a path, taking a URN the resource already has as an extension to mean the whole extension.
fn resolve(root: &Map<String, Value>, text: &str) -> Result<PatchPath, ScimError> {
    let trimmed = text.trim_ascii();
    let listed = root
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(trimmed))));
    let keyed = root.iter().any(|(k, v)| v.is_object() && k.eq_ignore_ascii_case(trimmed));
    if starts_with_urn(trimmed) && (listed || keyed) {
        return Ok(PatchPath::Attr(AttrPath::simple(canonical_urn(trimmed))));
    }
    filter::parse_patch_path(text)
}

fn starts_with_urn(text: &str) -> bool {
    text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

fn is_core_urn(uri: &str) -> bool {
    const CORE: &str = "urn:ietf:params:scim:schemas:core:";
    uri.get(..CORE.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE))
}

/// The URN as the constants spell it when it is one of them, else as given.
fn canonical_urn(urn: &str) -> String {
    [USER_SCHEMA, ENTERPRISE_SCHEMA].into_iter().find(|s| s.eq_ignore_ascii_case(urn)).unwrap_or(urn).to_owned()
}

/// Whether the path is a whole schema (see [`filter::parse_patch_path`]).
fn is_schema(path: &AttrPath) -> bool {
    path.uri.is_none() && path.sub.is_none() && starts_with_urn(&path.name)
}

/// The scope of `path`, or `inner` when the path is a key inside a schema URN's object (where it must be plain).
fn scope(path: &AttrPath, inner: Option<&Scope>) -> Result<Scope, ScimError> {
    match (inner, &path.uri) {
        (Some(_), Some(_)) => Err(invalid_path("attributes of a schema object must not name a schema")),
        (Some(inner), None) => Ok(inner.clone()),
        (None, None) => Ok(Scope::Core),
        (None, Some(uri)) if is_core_urn(uri) => Ok(Scope::Core),
        (None, Some(uri)) => Ok(Scope::Ext(canonical_urn(uri))),
    }
}

/// Read-only attributes of the core schema.
fn is_read_only(name: &str) -> bool {
    ["id", "meta", "schemas", "groups"].iter().any(|n| name.eq_ignore_ascii_case(n))
}

fn read_only(name: &str) -> ScimError {
    // The name is the client's own attribute name, not a resource value.
    ScimError::new(ScimType::Mutability, format!("{name} is read-only"))
}

/// Checks a write or removal against the core schema's rules, and coerces `active`.
fn check(scope: &Scope, name: &str, sub: Option<&str>, value: Option<Value>) -> Result<Option<Value>, ScimError> {
    if *scope != Scope::Core {
        return Ok(value);
    }
    if is_read_only(name) {
        return Err(read_only(name));
    }
    if !name.eq_ignore_ascii_case("active") {
        return Ok(value);
    }
    if sub.is_some() {
        return Err(invalid_path("active has no sub-attributes"));
    }
    match value {
        None | Some(Value::Bool(_)) => Ok(value),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
        Some(_) => Err(invalid_value("active must be a boolean")),
    }
}

/// `add`/`replace` without a path, or of a whole schema: each key of the object is a path. `inner` is the schema
/// whose object this is, when it is one.
fn write_object(
    root: &mut Map<String, Value>,
    inner: Option<&Scope>,
    value: Value,
    append: bool,
) -> Result<(), ScimError> {
    let Value::Object(object) = value else { return Err(invalid_value("value must be an object")) };
    for (key, value) in object {
        let path = match inner {
            Some(_) => filter::parse_patch_path(&key)?,
            None => resolve(root, &key)?,
        };
        write(root, inner, &path, value, append)?;
    }
    Ok(())
}

/// `add` (`append`) or `replace` at `path`.
fn write(
    root: &mut Map<String, Value>,
    inner: Option<&Scope>,
    path: &PatchPath,
    value: Value,
    append: bool,
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) if is_schema(attr) => {
            if inner.is_some() {
                return Err(invalid_path("schema objects do not nest"));
            }
            if is_core_urn(&attr.name) {
                return write_object(root, Some(&Scope::Core), value, append);
            }
            let urn = canonical_urn(&attr.name);
            if value.is_null() {
                remove_extension(root, &urn);
                return Ok(());
            }
            write_object(root, Some(&Scope::Ext(urn)), value, append)
        }
        PatchPath::Attr(attr) => {
            let scope = scope(attr, inner)?;
            write_attr(root, &scope, &attr.name, attr.sub.as_deref(), value, append)
        }
        PatchPath::Filtered { path, filter, sub } => {
            let scope = scope(path, inner)?;
            write_filtered(root, &scope, &path.name, filter, sub.as_deref(), value, append)
        }
    }
}

/// `add` or `replace` of an attribute or sub-attribute.
fn write_attr(
    root: &mut Map<String, Value>,
    scope: &Scope,
    name: &str,
    sub: Option<&str>,
    value: Value,
    append: bool,
) -> Result<(), ScimError> {
    if *scope == Scope::Core && is_read_only(name) && sub.is_none() && get_ci(root, name) == Some(&value) {
        return Ok(());
    }
    let Some(mut value) = check(scope, name, sub, Some(value))? else { return Ok(()) };
    if value.is_null() {
        remove_attr(root, scope, name, sub);
        return Ok(());
    }
    let mut whole = false;
    if *scope == Scope::Ext(ENTERPRISE_SCHEMA.to_owned())
        && name.eq_ignore_ascii_case("manager")
        && sub.is_none()
        && let Value::String(id) = value
    {
        value = Value::Object(Map::from_iter([("value".to_owned(), Value::String(id))]));
        whole = true;
    }
    let container = container(root, scope)?;
    match sub {
        None if whole => {
            container.insert(key_for(container, name), value);
        }
        None => merge(container, name, value, append, MERGE_DEPTH),
        Some(sub) => {
            let slot = container.entry(key_for(container, name)).or_insert_with(|| Value::Object(Map::new()));
            if slot.is_array() {
                return Err(invalid_path("a sub-attribute of a multi-valued attribute needs a filter"));
            }
            merge(object(slot)?, sub, value, append, MERGE_DEPTH - 1);
        }
    }
    Ok(())
}

/// `add` or `replace` at `name[filter]` or `name[filter].sub`.
fn write_filtered(
    root: &mut Map<String, Value>,
    scope: &Scope,
    name: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: Value,
    append: bool,
) -> Result<(), ScimError> {
    check(scope, name, sub, None)?;
    if *scope == Scope::Core && name.eq_ignore_ascii_case("active") {
        return Err(invalid_path("active is not multi-valued"));
    }
    if value.is_null() {
        remove_filtered(root, scope, name, filter, sub);
        return Ok(());
    }
    let container = container(root, scope)?;
    let slot = container.entry(key_for(container, name)).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(items) = slot else { return Err(no_target()) };
    let mut hit = false;
    for item in items.iter_mut().filter(|item| filter::matches(filter, item)) {
        hit = true;
        match (sub, item, &value) {
            (Some(sub), Value::Object(element), _) => merge(element, sub, value.clone(), append, MERGE_DEPTH - 1),
            (Some(_), _, _) => return Err(invalid_path("the filtered elements have no sub-attributes")),
            (None, Value::Object(element), Value::Object(fields)) => {
                for (key, field) in fields {
                    merge(element, key, field.clone(), append, MERGE_DEPTH - 1);
                }
            }
            (None, item, _) => *item = value.clone(),
        }
    }
    if hit {
        return Ok(());
    }
    // Leniency: build the missing element from the filter's `eq`s (see the module documentation).
    let Some(mut element) = element_from(filter) else { return Err(no_target()) };
    match (sub, value) {
        (Some(sub), value) => merge(&mut element, sub, value, false, MERGE_DEPTH - 1),
        (None, Value::Object(fields)) => {
            for (key, field) in fields {
                merge(&mut element, &key, field, false, MERGE_DEPTH - 1);
            }
        }
        (None, _) => return Err(no_target()),
    }
    items.push(Value::Object(element));
    Ok(())
}

fn no_target() -> ScimError {
    ScimError::new(ScimType::NoTarget, "no element matches the filter")
}

/// The element a filter made of `eq`s on plain sub-attributes describes, if it is one and the element matches it.
fn element_from(filter: &Filter) -> Option<Map<String, Value>> {
    fn collect(filter: &Filter, out: &mut Map<String, Value>) -> Option<()> {
        match filter {
            Filter::Compare { path, op: CompareOp::Eq, value } if path.uri.is_none() && path.sub.is_none() => {
                if value.is_null() || value.is_array() || value.is_object() {
                    return None;
                }
                out.insert(path.name.clone(), value.clone());
                Some(())
            }
            Filter::And(a, b) => {
                collect(a, out)?;
                collect(b, out)
            }
            _ => None,
        }
    }
    let mut element = Map::new();
    collect(filter, &mut element)?;
    let element = Value::Object(element);
    if !filter::matches(filter, &element) {
        return None;
    }
    match element {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `remove` at `path`, with Entra's optional `value` array of elements to remove.
fn remove(root: &mut Map<String, Value>, path: &PatchPath, value: Option<&Value>) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) if is_schema(attr) => {
            if is_core_urn(&attr.name) {
                return Err(invalid_path("the core schema cannot be removed"));
            }
            remove_extension(root, &canonical_urn(&attr.name));
        }
        PatchPath::Attr(attr) => {
            let scope = scope(attr, None)?;
            check(&scope, &attr.name, attr.sub.as_deref(), None)?;
            match value {
                Some(value @ (Value::Array(_) | Value::Object(_))) if attr.sub.is_none() => {
                    remove_values(root, &scope, &attr.name, value);
                }
                _ => remove_attr(root, &scope, &attr.name, attr.sub.as_deref()),
            }
        }
        PatchPath::Filtered { path, filter, sub } => {
            let scope = scope(path, None)?;
            check(&scope, &path.name, sub.as_deref(), None)?;
            remove_filtered(root, &scope, &path.name, filter, sub.as_deref());
        }
    }
    Ok(())
}

/// Removes an attribute, or a sub-attribute (of every element, for a multi-valued attribute).
fn remove_attr(root: &mut Map<String, Value>, scope: &Scope, name: &str, sub: Option<&str>) {
    let Some(container) = existing_container(root, scope) else { return };
    let Some(key) = find_key(container, name) else { return };
    match (sub, container.get_mut(&key)) {
        (None, _) => {
            container.remove(&key);
        }
        (Some(sub), Some(Value::Object(object))) => {
            remove_key(object, sub);
            if object.is_empty() {
                container.remove(&key);
            }
        }
        (Some(sub), Some(Value::Array(items))) => {
            for item in items.iter_mut() {
                if let Value::Object(object) = item {
                    remove_key(object, sub);
                }
            }
        }
        (Some(_), _) => {}
    }
    tidy_extension(root, scope);
}

/// Removes the elements of a multi-valued attribute whose identity (`value`, or the element itself) is among
/// those of `value`'s elements. A single-valued attribute goes if its identity is among them.
fn remove_values(root: &mut Map<String, Value>, scope: &Scope, name: &str, value: &Value) {
    let targets: Vec<&Value> = match value {
        Value::Array(items) => items.iter().map(identity).collect(),
        other => vec![identity(other)],
    };
    let Some(container) = existing_container(root, scope) else { return };
    let Some(key) = find_key(container, name) else { return };
    let gone = match container.get_mut(&key) {
        Some(Value::Array(items)) => {
            items.retain(|item| !targets.contains(&identity(item)));
            items.is_empty()
        }
        Some(other) => targets.contains(&identity(other)),
        None => false,
    };
    if gone {
        container.remove(&key);
    }
    tidy_extension(root, scope);
}

/// Removes the matching elements of `name`, or their sub-attribute `sub`.
fn remove_filtered(root: &mut Map<String, Value>, scope: &Scope, name: &str, filter: &Filter, sub: Option<&str>) {
    let Some(container) = existing_container(root, scope) else { return };
    let Some(key) = find_key(container, name) else { return };
    let Some(Value::Array(items)) = container.get_mut(&key) else { return };
    match sub {
        None => {
            items.retain(|item| !filter::matches(filter, item));
            if items.is_empty() {
                container.remove(&key);
            }
        }
        Some(sub) => {
            for item in items.iter_mut().filter(|item| filter::matches(filter, item)) {
                if let Value::Object(object) = item {
                    remove_key(object, sub);
                }
            }
        }
    }
    tidy_extension(root, scope);
}

/// What identifies an element of a multi-valued attribute: its `value`, or itself when it has none.
fn identity(item: &Value) -> &Value {
    match item {
        Value::Object(object) => get_ci(object, "value").unwrap_or(item),
        other => other,
    }
}

/// Writes `value` at `key` of `map`: appended to an array when `append` (skipping elements already there),
/// merged key by key into an object (`depth` levels deep), else set; `null` removes the key.
fn merge(map: &mut Map<String, Value>, key: &str, value: Value, append: bool, depth: usize) {
    let key = key_for(map, key);
    if value.is_null() {
        map.remove(&key);
        return;
    }
    match (map.get_mut(&key), value) {
        (Some(Value::Array(items)), value) if append => {
            let new = match value {
                Value::Array(new) => new,
                other => vec![other],
            };
            for item in new {
                if !items.iter().any(|old| same_element(old, &item)) {
                    items.push(item);
                }
            }
        }
        (Some(Value::Object(old)), Value::Object(fields)) if depth > 0 => {
            for (k, v) in fields {
                merge(old, &k, v, append, depth - 1);
            }
        }
        (_, value) => {
            map.insert(key, value);
        }
    }
}

/// Whether `new` is already in a multi-valued attribute as `old`: equal, or objects with the same simple `value`.
fn same_element(old: &Value, new: &Value) -> bool {
    if old == new {
        return true;
    }
    let (Value::Object(a), Value::Object(b)) = (old, new) else { return false };
    match (get_ci(a, "value"), get_ci(b, "value")) {
        (Some(a), Some(b)) => !a.is_null() && !a.is_object() && !a.is_array() && a == b,
        _ => false,
    }
}

/// The existing key of `map` equal to `name` ignoring case, else `name`.
fn key_for(map: &Map<String, Value>, name: &str) -> String {
    find_key(map, name).unwrap_or_else(|| name.to_owned())
}

fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn remove_key(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = find_key(map, name) {
        map.remove(&key);
    }
}

/// `slot` as an object, replacing whatever else it held.
fn object(slot: &mut Value) -> Result<&mut Map<String, Value>, ScimError> {
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(|| invalid_value("value must be an object"))
}

/// The object attributes of `scope` live in, created (and listed in `schemas`) if absent.
fn container<'r>(root: &'r mut Map<String, Value>, scope: &Scope) -> Result<&'r mut Map<String, Value>, ScimError> {
    let Scope::Ext(urn) = scope else { return Ok(root) };
    let key = key_for(root, urn);
    if !root.get(&key).is_some_and(Value::is_object) {
        list_schema(root, urn);
    }
    object(root.entry(key).or_insert(Value::Null))
}

fn existing_container<'r>(root: &'r mut Map<String, Value>, scope: &Scope) -> Option<&'r mut Map<String, Value>> {
    match scope {
        Scope::Core => Some(root),
        Scope::Ext(urn) => {
            let key = find_key(root, urn)?;
            root.get_mut(&key)?.as_object_mut()
        }
    }
}

fn list_schema(root: &mut Map<String, Value>, urn: &str) {
    let Some(key) = find_key(root, "schemas") else { return };
    if let Some(Value::Array(schemas)) = root.get_mut(&key)
        && !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    {
        schemas.push(Value::String(urn.to_owned()));
    }
}

/// Removes an extension's object and its URN from `schemas`.
fn remove_extension(root: &mut Map<String, Value>, urn: &str) {
    remove_key(root, urn);
    let Some(key) = find_key(root, "schemas") else { return };
    if let Some(Value::Array(schemas)) = root.get_mut(&key) {
        schemas.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}

/// Removes an extension whose last attribute went.
fn tidy_extension(root: &mut Map<String, Value>, scope: &Scope) {
    if let Scope::Ext(urn) = scope
        && find_key(root, urn).and_then(|key| root.get(&key)).and_then(Value::as_object).is_some_and(Map::is_empty)
    {
        remove_extension(root, urn);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "id": "u1",
            "userName": "bjensen@example.com",
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "active": true,
            "emails": [{ "value": "babs@home.org", "type": "home" }],
            "meta": { "resourceType": "User", "version": "W/\"1\"" }
        })
    }

    fn request(ops: Value) -> PatchRequest {
        serde_json::from_value(json!({ "schemas": [PATCH_OP], "Operations": ops })).unwrap()
    }

    fn patch(resource: &mut Value, ops: Value) -> Result<(), ScimError> {
        apply(resource, &request(ops))
    }

    fn patched(ops: Value) -> Value {
        let mut resource = user();
        patch(&mut resource, ops).unwrap();
        resource
    }

    fn failure(ops: Value) -> ScimError {
        let mut resource = user();
        let err = patch(&mut resource, ops).unwrap_err();
        assert_eq!(resource, user(), "a failed patch changes nothing");
        err
    }

    const EMPLOYEE_NUMBER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
    const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

    #[test]
    fn entra_sequence() {
        let r = patched(json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bj@work.com" },
            { "op": "Replace", "path": "emails[type eq \"home\"].value", "value": "new@home.org" },
            { "op": "Replace", "path": "name.familyName", "value": "Smith" },
            { "op": "Add", "path": EMPLOYEE_NUMBER, "value": "701984" },
            { "op": "Replace", "path": MANAGER, "value": "m-1" },
            { "op": "Add", "path": "displayName", "value": "Babs" }
        ]));
        assert_eq!(r["active"], json!(false));
        assert_eq!(
            r["emails"],
            json!([{ "value": "new@home.org", "type": "home" }, { "type": "work", "value": "bj@work.com" }])
        );
        assert_eq!(r["name"], json!({ "givenName": "Barbara", "familyName": "Smith" }));
        assert_eq!(r[ENTERPRISE_SCHEMA], json!({ "employeeNumber": "701984", "manager": { "value": "m-1" } }));
        assert_eq!(r["schemas"], json!([USER_SCHEMA, ENTERPRISE_SCHEMA]));
        assert_eq!(r["displayName"], json!("Babs"));

        // A second run replaces the work address rather than adding another; a new manager replaces the old.
        let mut again = r.clone();
        patch(
            &mut again,
            json!([
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bj2@work.com" },
                { "op": "Replace", "path": MANAGER, "value": "m-2" },
                { "op": "Replace", "path": "active", "value": "TRUE" }
            ]),
        )
        .unwrap();
        assert_eq!(again["emails"][1], json!({ "type": "work", "value": "bj2@work.com" }));
        assert_eq!(again["emails"].as_array().map(Vec::len), Some(2));
        assert_eq!(again[ENTERPRISE_SCHEMA]["manager"], json!({ "value": "m-2" }));
        assert_eq!(again["active"], json!(true));

        // Removing the manager keeps the rest of the extension; removing the last attribute drops it.
        patch(&mut again, json!([{ "op": "Remove", "path": MANAGER }])).unwrap();
        assert_eq!(again[ENTERPRISE_SCHEMA], json!({ "employeeNumber": "701984" }));
        patch(&mut again, json!([{ "op": "Remove", "path": EMPLOYEE_NUMBER }])).unwrap();
        assert!(again.get(ENTERPRISE_SCHEMA).is_none());
        assert_eq!(again["schemas"], json!([USER_SCHEMA]));
    }

    #[test]
    fn active_must_be_boolean() {
        for value in [json!("yes"), json!(1), json!({}), json!(null)] {
            let err = failure(json!([{ "op": "replace", "path": "active", "value": value }]));
            assert_eq!(err.scim_type, ScimType::InvalidValue);
        }
        let err = failure(json!([{ "op": "replace", "value": { "ACTIVE": "nope" } }]));
        assert_eq!(err.scim_type, ScimType::InvalidValue);
        assert_eq!(patched(json!([{ "op": "replace", "value": { "active": "false" } }]))["active"], json!(false));
    }

    #[test]
    fn okta_no_path() {
        let r = patched(json!([{ "op": "replace", "value": { "active": false } }]));
        assert_eq!(r, {
            let mut u = user();
            u["active"] = json!(false);
            u
        });
        let r = patched(json!([{ "op": "replace", "value": {
            "id": "u1",
            "name": { "givenName": "Babs" },
            "emails": [{ "value": "b@x.com", "type": "work" }]
        } }]));
        assert_eq!(r["name"], json!({ "givenName": "Babs", "familyName": "Jensen" }), "complex merged");
        assert_eq!(r["emails"], json!([{ "value": "b@x.com", "type": "work" }]), "multi-valued replaced");
    }

    #[test]
    fn no_path_keys() {
        let r = patched(json!([{ "op": "Add", "value": {
            "NAME.GIVENNAME": "Babs",
            "name.middleName": "J",
            EMPLOYEE_NUMBER: "42",
            ENTERPRISE_SCHEMA: { "department": "Tour", "manager": "m-1" },
            "emails": [{ "value": "b@x.com", "type": "work" }, { "value": "babs@home.org", "type": "home" }],
            "nickName": "B"
        } }]));
        assert_eq!(r["name"], json!({ "givenName": "Babs", "familyName": "Jensen", "middleName": "J" }));
        assert!(r.get("NAME").is_none());
        assert_eq!(
            r[ENTERPRISE_SCHEMA],
            json!({ "employeeNumber": "42", "department": "Tour", "manager": { "value": "m-1" } })
        );
        assert_eq!(
            r["emails"],
            json!([{ "value": "babs@home.org", "type": "home" }, { "value": "b@x.com", "type": "work" }]),
            "appended without the duplicate"
        );
        assert_eq!(r["nickName"], json!("B"));
    }

    #[test]
    fn bare_extension_urn_path() {
        let mut r = patched(json!([{
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
            "value": { "employeeNumber": "7", "manager": { "value": "m-1" } }
        }]));
        assert_eq!(r[ENTERPRISE_SCHEMA], json!({ "employeeNumber": "7", "manager": { "value": "m-1" } }));
        patch(&mut r, json!([{ "op": "replace", "path": ENTERPRISE_SCHEMA, "value": { "costCenter": "4130" } }]))
            .unwrap();
        assert_eq!(r[ENTERPRISE_SCHEMA]["costCenter"], json!("4130"));
        assert_eq!(r[ENTERPRISE_SCHEMA]["employeeNumber"], json!("7"));
        let err = patch(&mut r, json!([{ "op": "add", "path": ENTERPRISE_SCHEMA, "value": { EMPLOYEE_NUMBER: "1" } }]))
            .unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidPath);
        patch(&mut r, json!([{ "op": "remove", "path": ENTERPRISE_SCHEMA }])).unwrap();
        assert_eq!(r, user());
        // The core schema URN as a path is the top level.
        let r = patched(json!([{ "op": "replace", "path": USER_SCHEMA, "value": { "title": "Guide" } }]));
        assert_eq!(r["title"], json!("Guide"));
        // An extension the resource already lists counts as a schema too.
        let custom = "urn:example:scim:ext:1.0:User";
        let mut r = user();
        r["schemas"] = json!([USER_SCHEMA, custom]);
        patch(&mut r, json!([{ "op": "add", "path": custom, "value": { "badge": "9" } }])).unwrap();
        assert_eq!(r[custom], json!({ "badge": "9" }));
        // So does a core schema the resource lists, such as a Group's.
        let group_schema = "urn:ietf:params:scim:schemas:core:2.0:Group";
        let mut group = json!({ "schemas": [group_schema], "displayName": "A" });
        patch(&mut group, json!([{ "op": "replace", "path": group_schema, "value": { "displayName": "B" } }])).unwrap();
        assert_eq!(group, json!({ "schemas": [group_schema], "displayName": "B" }));
    }

    #[test]
    fn filtered_elements() {
        let mut r = user();
        patch(
            &mut r,
            json!([
                { "op": "add", "path": "emails", "value": [{ "value": "w@x.com", "type": "work" }] },
                { "op": "replace", "path": "emails[type eq \"work\"]", "value": { "primary": true } }
            ]),
        )
        .unwrap();
        assert_eq!(r["emails"][1], json!({ "value": "w@x.com", "type": "work", "primary": true }));
        patch(&mut r, json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }])).unwrap();
        assert_eq!(r["emails"], json!([{ "value": "w@x.com", "type": "work", "primary": true }]));
        patch(&mut r, json!([{ "op": "remove", "path": "emails[type eq \"work\"].primary" }])).unwrap();
        assert_eq!(r["emails"], json!([{ "value": "w@x.com", "type": "work" }]));
        // Nothing to remove is fine; the last element's removal unassigns the attribute.
        patch(&mut r, json!([{ "op": "remove", "path": "emails[type eq \"other\"]" }])).unwrap();
        patch(&mut r, json!([{ "op": "remove", "path": "emails[value co \"@x.com\"]" }])).unwrap();
        assert!(r.get("emails").is_none());
        // A filter that cannot describe a new element is noTarget.
        let err = failure(json!([{ "op": "replace", "path": "emails[type ne \"home\"].value", "value": "a@b" }]));
        assert_eq!(err.scim_type, ScimType::NoTarget);
        let err = failure(json!([{ "op": "replace", "path": "emails[type eq \"work\"]", "value": "a@b" }]));
        assert_eq!(err.scim_type, ScimType::NoTarget);
    }

    #[test]
    fn group_members() {
        let mut group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g1",
            "displayName": "Tour Guides",
            "members": [{ "value": "u1", "display": "Babs" }, { "value": "u2" }, { "value": "u3" }]
        });
        patch(
            &mut group,
            json!([
                { "op": "Add", "path": "members", "value": [{ "value": "u1" }, { "value": "u4" }, { "value": "u4" }] },
                { "op": "Remove", "path": "members", "value": [{ "value": "u2" }, { "value": "u9" }] },
                { "op": "Remove", "path": "members[value eq \"u3\"]" }
            ]),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{ "value": "u1", "display": "Babs" }, { "value": "u4" }]));
        patch(&mut group, json!([{ "op": "Replace", "path": "members", "value": [] }])).unwrap();
        assert_eq!(group["members"], json!([]));
        patch(&mut group, json!([{ "op": "Remove", "path": "members" }])).unwrap();
        assert!(group.get("members").is_none());
    }

    #[test]
    fn mutability() {
        for (path, value) in [
            ("id", json!("other")),
            ("meta", json!({})),
            ("meta.version", json!("W/\"2\"")),
            ("schemas", json!([])),
            ("groups", json!([{ "value": "g1" }])),
            ("ID", json!("other")),
            ("urn:ietf:params:scim:schemas:core:2.0:User:id", json!("other")),
        ] {
            for op in ["add", "replace", "remove"] {
                let err = failure(json!([{ "op": op, "path": path, "value": value }]));
                assert_eq!(err.scim_type, ScimType::Mutability, "{op} {path}");
            }
        }
        let err = failure(json!([{ "op": "replace", "value": { "id": "other" } }]));
        assert_eq!(err.scim_type, ScimType::Mutability);
        let err = failure(json!([{ "op": "remove", "path": "groups[value eq \"g\"]" }]));
        assert_eq!(err.scim_type, ScimType::Mutability);
        // Echoing an unchanged read-only value is not a change.
        assert_eq!(patched(json!([{ "op": "replace", "value": { "id": "u1", "schemas": [USER_SCHEMA] } }])), user());
    }

    #[test]
    fn atomic() {
        let err = failure(json!([
            { "op": "replace", "path": "userName", "value": "changed" },
            { "op": "replace", "path": "id", "value": "x" }
        ]));
        assert_eq!(err.detail, "Operations[1]: id is read-only");
    }

    #[test]
    fn request_errors() {
        let err = failure(json!([{ "op": "move", "path": "userName", "value": "x" }]));
        assert_eq!(err.scim_type, ScimType::InvalidSyntax);
        assert_eq!(failure(json!([{ "op": "remove" }])).scim_type, ScimType::NoTarget);
        assert_eq!(failure(json!([{ "op": "add", "path": "x" }])).scim_type, ScimType::InvalidValue);
        assert_eq!(failure(json!([{ "op": "add", "value": "x" }])).scim_type, ScimType::InvalidValue);
        assert_eq!(failure(json!([{ "op": "add", "path": "a..b", "value": "x" }])).scim_type, ScimType::InvalidPath);
        assert_eq!(
            failure(json!([{ "op": "add", "path": "emails.value", "value": "x" }])).scim_type,
            ScimType::InvalidPath
        );
        assert_eq!(failure(json!([{ "op": "remove", "path": USER_SCHEMA }])).scim_type, ScimType::InvalidPath);

        let mut r = user();
        let wrong: PatchRequest = serde_json::from_value(json!({ "schemas": ["x"], "Operations": [] })).unwrap();
        assert_eq!(apply(&mut r, &wrong).unwrap_err().scim_type, ScimType::InvalidSyntax);
        let many = vec![json!({ "op": "add", "path": "title", "value": "t" }); MAX_OPERATIONS + 1];
        let err = apply(&mut r, &request(json!(many))).unwrap_err();
        assert_eq!((err.scim_type, err.detail.as_str()), (ScimType::InvalidValue, "at most 1000 operations"));
        let lower: PatchRequest = serde_json::from_value(
            json!({ "schemas": [PATCH_OP], "operations": [{ "op": "add", "path": "title", "value": "t" }] }),
        )
        .unwrap();
        apply(&mut r, &lower).unwrap();
        assert_eq!(r["title"], json!("t"));
        assert_eq!(apply(&mut json!([]), &lower).unwrap_err().scim_type, ScimType::InvalidValue);
    }

    #[test]
    fn null_and_removal() {
        let r = patched(json!([
            { "op": "replace", "path": "name.givenName", "value": null },
            { "op": "remove", "path": "name.familyName" },
            { "op": "remove", "path": "nickName" },
            { "op": "remove", "path": EMPLOYEE_NUMBER }
        ]));
        assert!(r.get("name").is_none());
        let op: PatchOperation =
            serde_json::from_value(json!({ "op": "replace", "path": "x", "value": null })).unwrap();
        assert_eq!(op.value, Some(Value::Null));
        assert!(!format!("{op:?}").contains('x'));
    }

    #[test]
    fn errors_do_not_quote_values() {
        for ops in [
            json!([{ "op": "replace", "path": "active", "value": "secret" }]),
            json!([{ "op": "secret", "path": "x", "value": 1 }]),
            json!([{ "op": "replace", "path": "emails[value eq \"secret\"]", "value": "secret" }]),
        ] {
            let detail = failure(ops).detail;
            assert!(!detail.contains("secret"), "{detail}");
        }
    }

    fn small_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            prop_oneof![Just("True"), Just("false"), Just("work"), Just("u1"), Just("")].prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("value"),
                            Just("type"),
                            Just("name"),
                            Just("givenName"),
                            Just(ENTERPRISE_SCHEMA),
                            Just("emails"),
                            Just("active"),
                            Just("manager")
                        ],
                        inner
                    ),
                    0..4
                )
                .prop_map(|fields| Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    fn operation() -> impl Strategy<Value = (String, Option<String>, Option<Value>)> {
        let op = prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("copy")];
        let path = prop_oneof![
            Just(None),
            Just(Some("")),
            Just(Some("active")),
            Just(Some("name.givenName")),
            Just(Some("NAME")),
            Just(Some("emails")),
            Just(Some("emails.value")),
            Just(Some("emails[type eq \"work\"].value")),
            Just(Some("emails[type eq \"work\" and value pr]")),
            Just(Some("emails[value eq \"u1\"]")),
            Just(Some("members[value eq \"u1\"]")),
            Just(Some(ENTERPRISE_SCHEMA)),
            Just(Some(MANAGER)),
            Just(Some(EMPLOYEE_NUMBER)),
            Just(Some(USER_SCHEMA)),
            Just(Some("id")),
            Just(Some("meta.version")),
            Just(Some("x[")),
            Just(Some("value")),
        ];
        (op, path, prop::option::of(small_json()))
            .prop_map(|(op, path, value)| (op.to_owned(), path.map(str::to_owned), value))
    }

    proptest! {
        #[test]
        fn apply_never_panics_and_is_atomic(
            resource in prop_oneof![small_json(), Just(user())],
            ops in prop::collection::vec(operation(), 0..5),
        ) {
            let request = PatchRequest {
                schemas: vec![PATCH_OP.to_owned()],
                operations: ops.into_iter().map(|(op, path, value)| PatchOperation { op, path, value }).collect(),
            };
            let mut patched = resource.clone();
            if apply(&mut patched, &request).is_err() {
                prop_assert_eq!(patched, resource);
            }
        }
    }
}
