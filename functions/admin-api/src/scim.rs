//! The SCIM 2.0 service provider (RFC 7643/7644) at `/scim/v2`: what Okta, Microsoft Entra or an HR system's SCIM
//! export pushes users to. Outside the admin key check: each SCIM connection's own bearer token says which
//! connection, and so which tenant, a request is for. Users only (no groups); answers and errors are
//! `application/scim+json`, errors in the SCIM shape with `scimType`.

use crate::AdminApi;
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ithub::scim::filter::{self, Filter};
use ithub::scim::patch::PatchRequest;
use ithub::scim::{ENTERPRISE_SCHEMA, ScimError, ScimType, USER_SCHEMA};
use ithub::service::{ScimFailure, scim_etag, scim_render};
use ithub::store::{Connection, ScimUser};
use serde_json::{Value, json};
use std::collections::HashMap;

const MEDIA_TYPE: &str = "application/scim+json";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Users per page when the client names no `count`.
const DEFAULT_COUNT: u64 = 100;

pub fn router(state: AdminApi) -> Router {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config).fallback(method_not_allowed))
        .route("/ResourceTypes", get(resource_types).fallback(method_not_allowed))
        .route("/ResourceTypes/{name}", get(resource_type).fallback(method_not_allowed))
        .route("/Schemas", get(schemas).fallback(method_not_allowed))
        .route("/Schemas/{urn}", get(schema).fallback(method_not_allowed))
        .route("/Users", get(list).post(create).fallback(method_not_allowed))
        .route("/Users/.search", post(search).fallback(method_not_allowed))
        .route("/.search", post(search).fallback(method_not_allowed))
        .route("/Users/{id}", get(read).put(replace).patch(patch).delete(delete).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_token))
        .layer(axum::extract::DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        .with_state(state)
}

/// A SCIM answer: the JSON with the SCIM media type.
fn scim(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

/// A SCIM error (RFC 7644 §3.12): `status` is a string, `scimType` where the RFC defines one.
fn error(status: StatusCode, scim_type: Option<ScimType>, detail: &str) -> Response {
    let mut body = json!({ "schemas": [ERROR], "status": status.as_u16().to_string(), "detail": detail });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type.as_str());
    }
    scim(status, body)
}

fn bad(e: ScimError) -> Response {
    error(StatusCode::BAD_REQUEST, Some(e.scim_type), &e.detail)
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self.0 {
            ScimFailure::NotFound => error(StatusCode::NOT_FOUND, None, "no such user"),
            ScimFailure::Bad(e) => bad(e),
            ScimFailure::Uniqueness => {
                error(StatusCode::CONFLICT, Some(ScimType::Uniqueness), "another user has this userName")
            }
            ScimFailure::Precondition => {
                error(StatusCode::PRECONDITION_FAILED, None, "the user has changed since the version given in If-Match")
            }
            ScimFailure::Conflict => {
                error(StatusCode::CONFLICT, None, "the user changed while this request was applied; read it again")
            }
            ScimFailure::Service(e) => {
                let correlation_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(%correlation_id, error = %e, "a SCIM request failed");
                let detail = format!("something went wrong on our side; try again (correlation id {correlation_id})");
                error(StatusCode::INTERNAL_SERVER_ERROR, None, &detail)
            }
        }
    }
}

struct Failure(ScimFailure);

impl From<ScimFailure> for Failure {
    fn from(f: ScimFailure) -> Self {
        Self(f)
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, None, "no such SCIM endpoint: this service provider serves Users")
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, None, "this method is not allowed here")
}

async fn require_token(State(api): State<AdminApi>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match api.service.scim_authorize(header).await {
        Ok(Some(connection)) => {
            request.extensions_mut().insert(connection);
            next.run(request).await
        }
        Ok(None) => {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                None,
                "send the connection's SCIM token as `Authorization: Bearer <token>`; this one is not valid",
            );
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        Err(e) => Failure(ScimFailure::Service(e)).into_response(),
    }
}

