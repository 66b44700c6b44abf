//! Lectern as an LTI 1.3 platform (LTI Core 1.3, Security Framework 1.0, AGS 2.0, NRPS 2.0):
//! external learning tools launched from a course, their scores taken back as grades, the roster
//! read by them. docs/lti.md says how to register a tool; docs/security.md ("LTI") lists every
//! rule with the test that holds it.
//!
//! Served by the auth-core process, which holds the platform's keys: ID tokens are signed with
//! auth-core's RS256 ID-token key and published in its JWKS. Courses are reached only through
//! course-service (`tool_links`, and `access::tool_in` for a tool's own courses); grades only
//! through grading-service's grading function.
//!
//! - `tools.rs`: registrations (`lectern lti tools`); `endpoints.rs`: the URLs tools are given;
//! - `pages.rs`: the launch (`/lti/launch/{link_id}`) and the authorization endpoint, whose
//!   decisions are `authorize.rs`'s; `hints.rs`: the launch's `login_hint` and
//!   `lti_message_hint`; `claims.rs`: the LTI claims and roles;
//! - `token.rs`: the client-credentials token endpoint with JWT client assertions, checked
//!   against the tool's JWKS (`tool_keys.rs`);
//! - `services.rs`: the bearer tokens and scopes every service checks; `ags.rs`: line items,
//!   scores and results (grading decides what a score does); `nrps.rs`: the roster.

pub mod ags;
pub mod authorize;
pub mod claims;
pub mod endpoints;
pub mod error;
pub mod hints;
pub mod nrps;
pub mod pages;
pub mod services;
pub mod token;
pub mod tool_keys;
pub mod tools;

pub use error::LtiError;

use actix_web::web;
use auth_core::AuthState;
use endpoints::Endpoints;
use lectern_common::Identity;
use lectern_common::web_config;
use std::sync::Arc;

/// What the platform's handlers share.
pub struct LtiState {
    /// auth-core's state: the database, the clock, the ID-token keys, its own HMAC key.
    pub auth: Arc<AuthState>,
    pub endpoints: Endpoints,
    pub tool_keys: tool_keys::ToolKeys,
}

impl std::fmt::Debug for LtiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LtiState").field("endpoints", &self.endpoints).finish_non_exhaustive()
    }
}

impl LtiState {
    pub fn new(auth: Arc<AuthState>) -> Result<Self, reqwest::Error> {
        let endpoints = Endpoints::new(&auth.settings.public_url);
        let tool_keys = tool_keys::ToolKeys::new(Arc::clone(&auth.clock))?;
        Ok(Self { auth, endpoints, tool_keys })
    }
}

/// Mounts `/lti` (the browser's side) and `/api/lti` (the token endpoint and the services).
/// `identity` reads the page's access cookie (auth-core's).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<LtiState>, identity: web::Data<Identity>) {
    cfg.service(
        web::scope("/lti")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .route("/launch/{link_id}", web::get().to(pages::launch))
            .route("/authorize", web::get().to(pages::authorize_get))
            .route("/authorize", web::post().to(pages::authorize_post)),
    )
    .service(
        web::scope("/api/lti")
            .app_data(state)
            .app_data(identity)
            .configure(web_config::standard)
            .route("/token", web::post().to(token::token))
            .route("/courses/{course_id}/memberships", web::get().to(nrps::memberships))
            .route("/courses/{course_id}/lineitems", web::get().to(ags::line_items))
            .route("/courses/{course_id}/lineitems/{assignment_id}", web::get().to(ags::line_item))
            .route("/courses/{course_id}/lineitems/{assignment_id}/scores", web::post().to(ags::score))
            .route("/courses/{course_id}/lineitems/{assignment_id}/results", web::get().to(ags::results)),
    );
}

/// The platform's part of `GET /api/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Lectern LTI platform", description = "LTI 1.3: the token endpoint and the tools' services (docs/lti.md)."),
    paths(token::token, nrps::memberships, ags::line_items, ags::line_item, ags::score, ags::results),
    components(schemas(
        token::TokenReply,
        token::TokenForm,
        ags::ScoreBody,
        auth_core::oidc::api::OAuthErrorDocument,
        lectern_common::ids::CourseId,
        lectern_common::ids::AssignmentId
    )),
    modifiers(&ToolBearer),
    tags((name = "lti", description = "LTI 1.3 Advantage: token endpoint, grades (AGS 2.0) and roster (NRPS 2.0)"))
)]
pub struct LtiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <LtiDoc as utoipa::OpenApi>::openapi()
}

/// The opaque bearer tokens of the LTI services.
pub struct ToolBearer;

impl utoipa::Modify for ToolBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An opaque token from /api/lti/token (client credentials with a JWT client assertion)"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("lti_access_token", SecurityScheme::Http(scheme));
    }
}
