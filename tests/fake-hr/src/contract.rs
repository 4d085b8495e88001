//! The vendors' own API descriptions, held against every request a connector sends a fake and every answer the
//! fake gives, so that a wrong assumption shared by a connector and its fake fails a test instead of passing twice.
//!
//! A [`Contract`] is one vendor's published OpenAPI documents (vendored under `tests/contracts/<vendor>/`, each
//! with its source in that folder's README). [`Contract::enforce`] wraps a fake's router: a request that breaks
//! the description is answered `422` and an answer that breaks it becomes a `500` (as Prism's validating proxy
//! does with `--errors`), and each violation is kept in the fake's [`Violations`], which the integration tests'
//! `World` reads when a test ends. The sandbox controls (`/sandbox/...`) are the fake's own and are not checked.
//!
//! What is checked, per operation (method and path template): path and query parameters (required ones present,
//! every value against its schema, parameters the description does not name refused), the request body against
//! its media type's schema (JSON and form bodies), and the answer's status (a success the description does not list
//! is a violation) and JSON body against the schema listed for that status. Undocumented `401`, `429` and `5xx`
//! answers pass: gateways give them whatever a description says, and the fakes' injected faults are such answers.
//! OpenAPI 3.0 documents are read as JSON Schema draft 4 with `nullable` turned into a `null` type; 3.1 documents
//! are JSON Schema 2020-12 already. Formats (`date-time`, `date`, `email`, …) are checked.
//!
//! Where a vendor's description lacks an operation the connector needs (Personio's org units, say), the fake names
//! it with [`Contract::undescribed`], with the reason, and the test follows the vendor's documentation page instead.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The most a fake reads of a request or an answer to check it (the fakes' answers are pages, far below this).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The contract violations one fake has seen, in order.
#[derive(Clone, Default)]
pub struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn push(&self, violation: String) {
        tracing::warn!(%violation, "contract violation");
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(violation);
    }
}

/// Marks an answer a fake breaks on purpose (an injected truncated body): it is not held to the contract.
#[derive(Clone, Copy)]
pub struct InjectedFault;

/// A fake that is held to a vendor's description: what the tests ask of it when they end.
pub trait Contracted {
    /// Every request or answer so far that broke the vendor's description.
    fn violations(&self) -> Vec<String>;
}

impl<T: Contracted> Contracted for Arc<T> {
    fn violations(&self) -> Vec<String> {
        T::violations(self)
    }
}

struct Document {
    /// The document with its schemas made JSON Schema (see the module's notes).
    doc: Value,
    draft: jsonschema::Draft,
    operations: Vec<Operation>,
}

struct Operation {
    method: Method,
    template: Vec<Segment>,
    /// JSON pointer of the operation object in the document.
    pointer: String,
    parameters: Vec<Value>,
}

#[derive(PartialEq)]
enum Segment {
    Literal(String),
    Parameter(String),
}

/// One vendor's published API description (one or several documents).
pub struct Contract {
    name: String,
    documents: Vec<Document>,
    undescribed: Vec<(Vec<Segment>, &'static str)>,
    validators: Mutex<HashMap<(usize, String), Arc<jsonschema::Validator>>>,
}

/// Where a request landed in the description.
struct Matched<'a> {
    document: usize,
    operation: &'a Operation,
    path_values: HashMap<String, String>,
}

/// The vendored documents' folder.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

