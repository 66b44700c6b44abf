//! The JSON API of course-service (docs/api.md, Courses). A thin shell: each handler's signature
//! says who may call it (the extractor), the body is parsed into domain types (`domain.rs`, 422
//! naming the field, held back until access is decided), and `service/` does the rest.

use crate::audit::AuditEntry;
use crate::domain::{CourseDraft, CourseEdit, MaterialDraft, MaterialEdit, SearchText};
use crate::error::CourseError;
use crate::service::CourseState;
use crate::service::staff::StaffChange;
use crate::service::tool_links::LinkDraft;
use crate::views::{CourseItem, CourseView, EnrollmentView, MaterialItem, MaterialView};
use crate::views::{
    CoursePatch, EnrollRequest, MaterialPatch, NewCourse, NewMaterial, StaffList, StaffMember, StaffRequest,
};
use crate::views::{NewToolLink, ToolLinkView};
use actix_web::{HttpResponse, web};
use lectern_common::ids::{CourseId, MaterialId, ToolLinkId, UserId};
use lectern_common::openapi::{BearerAuth, ProblemDocument};
use lectern_common::pagination::{PageParams, Paginated};
use lectern_common::{AuthUser, Student, Teacher};
use serde::Deserialize;
use token_claims::Role;

/// `?q=&page=&per_page=` (flattening `PageParams` would not parse numbers from a query string).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// Filters by title (at most 200 characters).
    pub q: Option<String>,
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// course-service's part of `GET /api/openapi.json` (see `crate::openapi()`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Lectern course-service", description = "The catalog, enrollments and materials."),
    paths(
        catalog,
        create,
        get,
        patch,
        enroll,
        unenroll,
        students,
        staff,
        add_staff,
        remove_staff,
        audit,
        materials,
        create_material,
        material,
        patch_material,
        delete_material
    ),
    components(schemas(ProblemDocument)),
    modifiers(&BearerAuth),
    tags(
        (name = "courses", description = "The catalog, enrollments, staff and the audit trail"),
        (name = "materials", description = "A course's reading material")
    )
)]
pub struct ApiDoc;

fn problem_page(params: PageParams) -> Result<lectern_common::pagination::Pagination, actix_web::Error> {
    params.validate().map_err(actix_web::Error::from)
}

