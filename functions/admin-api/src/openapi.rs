//! The OpenAPI 3.1 document, generated from the routes and types themselves and served at `/v1/openapi.json`.
//! A copy lives in `functions/admin-api/openapi.json`; a test fails when it is stale (`make openapi` rewrites it).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct AdminKey;

impl Modify for AdminKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An admin key")).build();
        components.add_security_scheme("admin_key", SecurityScheme::Http(scheme));
    }
}

/// utoipa 5 writes `#[schema(min_properties = 1)]` out as `maxProperties`; this puts the bound where it belongs.
struct AtLeastOneField;

impl Modify for AtLeastOneField {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, schema::Schema};
        let schemas = openapi.components.as_mut().map(|c| &mut c.schemas);
        if let Some(RefOr::T(Schema::Object(patch))) = schemas.and_then(|s| s.get_mut("FieldsPatch")) {
            patch.min_properties = Some(1);
            patch.max_properties = None;
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "IT Hub admin API", description = "Run onboarding and offboarding from the HR system."),
    paths(crate::health),
    components(schemas(
        crate::responses::Problem,
        ithub::domain::EmployeeId,
        ithub::domain::TaskId,
        ithub::domain::ConnectionId,
        ithub::domain::TenantId
    )),
    modifiers(&AdminKey),
    security(("admin_key" = [])),
)]
struct ApiDoc;

/// The whole document: the routes' operations under the document's info and security.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, paths) = crate::routes().split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    AtLeastOneField.modify(&mut doc);
    doc
}

/// The document as pretty JSON, as served and as kept in the repo.
pub fn document() -> String {
    spec().to_pretty_json().unwrap_or_default()
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses(
    (status = 200, description = "This document", content_type = "application/json"),
    (status = 401, description = "Missing or invalid admin key", body = crate::responses::Problem, content_type = "application/problem+json")
))]
pub async fn serve() -> Json<serde_json::Value> {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(|| serde_json::to_value(spec()).unwrap_or_default()).clone())
}
#[cfg(test)]
mod tests {
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

    /// The committed document is the generated one. `make openapi` (UPDATE_OPENAPI=1) rewrites it.
    #[test]
    fn the_committed_document_is_current() {
        let generated = super::document();
        if std::env::var("UPDATE_OPENAPI").is_ok() {
            std::fs::write(PATH, &generated).expect("write openapi.json");
        }
        let committed = std::fs::read_to_string(PATH).unwrap_or_default();
        assert!(committed == generated, "functions/admin-api/openapi.json is stale: run `make openapi`");
    }

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        for route in ["/v1/employees", "/v1/employees/{id}/offboard", "/v1/tasks/{id}/complete", "/v1/audit"] {
            assert!(paths.contains(&route), "{route} missing from {paths:?}");
        }
        assert_eq!(doc["paths"]["/health"]["get"]["security"], serde_json::json!([{}]), "health is open");
    }

    #[test]
    fn every_reference_resolves() {
        fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r.to_owned());
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for reference in found {
            let name = reference.strip_prefix("#/components/schemas/").expect("a component reference");
            assert!(doc["components"]["schemas"].get(name).is_some(), "{reference} does not resolve");
        }
    }
}