impl Contract {
    /// Reads a vendor's documents (paths under `tests/contracts/`), YAML or JSON. Panics on a missing or
    /// unreadable document: the test data is broken, not the connector.
    pub fn load(name: &str, files: &[&str]) -> Self {
        let documents = files
            .iter()
            .map(|file| {
                let path = contracts_dir().join(file);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("contract document {}: {e}", path.display()));
                let raw: Value = if file.ends_with(".json") {
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
                } else {
                    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
                };
                Document::new(raw)
            })
            .collect();
        Self { name: name.to_owned(), documents, undescribed: Vec::new(), validators: Mutex::default() }
    }

    /// An operation the vendor documents on a page but not in this description: requests to paths matching
    /// `template` (`/v2/org-units/{id}`) pass unchecked. `reason` says where the fake's behaviour comes from.
    pub fn undescribed(mut self, template: &str, reason: &'static str) -> Self {
        self.undescribed.push((parse_template(template), reason));
        self
    }

    /// The router, wrapped so that every request and answer outside `/sandbox` is held to this contract.
    pub fn enforce<S: Clone + Send + Sync + 'static>(
        &'static self,
        router: axum::Router<S>,
        violations: Violations,
    ) -> axum::Router<S> {
        router.layer(axum::middleware::from_fn_with_state(Guard { contract: self, violations }, guard))
    }

    /// Checks a request; `Err` lists every way it breaks the description.
    pub fn check_request(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Option<(usize, String)>, Vec<String>> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if self.undescribed.iter().any(|(template, _)| matches(template, &segments).is_some()) {
            return Ok(None);
        }
        let Some(matched) = self.find(method, &segments) else {
            return Err(vec![format!("{method} {path}: no such operation in {}'s description", self.name)]);
        };
        let mut problems = Vec::new();
        self.check_parameters(&matched, query, headers, &mut problems);
        self.check_request_body(&matched, headers, body, &mut problems);
        let at = format!("{method} {path}");
        if problems.is_empty() {
            Ok(Some((matched.document, matched.operation.pointer.clone())))
        } else {
            Err(problems.into_iter().map(|p| format!("{at}: {p}")).collect())
        }
    }

    /// Checks an answer to a request [`Contract::check_request`] matched to the operation at `pointer`.
    pub fn check_response(
        &self,
        (document, pointer): &(usize, String),
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        let Some(doc) = self.documents.get(*document) else { return Vec::new() };
        let Some(responses) = doc.doc.pointer(&format!("{pointer}/responses")) else { return Vec::new() };
        let code = status.as_u16().to_string();
        let class = format!("{}XX", status.as_u16() / 100);
        let Some((key, response)) = [code.as_str(), class.as_str(), "default"]
            .into_iter()
            .find_map(|key| responses.get(key).map(|r| (key.to_owned(), r)))
        else {
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            {
                return Vec::new();
            }
            return vec![format!("answered {status}, which the description does not list for this operation")];
        };
        let response = doc.resolve(response);
        let Some(content) = response.get("content").and_then(Value::as_object) else { return Vec::new() };
        if !is_json(headers) || body.is_empty() {
            return Vec::new();
        }
        let Some((media, _)) = content.iter().find(|(media, _)| is_json_media(media)) else { return Vec::new() };
        let instance: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) => return vec![format!("answered {status} with a body that is not JSON: {e}")],
        };
        let schema_pointer = format!("{pointer}/responses/{}/content/{}/schema", escape(&key), escape(media));
        let schema_pointer = doc.follow(&schema_pointer);
        if doc.doc.pointer(&schema_pointer).is_none() {
            return Vec::new();
        }
        self.validate(*document, &schema_pointer, &instance)
            .into_iter()
            .map(|p| format!("answer {status}: {p}"))
            .collect()
    }

    fn find(&self, method: &Method, segments: &[&str]) -> Option<Matched<'_>> {
        let mut best: Option<(usize, Matched<'_>)> = None;
        for (index, doc) in self.documents.iter().enumerate() {
            for operation in doc.operations.iter().filter(|o| o.method == *method) {
                if let Some(path_values) = matches(&operation.template, segments) {
                    // Literal segments win over parameters (`/workers/meta` over `/workers/{id}`).
                    let literals = operation.template.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
                    if best.as_ref().is_none_or(|(l, _)| literals > *l) {
                        best = Some((literals, Matched { document: index, operation, path_values }));
                    }
                }
            }
        }
        best.map(|(_, m)| m)
    }

    fn check_parameters(&self, matched: &Matched<'_>, query: Option<&str>, headers: &HeaderMap, out: &mut Vec<String>) {
        let Some(doc) = self.documents.get(matched.document) else { return };
        let mut sent: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for parameter in &matched.operation.parameters {
            let parameter = doc.resolve(parameter);
            let (Some(name), Some(place)) =
                (parameter.get("name").and_then(Value::as_str), parameter.get("in").and_then(Value::as_str))
            else {
                continue;
            };
            let required = parameter.get("required").and_then(Value::as_bool).unwrap_or(place == "path");
            let schema = parameter.get("schema").cloned().unwrap_or(json!({}));
            let values: Vec<String> = match place {
                "path" => matched.path_values.get(name).cloned().into_iter().collect(),
                "query" => {
                    let (mine, rest): (Vec<_>, Vec<_>) =
                        sent.drain(..).partition(|(k, _)| k == name || k == &format!("{name}[]"));
                    sent = rest;
                    mine.into_iter().map(|(_, v)| v).collect()
                }
                "header" => headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect(),
                _ => continue,
            };
            if values.is_empty() {
                if required {
                    out.push(format!("the required {place} parameter `{name}` is missing"));
                }
                continue;
            }
            let schema = doc.resolve(&schema).clone();
            let explode = parameter.get("explode").and_then(Value::as_bool).unwrap_or(true);
            let instance = if schema_type(&schema) == Some("array") {
                let items = schema.get("items").map(|i| doc.resolve(i).clone()).unwrap_or(json!({}));
                let parts: Vec<String> = if explode && values.len() > 1 {
                    values
                } else {
                    values.iter().flat_map(|v| v.split(',').map(str::to_owned)).collect()
                };
                Value::Array(parts.iter().map(|v| coerce(v, &items)).collect())
            } else {
                if values.len() > 1 {
                    out.push(format!("the {place} parameter `{name}` is given {} times", values.len()));
                }
                coerce(&values[0], &schema)
            };
            let pointer = format!("#/x-parameter/{name}");
            for problem in self.validate_inline(matched.document, &pointer, &schema, &instance) {
                out.push(format!("{place} parameter `{name}`: {problem}"));
            }
        }
        for (name, _) in sent {
            out.push(format!("the query parameter `{name}` is not in the description"));
        }
    }

    fn check_request_body(&self, matched: &Matched<'_>, headers: &HeaderMap, body: &[u8], out: &mut Vec<String>) {
        let Some(doc) = self.documents.get(matched.document) else { return };
        let pointer = format!("{}/requestBody", matched.operation.pointer);
        let Some(request_body) = doc.doc.pointer(&pointer) else {
            if !body.is_empty() {
                out.push("a request body, where the description takes none".into());
            }
            return;
        };
        let request_body = doc.resolve(request_body);
        if body.is_empty() {
            if request_body.get("required").and_then(Value::as_bool).unwrap_or(false) {
                out.push("the required request body is missing".into());
            }
            return;
        }
        let Some(content) = request_body.get("content").and_then(Value::as_object) else { return };
        let sent_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = sent_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((media, _)) = content.iter().find(|(m, _)| m.split(';').next().unwrap_or("").trim() == essence) else {
            let listed: Vec<&String> = content.keys().collect();
            out.push(format!("a `{sent_type}` body, where the description takes {listed:?}"));
            return;
        };
        let schema_pointer = doc.follow(&format!("{}/content/{}/schema", doc.follow(&pointer), escape(media)));
        let Some(schema) = doc.doc.pointer(&schema_pointer) else { return };
        let instance = if is_json_media(media) {
            match serde_json::from_slice(body) {
                Ok(value) => value,
                Err(e) => return out.push(format!("the body is not JSON: {e}")),
            }
        } else if media == "application/x-www-form-urlencoded" {
            let properties = doc.resolve(schema).get("properties").cloned().unwrap_or(json!({}));
            let fields: Map<String, Value> = url::form_urlencoded::parse(body)
                .map(|(k, v)| {
                    let field_schema = properties.get(k.as_ref()).map(|s| doc.resolve(s).clone()).unwrap_or(json!({}));
                    (k.into_owned(), coerce(&v, &field_schema))
                })
                .collect();
            Value::Object(fields)
        } else {
            return;
        };
        for problem in self.validate(matched.document, &schema_pointer, &instance) {
            out.push(format!("request body: {problem}"));
        }
    }

    /// Validates `instance` against the schema at `pointer` in document `document`.
    fn validate(&self, document: usize, pointer: &str, instance: &Value) -> Vec<String> {
        let Some(doc) = self.documents.get(document) else { return Vec::new() };
        let validator = self.validator(document, pointer, || doc.doc.pointer(pointer).cloned().unwrap_or_default());
        problems(&validator, instance)
    }

    /// Validates against a schema that is not at one place in the document (a parameter's, after coercion).
    fn validate_inline(&self, document: usize, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let key = format!("{key}:{schema}");
        let validator = self.validator(document, &key, || schema.clone());
        problems(&validator, instance)
    }

    fn validator(&self, document: usize, key: &str, schema: impl FnOnce() -> Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(validator) = cache.get(&(document, key.to_owned())) {
            return validator.clone();
        }
        let doc = &self.documents[document];
        // The schema beside the document's components, so that its `$ref`s resolve as they do in the document.
        let mut root = Map::new();
        root.insert("$ref".into(), json!("#/x-target"));
        root.insert("x-target".into(), schema());
        if let Some(components) = doc.doc.get("components") {
            root.insert("components".into(), components.clone());
        }
        let validator = jsonschema::options()
            .with_draft(doc.draft)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{}: a schema of the description does not compile: {e}", self.name));
        let validator = Arc::new(validator);
        cache.insert((document, key.to_owned()), validator.clone());
        validator
    }
}