/// The catalog: published courses, plus a teacher's own drafts.
#[utoipa::path(
    get,
    path = "/api/courses",
    tag = "courses",
    security(("bearer" = [])),
    params(CatalogQuery),
    responses(
        (status = 200, description = "A page of courses", body = Paginated<CourseItem>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`q`, `page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn catalog(
    state: web::Data<CourseState>,
    user: AuthUser,
    query: web::Query<CatalogQuery>,
) -> actix_web::Result<HttpResponse> {
    let query = query.into_inner();
    let page = problem_page(PageParams { page: query.page, per_page: query.per_page })?;
    let search = SearchText::parse(query.q.as_deref())?;
    Ok(HttpResponse::Ok().json(state.catalog(&user, search, page).await?))
}

/// Creates a course; its creator teaches it.
#[utoipa::path(
    post,
    path = "/api/courses",
    operation_id = "create_course",
    tag = "courses",
    security(("bearer" = [])),
    request_body = NewCourse,
    responses(
        (status = 201, description = "The course, with its `enrollment_code`", body = CourseView,
            headers(("Location" = String, description = "The new course"))),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only teachers create courses", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An empty title or a too long summary; `errors` names the field", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    state: web::Data<CourseState>,
    teacher: Teacher,
    body: web::Json<NewCourse>,
) -> Result<HttpResponse, CourseError> {
    let course = state.create_course(&teacher, CourseDraft::try_from(body.into_inner())?).await?;
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/courses/{}", course.id))).json(course))
}

/// One course (`enrollment_code` only for its teachers).
#[utoipa::path(
    get,
    path = "/api/courses/{id}",
    operation_id = "get_course",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    responses(
        (status = 200, description = "The course", body = CourseView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.course(&user, id.into_inner()).await?))
}

/// Changes any of `title`, `summary`, `published`.
#[utoipa::path(
    patch,
    path = "/api/courses/{id}",
    operation_id = "update_course",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    request_body = CoursePatch,
    responses(
        (status = 200, description = "The course as changed", body = CourseView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may change it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule; `errors` names it", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn patch(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<CoursePatch>,
) -> Result<HttpResponse, CourseError> {
    let edit = CourseEdit::try_from(body.into_inner());
    Ok(HttpResponse::Ok().json(state.update_course(&user, id.into_inner(), edit).await?))
}

/// Enrolls: a student with `enrollment_code`, or a teacher of the course enrolls a student by `student_email`.
#[utoipa::path(
    post,
    path = "/api/courses/{id}/enrollments",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = EnrollmentView),
        (status = 200, description = "Already enrolled", body = EnrollmentView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "A wrong enrollment code; a teacher or grader sending a code; anyone but a teacher of this course sending `student_email`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The needed field is missing, or no student has this email", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn enroll(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<EnrollRequest>,
) -> actix_web::Result<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    // Enrolling someone else is managing enrollments, whoever asks: a student sending
    // `student_email` is refused as the access table says (403), not told which field to use.
    let (created, enrollment) = match (user.role, body.student_email) {
        (Role::Student, None) => {
            let code = body.enrollment_code.ok_or_else(|| CourseError::invalid("enrollment_code", "is required"));
            state.enroll_with_code(&Student::try_from(user)?, id, code).await?
        }
        (_, email) => state.enroll_by_email(&user, id, Ok(email)).await?,
    };
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(enrollment))
}

/// Ends an enrollment (a teacher of the course, or that student); submissions and grades are kept.
#[utoipa::path(
    delete,
    path = "/api/courses/{id}/enrollments/{student_id}",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), ("student_id" = UserId, Path, description = "The enrolled student")),
    responses(
        (status = 204, description = "The enrollment is ended"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Neither a teacher of this course nor that student", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course visible to the caller, or the student is not enrolled", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn unenroll(
    state: web::Data<CourseState>,
    user: AuthUser,
    path: web::Path<(CourseId, UserId)>,
) -> Result<HttpResponse, CourseError> {
    let (course, student) = path.into_inner();
    state.unenroll(&user, course, student).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The course's enrolled students.
#[utoipa::path(
    get,
    path = "/api/courses/{id}/enrollments",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), PageParams),
    responses(
        (status = 200, description = "A page of enrollments", body = Paginated<EnrollmentView>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may list its students", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn students(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.students(&user, id.into_inner(), page).await?))
}

/// The course's staff: its teachers (the creator and co-teachers) and graders, teachers first.
#[utoipa::path(
    get,
    path = "/api/courses/{id}/staff",
    operation_id = "list_staff",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    responses(
        (status = 200, description = "Every staff member", body = StaffList),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only the course's staff may see it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn staff(
    state: web::Data<CourseState>,
    teacher: Teacher,
    id: web::Path<CourseId>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.staff(&teacher, id.into_inner()).await?))
}

/// Adds a teacher account to the staff as `teacher` (co-teacher) or `grader`, or changes its role.
#[utoipa::path(
    post,
    path = "/api/courses/{id}/staff",
    operation_id = "add_staff",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    request_body = StaffRequest,
    responses(
        (status = 201, description = "Added", body = StaffMember),
        (status = 200, description = "Already staff (with this role, or its role is now changed)", body = StaffMember),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may manage its staff", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The change would leave the course without a teacher", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "No teacher account has this email, or the role is neither teacher nor grader", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn add_staff(
    state: web::Data<CourseState>,
    teacher: Teacher,
    id: web::Path<CourseId>,
    body: web::Json<StaffRequest>,
) -> Result<HttpResponse, CourseError> {
    let change = StaffChange::try_from(body.into_inner());
    let (created, member) = state.add_staff(&teacher, id.into_inner(), change).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(member))
}

/// Removes someone from the staff; the last teacher cannot be removed.
#[utoipa::path(
    delete,
    path = "/api/courses/{id}/staff/{user_id}",
    operation_id = "remove_staff",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), ("user_id" = UserId, Path, description = "The staff member")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may manage its staff", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course visible to the caller, or that user is not on its staff", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "It would leave the course without a teacher", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn remove_staff(
    state: web::Data<CourseState>,
    teacher: Teacher,
    path: web::Path<(CourseId, UserId)>,
) -> Result<HttpResponse, CourseError> {
    let (course, user) = path.into_inner();
    state.remove_staff(&teacher, course, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The course's audit trail, newest first: who changed its staff, enrollments, materials,
/// assignments, grades, releases and extensions, and when.
#[utoipa::path(
    get,
    path = "/api/courses/{id}/audit",
    operation_id = "course_audit",
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), PageParams),
    responses(
        (status = 200, description = "A page of entries, newest first", body = Paginated<AuditEntry>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may read it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn audit(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.audit(&user, id.into_inner(), page, false).await?.1))
}

/// The course's materials, in order.
#[utoipa::path(
    get,
    path = "/api/courses/{id}/materials",
    tag = "materials",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), PageParams),
    responses(
        (status = 200, description = "A page of materials", body = Paginated<MaterialItem>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Visible, but the caller neither teaches nor is enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn materials(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.materials(&user, id.into_inner(), page).await?))
}

/// Adds a material (Markdown, up to 50,000 characters; bodies up to 512 KiB).
#[utoipa::path(
    post,
    path = "/api/courses/{id}/materials",
    tag = "materials",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    request_body = NewMaterial,
    responses(
        (status = 201, description = "The material, with its sanitised HTML", body = MaterialView,
            headers(("Location" = String, description = "The new material"))),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may add materials", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 512 KiB", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule; `errors` names it", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<NewMaterial>,
) -> Result<HttpResponse, CourseError> {
    let draft = MaterialDraft::try_from(body.into_inner());
    let material = state.create_material(&user, id.into_inner(), draft).await?;
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/materials/{}", material.id))).json(material))
}

/// One material, with `body_html` sanitised.
#[utoipa::path(
    get,
    path = "/api/materials/{id}",
    operation_id = "get_material",
    tag = "materials",
    security(("bearer" = [])),
    params(("id" = MaterialId, Path, description = "The material")),
    responses(
        (status = 200, description = "The material", body = MaterialView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Visible, but the caller neither teaches nor is enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such material, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
) -> Result<HttpResponse, CourseError> {
    Ok(HttpResponse::Ok().json(state.material(&user, id.into_inner().into()).await?))
}

/// Changes any of `title`, `body_markdown`, `position`.
#[utoipa::path(
    patch,
    path = "/api/materials/{id}",
    operation_id = "update_material",
    tag = "materials",
    security(("bearer" = [])),
    params(("id" = MaterialId, Path, description = "The material")),
    request_body = MaterialPatch,
    responses(
        (status = 200, description = "The material as changed", body = MaterialView),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of its course may change it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such material, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 512 KiB", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A field broke a rule; `errors` names it", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn patch_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
    body: web::Json<MaterialPatch>,
) -> Result<HttpResponse, CourseError> {
    let edit = MaterialEdit::try_from(body.into_inner());
    Ok(HttpResponse::Ok().json(state.update_material(&user, id.into_inner().into(), edit).await?))
}

/// Deletes a material.
#[utoipa::path(
    delete,
    path = "/api/materials/{id}",
    tag = "materials",
    security(("bearer" = [])),
    params(("id" = MaterialId, Path, description = "The material")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of its course may delete it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such material, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete_material(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<MaterialId>,
) -> Result<HttpResponse, CourseError> {
    state.delete_material(&user, id.into_inner().into()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tool-link endpoints' part of the OpenAPI document (merged in `crate::openapi()`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(tool_links, create_tool_link, delete_tool_link),
    components(schemas(ProblemDocument)),
    modifiers(&BearerAuth),
    tags((name = "tool links", description = "LTI tools placed in a course (docs/lti.md)"))
)]
pub struct ToolLinksDoc;

/// The course's tool links: registered LTI tools its teachers placed in it.
#[utoipa::path(
    get,
    path = "/api/courses/{id}/tool-links",
    tag = "tool links",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), PageParams),
    responses(
        (status = 200, description = "A page of tool links, oldest first", body = Paginated<ToolLinkView>),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Visible, but the caller is neither staff nor enrolled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`page` or `per_page` out of range", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn tool_links(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    page: web::Query<PageParams>,
) -> actix_web::Result<HttpResponse> {
    let page = problem_page(page.into_inner())?;
    Ok(HttpResponse::Ok().json(state.tool_links(&user, id.into_inner(), page).await?))
}

/// Places a registered tool in the course, optionally tied to one of its assignments.
#[utoipa::path(
    post,
    path = "/api/courses/{id}/tool-links",
    tag = "tool links",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course")),
    request_body = NewToolLink,
    responses(
        (status = 201, description = "The link", body = ToolLinkView,
            headers(("Location" = String, description = "The course's tool links"))),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may add tools", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or one the caller may not see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An unknown tool, an assignment of another course, or an empty title; `errors` names the field", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create_tool_link(
    state: web::Data<CourseState>,
    user: AuthUser,
    id: web::Path<CourseId>,
    body: web::Json<NewToolLink>,
) -> Result<HttpResponse, CourseError> {
    let id = id.into_inner();
    let draft = LinkDraft::try_from(body.into_inner());
    let link = state.add_tool_link(&user, id, draft).await?;
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/courses/{id}/tool-links"))).json(link))
}

/// Removes a tool link (grades its tool posted stay).
#[utoipa::path(
    delete,
    path = "/api/courses/{id}/tool-links/{link_id}",
    tag = "tool links",
    security(("bearer" = [])),
    params(("id" = CourseId, Path, description = "The course"), ("link_id" = ToolLinkId, Path, description = "The link")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Only a teacher of this course may remove tools", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such course or link, or a link of another course", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete_tool_link(
    state: web::Data<CourseState>,
    user: AuthUser,
    path: web::Path<(CourseId, ToolLinkId)>,
) -> Result<HttpResponse, CourseError> {
    let (course, link) = path.into_inner();
    state.remove_tool_link(&user, course, link).await?;
    Ok(HttpResponse::NoContent().finish())
}
