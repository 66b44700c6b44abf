//! course-service's pages: the catalog with search and pager, the course page (materials,
//! enrollment, and for teachers the editing tools), the material page. A thin shell like the
//! API: each handler's signature states its rule (`PageUser`, `PageTeacher`, `PageStudent`, or a
//! `SecureForm` of that role, whose CSRF token and origin checked out), forms are parsed into the
//! same domain types as the API's bodies, and each page makes one call to the service (one
//! database hand-off). Everything works without JavaScript.

use crate::audit::AuditEntry;
use crate::domain::{
    CourseDraft, CourseEdit, CourseTitle, MaterialBody, MaterialDraft, MaterialEdit, MaterialTitle, SearchText,
    Summary, parse_form_position,
};
use crate::error::CourseError;
use crate::service::CourseState;
use crate::service::materials::MaterialAt;
use crate::service::staff::StaffChange;
use crate::service::tool_links::LinkDraft;
use crate::views::{CourseItem, CourseView, EnrollmentView, MaterialItem, MaterialView, StaffMember, StaffRequest};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use lectern_common::extract::{SecureForm, urlencode};
use lectern_common::ids::{CourseId, MaterialId, ToolLinkId, UserId};
use lectern_common::page::{render, see_other};
use lectern_common::pagination::{PageParams, Pagination};
use lectern_common::problem::PageError;
use lectern_common::web_config::large_bodies;
use lectern_common::{AuthUser, Identity, PageCtx, PageTeacher, PageUser, Student, Teacher};
use serde::Deserialize;
use token_claims::Role;

#[derive(Template)]
#[template(path = "courses/catalog.html")]
struct CatalogPage {
    ctx: PageCtx,
    q: String,
    items: Vec<CourseItem>,
    page: u32,
    pages: i64,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "courses/new.html")]
struct NewCoursePage {
    ctx: PageCtx,
}

#[derive(Template)]
#[template(path = "courses/course.html")]
struct CoursePage {
    ctx: PageCtx,
    course: CourseView,
    is_teacher: bool,
    is_grader: bool,
    is_enrolled: bool,
    staff: Vec<StaffMember>,
    materials: Vec<MaterialItem>,
    students: Vec<EnrollmentView>,
    student_total: i64,
    tool_links: Vec<crate::service::tool_links::LinkOnPage>,
    link_choices: crate::service::tool_links::LinkChoices,
}

#[derive(Template)]
#[template(path = "courses/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    course: CourseView,
    entries: Vec<AuditEntry>,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "courses/material.html")]
struct MaterialPage {
    ctx: PageCtx,
    course: CourseView,
    material: MaterialView,
    is_teacher: bool,
}

