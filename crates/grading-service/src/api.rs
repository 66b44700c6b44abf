//! The JSON API of grading-service (docs/api.md, Grading). A thin shell: each handler's
//! signature says who may call it, the body is parsed into domain types (422 naming the field,
//! held back until access is decided), `service/` does the rest.

use crate::domain::{Feedback, IdempotencyKey, NewAssignment, ScoreInput, SubmissionBody};
use crate::error::GradingError;
use crate::gradebook::Gradebook;
use crate::service::GradingState;
use crate::views::{
    AssignmentDetail, AssignmentInput, AssignmentView, GradeInput, GradeView, HistoryItem, MyGrade, Receipt,
    SubmissionDetail, SubmissionItem, SubmitInput,
};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::ids::{AssignmentId, CourseId, SubmissionId};
use lectern_common::openapi::{BearerAuth, ProblemDocument};
use lectern_common::pagination::{PageParams, Paginated};
use lectern_common::{AuthUser, Student, Teacher};
use serde::Deserialize;

/// The header that makes a retried submission return the first reply.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GradebookQuery {
    /// `csv` or `json`; without it, `Accept: text/csv` asks for CSV.
    pub format: Option<String>,
}

/// grading-service's part of `GET /api/openapi.json` (see `crate::openapi()`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Lectern grading-service", description = "Assignments, submissions, grades and the gradebook."),
    paths(
        list_assignments,
        create_assignment,
        assignment,
        release,
        submit,
        submissions,
        submission,
        put_grade,
        grade_history,
        my_grades,
        gradebook
    ),
    components(schemas(ProblemDocument)),
    modifiers(&BearerAuth),
    tags((name = "grading", description = "Assignments, submissions, grades and gradebooks"))
)]
pub struct ApiDoc;

fn created(location: String, json: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).json(json)
}

/// The `Idempotency-Key` header, when sent: `None` without one, a 422 for an unusable one.
pub fn idempotency_key(req: &HttpRequest) -> Option<Result<IdempotencyKey, GradingError>> {
    req.headers().get(IDEMPOTENCY_KEY).map(|v| {
        v.to_str()
            .map_err(|_| GradingError::invalid(IDEMPOTENCY_KEY, "must be 1 to 255 visible ASCII characters"))
            .and_then(IdempotencyKey::parse)
    })
}

/// CSV when `?format=csv` or `Accept` names `text/csv`; `?format=json` forces JSON.
pub fn wants_csv(req: &HttpRequest, format: Option<&str>) -> Result<bool, GradingError> {
    match format.map(str::trim) {
        Some(f) if f.eq_ignore_ascii_case("csv") => return Ok(true),
        Some(f) if f.eq_ignore_ascii_case("json") => return Ok(false),
        Some(_) => return Err(GradingError::invalid("format", "must be csv or json")),
        None => {}
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(accept
        .split(',')
        .any(|range| range.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))))
}

/// The CSV download of a gradebook.
pub fn csv_response(gradebook: &crate::gradebook::Gradebook) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"gradebook-{}.csv\"", gradebook.course.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Accept"))
        .body(gradebook.to_csv())
}

