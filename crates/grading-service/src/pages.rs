//! grading-service's pages: a course's assignments (and the create form), the assignment page
//! with the submit form and one's own attempts, the teacher's submission list, a submission
//! with its receipt, grading form and history, "my grades", and the gradebook with its charts.
//! A thin shell like the API: each handler's signature states its rule (`PageUser`,
//! `PageTeacher`, `PageStudent`, or a `SecureForm` of that role, whose session-bound CSRF token
//! and origin checked out), forms parse into the API's domain types, and each page makes one
//! call to the service (one database hand-off). Errors are pages.

use crate::api::{archive_response, csv_response, file_response, wants_csv};
use crate::domain::{
    AssignmentTitle, DueAt, Feedback, IdempotencyKey, Instructions, MaxPoints, NewAssignment, ScoreInput,
    SubmissionBody, parse_form_max_attempts,
};
use crate::error::GradingError;
use crate::files::{self, Handin};
use crate::gradebook::{AssignmentStats, Gradebook};
use crate::late::LatePolicy;
use crate::service::GradingState;
use crate::service::home::{DueItem, DueState};
use crate::views::{AssignmentView, ExtensionItem, HistoryItem, MyGrade, SubmissionDetail, SubmissionItem};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use course_service::views::PersonRef;
use lectern_common::extract::SecureForm;
use lectern_common::ids::{AssignmentId, CourseId, FileId, SubmissionId, UserId};
use lectern_common::page::{render, see_other};
use lectern_common::pagination::{PageParams, Paginated, Pagination};
use lectern_common::problem::PageError;
use lectern_common::timefmt::Zone;
use lectern_common::{Identity, PageCtx, PageStudent, PageTeacher, PageUser, Student, Teacher};
use serde::Deserialize;
use token_claims::Role;

/// Previous and next page numbers of a list, for its pager.
struct Pager {
    prev: Option<u32>,
    next: Option<u32>,
}