impl Document {
    fn new(mut raw: Value) -> Self {
        let openapi = raw.get("openapi").and_then(Value::as_str).unwrap_or("3.0").to_owned();
        let draft = if openapi.starts_with("3.0") {
            make_nullable_explicit(&mut raw);
            jsonschema::Draft::Draft4
        } else {
            jsonschema::Draft::Draft202012
        };
        let mut operations = Vec::new();
        if let Some(paths) = raw.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                for (method, operation) in item.as_object().into_iter().flatten() {
                    let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                    if !operation.is_object() {
                        continue;
                    }
                    let own: Vec<Value> =
                        operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                    let mut parameters = own.clone();
                    // Path-level parameters apply unless the operation names the same one again.
                    for p in &shared {
                        if !own.iter().any(|o| o.get("name") == p.get("name") && o.get("in") == p.get("in")) {
                            parameters.push(p.clone());
                        }
                    }
                    operations.push(Operation {
                        pointer: format!("/paths/{}/{}", escape(path), method.as_str().to_ascii_lowercase()),
                        method,
                        template: parse_template(path),
                        parameters,
                    });
                }
            }
        }
        Self { doc: raw, draft, operations }
    }

    /// Follows a `$ref` (to this document) until a value that is not one.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
                Some(pointer) => match self.doc.pointer(pointer) {
                    Some(target) => value = target,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }

    /// The pointer itself, or where the `$ref` at it leads (a request body or response kept in components).
    fn follow(&self, pointer: &str) -> String {
        let mut current = pointer.to_owned();
        // Each step of the pointer may land on a `$ref`: resolve step by step.
        let mut resolved = String::new();
        for part in current.split('/').skip(1) {
            resolved = format!("{resolved}/{part}");
            for _ in 0..16 {
                match self
                    .doc
                    .pointer(&resolved)
                    .and_then(|v| v.get("$ref"))
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix('#'))
                {
                    Some(target) if !part.is_empty() && target != resolved => resolved = target.to_owned(),
                    _ => break,
                }
            }
        }
        if !resolved.is_empty() {
            current = resolved;
        }
        current
    }
}

