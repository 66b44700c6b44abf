//! course-service's pages: the catalog with search and pager, the course page (materials,
//! enrollment, and for teachers the editing tools), the material page. Every form carries its
//! CSRF token (`SecureForm`), and everything works without JavaScript.

use crate::access::CourseAccess;
use crate::service::{
    CoursePatch, CourseState, CourseView, EnrollRequest, MaterialItem, MaterialPatch, MaterialView, NewCourse,
    NewMaterial,
};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use lectern_common::extract::{SecureForm, urlencode};
use lectern_common::ids::{CourseId, MaterialId, UserId};
use lectern_common::page::{render, see_other};
use lectern_common::pagination::{PageParams, Pagination};
use lectern_common::problem::{PageError, Problem};
use lectern_common::web_config::large_bodies;
use lectern_common::{Identity, PageCtx, PageUser};
use serde::Deserialize;
use token_claims::Role;

#[derive(Template)]
#[template(path = "courses/catalog.html")]
struct CatalogPage {
    ctx: PageCtx,
    q: String,
    items: Vec<crate::service::CourseItem>,
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
    is_enrolled: bool,
    materials: Vec<MaterialItem>,
    students: Vec<crate::service::EnrollmentView>,
    student_total: i64,
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
    let q = query.q.unwrap_or_default();
    let q_trimmed = q.trim().chars().take(200).collect::<String>();
    let result = state.catalog(&user, Some(q_trimmed.clone()), page).await?;
    let pages = Pagination { page: 1, per_page: 20 }.page_count(result.total);
    let link = |p: u32| format!("/courses?q={}&page={p}", urlencode(&q_trimmed));
    render(&CatalogPage {
        ctx: user.ctx(&req),
        q: q_trimmed.clone(),
        page: page.page,
        pages,
        total: result.total,
        prev: (page.page > 1).then(|| link(page.page - 1)),
        next: (i64::from(page.page) < pages).then(|| link(page.page + 1)),
        items: result.items,
    })
}

async fn new_course(req: HttpRequest, user: PageUser) -> Result<HttpResponse, PageError> {
    if user.role != Role::Teacher {
        return Err(PageError(Problem::forbidden("Only teachers can create courses.")));
    }
    render(&NewCoursePage { ctx: user.ctx(&req) })
}

#[derive(Deserialize)]
pub struct CourseForm {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub published: Option<String>,
}

async fn create_course(state: web::Data<CourseState>, form: SecureForm<CourseForm>) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    if user.role != Role::Teacher {
        return Err(PageError(Problem::forbidden("Only teachers can create courses.")));
    }
    let course = state
        .create_course(
            &user,
            NewCourse { title: form.title, summary: form.summary, published: form.published.is_some() },
        )
        .await?;
    Ok(see_other(format!("/courses/{}?done=created", course.id)))
}

async fn course_page(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    id: web::Path<CourseId>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let course = state.course(&user, id).await?;
    let access = course.access.unwrap_or(CourseAccess::Visible);
    let all = Pagination { page: 1, per_page: 100 };
    let materials = match access {
        CourseAccess::Teacher | CourseAccess::Enrolled => state.materials(&user, id, all).await?.items,
        CourseAccess::Visible => Vec::new(),
    };
    let (students, student_total) = match access {
        CourseAccess::Teacher => {
            let page = state.students(&user, id, all).await?;
            (page.items, page.total)
        }
        _ => (Vec::new(), 0),
    };
    render(&CoursePage {
        ctx: user.ctx(&req).with_flash(flash(query.done.as_deref())),
        is_teacher: access == CourseAccess::Teacher,
        is_enrolled: access == CourseAccess::Enrolled,
        course,
        materials,
        students,
        student_total,
    })
}

