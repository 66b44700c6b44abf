//! Assignment and Grade Services 2.0 for the tools: the line items of a course (its assignments
//! tied to the tool's links), the scores the tool posts (grades, through grading's one grading
//! function, with the audit trail), and the results it reads back. Grading decides what a score
//! does (`grading_service::service::tool_scores`); this module speaks AGS.
//!
//! - `GET /api/lti/courses/{course_id}/lineitems` (`lineitem.readonly`):
//!   `application/vnd.ims.lis.v2.lineitemcontainer+json`; filters `resource_link_id`,
//!   `resource_id`, `tag`; `limit` with `Link: rel="next"`.
//! - `GET .../lineitems/{assignment_id}` (`lineitem.readonly`): `application/vnd.ims.lis.v2.lineitem+json`.
//! - `POST .../lineitems/{assignment_id}/scores` (`score`): `application/vnd.ims.lis.v1.score+json`;
//!   204 when taken.
//! - `GET .../lineitems/{assignment_id}/results` (`result.readonly`):
//!   `application/vnd.ims.lis.v2.resultcontainer+json`; filter `user_id`.
//!
//! Line items are Lectern's assignments, which teachers make: tools cannot create, change or delete
//! them (no `lineitem` scope is granted, and those methods are not routed).

use crate::LtiState;
use crate::claims::{SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE};
use crate::error::LtiError;
use crate::services::{Bearer, Paging, ToolAccess};
use crate::tools;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use course_service::access::ToolIn;
use grading_service::GradingError;
use grading_service::domain::Feedback;
use grading_service::service::tool_scores::{self, LineItem, Scored, ToolScore};
use lectern_common::db::{DbConnection, rfc3339, to_db_time, write_tx};
use lectern_common::ids::{AssignmentId, CourseId, UserId};
use serde::Deserialize;
use serde_json::{Value, json};

pub const LINE_ITEM_CONTAINER: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
pub const LINE_ITEM: &str = "application/vnd.ims.lis.v2.lineitem+json";
pub const SCORE: &str = "application/vnd.ims.lis.v1.score+json";
pub const RESULT_CONTAINER: &str = "application/vnd.ims.lis.v2.resultcontainer+json";
/// The largest score body accepted.
const MAX_SCORE_BYTES: usize = 64 * 1024;

fn grading(e: GradingError) -> LtiError {
    match e {
        GradingError::NotFound => LtiError::NotFound,
        GradingError::Invalid { field, message } => LtiError::Invalid { field, message },
        GradingError::Stale(why) => LtiError::Conflict(why),
        GradingError::Db(e) => LtiError::Db(e),
        other => LtiError::Unexpected(other.to_string()),
    }
}

fn line_item_json(state: &LtiState, item: &LineItem) -> Value {
    let a = &item.assignment;
    let max = grading_service::domain::Points::from_hundredths(a.max_points_hundredths);
    json!({
        "id": state.endpoints.line_item(a.course_id, a.id),
        "label": a.title,
        "scoreMaximum": max,
        "resourceLinkId": item.link.id.to_string(),
        "resourceId": a.id.to_string(),
        "endDateTime": rfc3339(a.due_at),
        "gradesReleased": a.grades_released,
    })
}

/// The tool's access checked and its line item found, in one hand-off with `work`.
async fn with_item<T: Send + 'static>(
    state: &LtiState,
    bearer: Bearer,
    scopes: &'static [&'static str],
    course: CourseId,
    assignment: AssignmentId,
    work: impl FnOnce(&mut DbConnection, &ToolAccess, ToolIn<LineItem>) -> Result<T, LtiError> + Send + 'static,
) -> Result<T, LtiError> {
    let now = state.auth.clock.now();
    state
        .auth
        .db
        .run(move |conn| {
            let access = ToolAccess::check(conn, &bearer, now)?;
            access.require(scopes)?;
            let course = access.course(conn, course)?;
            let item = tool_scores::line_item(conn, &course, assignment).map_err(grading)?;
            work(conn, &access, item)
        })
        .await
}

