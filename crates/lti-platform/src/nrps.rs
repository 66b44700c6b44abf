//! Names and Role Provisioning Services 2.0: a course's members, with their LTI context roles,
//! for a tool that has a link in it and a token with `contextmembership.readonly`.
//!
//! `GET /api/lti/courses/{course_id}/memberships`, answering
//! `application/vnd.ims.lti-nrps.v2.membershipcontainer+json`: staff first, then enrolled
//! students, each with `user_id` (the `sub` of their launches), `name`, `email` and `roles`.
//! Filters: `role` (a full role URI or its last word, such as `Learner`), `rlid` (a link of this
//! tool in this course; every member of the course may use every link, so the members are the
//! same), `limit` with `Link: rel="next"`.

use crate::LtiState;
use crate::claims::{self, SCOPE_MEMBERSHIPS};
use crate::error::LtiError;
use crate::services::{Bearer, Paging, ToolAccess};
use actix_web::{HttpRequest, HttpResponse, web};
use course_service::service::tool_links::{self, Member};
use lectern_common::ids::{CourseId, ToolLinkId};
use serde::Deserialize;
use serde_json::{Value, json};

pub const MEMBERSHIP_CONTAINER: &str = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";

#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembershipQuery {
    /// Only members with this context role (a full URI, or `Instructor`, `TeachingAssistant`, `Learner`).
    pub role: Option<String>,
    /// A resource link of this tool in this course.
    pub rlid: Option<String>,
    /// At most this many members (1 to 100, default 100).
    pub limit: Option<u32>,
    /// Lectern's page number, as the `next` link carries it.
    pub page: Option<u32>,
}

/// True when `filter` names `role`: the whole URI, or the word after its last `#` or `/`.
fn role_matches(filter: &str, role: &str) -> bool {
    filter == role || role.rsplit(['#', '/']).next() == Some(filter)
}

fn member(m: &Member) -> Value {
    json!({
        "status": "Active",
        "user_id": m.user_id.to_string(),
        "roles": [claims::context_role(m.relation)],
        "name": m.display_name,
        "email": m.email,
    })
}

/// The course's members with their LTI roles.
#[utoipa::path(
    get,
    path = "/api/lti/courses/{course_id}/memberships",
    operation_id = "lti_memberships",
    tag = "lti",
    security(("lti_access_token" = [])),
    params(("course_id" = CourseId, Path, description = "The context: a course where the tool has a link"), MembershipQuery),
    responses(
        (status = 200, description = "The membership container; `Link: rel=\"next\"` when more follow", body = crate::services::schemas::MembershipContainer, content_type = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"),
        (status = 400, description = "`limit` or `page` out of range", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No token, or one that is not a live LTI service token", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contextmembership.readonly`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one where this tool has no link (or `rlid` is not one of its links there)", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn memberships(
    req: HttpRequest,
    state: web::Data<LtiState>,
    path: web::Path<CourseId>,
    query: web::Query<MembershipQuery>,
) -> Result<HttpResponse, LtiError> {
    let bearer = Bearer::of(&req)?;
    let query = query.into_inner();
    let paging = Paging { limit: query.limit, page: query.page };
    let (offset, limit) = paging.window()?;
    let course = path.into_inner();
    let now = state.auth.clock.now();
    let filter = query.role.clone().filter(|r| !r.is_empty());
    let rlid = query.rlid.clone().filter(|r| !r.is_empty());
    let (context, members, total) = state
        .auth
        .db
        .run(move |conn| {
            let access = ToolAccess::check(conn, &bearer, now)?;
            access.require(&[SCOPE_MEMBERSHIPS])?;
            let course = access.course(conn, course)?;
            if let Some(rlid) = &rlid {
                let link: ToolLinkId = rlid.parse().map_err(|_| LtiError::NotFound)?;
                if !tool_links::links_of_tool(conn, &course)?.iter().any(|l| l.id == link) {
                    return Err(LtiError::NotFound);
                }
            }
            let context = claims::context(&course.id.to_string(), &course.title);
            let (members, total) = match &filter {
                // A role filter is applied before paging, so pages hold only matching members.
                Some(role) => {
                    let (all, _) = tool_links::members_for_tool(conn, &course, 0, i64::MAX)?;
                    let matching: Vec<Member> =
                        all.into_iter().filter(|m| role_matches(role, claims::context_role(m.relation))).collect();
                    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
                    let page = matching
                        .into_iter()
                        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                        .take(usize::try_from(limit).unwrap_or(usize::MAX))
                        .collect();
                    (page, total)
                }
                None => tool_links::members_for_tool(conn, &course, offset, limit)?,
            };
            Ok::<_, LtiError>((context, members, total))
        })
        .await?;
    let url = state.endpoints.memberships(course);
    let mut extra = Vec::new();
    if let Some(role) = &query.role {
        extra.push(("role", role.clone()));
    }
    if let Some(rlid) = &query.rlid {
        extra.push(("rlid", rlid.clone()));
    }
    let mut reply = HttpResponse::Ok();
    reply.content_type(MEMBERSHIP_CONTAINER).insert_header(("cache-control", "no-store"));
    if let Some(next) = paging.next_link(&url, &extra, total) {
        reply.insert_header(("link", next));
    }
    let context = json!({"id": context["id"], "label": context["label"], "title": context["title"]});
    Ok(reply.body(
        json!({"id": url, "context": context, "members": members.iter().map(member).collect::<Vec<_>>()}).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_filters_take_the_uri_or_its_last_word() {
        assert!(role_matches(claims::ROLE_LEARNER, claims::ROLE_LEARNER));
        assert!(role_matches("Learner", claims::ROLE_LEARNER));
        assert!(role_matches("Instructor", claims::ROLE_INSTRUCTOR));
        assert!(role_matches("TeachingAssistant", claims::ROLE_TEACHING_ASSISTANT));
        assert!(!role_matches("Instructor", claims::ROLE_LEARNER));
        assert!(!role_matches("Learn", claims::ROLE_LEARNER));
    }
}