#[derive(Clone)]
struct Guard {
    contract: &'static Contract,
    violations: Violations,
}

async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/sandbox") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let checked = guard.contract.check_request(&parts.method, &path, parts.uri.query(), &parts.headers, &body);
    let operation = match checked {
        Ok(operation) => operation,
        Err(problems) => {
            for problem in &problems {
                guard.violations.push(problem.clone());
            }
            return refusal(StatusCode::UNPROCESSABLE_ENTITY, "the request breaks the vendor's description", problems);
        }
    };
    let method = parts.method.clone();
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let Some(operation) = operation else { return response };
    if response.extensions().get::<InjectedFault>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body: Bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let problems = guard.contract.check_response(&operation, parts.status, &parts.headers, &body);
    if problems.is_empty() {
        return Response::from_parts(parts, Body::from(body));
    }
    let problems: Vec<String> = problems.into_iter().map(|p| format!("{method} {path}: {p}")).collect();
    for problem in &problems {
        guard.violations.push(problem.clone());
    }
    refusal(StatusCode::INTERNAL_SERVER_ERROR, "the fake's answer breaks the vendor's description", problems)
}

fn refusal(status: StatusCode, title: &str, problems: Vec<String>) -> Response {
    let body = json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "violations": problems });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn problems(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(5)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() { e.to_string() } else { format!("at {at}: {e}") }
        })
        .collect()
}

fn parse_template(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => Segment::Parameter(name.to_owned()),
            None => Segment::Literal(s.to_owned()),
        })
        .collect()
}