#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LineItemsQuery {
    /// Only the line item of this resource link.
    pub resource_link_id: Option<String>,
    /// Only the line item of this resource (an assignment id).
    pub resource_id: Option<String>,
    /// Only line items with this tag (Lectern's have none).
    pub tag: Option<String>,
    pub limit: Option<u32>,
    pub page: Option<u32>,
}

/// The tool's line items in the course.
#[utoipa::path(
    get,
    path = "/api/lti/courses/{course_id}/lineitems",
    operation_id = "lti_line_items",
    tag = "lti",
    security(("lti_access_token" = [])),
    params(("course_id" = CourseId, Path, description = "A course where the tool has a link"), LineItemsQuery),
    responses(
        (status = 200, description = "The line item container; `Link: rel=\"next\"` when more follow", body = Vec<crate::services::schemas::LineItem>, content_type = "application/vnd.ims.lis.v2.lineitemcontainer+json"),
        (status = 400, description = "`limit` or `page` out of range", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No token, or one that is not a live LTI service token", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `lineitem.readonly`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one where this tool has no link", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn line_items(
    req: HttpRequest,
    state: web::Data<LtiState>,
    path: web::Path<CourseId>,
    query: web::Query<LineItemsQuery>,
) -> Result<HttpResponse, LtiError> {
    let bearer = Bearer::of(&req)?;
    let query = query.into_inner();
    let paging = Paging { limit: query.limit, page: query.page };
    let (offset, limit) = paging.window()?;
    let course = path.into_inner();
    let now = state.auth.clock.now();
    let items = state
        .auth
        .db
        .run(move |conn| {
            let access = ToolAccess::check(conn, &bearer, now)?;
            access.require(&[SCOPE_LINEITEM_READONLY])?;
            let course = access.course(conn, course)?;
            tool_scores::line_items(conn, &course).map_err(grading)
        })
        .await?;
    let matching: Vec<&LineItem> = items
        .iter()
        .filter(|i| query.resource_link_id.as_deref().is_none_or(|l| l == i.link.id.to_string()))
        .filter(|i| query.resource_id.as_deref().is_none_or(|r| r == i.assignment.id.to_string()))
        // Lectern's line items carry no tag: a tag filter matches none.
        .filter(|_| query.tag.as_deref().is_none_or(str::is_empty))
        .collect();
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let page: Vec<Value> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|i| line_item_json(&state, i))
        .collect();
    let mut extra = Vec::new();
    for (k, v) in
        [("resource_link_id", &query.resource_link_id), ("resource_id", &query.resource_id), ("tag", &query.tag)]
    {
        if let Some(v) = v {
            extra.push((k, v.clone()));
        }
    }
    let mut reply = HttpResponse::Ok();
    reply.content_type(LINE_ITEM_CONTAINER).insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(next) = paging.next_link(&state.endpoints.line_items(course), &extra, total) {
        reply.insert_header((header::LINK, next));
    }
    Ok(reply.body(Value::Array(page).to_string()))
}

/// One line item of the tool.
#[utoipa::path(
    get,
    path = "/api/lti/courses/{course_id}/lineitems/{assignment_id}",
    operation_id = "lti_line_item",
    tag = "lti",
    security(("lti_access_token" = [])),
    params(("course_id" = CourseId, Path, description = "A course where the tool has a link"),
           ("assignment_id" = AssignmentId, Path, description = "An assignment tied to one of the tool's links there")),
    responses(
        (status = 200, description = "The line item", body = crate::services::schemas::LineItem, content_type = "application/vnd.ims.lis.v2.lineitem+json"),
        (status = 401, description = "No token, or one that is not a live LTI service token", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `lineitem.readonly`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Not a line item of this tool in this course", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn line_item(
    req: HttpRequest,
    state: web::Data<LtiState>,
    path: web::Path<(CourseId, AssignmentId)>,
) -> Result<HttpResponse, LtiError> {
    let bearer = Bearer::of(&req)?;
    let (course, assignment) = path.into_inner();
    let item = with_item(&state, bearer, &[SCOPE_LINEITEM_READONLY], course, assignment, |_, _, item| Ok(item)).await?;
    Ok(HttpResponse::Ok()
        .content_type(LINE_ITEM)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(line_item_json(&state, &item).to_string()))
}

/// A score as AGS 2.0 §3.4 defines it; fields are checked one by one for a 422 that names them.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoreBody {
    /// The `sub` of the student's launches (a Lectern user id).
    pub user_id: Option<Value>,
    pub score_given: Option<Value>,
    pub score_maximum: Option<Value>,
    /// Shown to the student with the grade.
    pub comment: Option<Value>,
    /// When the score was set in the tool (RFC 3339).
    pub timestamp: Option<Value>,
    /// `Initialized`, `Started`, `InProgress`, `Submitted` or `Completed`.
    pub activity_progress: Option<Value>,
    /// `FullyGraded`, `Pending`, `PendingManual`, `Failed` or `NotReady`; only `FullyGraded` sets a grade.
    pub grading_progress: Option<Value>,
}

const ACTIVITY: [&str; 5] = ["Initialized", "Started", "InProgress", "Submitted", "Completed"];
const GRADING: [&str; 5] = ["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"];

fn text<'a>(value: &'a Option<Value>, field: &'static str) -> Result<Option<&'a str>, LtiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(LtiError::invalid(field, "must be a string")),
    }
}

