//! Every route, registered once with its OpenAPI operation (utoipa-axum), and the document they make.

use crate::{AdminApi, audit, connections, employees, openapi, playbooks, tasks};
use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes open to anyone: health.
pub fn open() -> OpenApiRouter<AdminApi> {
    OpenApiRouter::new().routes(routes!(health))
}

/// The `/v1` routes, each behind the admin key.
pub fn v1() -> OpenApiRouter<AdminApi> {
    OpenApiRouter::new()
        .routes(routes!(employees::list))
        .routes(routes!(employees::setup))
        .routes(routes!(employees::get, employees::update))
        .routes(routes!(employees::offboard))
        .routes(routes!(employees::licenses))
        .routes(routes!(tasks::list))
        .routes(routes!(tasks::get))
        .routes(routes!(tasks::update_item))
        .routes(routes!(tasks::complete))
        .routes(routes!(playbooks::get, playbooks::put))
        .routes(routes!(audit::list))
        .routes(routes!(connections::list, connections::create))
        .routes(routes!(connections::get, connections::delete))
        .routes(routes!(connections::rotate))
        .routes(routes!(connections::sync))
        .routes(routes!(connections::runs))
        .routes(routes!(connections::run))
        .routes(routes!(connections::approve))
        .routes(routes!(connections::reject))
        .routes(routes!(serve))
}

/// The whole document: every route's operation under the document's info, security and shared schemas.
pub fn spec() -> OpenApi {
    let (_, open) = open().split_for_parts();
    let (_, v1) = v1().split_for_parts();
    let mut doc = openapi::base();
    doc.merge(open);
    doc.merge(v1);
    openapi::finish(&mut doc);
    doc
}

/// The document as pretty JSON, as served and as kept in the repo.
pub fn document() -> String {
    spec().to_pretty_json().unwrap_or_default()
}

#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, description = "The API is up")))]
async fn health() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses(
    (status = 200, description = "This document", content_type = "application/json"),
    (status = 401, description = "Missing or invalid admin key", body = crate::responses::Problem, content_type = "application/problem+json")
))]
async fn serve() -> Json<serde_json::Value> {
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

    /// A text the document allows is one the service takes: each not-blank pattern is the one `has_text` is
    /// proven against (a plain `\\S` let Schemathesis send U+0085, which ECMA-262 counts as text and Rust does not).
    #[test]
    fn every_not_blank_pattern_is_the_services_own() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [("OffboardRequest", "reason"), ("OnboardingItem", "name"), ("OffboardingItem", "name")]
        {
            assert_eq!(
                schemas[schema]["properties"][field]["pattern"],
                ithub::validation::TEXT_PATTERN,
                "{schema}.{field}"
            );
        }
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
