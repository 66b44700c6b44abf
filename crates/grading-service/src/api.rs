//! The JSON API of grading-service (docs/api.md, Grading). A thin shell: each handler's
//! signature says who may call it, the body is parsed into domain types (422 naming the field,
//! held back until access is decided), `service/` does the rest.

use crate::domain::{DueAt, Feedback, IdempotencyKey, NewAssignment, ScoreInput, SubmissionBody};
use crate::error::GradingError;
use crate::files::{self, Handin};
use crate::gradebook::Gradebook;
use crate::service::GradingState;
use crate::views::{
    AssignmentDetail, AssignmentInput, AssignmentView, ExtensionInput, ExtensionItem, ExtensionSet, GradeInput,
    GradeView, HistoryItem, MyGrade, Receipt, SubmissionDetail, SubmissionItem, SubmitInput, SubmitMultipart,
    SubmitReply,
};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::ids::{AssignmentId, CourseId, FileId, SubmissionId, UserId};
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
        gradebook,
        put_extension,
        delete_extension,
        list_extensions,
        download_file,
        download_all
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
    let found = state.list_assignments(&user, path.into_inner(), page, false).await?;
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

/// Whether a request's body is `multipart/form-data` (the file submissions' route).
pub fn is_multipart(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The reply to a submission: the receipt (first or replayed) with its headers.
fn submitted(reply: SubmitReply) -> Result<HttpResponse, GradingError> {
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

/// Hands in a new attempt, text (JSON) or text and files (`multipart/form-data`); each is kept
/// unchanged.
#[utoipa::path(
    post,
    path = "/api/grading/assignments/{id}/submissions",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first reply instead of making a new attempt (1 to 255 visible ASCII characters); bound to the whole request, files included")),
    request_body(content(
        (SubmitInput = "application/json"),
        (SubmitMultipart = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "The receipt of the attempt (again, for a replayed `Idempotency-Key`)", body = Receipt,
            headers(
                ("Location" = String, description = "The submission"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the stored first reply")
            )),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a student enrolled in the course may submit", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Every attempt `max_attempts` allows has been made, or the assignment is closed (its late policy's cut-off has passed)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "A JSON body larger than 512 KiB; more than 10 files, a file above 10 MiB, or files above 25 MiB in all", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "No text and no file, a too long text, or an `Idempotency-Key` unusable or already used for a different request", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database, or every upload slot of this process, is busy; retry after `Retry-After`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    state: web::Data<GradingState>,
    student: Student,
    path: web::Path<AssignmentId>,
    req: HttpRequest,
    body: web::Json<SubmitInput>,
) -> Result<HttpResponse, GradingError> {
    let parsed = SubmissionBody::parse(&body.body).map(Handin::text);
    submitted(state.submit(&student, path.into_inner(), parsed, idempotency_key(&req)).await?)
}

/// The same endpoint for `multipart/form-data` (documented with [`submit`]): the caller's right
/// to submit is checked before the body is read, the body is read as a stream with its limits
/// enforced while it arrives, and only a few uploads per process hold their files at once.
pub async fn submit_multipart(
    state: web::Data<GradingState>,
    student: Student,
    path: web::Path<AssignmentId>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, GradingError> {
    let id = path.into_inner();
    state.may_submit(&student, id).await?;
    let _slot = state.upload_slot().await?;
    let upload = files::read(req.headers(), payload, None).await?;
    let handin = Handin::new(upload.body, upload.files);
    submitted(state.submit(&student, id, handin, idempotency_key(&req)).await?)
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
    let found = state.submissions(&user, path.into_inner(), page, false).await?;
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
        (status = 403, description = "Only staff of the course (teachers and graders) may grade; students get 403", body = ProblemDocument, content_type = "application/problem+json"),
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

/// Gives an enrolled student their own due date on the assignment (a second one replaces the first).
#[utoipa::path(
    put,
    path = "/api/grading/assignments/{id}/extensions/{student_id}",
    operation_id = "put_extension",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), ("student_id" = UserId, Path, description = "The student")),
    request_body = ExtensionInput,
    responses(
        (status = 200, description = "The student's due date", body = ExtensionSet),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`due_at` is no RFC 3339 time, or the student is not enrolled", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn put_extension(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<(AssignmentId, UserId)>,
    body: web::Json<ExtensionInput>,
) -> Result<HttpResponse, GradingError> {
    let (id, student) = path.into_inner();
    let due = DueAt::parse(&body.due_at);
    Ok(HttpResponse::Ok().json(state.set_extension(&user, id, student, due).await?))
}

/// Takes a student's own due date back: the assignment's applies again.
#[utoipa::path(
    delete,
    path = "/api/grading/assignments/{id}/extensions/{student_id}",
    operation_id = "delete_extension",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), ("student_id" = UserId, Path, description = "The student")),
    responses(
        (status = 204, description = "The student has no extension (any more)"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of the course may do this", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete_extension(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<(AssignmentId, UserId)>,
) -> Result<HttpResponse, GradingError> {
    let (id, student) = path.into_inner();
    state.remove_extension(&user, id, student).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The assignment's extensions, by student name.
#[utoipa::path(
    get,
    path = "/api/grading/assignments/{id}/extensions",
    operation_id = "list_extensions",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment"), PageParams),
    responses(
        (status = 200, description = "A page of extensions", body = Paginated<ExtensionItem>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only the course's staff may see them", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_extensions(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, GradingError> {
    let page = query.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(state.extensions(&user, path.into_inner(), page).await?))
}

/// A file as a download: always an attachment, never sniffed, sandboxed, whatever its type.
pub fn file_response(download: crate::service::submissions::Download) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.content_type(download.file.content_type.as_str());
    for header in files::download_headers(&download.file.name) {
        resp.insert_header(header);
    }
    resp.body(download.bytes)
}

/// One file of a submission, for its student and the course's staff.
#[utoipa::path(
    get,
    path = "/api/grading/submissions/{id}/files/{file_id}",
    operation_id = "download_file",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = SubmissionId, Path, description = "The submission"), ("file_id" = FileId, Path, description = "The file")),
    responses(
        (status = 200, description = "The bytes, as an attachment (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such file, or not the caller's to see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn download_file(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<(SubmissionId, FileId)>,
) -> Result<HttpResponse, GradingError> {
    let (id, file) = path.into_inner();
    Ok(file_response(state.download(&user, id, file).await?))
}

/// The "all submissions" zip, streamed.
pub fn archive_response(db: lectern_common::Db, plan: crate::archive::Plan) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.content_type("application/zip");
    for header in files::download_headers(&plan.file_name) {
        resp.insert_header(header);
    }
    resp.streaming(crate::archive::stream(db, plan))
}

/// Every student's latest attempt at the assignment, each in a folder of its own (text and files), as one zip.
#[utoipa::path(
    get,
    path = "/api/grading/assignments/{id}/submissions.zip",
    operation_id = "download_all_submissions",
    tag = "grading",
    security(("bearer" = [])),
    params(("id" = AssignmentId, Path, description = "The assignment")),
    responses(
        (status = 200, description = "A zip: `receipts.csv`, and a folder per student with `submission.txt` and the files", content_type = "application/zip", body = Vec<u8>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only the course's staff may download them", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn download_all(
    state: web::Data<GradingState>,
    user: AuthUser,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, GradingError> {
    let plan = state.archive(&user, path.into_inner()).await?;
    Ok(archive_response(state.db.clone(), plan))
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
    let grades = state.my_grades(&student, page, false).await?.0;
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