impl Pager {
    fn of<T>(p: &Paginated<T>) -> Self {
        let pages = Pagination { page: p.page, per_page: p.per_page }.page_count(p.total);
        Self { prev: (p.page > 1).then(|| p.page - 1), next: (i64::from(p.page) < pages).then(|| p.page + 1) }
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<u32>,
}

impl PageQuery {
    fn params(&self) -> PageParams {
        PageParams { page: self.page, per_page: None }
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

// ---- a course's assignments ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/course.html")]
struct CoursePage {
    ctx: PageCtx,
    course_id: CourseId,
    course_title: String,
    is_teacher: bool,
    is_staff: bool,
    assignments: Vec<AssignmentView>,
    pager: Pager,
}

pub async fn course_assignments(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<CourseId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let page = query.params().validate().map_err(PageError)?;
    let ctx = user.ctx(&req);
    let found = state.list_assignments(&user, path.into_inner(), page, true).await?;
    render(&CoursePage {
        ctx: ctx.with_times(found.zone, state.clock.now()),
        course_id: found.course_id,
        course_title: found.course_title,
        is_teacher: found.is_teacher,
        is_staff: found.is_staff,
        pager: Pager::of(&found.page),
        assignments: found.page.items,
    })
}

#[derive(Deserialize)]
pub struct AssignmentForm {
    pub title: String,
    #[serde(default)]
    pub instructions: String,
    pub due_at: String,
    pub max_points: String,
    #[serde(default)]
    pub max_attempts: String,
    #[serde(default)]
    pub late_percent_per_day: String,
    #[serde(default)]
    pub late_max_percent: String,
    #[serde(default)]
    pub close_after_days: String,
    /// The zone the form was shown in (its due date is read in it); none: UTC.
    #[serde(default)]
    pub time_zone: String,
}

/// The zone a form's local times are read in: the one the page was shown in, which it sends back
/// in a hidden `time_zone` field (the reader's account zone when the page was made).
fn form_zone(raw: &str) -> Result<Zone, GradingError> {
    if raw.trim().is_empty() {
        return Ok(Zone::utc());
    }
    Zone::parse(raw).ok_or_else(|| GradingError::invalid("time_zone", "is not a time zone we know"))
}

impl TryFrom<AssignmentForm> for NewAssignment {
    type Error = GradingError;
    fn try_from(f: AssignmentForm) -> Result<Self, GradingError> {
        let zone = form_zone(&f.time_zone)?;
        Ok(Self {
            title: AssignmentTitle::parse(&f.title)?,
            instructions: Instructions::parse(&f.instructions)?,
            due_at: DueAt::parse_form(&f.due_at, &zone)?,
            max_points: MaxPoints::parse(&f.max_points)?,
            max_attempts: parse_form_max_attempts(&f.max_attempts)?,
            late_policy: LatePolicy::from_form(&f.late_percent_per_day, &f.late_max_percent, &f.close_after_days)?,
        })
    }
}

pub async fn create_assignment(
    state: web::Data<GradingState>,
    path: web::Path<CourseId>,
    form: SecureForm<AssignmentForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let input = NewAssignment::try_from(form.form);
    let created = state.create_assignment(&form.user, path.into_inner(), input).await?;
    Ok(see_other(format!("/grading/assignments/{}?created=1", created.summary.id)))
}

// ---- one assignment ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/assignment.html")]
struct AssignmentPage {
    ctx: PageCtx,
    assignment: AssignmentView,
    /// The assignment's own due date, when the student's differs (their extension).
    assignment_due: Option<String>,
    instructions: String,
    course_title: String,
    is_teacher: bool,
    is_staff: bool,
    is_enrolled: bool,
    /// For a student: the cut-off has passed for them.
    closed: bool,
    /// For a teacher: the extensions given, and the students who could get one.
    extensions: Vec<ExtensionItem>,
    roster: Vec<PersonRef>,
    /// Own attempts for a student, newest first; for a teacher, how many students submitted.
    attempts: Vec<SubmissionItem>,
    submitted_count: i64,
    attempts_left: Option<i64>,
    idempotency_key: String,
}

#[derive(Deserialize)]
pub struct FlashQuery {
    pub created: Option<u8>,
    pub released: Option<u8>,
    pub extended: Option<u8>,
}

pub async fn assignment(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<AssignmentId>,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, PageError> {
    let ctx = user.ctx(&req);
    let found = state.submissions(&user, path.into_inner(), Pagination { page: 1, per_page: 100 }, true).await?;
    let (is_teacher, is_staff) = (found.is_teacher, found.is_staff);
    let made = if is_staff { 0 } else { found.page.total };
    let flash = match (query.created, query.released, query.extended) {
        (Some(_), _, _) => Some("The assignment is created.".to_owned()),
        (_, Some(_), _) => Some("Grades are released: students now see them.".to_owned()),
        (_, _, Some(_)) => Some("Extensions updated.".to_owned()),
        _ => None,
    };
    let row = &found.assignment.row;
    let view = AssignmentView::for_student(row, found.extension);
    let due = found.extension.unwrap_or(row.due_at);
    let now = lectern_common::db::to_db_time(state.clock.now());
    render(&AssignmentPage {
        ctx: ctx.with_flash(flash).with_times(found.zone.clone(), state.clock.now()),
        instructions: row.instructions.clone(),
        assignment_due: found.extension.map(|_| lectern_common::db::rfc3339(row.due_at)),
        closed: crate::late::is_closed(row.late_policy().as_ref(), due, now),
        assignment: view,
        course_title: found.assignment.course.title,
        is_teacher,
        is_staff,
        is_enrolled: found.is_enrolled,
        extensions: found.extensions,
        roster: found.roster,
        submitted_count: found.page.total,
        attempts_left: found.assignment.row.max_attempts.map(|max| (i64::from(max) - made).max(0)),
        attempts: if is_staff { Vec::new() } else { found.page.items },
        idempotency_key: uuid::Uuid::new_v4().to_string(),
    })
}

pub async fn release(
    state: web::Data<GradingState>,
    path: web::Path<AssignmentId>,
    form: SecureForm<NoFields, Teacher>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    state.release(&form.user, id).await?;
    Ok(see_other(format!("/grading/assignments/{id}?released=1")))
}

#[derive(Deserialize)]
pub struct SubmitForm {
    pub body: String,
    /// Made fresh for each rendering of the form: posting the same form twice (a double click,
    /// a resent request) makes one attempt.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

pub async fn submit(
    state: web::Data<GradingState>,
    path: web::Path<AssignmentId>,
    form: SecureForm<SubmitForm, Student>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let body = SubmissionBody::parse(&form.body).map(Handin::text);
    let key = form.idempotency_key.filter(|k| !k.is_empty()).map(|k| IdempotencyKey::parse(&k));
    let reply = state.submit(&user, path.into_inner(), body, key).await?;
    let receipt = reply.receipt()?;
    Ok(see_other(format!("/grading/submissions/{}?submitted=1", receipt.id)))
}

fn form_refused() -> GradingError {
    GradingError::Forbidden("This form has expired or came from another site. Go back, reload the page and try again.")
}

/// The submit form with files (`enctype="multipart/form-data"`, no JavaScript needed): the same
/// checks as `SecureForm` (role, origin, then the session-bound CSRF token, which the form sends
/// before its files), and the API's limits and service.
pub async fn submit_multipart(
    req: HttpRequest,
    state: web::Data<GradingState>,
    path: web::Path<AssignmentId>,
    user: PageStudent,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let identity =
        req.app_data::<web::Data<Identity>>().ok_or_else(|| PageError(lectern_common::problem::Problem::internal()))?;
    if !lectern_common::csrf::same_origin(&req, &identity.public_origin) {
        return Err(form_refused().into());
    }
    let id = path.into_inner();
    let student: &Student = &user;
    state.may_submit(student, id).await?;
    let _slot = state.upload_slot().await?;
    let (key, session) = (identity.csrf.clone(), student.user().session.to_string());
    let check: files::TokenCheck = Box::new(move |token| key.verify("session", &session, token));
    let upload = files::read(req.headers(), payload, Some(check)).await?;
    let handin = Handin::new(upload.body, upload.files);
    let reply = state.submit(student, id, handin, upload.idempotency_key).await?;
    let receipt = reply.receipt()?;
    Ok(see_other(format!("/grading/submissions/{}?submitted=1", receipt.id)))
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    pub student_id: String,
    #[serde(default)]
    pub due_at: String,
    #[serde(default)]
    pub time_zone: String,
}

pub async fn set_extension(
    state: web::Data<GradingState>,
    path: web::Path<AssignmentId>,
    form: SecureForm<ExtensionForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let SecureForm { user, form } = form;
    let student: UserId =
        form.student_id.trim().parse().map_err(|_| GradingError::invalid("student_id", "choose a student"))?;
    let due = form_zone(&form.time_zone).and_then(|zone| DueAt::parse_form(&form.due_at, &zone));
    state.set_extension(user.user(), id, student, due).await?;
    Ok(see_other(format!("/grading/assignments/{id}?extended=1")))
}

pub async fn remove_extension(
    state: web::Data<GradingState>,
    path: web::Path<(AssignmentId, UserId)>,
    form: SecureForm<NoFields, Teacher>,
) -> Result<HttpResponse, PageError> {
    let (id, student) = path.into_inner();
    state.remove_extension(form.user.user(), id, student).await?;
    Ok(see_other(format!("/grading/assignments/{id}?extended=1")))
}

pub async fn download_file(
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<(SubmissionId, FileId)>,
) -> Result<HttpResponse, PageError> {
    let (id, file) = path.into_inner();
    Ok(file_response(state.download(&user, id, file).await?))
}

pub async fn download_all(
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<AssignmentId>,
) -> Result<HttpResponse, PageError> {
    let plan = state.archive(&user, path.into_inner()).await?;
    Ok(archive_response(state.db.clone(), plan))
}

// ---- submissions ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/submissions.html")]
struct SubmissionsPage {
    ctx: PageCtx,
    assignment: AssignmentView,
    is_staff: bool,
    items: Vec<SubmissionItem>,
    total: i64,
    pager: Pager,
}

pub async fn submissions(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<AssignmentId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let page = query.params().validate().map_err(PageError)?;
    let ctx = user.ctx(&req);
    let found = state.submissions(&user, path.into_inner(), page, true).await?;
    render(&SubmissionsPage {
        ctx: ctx.with_times(found.zone.clone(), state.clock.now()),
        assignment: AssignmentView::for_student(&found.assignment.row, found.extension),
        is_staff: found.is_staff,
        pager: Pager::of(&found.page),
        total: found.page.total,
        items: found.page.items,
    })
}

#[derive(Template)]
#[template(path = "grading/submission.html")]
struct SubmissionPage {
    ctx: PageCtx,
    submission: SubmissionDetail,
    assignment: AssignmentView,
    is_teacher: bool,
    history: Vec<HistoryItem>,
    score_value: String,
    feedback_value: String,
    /// For a grader: the neighbours in the assignment's grading queue.
    previous_ungraded: Option<SubmissionId>,
    next_ungraded: Option<SubmissionId>,
}

#[derive(Deserialize)]
pub struct SubmissionQuery {
    pub submitted: Option<u8>,
    pub graded: Option<u8>,
}

pub async fn submission(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageUser,
    path: web::Path<SubmissionId>,
    query: web::Query<SubmissionQuery>,
) -> Result<HttpResponse, PageError> {
    let ctx = user.ctx(&req);
    let view = state.submission(&user, path.into_inner(), true).await?;
    let flash = match (query.submitted, query.graded) {
        (Some(_), _) => Some(format!("Received: attempt {}. Your receipt is below.", view.detail.attempt)),
        (_, Some(_)) => Some("The grade is saved.".to_owned()),
        _ => None,
    };
    let (score_value, feedback_value) = view
        .detail
        .grade
        .as_ref()
        .filter(|_| view.is_grader)
        .map(|g| (g.score.to_string(), g.feedback.clone()))
        .unwrap_or_default();
    render(&SubmissionPage {
        ctx: ctx.with_flash(flash).with_times(view.zone.clone(), state.clock.now()),
        previous_ungraded: view.previous_ungraded,
        next_ungraded: view.next_ungraded,
        assignment: AssignmentView::from(&view.assignment),
        is_teacher: view.is_grader,
        history: view.history,
        submission: view.detail,
        score_value,
        feedback_value,
    })
}

#[derive(Deserialize)]
pub struct GradeForm {
    pub score: String,
    #[serde(default)]
    pub feedback: String,
    /// `next`: after saving, go on to the next attempt awaiting a grade in this assignment.
    #[serde(default)]
    pub then: Option<String>,
}

pub async fn grade(
    state: web::Data<GradingState>,
    path: web::Path<SubmissionId>,
    form: SecureForm<GradeForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let id = path.into_inner();
    state.grade(&user, id, ScoreInput::Text(form.score), Feedback::parse(&form.feedback)).await?;
    if form.then.as_deref() == Some("next") {
        let (_, next) = state.queue_neighbours(&user, id).await?;
        return Ok(see_other(match next {
            Some(next) => format!("/grading/submissions/{next}?graded=1"),
            None => "/home?done=queue-done".to_owned(),
        }));
    }
    Ok(see_other(format!("/grading/submissions/{id}?graded=1")))
}

// ---- my grades -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/my_grades.html")]
struct MyGradesPage {
    ctx: PageCtx,
    grades: Vec<MyGrade>,
    pager: Pager,
}

pub async fn my_grades(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageStudent,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let page = query.params().validate().map_err(PageError)?;
    let ctx = user.ctx(&req);
    let (grades, zone) = state.my_grades(&user, page, true).await?;
    render(&MyGradesPage {
        ctx: ctx.with_times(zone, state.clock.now()),
        pager: Pager::of(&grades),
        grades: grades.items,
    })
}

// ---- homes ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/home_teacher.html")]
struct TeacherHomePage {
    ctx: PageCtx,
    queue: Vec<crate::store::Awaiting>,
    total: i64,
}

#[derive(Template)]
#[template(path = "grading/home_student.html")]
struct StudentHomePage {
    ctx: PageCtx,
    due: Vec<DueItem>,
    recent: Vec<MyGrade>,
    window_days: i64,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    pub done: Option<String>,
}

/// `/home`, where people start: a teacher's grading queue, a student's work due soon.
pub async fn home(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageUser,
    query: web::Query<HomeQuery>,
) -> Result<HttpResponse, PageError> {
    let flash = match query.done.as_deref() {
        Some("queue-done") => Some("The grade is saved. Nothing else in that assignment awaits a grade.".to_owned()),
        _ => None,
    };
    let ctx = user.ctx(&req).with_flash(flash);
    let now = state.clock.now();
    match user.role {
        Role::Teacher => {
            let teacher = Teacher::try_from(user.into_inner()).map_err(PageError)?;
            let home = state.teacher_home(&teacher).await?;
            render(&TeacherHomePage { ctx: ctx.with_times(home.zone, now), queue: home.queue, total: home.total })
        }
        Role::Student => {
            let student = Student::try_from(user.into_inner()).map_err(PageError)?;
            let home = state.student_home(&student).await?;
            render(&StudentHomePage {
                ctx: ctx.with_times(home.zone, now),
                due: home.due,
                recent: home.recent,
                window_days: crate::service::home::DUE_WINDOW_DAYS,
            })
        }
    }
}

// ---- gradebook -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "grading/gradebook.html")]
struct GradebookPage {
    ctx: PageCtx,
    gradebook: Gradebook,
    stats: Vec<AssignmentStats>,
}

#[derive(Deserialize)]
pub struct GradebookQuery {
    pub format: Option<String>,
}

pub async fn gradebook(
    req: HttpRequest,
    state: web::Data<GradingState>,
    user: PageTeacher,
    path: web::Path<CourseId>,
    query: web::Query<GradebookQuery>,
) -> Result<HttpResponse, PageError> {
    let csv = wants_csv(&req, query.format.as_deref())?;
    let ctx = user.ctx(&req);
    let gradebook = state.gradebook(&user, path.into_inner()).await?;
    if csv {
        return Ok(csv_response(&gradebook));
    }
    render(&GradebookPage { ctx, stats: gradebook.stats(), gradebook })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_knows_its_neighbours() {
        let p = |page, total| {
            let pager = Pager::of(&Paginated::<()>::new(Vec::new(), Pagination { page, per_page: 20 }, total));
            (pager.prev, pager.next)
        };
        assert_eq!(p(1, 0), (None, None));
        assert_eq!(p(1, 21), (None, Some(2)));
        assert_eq!(p(2, 40), (Some(1), None));
    }

    #[test]
    fn status_of_a_refusal_is_kept_on_pages() {
        let e: PageError = GradingError::Forbidden("no").into();
        assert_eq!(e.0.status, actix_web::http::StatusCode::FORBIDDEN);
    }
}
