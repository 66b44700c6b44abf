//! OpenAPI pieces every service's document shares, and the route that serves a process's document.
//!
//! Each service crate derives its own document (`auth_core::openapi()` and so on) from the
//! `#[utoipa::path]` annotations on its JSON handlers; they all reference the [`ProblemDocument`]
//! schema for errors and the [`BEARER`] security scheme added by [`BearerAuth`]. At start-up the
//! process merges the documents of the services it mounts ([`merge`]) and serves the result, built
//! once, at `GET /api/openapi.json` ([`configure`]).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

/// The name of the bearer-token security scheme; `security(("bearer" = []))` on a path refers to it.
pub const BEARER: &str = "bearer";

/// Where every process serves its document.
pub const PATH: &str = "/api/openapi.json";

/// Adds the `http` bearer scheme (an access token, a JWT) to a document's components.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "An access token from `POST /api/auth/token` or `POST /api/auth/refresh`, \
                 sent as `Authorization: Bearer <token>`.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The schema of a typed id (`crate::ids`): a UUID string.
pub fn uuid_schema() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).into()
}

// Schema only, and the members `crate::Problem::to_response` renders (a test below keeps the two
// in step). Doc comments here become descriptions in the published document.
/// An RFC 9457 problem document, sent as `application/problem+json` with every 4xx and 5xx reply.
#[derive(utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDocument {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[schema(rename = "type", example = "about:blank")]
    pub kind: String,
    /// The status's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong, for people; never a stack trace, SQL or a file path.
    #[schema(example = "title: must not be empty")]
    pub detail: String,
    /// On a 422, the fields that broke a rule; absent otherwise.
    #[schema(required = false)]
    pub errors: Vec<FieldErrorDocument>,
}

/// One field that broke a rule.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorDocument {
    /// The field (or query parameter, or header) by its name in the request.
    pub field: String,
    pub message: String,
}

// token-claims' `Role`, whose crate stays free of OpenAPI; fields of that type name this schema
// with `#[schema(value_type = lectern_common::openapi::RoleSchema)]`.
/// What kind of user someone is; sign-up always makes a `student`.
#[derive(utoipa::ToSchema)]
#[schema(as = Role, rename_all = "lowercase")]
pub enum RoleSchema {
    Teacher,
    Student,
}

/// The answers the shared plumbing gives on every operation, whatever the handler: added to each
/// operation that does not describe them itself, so the document lists every status a client
/// can meet. Bodies: 400 malformed JSON, 413 too large, 415 no or another content type; any
/// operation: 405 another method (with `Allow`), 503 the database unavailable (with `Retry-After`).
pub fn add_standard_answers(doc: &mut OpenApi) {
    use utoipa::openapi::ResponseBuilder;
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let mut answers = vec![
                ("405", "Another method than the ones this path answers; `Allow` lists them"),
                ("503", "The database is unavailable; `Retry-After` says when to try again"),
            ];
            if operation.request_body.is_some() {
                answers.extend([
                    ("400", "The body is not well-formed JSON"),
                    ("413", "The body is larger than this endpoint accepts"),
                    ("415", "No `Content-Type: application/json`"),
                ]);
            }
            for (status, description) in answers {
                operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description).into());
            }
        }
    }
}

/// The methods each path of a document answers, so a request with another method gets 405 with
/// `Allow` instead of looking like a path that does not exist.
#[derive(Clone, Debug, Default)]
pub struct AllowedMethods(std::collections::HashMap<String, String>);

impl AllowedMethods {
    pub fn of(doc: &OpenApi) -> Self {
        let mut map = std::collections::HashMap::new();
        for (path, item) in &doc.paths.paths {
            let methods: Vec<&str> = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, on)| on.then_some(m))
            .collect();
            map.insert(path.clone(), methods.join(", "));
        }
        map.insert(PATH.to_owned(), "GET".to_owned());
        Self(map)
    }

    /// `Allow` for a route template (`/api/courses/{id}`), when the document knows it.
    pub fn allow(&self, pattern: &str) -> Option<&str> {
        self.0.get(pattern).map(String::as_str)
    }
}

/// One document as it is; several merged into one titled `title` (the all-in-one server).
pub fn merge(title: &str, docs: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut docs = docs.into_iter();
    let Some(mut merged) = docs.next() else {
        return utoipa::openapi::OpenApiBuilder::new()
            .info(utoipa::openapi::Info::new(title, env!("CARGO_PKG_VERSION")))
            .build();
    };
    let mut several = false;
    for doc in docs {
        merged.merge(doc);
        several = true;
    }
    if several {
        merged.info.title = title.to_owned();
        merged.info.description = Some("Every JSON API this process serves.".to_owned());
    }
    merged
}

/// A process's document, serialized once at start.
#[derive(Clone)]
pub struct OpenApiJson(web::Bytes);

impl OpenApiJson {
    pub fn new(doc: &OpenApi) -> Result<Self, serde_json::Error> {
        Ok(Self(web::Bytes::from(serde_json::to_vec(doc)?)))
    }
}

/// Mounts `GET /api/openapi.json` (no authentication) answering `doc`.
pub fn configure(cfg: &mut web::ServiceConfig, doc: OpenApiJson) {
    cfg.route(
        PATH,
        web::get().to(move || {
            let body = doc.0.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
                    .body(body)
            }
        }),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::problem::Problem;
    use actix_web::body::MessageBody;
    use utoipa::PartialSchema;

    fn sorted_keys(value: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn properties(schema: RefOr<Schema>) -> Vec<String> {
        sorted_keys(&serde_json::to_value(schema).unwrap()["properties"])
    }

    /// The schema names every member a real problem reply carries, so the two cannot drift apart.
    #[test]
    fn the_problem_schema_matches_what_problems_render() {
        let resp = Problem::invalid("title", "must not be empty").to_response();
        let body: serde_json::Value = serde_json::from_slice(&resp.into_body().try_into_bytes().unwrap()).unwrap();
        assert_eq!(sorted_keys(&body), properties(ProblemDocument::schema()));
        assert_eq!(sorted_keys(&body["errors"][0]), properties(FieldErrorDocument::schema()));
        let required = serde_json::to_value(ProblemDocument::schema()).unwrap()["required"].clone();
        assert_eq!(required, serde_json::json!(["type", "title", "status", "detail"]));
    }

    #[test]
    fn typed_ids_are_uuid_strings() {
        let schema = serde_json::to_value(crate::ids::CourseId::schema()).unwrap();
        assert_eq!(schema, serde_json::json!({"type": "string", "format": "uuid"}));
        assert_eq!(<crate::ids::CourseId as utoipa::ToSchema>::name(), "CourseId");
    }

    #[test]
    fn one_document_keeps_its_title_and_several_are_merged() {
        let doc = |title: &str, path: &str| {
            let op = utoipa::openapi::path::OperationBuilder::new().build();
            utoipa::openapi::OpenApiBuilder::new()
                .info(utoipa::openapi::Info::new(title, "1"))
                .paths(
                    utoipa::openapi::path::PathsBuilder::new()
                        .path(path, utoipa::openapi::PathItem::new(utoipa::openapi::HttpMethod::Get, op)),
                )
                .build()
        };
        assert_eq!(merge("Lectern", [doc("Lectern auth-core", "/a")]).info.title, "Lectern auth-core");
        let merged = merge("Lectern", [doc("A", "/a"), doc("B", "/b")]);
        assert_eq!(merged.info.title, "Lectern");
        assert_eq!(merged.paths.paths.keys().collect::<Vec<_>>(), ["/a", "/b"]);
    }
}
