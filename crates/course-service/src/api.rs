//! The JSON API of course-service (API.md, Courses). Each handler's signature says who may call it.

use crate::error::CourseError;
use crate::service::{CoursePatch, CourseState, EnrollRequest, MaterialPatch, NewCourse, NewMaterial};
use actix_web::{HttpResponse, web};
use lectern_common::ids::{CourseId, MaterialId, UserId};
use lectern_common::pagination::PageParams;
use lectern_common::{AuthUser, Teacher};
use serde::Deserialize;

/// `?q=&page=&per_page=` (flattening `PageParams` would not parse numbers from a query string).
#[derive(Deserialize)]
pub struct CatalogQuery {
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

fn problem_page(params: PageParams) -> Result<lectern_common::pagination::Pagination, actix_web::Error> {
    params.validate().map_err(actix_web::Error::from)
}

pub async fn catalog(
    state: web::Data<CourseState>,
    user: AuthUser,
    query: web::Query<CatalogQuery>,
) -> actix_web::Result<HttpResponse> {
    let query = query.into_inner();
    let page = problem_page(PageParams { page: query.page, per_page: query.per_page })?;
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(CourseError::invalid("q", "must be at most 200 characters").into());
    }
    Ok(HttpResponse::Ok().json(state.catalog(&user, query.q, page).await?))
}

pub async fn create(
    state: web::Data<CourseState>,
    teacher: Teacher,
    body: web::Json<NewCourse>,
) -> Result<HttpResponse, CourseError> {
    let course = state.create_course(&teacher, body.into_inner()).await?;
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/courses/{}", course.id))).json(course))
}

pub async fn get(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.course(&user, id.into_inner()).await?))
}

pub async fn patch(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<CoursePatch>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.update_course(&user, id.into_inner(), body.into_inner()).await?))
}

pub async fn enroll(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<EnrollRequest>,
) -> Result<HttpResponse, CourseError> {
    let (created, enrollment) = state.enroll(&user, id.into_inner(), body.into_inner()).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(enrollment))
}

pub async fn unenroll(
    state: web::Data<CourseState>,
    user: AuthUser,
    path: web::Path<(CourseId, UserId)>,
) -> Result<HttpResponse, CourseError> {
    let (course, student) = path.into_inner();
    state.unenroll(&user, course, student).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn students(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.students(&user, id.into_inner(), page).await?))
}

pub async fn materials(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.materials(&user, id.into_inner(), page).await?))
}

pub async fn create_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<NewMaterial>,
) -> Result<HttpResponse, CourseError> {
    let material = state.create_material(&user, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/materials/{}", material.id))).json(material))
}

pub async fn material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.material(&user, id.into_inner()).await?.0))
}

pub async fn patch_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
    body: web::Json<MaterialPatch>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.update_material(&user, id.into_inner(), body.into_inner()).await?))
}

pub async fn delete_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
) -> Result<HttpResponse, CourseError> {
    state.delete_material(&user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