async fn edit_course(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<CourseForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let id = id.into_inner();
    let patch =
        CoursePatch { title: Some(form.title), summary: Some(form.summary), published: Some(form.published.is_some()) };
    state.update_course(&user, id, patch).await?;
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
    let SecureForm { user, form } = form;
    let id = id.into_inner();
    let patch = CoursePatch { published: Some(form.published == "true"), ..CoursePatch::default() };
    state.update_course(&user, id, patch).await?;
    Ok(see_other(format!("/courses/{id}?done=saved")))
}

#[derive(Deserialize)]
pub struct EnrollForm {
    pub enrollment_code: Option<String>,
    pub student_email: Option<String>,
}

async fn enroll(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let id = id.into_inner();
    let done = if user.role == Role::Teacher { "student-added" } else { "enrolled" };
    state
        .enroll(&user, id, EnrollRequest { enrollment_code: form.enrollment_code, student_email: form.student_email })
        .await?;
    Ok(see_other(format!("/courses/{id}?done={done}")))
}

#[derive(Deserialize)]
pub struct NoFields {}

async fn leave(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let user = form.user;
    let id = id.into_inner();
    state.unenroll(&user, id, user.id).await?;
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
pub struct MaterialForm {
    pub title: String,
    #[serde(default)]
    pub body_markdown: String,
    pub position: Option<String>,
}

fn position_of(raw: Option<&str>) -> Result<Option<i64>, PageError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => {
            p.parse::<i64>().map(Some).map_err(|_| PageError(Problem::invalid("position", "must be a whole number")))
        }
    }
}

async fn add_material(
    state: web::Data<CourseState>,
    id: web::Path<CourseId>,
    form: SecureForm<MaterialForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let id = id.into_inner();
    let position = position_of(form.position.as_deref())?;
    let material = state
        .create_material(&user, id, NewMaterial { title: form.title, body_markdown: form.body_markdown, position })
        .await?;
    Ok(see_other(format!("/courses/{id}/materials/{}?done=material-added", material.id)))
}

/// The material, checked to belong to the course in the path.
async fn material_in(
    state: &CourseState,
    user: &PageUser,
    course: CourseId,
    id: MaterialId,
) -> Result<(MaterialView, CourseAccess), PageError> {
    let (material, access) = state.material(user, id).await?;
    if material.course_id != course {
        return Err(PageError(Problem::not_found()));
    }
    Ok((material, access))
}

async fn material_page(
    req: HttpRequest,
    state: web::Data<CourseState>,
    user: PageUser,
    path: web::Path<(CourseId, MaterialId)>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (course_id, id) = path.into_inner();
    let (material, access) = material_in(&state, &user, course_id, id).await?;
    let course = state.course(&user, course_id).await?;
    render(&MaterialPage {
        ctx: user.ctx(&req).with_flash(flash(query.done.as_deref())),
        course,
        material,
        is_teacher: access == CourseAccess::Teacher,
    })
}

async fn edit_material(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, MaterialId)>,
    form: SecureForm<MaterialForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    let (course, id) = path.into_inner();
    material_in(&state, &user, course, id).await?;
    let patch = MaterialPatch {
        title: Some(form.title),
        body_markdown: Some(form.body_markdown),
        position: position_of(form.position.as_deref())?,
    };
    state.update_material(&user, id, patch).await?;
    Ok(see_other(format!("/courses/{course}/materials/{id}?done=saved")))
}

async fn delete_material(
    state: web::Data<CourseState>,
    path: web::Path<(CourseId, MaterialId)>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let user = form.user;
    let (course, id) = path.into_inner();
    material_in(&state, &user, course, id).await?;
    state.delete_material(&user, id).await?;
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
        .service(large_bodies(web::resource("/{id}/materials")).route(web::post().to(add_material)))
        .route("/{id}/materials/{material_id}", web::get().to(material_page))
        .service(large_bodies(web::resource("/{id}/materials/{material_id}/edit")).route(web::post().to(edit_material)))
        .route("/{id}/materials/{material_id}/delete", web::post().to(delete_material))
        .default_service(web::to(lectern_common::web_config::not_found))
}