/// The course's assignments.
#[utoipa::path(
    get,
    path = "/api/grading/courses/{course_id}/assignments",
    tag = "grading",
    security(("bearer" = [])),
    params(("course_id" = CourseId, Path, description = "The course"), PageParams),
    responses(
        (status = 200, description = "A page of assignments", body = Paginated<AssignmentView>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The course is visible, but the caller neither teaches it nor is enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_assignments(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<CourseId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let found = state.list_assignments(&user, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(found.page))
}

/// Adds an assignment to the course.
#[utoipa::path(
    post,
    path = "/api/grading/courses/{course_id}/assignments",
    tag = "grading",
    security(("bearer" = [])),
    params(("course_id" = CourseId, Path, description = "The course")),
    request_body = AssignmentInput,
    responses(
        (status = 201, description = "The assignment", body = AssignmentDetail,
            headers(("Location" = String, description = "The new assignment"))),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule; `errors` names it", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create_assignment(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<CourseId>,
    body: web::Json<AssignmentInput>,
) -> Result<HttpResponse, GradingError> {
    let input = NewAssignment::try_from(body.into_inner());
    let detail: AssignmentDetail = state.create_assignment(&teacher, path.into_inner(), input).await?;
    Ok(created(format!("/api/grading/assignments/{}", detail.summary.id), &detail))
}

/// One assignment, with its instructions.
#[utoipa::path(
    get,
    path = "/api/grading/assignments/{id}",
    operation_id = "get_assignment",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment")),
    responses(
        (status = 200, description = "The assignment", body = AssignmentDetail),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The course is visible, but the caller neither teaches it nor is enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn assignment(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, GradingError> {
    Ok(HttpResponse::Ok().json(state.assignment(&user, path.into_inner()).await?))
}

/// Releases the assignment's grades: from now on its students see their grades and feedback.
#[utoipa::path(
    post,
    path = "/api/grading/assignments/{id}/release",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment")),
    responses(
        (status = 200, description = "The assignment, with `grades_released`", body = AssignmentDetail),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn release(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, GradingError> {
    let detail = state.release(&teacher, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Hands in a new attempt; each is kept unchanged.
#[utoipa::path(
    post,
    path = "/api/grading/assignments/{id}/submissions",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first reply instead of making a new attempt (1 to 255 visible ASCII characters)")),
    request_body = SubmitInput,
    responses(
        (status = 201, description = "The receipt of the attempt (again, for a replayed `Idempotency-Key`)", body = Receipt,
            headers(
                ("Location" = String, description = "The submission"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the stored first reply")
            )),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a student enrolled in the course may submit", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Every attempt `max_attempts` allows has been made", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 512 KiB", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long body, or an `Idempotency-Key` unusable or already used for a different request", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    state: web::Data<GradingState>,
    student: Student,
    path: web::Path<AssignmentId>,
    req: HttpRequest,
    body: web::Json<SubmitInput>,
) -> Result<HttpResponse, GradingError> {
    let parsed = SubmissionBody::parse(&body.body);
    let reply = state.submit(&student, path.into_inner(), parsed, idempotency_key(&req)).await?;
    let status =
        actix_web::http::StatusCode::from_u16(reply.status).map_err(|e| GradingError::Unexpected(e.to_string()))?;
    let mut resp = HttpResponse::build(status);
    resp.content_type("application/json");
    if let Ok(receipt) = reply.receipt() {
        resp.insert_header((header::LOCATION, format!("/api/grading/submissions/{}", receipt.id)));
    }
    if reply.replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(resp.body(reply.body))
}

/// Submissions: every student's latest attempt for a teacher of the course; one's own attempts for a student.
#[utoipa::path(
    get,
    path = "/api/grading/assignments/{id}/submissions",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), PageParams),
    responses(
        (status = 200, description = "A page of submissions, each with `grade` or null", body = Paginated<SubmissionItem>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The course is visible, but the caller neither teaches it nor is enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn submissions(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let found = state.submissions(&user, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(found.page))
}

/// One submission, for its student or a teacher of the course.
#[utoipa::path(
    get,
    path = "/api/grading/submissions/{id}",
    operation_id = "get_submission",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = SubmissionId, Path, description = "The submission")),
    responses(
        (status = 200, description = "The submission with its body", body = SubmissionDetail),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such submission, or not the caller's to see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn submission(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, GradingError> {
    let view = state.submission(&user, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view.detail))
}

/// Grades (or regrades) a submission; earlier grades stay in its history.
#[utoipa::path(
    put,
    path = "/api/grading/submissions/{id}/grade",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = SubmissionId, Path, description = "The submission")),
    request_body = GradeInput,
    responses(
        (status = 200, description = "The grade", body = GradeView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may grade", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such submission, or not the caller's to see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The score is not a number in 0..=max_points, or the feedback is too long", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn put_grade(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<SubmissionId>,
    body: web::Json<GradeInput>,
) -> Result<HttpResponse, GradingError> {
    let GradeInput { score, feedback } = body.into_inner();
    let grade = state.grade(&teacher, path.into_inner(), ScoreInput::Json(score), Feedback::parse(&feedback)).await?;
    Ok(HttpResponse::Ok().json(grade))
}

/// Every grade ever given to a submission, newest first.
#[utoipa::path(
    get,
    path = "/api/grading/submissions/{id}/grades",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = SubmissionId, Path, description = "The submission"), PageParams),
    responses(
        (status = 200, description = "A page of grades", body = Paginated<HistoryItem>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such submission, or not the caller's to see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn grade_history(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<SubmissionId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let history = state.history(&teacher, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(history))
}

/// The caller's released grades (students).
#[utoipa::path(
    get,
    path = "/api/grading/me/grades",
    tag = "grading",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of released grades", body = Paginated<MyGrade>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only students have grades", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn my_grades(
    state: web::Data<GradingState>,
    student: Student,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let grades = state.my_grades(&student, page).await?;
    Ok(HttpResponse::Ok().json(grades))
}

/// The course's gradebook: students and assignments in a stable order, as JSON or CSV.
#[utoipa::path(
    get,
    path = "/api/grading/courses/{course_id}/gradebook",
    tag = "grading",
    security(("bearer" = [])),
    params(("course_id" = CourseId, Path, description = "The course"), GradebookQuery),
    responses(
        (status = 200, description = "The gradebook; CSV with `?format=csv` or `Accept: text/csv`", content(
            (Gradebook = "application/json"),
            (String = "text/csv")
        )),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`format` is neither csv nor json", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn gradebook(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<CourseId>,
    req: HttpRequest,
    query: web::Query<GradebookQuery>,
) -> Result<HttpResponse, GradingError> {
    let csv = wants_csv(&req, query.format.as_deref())?;
    let gradebook = state.gradebook(&teacher, path.into_inner()).await?;
    if csv {
        Ok(csv_response(&gradebook))
    } else {
        Ok(HttpResponse::Ok().insert_header((header::VARY, "Accept")).json(gradebook))
    }
}
