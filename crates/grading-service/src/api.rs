//! The JSON API of grading-service (API.md, Grading). Thin: extract, call `service.rs`, reply.

use crate::domain::{IdempotencyKey, SubmissionBody};
use crate::error::GradingError;
use crate::service::{AssignmentDetail, AssignmentInput, GradingState, NewAssignment, ScoreInput};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::ids::{AssignmentId, CourseId, SubmissionId};
use lectern_common::pagination::PageParams;
use lectern_common::{AuthUser, Student, Teacher};
use serde::Deserialize;

/// The header that makes a retried submission return the first reply.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

#[derive(Deserialize)]
pub struct SubmitInput {
    pub body: String,
}

#[derive(Deserialize)]
pub struct GradeInput {
    /// Kept as JSON so that a string or a missing score is a 422 naming `score`.
    #[serde(default)]
    pub score: serde_json::Value,
    #[serde(default)]
    pub feedback: String,
}

#[derive(Deserialize)]
pub struct GradebookQuery {
    pub format: Option<String>,
}

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

pub async fn list_assignments(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<CourseId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let found = state.list_assignments(user, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(found.page))
}

pub async fn create_assignment(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<CourseId>,
    body: web::Json<AssignmentInput>,
) -> Result<HttpResponse, GradingError> {
    let input = NewAssignment::try_from(body.into_inner());
    let detail: AssignmentDetail = state.create_assignment(teacher.0, path.into_inner(), input).await?;
    Ok(created(format!("/api/grading/assignments/{}", detail.summary.id), &detail))
}

pub async fn assignment(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, GradingError> {
    let (assignment, _, _) = state.assignment(user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AssignmentDetail::from(&assignment)))
}

pub async fn release(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, GradingError> {
    let detail = state.release(teacher.0, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail))
}

pub async fn submit(
    state: web::Data<GradingState>,
    student: Student,
    path: web::Path<AssignmentId>,
    req: HttpRequest,
    body: web::Json<SubmitInput>,
) -> Result<HttpResponse, GradingError> {
    let parsed = SubmissionBody::parse(&body.body);
    let reply = state.submit(student.0, path.into_inner(), parsed, idempotency_key(&req)).await?;
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

pub async fn submissions(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let found = state.submissions(user, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(found.page))
}

pub async fn submission(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, GradingError> {
    let view = state.submission(user, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view.detail))
}

pub async fn put_grade(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<SubmissionId>,
    body: web::Json<GradeInput>,
) -> Result<HttpResponse, GradingError> {
    let GradeInput { score, feedback } = body.into_inner();
    let grade = state.grade(teacher.0, path.into_inner(), ScoreInput::Json(score), feedback).await?;
    Ok(HttpResponse::Ok().json(grade))
}

pub async fn grade_history(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<SubmissionId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let history = state.history(teacher.0, path.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(history))
}

pub async fn my_grades(
    state: web::Data<GradingState>,
    student: Student,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    let grades = state.my_grades(student.0, page).await?;
    Ok(HttpResponse::Ok().json(grades))
}

pub async fn gradebook(
    state: web::Data<GradingState>,
    teacher: Teacher,
    path: web::Path<CourseId>,
    req: HttpRequest,
    query: web::Query<GradebookQuery>,
) -> Result<HttpResponse, GradingError> {
    let csv = wants_csv(&req, query.format.as_deref())?;
    let gradebook = state.gradebook(teacher.0, path.into_inner()).await?;
    if csv {
        Ok(csv_response(&gradebook))
    } else {
        Ok(HttpResponse::Ok().insert_header((header::VARY, "Accept")).json(gradebook))
    }
}
