//! Every route, listed once with its handlers (`#[utoipa::path]`), and two readings of that list: the document's
//! (utoipa-axum's `OpenApiRouter`, which builds each operation's OpenAPI description) and the served router's, made
//! from each handler's path and methods alone. The function serves the committed document (`openapi.json`, held to
//! the generated one by a test) and never builds it: describing its 26 operations and their schemas took a large
//! part of its cold start and 2 MB of its binary (BENCHMARKS.md, "Cold start").

use crate::{AdminApi, audit, connections, employees, openapi, playbooks, tasks};
use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `/v1` routes, each behind the admin key: handlers sharing a path are grouped. `$read` is a macro given the
/// list.
macro_rules! v1_routes {
    ($read:ident) => {
        $read!(
            (employees::list),
            (employees::setup),
            (employees::get, employees::update),
            (employees::offboard),
            (employees::licenses),
            (tasks::list),
            (tasks::get),
            (tasks::update_item),
            (tasks::complete),
            (playbooks::get, playbooks::put),
            (audit::list),
            (connections::list, connections::create),
            (connections::get, connections::delete, connections::edit),
            (connections::rotate),
            (connections::check),
            (connections::sync),
            (connections::runs),
            (connections::run),
            (connections::approve),
            (connections::reject),
            (connections::cancel),
            (serve),
        )
    };
}

/// The routes open to anyone: health.
macro_rules! open_routes {
    ($read:ident) => {
        $read!((health))
    };
}

/// The list read for the document.
macro_rules! documented {
    ($(($($($segment:ident)::+),+)),+ $(,)?) => {
        OpenApiRouter::new()$(.routes(routes!($($($segment)::+),+)))+
    };
}

/// The list read for serving: each handler on its path for its methods, as `routes!` would route it.
macro_rules! served {
    ($(($($($segment:ident)::+),+)),+ $(,)?) => {{
        #[allow(unused_imports)]
        use utoipa_axum::PathItemExt;
        let router = axum::Router::new();
        $($(
            let path: String = utoipa_axum::routes!(@path [path()] of $($segment)::+);
            let methods = utoipa_axum::routes!(@path [methods()] of $($segment)::+);
            let method_router = methods.iter().fold(axum::routing::MethodRouter::new(), |router, method| {
                router.on(method.to_method_filter(), $($segment)::+)
            });
            let router = router.route(&path, method_router);
        )+)+
        router
    }};
}

/// The committed document, as served (and read by the console for each provider's connection form).
pub(crate) const OPENAPI: &str = include_str!("../openapi.json");

/// The open routes' document.
pub fn open() -> OpenApiRouter<AdminApi> {
    open_routes!(documented)
}

/// The `/v1` routes' document.
pub fn v1() -> OpenApiRouter<AdminApi> {
    v1_routes!(documented)
}

/// The open routes, served.
pub fn serve_open() -> axum::Router<AdminApi> {
    open_routes!(served)
}

/// The `/v1` routes, served.
pub fn serve_v1() -> axum::Router<AdminApi> {
    v1_routes!(served)
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
async fn serve() -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::{Request, StatusCode};
    use tower::ServiceExt;

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

    /// The served router routes what the document lists, by the same methods: every documented operation reaches
    /// its handler (whatever the handler then answers with AWS out of reach), and every other method on a
    /// documented path is not allowed. (A served path the document lacks is not looked for: both readings take
    /// their paths from the same handlers.)
    #[tokio::test]
    async fn the_served_routes_are_the_documented_ones() {
        const NOT_ROUTED: u16 = 599;
        const NOT_ALLOWED: u16 = 598;
        // AWS out of reach, at once: nowhere to connect and no retries.
        let aws = ithub::function_aws_config("admin-api")
            .to_builder()
            .endpoint_url("http://127.0.0.1:9")
            .region(aws_config::Region::new("eu-west-1"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let store = ithub::store::Store::new(aws_sdk_dynamodb::Client::new(&aws), "routes-test");
        let state = crate::AdminApi {
            service: ithub::service::Service::new(
                store,
                ithub::bus::Bus::new(aws_sdk_eventbridge::Client::new(&aws), "routes-test"),
            ),
            secrets: ithub::secrets::Secrets::new(aws_sdk_secretsmanager::Client::new(&aws)),
            runs: ithub::queue::Queue::new(aws_sdk_sqs::Client::new(&aws), "http://127.0.0.1:9/q"),
            public_url: None,
            egress: ithub::providers::Egress::LoopbackOnly,
        };
        let status = |code| StatusCode::from_u16(code).expect("a status");
        let app = super::serve_v1()
            .merge(super::serve_open())
            .fallback(move || async move { status(NOT_ROUTED) })
            .method_not_allowed_fallback(move || async move { status(NOT_ALLOWED) })
            .with_state(state);

        let doc: serde_json::Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let uri = path.replace(['{', '}'], "");
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let documented = item.get(method.to_lowercase()).is_some();
                let request = Request::builder().method(method).uri(&uri).body(Body::empty()).unwrap();
                let got = app.clone().oneshot(request).await.unwrap().status().as_u16();
                assert_ne!(got, NOT_ROUTED, "{method} {path}: the path is not served");
                if documented {
                    operations += 1;
                    assert_ne!(got, NOT_ALLOWED, "{method} {path} is documented but not served");
                } else {
                    assert_eq!(got, NOT_ALLOWED, "{method} {path} is served but not documented");
                }
            }
        }
        assert_eq!(operations, 28, "the document's operations");
    }
}
