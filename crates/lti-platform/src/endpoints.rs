//! Where the platform's endpoints are, as absolute URLs on `LECTERN_PUBLIC_URL` (what tools are
//! told at registration and in every launch). The issuer is the public URL itself, as for
//! Lectern's OpenID Connect provider: both sign with the same ID-token keys.

use lectern_common::ids::{AssignmentId, CourseId};

/// The browser's side (routed to auth-core by the gateway's `/lti` prefix).
pub const LAUNCH_PATH: &str = "/lti/launch";
pub const AUTHORIZE_PATH: &str = "/lti/authorize";
/// The services (the gateway's `/api/lti` prefix).
pub const TOKEN_PATH: &str = "/api/lti/token";
pub const CONTEXTS_PATH: &str = "/api/lti/courses";

/// Absolute URLs on the public URL.
#[derive(Clone, Debug)]
pub struct Endpoints {
    base: String,
}

impl Endpoints {
    pub fn new(public_url: &str) -> Self {
        Self { base: public_url.trim_end_matches('/').to_owned() }
    }

    /// `iss` of ID tokens; what tools register the platform under.
    pub fn issuer(&self) -> &str {
        &self.base
    }

    pub fn authorize(&self) -> String {
        format!("{}{AUTHORIZE_PATH}", self.base)
    }

    /// Also the `aud` every client assertion must name.
    pub fn token(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base)
    }

    /// The platform's keys: auth-core's JWKS, which publishes the ID-token keys.
    pub fn jwks(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    pub fn line_items(&self, course: CourseId) -> String {
        format!("{}{CONTEXTS_PATH}/{course}/lineitems", self.base)
    }

    pub fn line_item(&self, course: CourseId, assignment: AssignmentId) -> String {
        format!("{}/{assignment}", self.line_items(course))
    }

    pub fn memberships(&self, course: CourseId) -> String {
        format!("{}{CONTEXTS_PATH}/{course}/memberships", self.base)
    }
}