fn base(api: &AdminApi, headers: &HeaderMap) -> String {
    format!("{}/scim/v2", crate::connections::public_url(api, headers))
}

fn location(api: &AdminApi, headers: &HeaderMap, user: &ScimUser) -> String {
    format!("{}/Users/{}", base(api, headers), user.id)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): `id` and `schemas` always come back.
fn project(mut resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |list: &str| -> Vec<String> {
        list.split(',').map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect()
    };
    let Some(object) = resource.as_object_mut() else { return resource };
    let always = |key: &str| key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas");
    if let Some(wanted) = attributes.map(names).filter(|w| !w.is_empty()) {
        object.retain(|key, value| {
            let key_lower = key.to_lowercase();
            if always(key) || wanted.contains(&key_lower) {
                return true;
            }
            // `name.givenName`: keep the parent with only the sub-attributes asked for.
            let subs: Vec<&str> = wanted.iter().filter_map(|w| w.strip_prefix(&format!("{key_lower}."))).collect();
            if subs.is_empty() {
                return false;
            }
            if let Some(inner) = value.as_object_mut() {
                inner.retain(|k, _| subs.contains(&k.to_lowercase().as_str()));
            }
            true
        });
    }
    if let Some(unwanted) = excluded.map(names) {
        object.retain(|key, value| {
            let key_lower = key.to_lowercase();
            if always(key) {
                return true;
            }
            if unwanted.contains(&key_lower) {
                return false;
            }
            let subs: Vec<&str> = unwanted.iter().filter_map(|w| w.strip_prefix(&format!("{key_lower}."))).collect();
            if let Some(inner) = value.as_object_mut().filter(|_| !subs.is_empty()) {
                inner.retain(|k, _| !subs.contains(&k.to_lowercase().as_str()));
            }
            true
        });
    }
    resource
}

fn user_response(api: &AdminApi, headers: &HeaderMap, status: StatusCode, user: &ScimUser) -> Response {
    let here = location(api, headers, user);
    let mut response = scim(status, scim_render(user, &here));
    if let Ok(etag) = HeaderValue::from_str(&scim_etag(user)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(here) = HeaderValue::from_str(&here)
    {
        response.headers_mut().insert(header::LOCATION, here);
    }
    response
}

/// A request body read as JSON, whatever its media type (`application/scim+json` or `application/json`); a body
/// that is not JSON is refused with `invalidSyntax`.
struct ScimJson(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ScimJson {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            let status = rejection.status();
            let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("a request body holds at most {} KiB", crate::MAX_BODY_BYTES / 1024)
            } else {
                "the request body could not be read".to_owned()
            };
            error(status, None, &detail)
        })?;
        serde_json::from_slice(&body).map(ScimJson).map_err(|e| {
            let detail = format!("the body is not valid JSON (line {}, column {})", e.line(), e.column());
            bad(ScimError::new(ScimType::InvalidSyntax, detail))
        })
    }
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// What a list or search asks for.
struct SearchParams {
    filter: Option<Filter>,
    start_index: u64,
    count: u64,
    attributes: Option<String>,
    excluded: Option<String>,
}

fn number(raw: Option<&Value>, name: &str, default: u64) -> Result<u64, ScimError> {
    let refused = || ScimError::new(ScimType::InvalidValue, format!("{name} is a whole number"));
    match raw {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => Ok(n.as_i64().map_or(default, |n| n.max(0) as u64)),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(|n| n.max(0) as u64).map_err(|_| refused()),
        Some(_) => Err(refused()),
    }
}