fn matches(template: &[Segment], segments: &[&str]) -> Option<HashMap<String, String>> {
    if template.len() != segments.len() {
        return None;
    }
    let mut values = HashMap::new();
    for (part, sent) in template.iter().zip(segments) {
        match part {
            Segment::Literal(literal) if literal == sent => {}
            Segment::Parameter(name) if !sent.is_empty() => {
                let decoded = url::form_urlencoded::parse(format!("v={sent}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| (*sent).to_owned());
                values.insert(name.clone(), decoded);
            }
            _ => return None,
        }
    }
    Some(values)
}

/// A parameter's text as the JSON value its schema's type asks for (left as text when it is not one, so the
/// schema's check says so).
fn coerce(text: &str, schema: &Value) -> Value {
    match schema_type(schema) {
        Some("integer") => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(text)),
        Some("number") => {
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(|| json!(text), Value::Number)
        }
        Some("boolean") => match text {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(text),
        },
        _ => json!(text),
    }
}

fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json_media)
}

fn is_json_media(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "*/*"
}

/// A JSON pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema says it: `null` among the types (or an `anyOf` with `null` where
/// the schema has no type of its own, a `$ref` say).
fn make_nullable_explicit(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                make_nullable_explicit(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get_mut("type") {
                    Some(Value::String(t)) => {
                        let t = std::mem::take(t);
                        map.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(values)) = map.get_mut("enum") {
                            values.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, { "type": "null" }]));
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_nullable_explicit),
        _ => {}
    }
}

/// Loads a contract once per process.
pub fn once(cell: &'static OnceLock<Contract>, load: impl FnOnce() -> Contract) -> &'static Contract {
    cell.get_or_init(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bamboo() -> &'static Contract {
        static CELL: OnceLock<Contract> = OnceLock::new();
        once(&CELL, || Contract::load("BambooHR", &["bamboohr/bamboohr-public.yaml"]))
    }

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        headers
    }

    #[test]
    fn a_request_that_breaks_the_description_is_named() {
        let contract = bamboo();
        // `since` must be a date-time, and the description names no `foo`.
        let problems = contract
            .check_request(
                &Method::GET,
                "/api/v1/employees/changed",
                Some("since=yesterday&foo=1"),
                &HeaderMap::new(),
                b"",
            )
            .unwrap_err();
        assert!(problems.iter().any(|p| p.contains("`since`")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("`foo`")), "{problems:?}");
        // An operation the description does not have.
        assert!(contract.check_request(&Method::GET, "/api/v1/nothing", None, &HeaderMap::new(), b"").is_err());
        // A well-formed one passes.
        contract
            .check_request(
                &Method::GET,
                "/api/v1/employees/changed",
                Some("since=2026-01-01T00:00:00Z"),
                &HeaderMap::new(),
                b"",
            )
            .unwrap();
    }

    #[test]
    fn a_request_body_is_held_to_its_schema() {
        let contract = bamboo();
        let bad = contract.check_request(&Method::POST, "/api/v1/webhooks", None, &json_headers(), br#"{"name": 5}"#);
        assert!(bad.is_err(), "a webhook without url or format, and a numeric name");
        let good = json!({ "name": "IT Hub", "url": "https://hub.example/webhooks/x", "format": "json",
                           "monitorFields": ["firstName"], "postFields": { "firstName": "firstName" } });
        contract
            .check_request(&Method::POST, "/api/v1/webhooks", None, &json_headers(), good.to_string().as_bytes())
            .unwrap();
    }

    #[test]
    fn an_answer_is_held_to_the_schema_of_its_status() {
        let contract = bamboo();
        let op = contract
            .check_request(
                &Method::GET,
                "/api/v1/employees/changed",
                Some("since=2026-01-01T00:00:00Z"),
                &HeaderMap::new(),
                b"",
            )
            .unwrap()
            .unwrap();
        let wrong = json!({ "employees": "none" }).to_string();
        assert!(!contract.check_response(&op, StatusCode::OK, &json_headers(), wrong.as_bytes()).is_empty());
        assert!(contract.check_response(&op, StatusCode::TOO_MANY_REQUESTS, &json_headers(), b"").is_empty());
        assert!(!contract.check_response(&op, StatusCode::IM_A_TEAPOT, &json_headers(), b"").is_empty());
    }

    #[test]
    fn nullable_becomes_a_null_type() {
        let mut schema = json!({ "type": "string", "nullable": true, "enum": ["a"] });
        make_nullable_explicit(&mut schema);
        assert_eq!(schema, json!({ "type": ["string", "null"], "enum": ["a", null] }));
        let mut reference = json!({ "$ref": "#/x", "nullable": true });
        make_nullable_explicit(&mut reference);
        assert_eq!(reference, json!({ "anyOf": [{ "$ref": "#/x" }, { "type": "null" }] }));
    }
}
