//! What every LTI service call shares: the tool's access token (opaque, from the token endpoint),
//! its scopes, the context it names, and the pages of a container (`limit`, `Link: rel="next"`).
//!
//! Every call, in one database hand-off: the token is live (else 401 `invalid_token`), it carries
//! the scope the endpoint needs (else 403 `insufficient_scope`), and the context is a course where
//! this tool has a link (else 404, as for a course that does not exist: a tool never learns of,
//! let alone reaches, another course).

use crate::error::LtiError;
use actix_web::HttpRequest;
use actix_web::http::header;
use auth_core::oidc::{token_hash, well_formed_token};
use course_service::access::{self, Course, ToolIn};
use diesel::prelude::*;
use lectern_common::db::{DbConnection, to_db_time};
use lectern_common::ids::{CourseId, ToolId};
use lectern_common::schema::lti_access_tokens;
use serde::Deserialize;
use time::OffsetDateTime;

/// The largest page a container answers, and the default.
pub const MAX_LIMIT: u32 = 100;

/// The bearer token of a request, unchecked: from `Authorization: Bearer` only (never the URL).
#[derive(Clone, Debug)]
pub struct Bearer(String);

impl Bearer {
    pub fn of(req: &HttpRequest) -> Result<Self, LtiError> {
        let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Err(LtiError::MissingToken) };
        let value = value.to_str().map_err(|_| LtiError::InvalidToken)?;
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && well_formed_token(token.trim()) => {
                Ok(Self(token.trim().to_owned()))
            }
            _ => Err(LtiError::InvalidToken),
        }
    }
}

/// A live token: which tool holds it and what it may do.
#[derive(Clone, Debug)]
pub struct ToolAccess {
    pub tool: ToolId,
    scopes: Vec<String>,
}

impl ToolAccess {
    /// The token's tool, when the token is live.
    pub fn check(conn: &mut DbConnection, bearer: &Bearer, now: OffsetDateTime) -> Result<Self, LtiError> {
        let found: Option<(ToolId, String)> = lti_access_tokens::table
            .find(token_hash(&bearer.0))
            .filter(lti_access_tokens::expires_at.gt(to_db_time(now)))
            .select((lti_access_tokens::tool_id, lti_access_tokens::scope))
            .first(conn)
            .optional()?;
        let (tool, scope) = found.ok_or(LtiError::InvalidToken)?;
        Ok(Self { tool, scopes: scope.split(' ').map(str::to_owned).collect() })
    }

    /// 403 `insufficient_scope` unless the token carries one of `scopes` (the first is named).
    pub fn require(&self, scopes: &[&'static str]) -> Result<(), LtiError> {
        if scopes.iter().any(|s| self.scopes.iter().any(|t| t == s)) {
            return Ok(());
        }
        Err(LtiError::InsufficientScope(scopes.first().copied().unwrap_or_default()))
    }

    /// The course *for* this tool: one it has a link in; otherwise 404.
    pub fn course(&self, conn: &mut DbConnection, course: CourseId) -> Result<ToolIn<Course>, LtiError> {
        Ok(access::tool_in(conn, course, self.tool)?)
    }
}

/// `?limit=&page=` of a container. `page` is Lectern's own, carried in the `next` links.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Paging {
    pub limit: Option<u32>,
    pub page: Option<u32>,
}

impl Paging {
    /// (offset, limit), or 400 for values out of range.
    pub fn window(&self) -> Result<(i64, i64), LtiError> {
        let limit = self.limit.unwrap_or(MAX_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(LtiError::BadRequest(format!("limit must be 1 to {MAX_LIMIT}")));
        }
        let page = self.page.unwrap_or(1);
        if !(1..=1_000_000).contains(&page) {
            return Err(LtiError::BadRequest("page must be 1 to 1000000".into()));
        }
        Ok((i64::from(page - 1) * i64::from(limit), i64::from(limit)))
    }

    /// The `Link` header of a page: `rel="next"` when more follow (AGS 2.0 §3.2.5, NRPS 2.0 §2.4).
    pub fn next_link(&self, url: &str, extra: &[(&str, String)], total: i64) -> Option<String> {
        let (offset, limit) = self.window().ok()?;
        if offset + limit >= total {
            return None;
        }
        let mut query: Vec<String> =
            extra.iter().map(|(k, v)| format!("{k}={}", lectern_common::extract::urlencode(v))).collect();
        query.push(format!("limit={limit}"));
        query.push(format!("page={}", self.page.unwrap_or(1) + 1));
        Some(format!("<{url}?{}>; rel=\"next\"", query.join("&")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_a_next_link_until_the_last() {
        let p = Paging { limit: Some(2), page: None };
        assert_eq!(p.window().ok(), Some((0, 2)));
        assert_eq!(
            p.next_link("https://l.example/m", &[("role", "Learner".into())], 5).as_deref(),
            Some("<https://l.example/m?role=Learner&limit=2&page=2>; rel=\"next\"")
        );
        let last = Paging { limit: Some(2), page: Some(3) };
        assert_eq!(last.window().ok(), Some((4, 2)));
        assert_eq!(last.next_link("https://l.example/m", &[], 5), None);
        assert!(Paging { limit: Some(0), page: None }.window().is_err());
        assert!(Paging { limit: Some(101), page: None }.window().is_err());
        assert!(Paging { limit: None, page: Some(0) }.window().is_err());
    }
}

/// The shapes the services answer with, for `GET /api/openapi.json` (AGS 2.0 and NRPS 2.0 name
/// every member; the handlers write the same members).
pub mod schemas {
    #![allow(dead_code)]
    use utoipa::ToSchema;

    /// A context (course) as NRPS names it.
    #[derive(ToSchema)]
    pub struct Context {
        pub id: String,
        pub label: String,
        pub title: String,
    }

    /// One member of a course with their LTI context role.
    #[derive(ToSchema)]
    pub struct Member {
        /// Always `Active`.
        pub status: String,
        /// The `sub` of their launches.
        pub user_id: String,
        pub roles: Vec<String>,
        pub name: String,
        pub email: String,
    }

    /// `application/vnd.ims.lti-nrps.v2.membershipcontainer+json`.
    #[derive(ToSchema)]
    pub struct MembershipContainer {
        pub id: String,
        pub context: Context,
        pub members: Vec<Member>,
    }

    /// `application/vnd.ims.lis.v2.lineitem+json`: an assignment tied to the tool's link.
    #[derive(ToSchema)]
    #[allow(non_snake_case)]
    pub struct LineItem {
        pub id: String,
        pub label: String,
        pub scoreMaximum: f64,
        pub resourceLinkId: String,
        /// The assignment's id.
        pub resourceId: String,
        /// The assignment's due date.
        pub endDateTime: String,
        pub gradesReleased: bool,
    }

    /// One result of `application/vnd.ims.lis.v2.resultcontainer+json`.
    #[derive(ToSchema)]
    #[allow(non_snake_case)]
    pub struct LtiResult {
        pub id: String,
        pub scoreOf: String,
        pub userId: String,
        /// The grade after any late penalty, as the gradebook shows it.
        pub resultScore: f64,
        pub resultMaximum: f64,
        pub comment: String,
    }
}