fn flash(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "created" => "Course created.",
        "saved" => "Changes saved.",
        "enrolled" => "You are enrolled. Welcome!",
        "left" => "You left the course. Your work and grades are kept.",
        "student-added" => "Student enrolled.",
        "student-removed" => "Student removed from the course. Their work and grades are kept.",
        "material-added" => "Material added.",
        "material-deleted" => "Material deleted.",
        "tool-added" => "Tool added: staff and students open it from this page.",
        "tool-removed" => "Tool removed from this course. Grades it sent are kept.",
        "staff-added" => "Staff updated: they now see this course in their catalog.",
        "staff-removed" => "Removed from the staff.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Deserialize)]
pub struct CatalogQuery {
    pub q: Option<String>,
    pub page: Option<u32>,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

async fn catalog(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let page = PageParams { page: query.page, per_page: Some(20) }.validate().map_err(PageError)?;
    let search = SearchText::parse(query.q.as_deref())?;
    let q = search.get().unwrap_or_default().to_owned();
    let result = state.catalog(&user, search, page).await?;
    let pages = Pagination { page: 1, per_page: 20 }.page_count(result.total);
    let link = |p: u32| format!("/courses?q={}&page={p}", urlencode(&q));
    render(&CatalogPage {
        ctx: user.ctx(&req),
        page: page.page,
        pages,
        total: result.total,
        prev: (page.page > 1).then(|| link(page.page - 1)),
        next: (i64::from(page.page) < pages).then(|| link(page.page + 1)),
        items: result.items,
        q,
    })
}

async fn new_course(req: HttpRequest, user: PageTeacher) -> Result<HttpResponse, PageError> {
    render(&NewCoursePage { ctx: user.ctx(&req) })
}

#[derive(Deserialize)]
pub struct CourseForm {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub published: Option<String>,
}

impl TryFrom<CourseForm> for CourseDraft {
    type Error = CourseError;
    fn try_from(f: CourseForm) -> Result<Self, CourseError> {
        Ok(Self {
            title: CourseTitle::parse(&f.title)?,
            summary: Summary::parse(&f.summary)?,
            published: f.published.is_some(),
        })
    }
}

impl TryFrom<CourseForm> for CourseEdit {
    type Error = CourseError;
    fn try_from(f: CourseForm) -> Result<Self, CourseError> {
        let draft = CourseDraft::try_from(f)?;
        Ok(Self { title: Some(draft.title), summary: Some(draft.summary), published: Some(draft.published) })
    }
}

async fn create_course(
    state: web::Data<CourseState>,
    form: SecureForm<CourseForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let course = state.create_course(&form.user, CourseDraft::try_from(form.form)?).await?;
    Ok(see_other(format!("/courses/{}?done=created", course.id)))
}

async fn course_page(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    id: web::Path<CourseId>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let view = state.course_page(&user, id.into_inner()).await?;
    render(&CoursePage {
        ctx: user.ctx(&req).with_flash(flash(query.done.as_deref())).with_times(view.zone, state.clock.now()),
        course: view.course,
        is_teacher: view.is_teacher,
        is_grader: view.is_grader,
        is_enrolled: view.is_enrolled,
        staff: view.staff,
        materials: view.materials,
        students: view.students,
        student_total: view.student_total,
        tool_links: view.tool_links,
        link_choices: view.link_choices,
    })
}

#[derive(Deserialize)]
pub struct ToolLinkForm {
    #[serde(default)]
    pub tool_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub assignment_id: String,
}

async fn add_tool_link(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<ToolLinkForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let SecureForm { user, form } = form;
    let draft = LinkDraft::parse(&form.tool_id, &form.title, Some(&form.assignment_id));
    state.add_tool_link(&user, id, draft).await?;
    Ok(see_other(format!("/courses/{id}?done=tool-added#tools")))
}

async fn remove_tool_link(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, ToolLinkId)>,
    form: SecureForm<NoFields, Teacher>,
) -> Result<HttpResponse, PageError> {
    let (course, link) = path.into_inner();
    state.remove_tool_link(&form.user, course, link).await?;
    Ok(see_other(format!("/courses/{course}?done=tool-removed#tools")))
}

async fn edit_course(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<CourseForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    state.update_course(&form.user, id, CourseEdit::try_from(form.form)).await?;
    Ok(see_other(format!("/courses/{id}?done=saved")))
}

#[derive(Deserialize)]
pub struct PublishForm {
    pub published: String,
}

async fn publish(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<PublishForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let edit = CourseEdit { published: Some(form.form.published == "true"), ..CourseEdit::default() };
    state.update_course(&form.user, id, Ok(edit)).await?;
    Ok(see_other(format!("/courses/{id}?done=saved")))
}

#[derive(Deserialize)]
pub struct EnrollForm {
    pub enrollment_code: Option<String>,
    pub student_email: Option<String>,
}

/// The student's enroll form and the teacher's "add a student" form post the same fields.
async fn enroll(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let (id, user): (CourseId, AuthUser) = (id.into_inner(), user.into_inner());
    // As in the API: sending `student_email` is managing enrollments, whoever sends it.
    let done = match (user.role, form.student_email) {
        (Role::Student, None) => {
            let code = form.enrollment_code.ok_or_else(|| CourseError::invalid("enrollment_code", "is required"));
            state.enroll_with_code(&Student::try_from(user).map_err(PageError)?, id, code).await?;
            "enrolled"
        }
        (_, email) => {
            state.enroll_by_email(&user, id, Ok(email)).await?;
            "student-added"
        }
    };
    Ok(see_other(format!("/courses/{id}?done={done}")))
}

#[derive(Deserialize)]
pub struct NoFields {}

async fn leave(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<NoFields, Student>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    state.unenroll(form.user.user(), id, form.user.id).await?;
    Ok(see_other(format!("/courses/{id}?done=left")))
}

async fn remove_student(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, UserId)>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (course, student) = path.into_inner();
    state.unenroll(&form.user, course, student).await?;
    Ok(see_other(format!("/courses/{course}?done=student-removed")))
}

#[derive(Deserialize)]
pub struct StaffForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

async fn add_staff(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<StaffForm, Teacher>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let SecureForm { user, form } = form;
    let change = StaffChange::try_from(StaffRequest { email: form.email, role: form.role });
    state.add_staff(&user, id, change).await?;
    Ok(see_other(format!("/courses/{id}?done=staff-added")))
}

async fn remove_staff(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, UserId)>,
    form: SecureForm<NoFields, Teacher>,
) -> Result<HttpResponse, PageError> {
    let (course, user) = path.into_inner();
    state.remove_staff(&form.user, course, user).await?;
    Ok(see_other(format!("/courses/{course}?done=staff-removed")))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    pub page: Option<u32>,
}