fn text_list(raw: Option<&Value>) -> Option<String> {
    match raw? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

fn read_query(params: &serde_json::Map<String, Value>) -> Result<SearchParams, ScimError> {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let filter = match get("filter").and_then(Value::as_str).filter(|f| !f.trim().is_empty()) {
        Some(text) => Some(filter::parse(text)?),
        None => None,
    };
    Ok(SearchParams {
        filter,
        start_index: number(get("startIndex"), "startIndex", 1)?,
        count: number(get("count"), "count", DEFAULT_COUNT)?,
        attributes: text_list(get("attributes")),
        excluded: text_list(get("excludedAttributes")),
    })
}

async fn run_query(api: &AdminApi, headers: &HeaderMap, connection: &Connection, query: SearchParams) -> Response {
    match api.service.scim_search(connection, query.filter.as_ref(), query.start_index, query.count).await {
        Ok(page) => {
            let resources: Vec<Value> = page
                .users
                .iter()
                .map(|u| {
                    let rendered = scim_render(u, &location(api, headers, u));
                    project(rendered, query.attributes.as_deref(), query.excluded.as_deref())
                })
                .collect();
            scim(
                StatusCode::OK,
                json!({
                    "schemas": [LIST],
                    "totalResults": page.total,
                    "startIndex": page.start_index,
                    "itemsPerPage": resources.len(),
                    "Resources": resources,
                }),
            )
        }
        Err(f) => Failure(f).into_response(),
    }
}

async fn list(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let params = params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    match read_query(&params) {
        Ok(query) => run_query(&api, &headers, &connection, query).await,
        Err(e) => bad(e),
    }
}

async fn search(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Response {
    let Value::Object(body) = body else {
        return error(StatusCode::BAD_REQUEST, Some(ScimType::InvalidSyntax), "a SearchRequest is an object");
    };
    let schemas_ok = body.get("schemas").and_then(Value::as_array).is_some_and(|s| s.iter().any(|s| s == SEARCH));
    if !schemas_ok {
        return error(
            StatusCode::BAD_REQUEST,
            Some(ScimType::InvalidSyntax),
            &format!("schemas must be [\"{SEARCH}\"]"),
        );
    }
    match read_query(&body) {
        Ok(query) => run_query(&api, &headers, &connection, query).await,
        Err(e) => bad(e),
    }
}

async fn create(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Response {
    match api.service.scim_create(&connection, body).await {
        Ok(user) => user_response(&api, &headers, StatusCode::CREATED, &user),
        Err(f) => Failure(f).into_response(),
    }
}

async fn read(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let user = match api.service.scim_get(&connection, &id).await {
        Ok(user) => user,
        Err(f) => return Failure(f).into_response(),
    };
    let current = scim_etag(&user);
    let none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == current || t.trim() == "*")) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let mut response = user_response(&api, &headers, StatusCode::OK, &user);
    if get("attributes").is_some() || get("excludedAttributes").is_some() {
        let projected =
            project(scim_render(&user, &location(&api, &headers, &user)), get("attributes"), get("excludedAttributes"));
        let etag = response.headers().get(header::ETAG).cloned();
        response = scim(StatusCode::OK, projected);
        if let Some(etag) = etag {
            response.headers_mut().insert(header::ETAG, etag);
        }
    }
    response
}

async fn replace(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimJson(body): ScimJson,
) -> Response {
    match api.service.scim_replace(&connection, &id, body, if_match(&headers)).await {
        Ok(user) => user_response(&api, &headers, StatusCode::OK, &user),
        Err(f) => Failure(f).into_response(),
    }
}

async fn patch(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimJson(body): ScimJson,
) -> Response {
    let request: PatchRequest = match serde_json::from_value(body) {
        Ok(request) => request,
        Err(_) => {
            let detail = "a PatchOp has schemas and Operations, each with op, and path or value";
            return error(StatusCode::BAD_REQUEST, Some(ScimType::InvalidSyntax), detail);
        }
    };
    match api.service.scim_patch(&connection, &id, &request, if_match(&headers)).await {
        Ok(user) => user_response(&api, &headers, StatusCode::OK, &user),
        Err(f) => Failure(f).into_response(),
    }
}

async fn delete(
    State(api): State<AdminApi>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match api.service.scim_delete(&connection, &id, if_match(&headers)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => Failure(f).into_response(),
    }
}

async fn service_provider_config(State(api): State<AdminApi>, headers: HeaderMap) -> Response {
    scim(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/it-hub/it-hub#scim",
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": ithub::service::SCIM_MAX_COUNT },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The SCIM token IT Hub issued for the connection, as `Authorization: Bearer <token>`",
                "primary": true
            }],
            "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", base(&api, &headers)) }
        }),
    )
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person, as the HR system or identity provider describes them",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") }
    })
}

fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn resource_types(State(api): State<AdminApi>, headers: HeaderMap) -> Response {
    scim(StatusCode::OK, list_of(vec![user_resource_type(&base(&api, &headers))]))
}

async fn resource_type(State(api): State<AdminApi>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if name == "User" {
        return scim(StatusCode::OK, user_resource_type(&base(&api, &headers)));
    }
    error(StatusCode::NOT_FOUND, None, "this service provider has only the User resource type")
}

/// One attribute's definition (RFC 7643 §7).
fn attribute(name: &str, kind: &str, multi: bool, sub: Vec<Value>) -> Value {
    let mut out = json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": "",
        "required": name == "userName",
        "caseExact": matches!(name, "id" | "externalId"),
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": if name == "userName" { "server" } else { "none" },
    });
    if !sub.is_empty() {
        out["subAttributes"] = Value::Array(sub);
    }
    out
}

fn strings(names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| attribute(n, "string", false, Vec::new())).collect()
}

fn multi(name: &str, subs: &[&str]) -> Value {
    let mut sub = strings(subs);
    sub.push(attribute("primary", "boolean", false, Vec::new()));
    attribute(name, "complex", true, sub)
}

fn schema_documents(base: &str) -> Vec<Value> {
    let mut user_attributes = vec![
        attribute("userName", "string", false, Vec::new()),
        attribute("name", "complex", false, strings(&["formatted", "familyName", "givenName", "middleName"])),
        attribute("displayName", "string", false, Vec::new()),
        attribute("title", "string", false, Vec::new()),
        attribute("active", "boolean", false, Vec::new()),
        multi("emails", &["value", "type"]),
        multi("phoneNumbers", &["value", "type"]),
        multi("addresses", &["type", "streetAddress", "locality", "region", "postalCode", "country"]),
    ];
    user_attributes.push(attribute("externalId", "string", false, Vec::new()));
    let manager = attribute("manager", "complex", false, strings(&["value", "displayName"]));
    let mut enterprise = strings(&["employeeNumber", "costCenter", "organization", "division", "department"]);
    enterprise.push(manager);
    let document = |id: &str, name: &str, attributes: Vec<Value>| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": format!("{name} as IT Hub keeps it"),
            "attributes": attributes,
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }
        })
    };
    vec![document(USER_SCHEMA, "User", user_attributes), document(ENTERPRISE_SCHEMA, "EnterpriseUser", enterprise)]
}

async fn schemas(State(api): State<AdminApi>, headers: HeaderMap) -> Response {
    scim(StatusCode::OK, list_of(schema_documents(&base(&api, &headers))))
}

async fn schema(State(api): State<AdminApi>, headers: HeaderMap, Path(urn): Path<String>) -> Response {
    match schema_documents(&base(&api, &headers)).into_iter().find(|s| s["id"] == urn.as_str()) {
        Some(document) => scim(StatusCode::OK, document),
        None => error(StatusCode::NOT_FOUND, None, "no such schema"),
    }
}

#[cfg(test)]
mod tests {
    use super::project;
    use serde_json::json;

    #[test]
    fn attributes_and_excluded_attributes_shape_the_answer() {
        let user = json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "A", "familyName": "B"}, "title": "t"});
        let only = project(user.clone(), Some("userName,name.givenName"), None);
        assert_eq!(only, json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "A"}}));
        let without = project(user, None, Some("name.familyName,title"));
        assert_eq!(without, json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "A"}}));
    }
}