fn number(value: &Option<Value>, field: &'static str) -> Result<Option<f64>, LtiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| LtiError::invalid(field, "must be a number")),
        Some(_) => Err(LtiError::invalid(field, "must be a number")),
    }
}

/// The score, read (the tool's name is filled in by the caller).
pub fn read_score(body: &ScoreBody) -> Result<ToolScore, LtiError> {
    let user = text(&body.user_id, "userId")?.ok_or_else(|| LtiError::invalid("userId", "is required"))?;
    let student: UserId = user.parse().map_err(|_| LtiError::invalid("userId", "is not a user of this platform"))?;
    let activity = text(&body.activity_progress, "activityProgress")?
        .ok_or_else(|| LtiError::invalid("activityProgress", "is required"))?;
    if !ACTIVITY.contains(&activity) {
        return Err(LtiError::invalid("activityProgress", format!("must be one of {}", ACTIVITY.join(", "))));
    }
    let progress = text(&body.grading_progress, "gradingProgress")?
        .ok_or_else(|| LtiError::invalid("gradingProgress", "is required"))?;
    if !GRADING.contains(&progress) {
        return Err(LtiError::invalid("gradingProgress", format!("must be one of {}", GRADING.join(", "))));
    }
    let stamp = text(&body.timestamp, "timestamp")?.ok_or_else(|| LtiError::invalid("timestamp", "is required"))?;
    let timestamp = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
        .map_err(|_| LtiError::invalid("timestamp", "must be an RFC 3339 date and time"))?;
    let given = number(&body.score_given, "scoreGiven")?;
    let maximum = number(&body.score_maximum, "scoreMaximum")?;
    let given = match (given, maximum) {
        (Some(g), Some(m)) => Some((g, m)),
        (Some(_), None) => return Err(LtiError::invalid("scoreMaximum", "is required with scoreGiven")),
        (None, _) if progress == "FullyGraded" => {
            return Err(LtiError::invalid("scoreGiven", "is required when gradingProgress is FullyGraded"));
        }
        (None, _) => None,
    };
    let comment = text(&body.comment, "comment")?.unwrap_or_default();
    let comment = Feedback::parse(comment)
        .map_err(|_| LtiError::invalid("comment", "must be at most 10000 characters of text"))?;
    Ok(ToolScore {
        tool: lectern_common::ids::ToolId::default(),
        tool_name: String::new(),
        student,
        given,
        comment,
        timestamp: to_db_time(timestamp),
        final_grade: progress == "FullyGraded",
    })
}