async fn audit_page(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    id: web::Path<CourseId>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let page = PageParams { page: query.page, per_page: Some(50) }.validate().map_err(PageError)?;
    let id = id.into_inner();
    let (course, entries, zone) = state.audit(&user, id, page, true).await?;
    let pages = Pagination { page: 1, per_page: 50 }.page_count(entries.total);
    let link = |p: u32| format!("/courses/{id}/audit?page={p}");
    render(&AuditPage {
        ctx: user.ctx(&req).with_times(zone, state.clock.now()),
        course,
        total: entries.total,
        prev: (page.page > 1).then(|| link(page.page - 1)),
        next: (i64::from(page.page) < pages).then(|| link(page.page + 1)),
        entries: entries.items,
    })
}

#[derive(Deserialize)]
pub struct MaterialForm {
    pub title: String,
    #[serde(default)]
    pub body_markdown: String,
    pub position: Option<String>,
}

impl TryFrom<MaterialForm> for MaterialDraft {
    type Error = CourseError;
    fn try_from(f: MaterialForm) -> Result<Self, CourseError> {
        Ok(Self {
            title: MaterialTitle::parse(&f.title)?,
            body: MaterialBody::parse(&f.body_markdown)?,
            position: parse_form_position(f.position.as_deref())?,
        })
    }
}

impl TryFrom<MaterialForm> for MaterialEdit {
    type Error = CourseError;
    fn try_from(f: MaterialForm) -> Result<Self, CourseError> {
        let draft = MaterialDraft::try_from(f)?;
        Ok(Self { title: Some(draft.title), body: Some(draft.body), position: draft.position })
    }
}

async fn add_material(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<MaterialForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let material = state.create_material(&form.user, id, MaterialDraft::try_from(form.form)).await?;
    Ok(see_other(format!("/courses/{id}/materials/{}?done=material-added", material.id)))
}

async fn material_page(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    path: web::Path<(CourseId, MaterialId)>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (course, id) = path.into_inner();
    let view = state.material_page(&user, MaterialAt { id, course: Some(course) }).await?;
    render(&MaterialPage {
        ctx: user.ctx(&req).with_flash(flash(query.done.as_deref())),
        course: view.course,
        material: view.material,
        is_teacher: view.is_teacher,
    })
}

async fn edit_material(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, MaterialId)>,
    form: SecureForm<MaterialForm>,
) -> Result<HttpResponse, PageError> {
    let (course, id) = path.into_inner();
    let at = MaterialAt { id, course: Some(course) };
    state.update_material(&form.user, at, MaterialEdit::try_from(form.form)).await?;
    Ok(see_other(format!("/courses/{course}/materials/{id}?done=saved")))
}

async fn delete_material(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, MaterialId)>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (course, id) = path.into_inner();
    state.delete_material(&form.user, MaterialAt { id, course: Some(course) }).await?;
    Ok(see_other(format!("/courses/{course}?done=material-deleted")))
}

/// The `/courses` pages.
pub fn scope(state: web::Data<CourseState>, identity: web::Data<Identity>) -> actix_web::Scope {
    web::scope("/courses")
        .app_data(state)
        .app_data(identity)
        .configure(lectern_common::web_config::standard)
        .route("", web::get().to(catalog))
        .route("", web::post().to(create_course))
        .route("/new", web::get().to(new_course))
        .route("/{id}", web::get().to(course_page))
        .route("/{id}/edit", web::post().to(edit_course))
        .route("/{id}/publish", web::post().to(publish))
        .route("/{id}/enroll", web::post().to(enroll))
        .route("/{id}/leave", web::post().to(leave))
        .route("/{id}/students", web::post().to(enroll))
        .route("/{id}/students/{student_id}/remove", web::post().to(remove_student))
        .route("/{id}/tool-links", web::post().to(add_tool_link))
        .route("/{id}/tool-links/{link_id}/remove", web::post().to(remove_tool_link))
        .route("/{id}/staff", web::post().to(add_staff))
        .route("/{id}/staff/{user_id}/remove", web::post().to(remove_staff))
        .route("/{id}/audit", web::get().to(audit_page))
        .service(large_bodies(web::resource("/{id}/materials")).route(web::post().to(add_material)))
        .route("/{id}/materials/{material_id}", web::get().to(material_page))
        .service(large_bodies(web::resource("/{id}/materials/{material_id}/edit")).route(web::post().to(edit_material)))
        .route("/{id}/materials/{material_id}/delete", web::post().to(delete_material))
        .default_service(web::to(lectern_common::web_config::not_found))
}
