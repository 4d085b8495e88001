//! What the OpenAPI 3.1 document holds beside the routes' operations: its info, the admin-key security scheme and
//! the shared schemas. The routes (`routes.rs`) make the rest; the document is served at `/v1/openapi.json`, a
//! copy lives in `functions/admin-api/openapi.json`, and a test fails when it is stale (`make openapi`).

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
    components(schemas(
        crate::responses::Problem,
        ithub::domain::EmployeeId,
        ithub::domain::TaskId,
        ithub::domain::ConnectionId,
        ithub::domain::RunId,
        ithub::domain::TenantId
    )),
    modifiers(&AdminKey),
    security(("admin_key" = [])),
)]
struct ApiDoc;

/// The document without its operations.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Corrections made once every operation is in.
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    AtLeastOneField.modify(doc);
}