/// Posts a score for a student: with `FullyGraded`, it becomes the grade of their latest attempt.
#[utoipa::path(
    post,
    path = "/api/lti/courses/{course_id}/lineitems/{assignment_id}/scores",
    operation_id = "lti_score",
    tag = "lti",
    security(("lti_access_token" = [])),
    params(("course_id" = CourseId, Path, description = "A course where the tool has a link"),
           ("assignment_id" = AssignmentId, Path, description = "An assignment tied to one of the tool's links there")),
    request_body(content = ScoreBody, content_type = "application/vnd.ims.lis.v1.score+json"),
    responses(
        (status = 204, description = "Taken: a final score is now the student's grade (with an audit entry naming the tool)"),
        (status = 401, description = "No token, or one that is not a live LTI service token", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `score`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Not a line item of this tool in this course", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "A score with a later timestamp is on record for this user", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 64 KiB", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/vnd.ims.lis.v1.score+json`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule (a user not enrolled, a score above the maximum, a missing timestamp); `errors` names it", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn score(
    req: HttpRequest,
    state: web::Data<LtiState>,
    path: web::Path<(CourseId, AssignmentId)>,
    payload: web::Payload,
) -> Result<HttpResponse, LtiError> {
    let bearer = Bearer::of(&req)?;
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !media.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(SCORE)) {
        return Err(LtiError::UnsupportedMediaType(format!("a score is sent as {SCORE}")));
    }
    let body = match payload.to_bytes_limited(MAX_SCORE_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(LtiError::BadRequest("the body could not be read".into())),
        Err(_) => return Err(LtiError::TooLarge),
    };
    let (course, assignment) = path.into_inner();
    // Parsed now, its 422 held back until the token, scope and line item are checked.
    let parsed: Result<ToolScore, LtiError> = serde_json::from_slice::<ScoreBody>(&body)
        .map_err(|_| LtiError::invalid("body", "must be a JSON object of AGS score fields"))
        .and_then(|b| read_score(&b));
    let now = to_db_time(state.auth.clock.now());
    with_item(&state, bearer, &[SCOPE_SCORE], course, assignment, move |conn, access, item| {
        let mut score = parsed?;
        let tool = tools::find(conn, access.tool)?.ok_or(LtiError::InvalidToken)?;
        score.tool = tool.id;
        score.tool_name = tool.name;
        write_tx(conn, |conn| tool_scores::record(conn, &item, score, now).map_err(grading))
    })
    .await
    .map(|scored| match scored {
        Scored::Graded(_) | Scored::Noted => HttpResponse::NoContent().finish(),
    })
}

#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Only this user's result.
    pub user_id: Option<String>,
    pub limit: Option<u32>,
    pub page: Option<u32>,
}

/// The current results of a line item: each graded student's grade as the gradebook has it.
#[utoipa::path(
    get,
    path = "/api/lti/courses/{course_id}/lineitems/{assignment_id}/results",
    operation_id = "lti_results",
    tag = "lti",
    security(("lti_access_token" = [])),
    params(("course_id" = CourseId, Path, description = "A course where the tool has a link"),
           ("assignment_id" = AssignmentId, Path, description = "An assignment tied to one of the tool's links there"), ResultsQuery),
    responses(
        (status = 200, description = "The result container; `Link: rel=\"next\"` when more follow", body = Vec<crate::services::schemas::LtiResult>, content_type = "application/vnd.ims.lis.v2.resultcontainer+json"),
        (status = 400, description = "`limit` or `page` out of range", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No token, or one that is not a live LTI service token", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `result.readonly`", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Not a line item of this tool in this course", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn results(
    req: HttpRequest,
    state: web::Data<LtiState>,
    path: web::Path<(CourseId, AssignmentId)>,
    query: web::Query<ResultsQuery>,
) -> Result<HttpResponse, LtiError> {
    let bearer = Bearer::of(&req)?;
    let query = query.into_inner();
    let paging = Paging { limit: query.limit, page: query.page };
    let (offset, limit) = paging.window()?;
    let (course, assignment) = path.into_inner();
    // A user id that is no Lectern id has no result: an empty container, as for any other user.
    let user = query.user_id.as_deref().filter(|u| !u.is_empty()).map(|raw| raw.parse::<UserId>().ok());
    let results =
        with_item(&state, bearer, &[SCOPE_RESULT_READONLY], course, assignment, move |conn, _, item| match user {
            Some(None) => Ok(Vec::new()),
            Some(Some(id)) => tool_scores::results(conn, &item, Some(id)).map_err(grading),
            None => tool_scores::results(conn, &item, None).map_err(grading),
        })
        .await?;
    let line_item = state.endpoints.line_item(course, assignment);
    let total = i64::try_from(results.len()).unwrap_or(i64::MAX);
    let page: Vec<Value> = results
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|r| {
            json!({
                "id": format!("{line_item}/results/{}", r.student),
                "scoreOf": line_item,
                "userId": r.student.to_string(),
                "resultScore": r.final_score,
                "resultMaximum": r.max_points,
                "comment": r.comment,
            })
        })
        .collect();
    let mut extra = Vec::new();
    if let Some(u) = &query.user_id {
        extra.push(("user_id", u.clone()));
    }
    let mut reply = HttpResponse::Ok();
    reply.content_type(RESULT_CONTAINER).insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(next) = paging.next_link(&format!("{line_item}/results"), &extra, total) {
        reply.insert_header((header::LINK, next));
    }
    Ok(reply.body(Value::Array(page).to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(v: Value) -> ScoreBody {
        serde_json::from_value(v).unwrap()
    }

    fn good() -> Value {
        json!({"userId": "0f3b2f3e-7c4d-4d7e-9a41-0c5d2e7b8f90", "scoreGiven": 8, "scoreMaximum": 10,
               "timestamp": "2026-11-30T10:00:00.123+01:00", "activityProgress": "Completed",
               "gradingProgress": "FullyGraded", "comment": "Well done"})
    }

    fn field_of(v: Value) -> Option<&'static str> {
        match read_score(&body(v)) {
            Err(LtiError::Invalid { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn a_score_reads_whole_and_each_fault_names_its_field() {
        let score = read_score(&body(good())).unwrap();
        assert_eq!(score.given, Some((8.0, 10.0)));
        assert!(score.final_grade);
        assert_eq!(score.timestamp.hour(), 9, "kept in UTC");
        let with = |k: &str, v: Value| {
            let mut g = good();
            g[k] = v;
            g
        };
        assert_eq!(field_of(with("userId", json!("not-an-id"))), Some("userId"));
        assert_eq!(field_of(with("userId", json!(7))), Some("userId"));
        assert_eq!(field_of(with("activityProgress", json!("Done"))), Some("activityProgress"));
        assert_eq!(field_of(with("gradingProgress", Value::Null)), Some("gradingProgress"));
        assert_eq!(field_of(with("timestamp", json!("yesterday"))), Some("timestamp"));
        assert_eq!(field_of(with("scoreGiven", json!("8"))), Some("scoreGiven"));
        assert_eq!(field_of(with("scoreMaximum", Value::Null)), Some("scoreMaximum"));
        assert_eq!(field_of(with("scoreGiven", Value::Null)), Some("scoreGiven"));
        assert_eq!(field_of(with("comment", json!("x".repeat(10_001)))), Some("comment"));
        let progress = with("gradingProgress", json!("Pending"));
        let mut progress = progress;
        progress["scoreGiven"] = Value::Null;
        let noted = read_score(&body(progress)).unwrap();
        assert!(!noted.final_grade && noted.given.is_none(), "progress without a score is taken");
    }
}
