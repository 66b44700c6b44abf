//! What each course-service request does, independent of JSON or HTML. Every operation makes
//! one hand-off to the database pool and does all of its queries there; writes run in one
//! transaction, so a failure half-way leaves nothing behind.

use crate::access::{CourseAccess, course_access};
use crate::catalog_cache::{CatalogCache, PageKey, SharedPage};
use crate::domain::{CourseTitle, EnrollmentCode, MaterialBody, MaterialTitle, Summary, parse_position};
use crate::error::CourseError;
use crate::markdown;
use crate::store::{self, CatalogScope, CourseChanges, CourseRow, MaterialRow, PersonRef};
use lectern_common::AuthUser;
use lectern_common::db::{Db, DbConnection, rfc3339, to_db_time, write_tx};
use lectern_common::ids::{CourseId, MaterialId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use token_claims::{Clock, Role};
use utoipa::ToSchema;

pub struct CourseState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    catalog: CatalogCache,
}

impl std::fmt::Debug for CourseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CourseState").finish_non_exhaustive()
    }
}

/// A catalog entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseItem {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub teachers: Vec<PersonRef>,
    pub enrolled: bool,
}

/// A course as its reader may see it; `enrollment_code` only for its teachers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseView {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub teachers: Vec<PersonRef>,
    pub enrolled: bool,
    /// Only for the course's teachers: what students type to enroll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_code: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[serde(skip)]
    pub access: Option<CourseAccess>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MaterialItem {
    pub id: MaterialId,
    pub title: String,
    pub position: i32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MaterialView {
    pub id: MaterialId,
    pub course_id: CourseId,
    pub title: String,
    pub body_markdown: String,
    /// Rendered from Markdown and sanitised with an allow-list when written.
    pub body_html: String,
    pub position: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EnrollmentView {
    pub course_id: CourseId,
    pub student: PersonRef,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewCourse {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub published: bool,
}

/// Any of the fields; those left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub published: Option<bool>,
}

/// A student enrolls with the code; a teacher of the course enrolls a student by email.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct EnrollRequest {
    pub enrollment_code: Option<String>,
    pub student_email: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewMaterial {
    pub title: String,
    #[serde(default)]
    pub body_markdown: String,
    /// 0 to 10000, its place in the course's list; after the last one when left out.
    pub position: Option<i64>,
}

/// Any of the fields; those left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct MaterialPatch {
    pub title: Option<String>,
    pub body_markdown: Option<String>,
    pub position: Option<i64>,
}

fn view(row: CourseRow, teachers: Vec<PersonRef>, access: Option<CourseAccess>) -> CourseView {
    let is_teacher = access == Some(CourseAccess::Teacher);
    CourseView {
        id: row.id,
        title: row.title,
        summary: row.summary,
        published: row.published,
        teachers,
        enrolled: access == Some(CourseAccess::Enrolled),
        enrollment_code: is_teacher.then_some(row.enrollment_code),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        access,
    }
}

fn course_view(conn: &mut DbConnection, row: CourseRow, access: CourseAccess) -> Result<CourseView, CourseError> {
    let teachers = store::teachers_of(conn, &[row.id])?.remove(&row.id).unwrap_or_default();
    Ok(view(row, teachers, Some(access)))
}

fn material_view(row: MaterialRow) -> MaterialView {
    MaterialView {
        id: row.id,
        course_id: row.course_id,
        title: row.title,
        body_markdown: row.body_markdown,
        body_html: row.body_html,
        position: row.position,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

/// One catalog page as everyone in its scope sees it: two queries and the stats row.
fn read_catalog_page(conn: &mut DbConnection, key: &PageKey, page: Pagination) -> Result<SharedPage, CourseError> {
    let (rows, total) = store::catalog(conn, key.scope, key.q.as_deref(), page)?;
    let ids: Vec<CourseId> = rows.iter().map(|r| r.id).collect();
    let mut teachers = store::teachers_of(conn, &ids)?;
    let items = rows
        .into_iter()
        .map(|r| CourseItem {
            enrolled: false,
            teachers: teachers.remove(&r.id).unwrap_or_default(),
            id: r.id,
            title: r.title,
            summary: r.summary,
            published: r.published,
        })
        .collect();
    Ok(SharedPage { items, total })
}

impl CourseState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, catalog: CatalogCache::default() }
    }

    fn now(&self) -> time::PrimitiveDateTime {
        to_db_time(self.clock.now())
    }

    /// Published courses, plus a teacher's own drafts; `q` searches titles.
    /// Published courses, plus a teacher's own drafts; `q` searches titles. Served from this
    /// process's catalog copy when it is fresh (see `catalog_cache.rs`).
    pub async fn catalog(
        &self,
        user: &AuthUser,
        q: Option<String>,
        page: Pagination,
    ) -> Result<Paginated<CourseItem>, CourseError> {
        let scope = match user.role {
            Role::Teacher => CatalogScope::PublishedOrTaughtBy(user.id),
            Role::Student => CatalogScope::Published,
        };
        let q = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        let key = PageKey { scope, q, page: page.page, per_page: page.per_page };
        let student = (user.role == Role::Student).then_some(user.id);
        let now = self.clock.now();
        let mut shared = self.catalog.page(&key, now);
        let mut enrolled = student.and_then(|s| self.catalog.enrollments(s, now));
        if shared.is_none() || (student.is_some() && enrolled.is_none()) {
            let (query_key, want_page, want_enrolled) = (key.clone(), shared.is_none(), enrolled.is_none());
            let (fetched_page, fetched_enrolled) = self
                .db
                .run(move |conn| {
                    let page_read = if want_page { Some(read_catalog_page(conn, &query_key, page)?) } else { None };
                    let enrolled_read = match (student, want_enrolled) {
                        (Some(s), true) => Some(store::enrollments_of(conn, s)?),
                        _ => None,
                    };
                    Ok::<_, CourseError>((page_read, enrolled_read))
                })
                .await?;
            if let Some(p) = fetched_page {
                let p = Arc::new(p);
                self.catalog.keep_page(key, Arc::clone(&p), now);
                shared = Some(p);
            }
            if let (Some(s), Some(e)) = (student, fetched_enrolled) {
                let e = Arc::new(e);
                self.catalog.keep_enrollments(s, Arc::clone(&e), now);
                enrolled = Some(e);
            }
        }
        let shared = shared.ok_or(CourseError::NotVisible)?;
        let items = shared
            .items
            .iter()
            .map(|c| CourseItem { enrolled: enrolled.as_ref().is_some_and(|e| e.contains(&c.id)), ..c.clone() })
            .collect();
        Ok(Paginated::new(items, page, shared.total))
    }

    pub async fn create_course(&self, teacher: &AuthUser, input: NewCourse) -> Result<CourseView, CourseError> {
        let title = CourseTitle::parse(&input.title)?.into_inner();
        let summary = Summary::parse(&input.summary)?.into_inner();
        let now = self.now();
        let row = CourseRow {
            id: CourseId::new(),
            title,
            summary,
            published: input.published,
            enrollment_code: EnrollmentCode::generate().as_str().to_owned(),
            created_by: teacher.id,
            created_at: now,
            updated_at: now,
        };
        let created = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    store::insert_course(conn, &row)?;
                    course_view(conn, row, CourseAccess::Teacher)
                })
            })
            .await;
        self.catalog.courses_changed();
        created
    }

    pub async fn course(&self, user: &AuthUser, id: CourseId) -> Result<CourseView, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (row, access) = course_access(conn, id, &user)?;
                course_view(conn, row, access)
            })
            .await
    }

    pub async fn update_course(
        &self,
        user: &AuthUser,
        id: CourseId,
        patch: CoursePatch,
    ) -> Result<CourseView, CourseError> {
        let changes = CourseChanges {
            title: patch.title.as_deref().map(CourseTitle::parse).transpose()?.map(CourseTitle::into_inner),
            summary: patch.summary.as_deref().map(Summary::parse).transpose()?.map(Summary::into_inner),
            published: patch.published,
            updated_at: Some(self.now()),
        };
        let user = user.clone();
        let updated = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (_, access) = course_access(conn, id, &user)?;
                    access.require_teacher()?;
                    store::update_course(conn, id, &changes)?;
                    let row = store::find_course(conn, id)?.ok_or(CourseError::NotVisible)?;
                    course_view(conn, row, access)
                })
            })
            .await;
        self.catalog.courses_changed();
        updated
    }

    /// `Ok(true)` when newly enrolled (201), `Ok(false)` when already enrolled (200).
    pub async fn enroll(
        &self,
        user: &AuthUser,
        id: CourseId,
        request: EnrollRequest,
    ) -> Result<(bool, EnrollmentView), CourseError> {
        let user = user.clone();
        let now = self.now();
        let outcome = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (row, access) = course_access(conn, id, &user)?;
                    let student = match user.role {
                        Role::Student => {
                            let typed = request
                                .enrollment_code
                                .as_deref()
                                .ok_or_else(|| CourseError::invalid("enrollment_code", "is required"))?;
                            if access != CourseAccess::Enrolled && !EnrollmentCode::matches(&row.enrollment_code, typed)
                            {
                                return Err(CourseError::WrongCode);
                            }
                            PersonRef { id: user.id, display_name: user.name.clone() }
                        }
                        Role::Teacher => {
                            access.require_teacher()?;
                            // Teachers never enroll themselves; a teacher of the course enrolls students by email.
                            let email = request
                                .student_email
                                .as_deref()
                                .ok_or(CourseError::Forbidden("teachers do not enroll; add a student by email"))?;
                            let email = email.trim().to_lowercase();
                            let student_id = store::find_student_by_email(conn, &email)?
                                .ok_or_else(|| CourseError::invalid("student_email", "no student has this email"))?;
                            let name = store::person(conn, student_id)?.map(|p| p.display_name).unwrap_or_default();
                            PersonRef { id: student_id, display_name: name }
                        }
                    };
                    let created = store::enroll(conn, id, student.id, now)?;
                    let enrolled_at = store::enrolled_at(conn, id, student.id)?.unwrap_or(now);
                    Ok((created, EnrollmentView { course_id: id, student, enrolled_at: rfc3339(enrolled_at) }))
                })
            })
            .await?;
        self.catalog.enrollments_changed(outcome.1.student.id);
        Ok(outcome)
    }

    /// A teacher of the course removes a student, or a student leaves. Work and grades stay.
    pub async fn unenroll(&self, user: &AuthUser, id: CourseId, student: UserId) -> Result<(), CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (_, access) = course_access(conn, id, &user)?;
                    let allowed = access == CourseAccess::Teacher || (user.role == Role::Student && user.id == student);
                    if !allowed {
                        return Err(CourseError::Forbidden(
                            "only a teacher of this course, or the student, may end an enrollment",
                        ));
                    }
                    if store::unenroll(conn, id, student)? { Ok(()) } else { Err(CourseError::NotFound) }
                })
            })
            .await?;
        self.catalog.enrollments_changed(student);
        Ok(())
    }

    pub async fn students(
        &self,
        user: &AuthUser,
        id: CourseId,
        page: Pagination,
    ) -> Result<Paginated<EnrollmentView>, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (_, access) = course_access(conn, id, &user)?;
                access.require_teacher()?;
                let (rows, total) = store::students_of(conn, id, page)?;
                let items = rows
                    .into_iter()
                    .map(|(student, at)| EnrollmentView { course_id: id, student, enrolled_at: rfc3339(at) })
                    .collect();
                Ok(Paginated::new(items, page, total))
            })
            .await
    }

    pub async fn materials(
        &self,
        user: &AuthUser,
        id: CourseId,
        page: Pagination,
    ) -> Result<Paginated<MaterialItem>, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (_, access) = course_access(conn, id, &user)?;
                access.require_member()?;
                let (rows, total) = store::materials_of(conn, id, page)?;
                let items =
                    rows.into_iter().map(|m| MaterialItem { id: m.id, title: m.title, position: m.position }).collect();
                Ok(Paginated::new(items, page, total))
            })
            .await
    }

    pub async fn create_material(
        &self,
        user: &AuthUser,
        course: CourseId,
        input: NewMaterial,
    ) -> Result<MaterialView, CourseError> {
        let title = MaterialTitle::parse(&input.title)?.into_inner();
        let body = MaterialBody::parse(&input.body_markdown)?;
        let position = input.position.map(parse_position).transpose()?;
        let body_html = markdown::render(body.as_str());
        let now = self.now();
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (_, access) = course_access(conn, course, &user)?;
                    access.require_teacher()?;
                    let position = match position {
                        Some(p) => p,
                        None => store::next_position(conn, course)?,
                    };
                    let row = MaterialRow {
                        id: MaterialId::new(),
                        course_id: course,
                        title,
                        body_markdown: body.as_str().to_owned(),
                        body_html,
                        position,
                        created_at: now,
                        updated_at: now,
                    };
                    store::insert_material(conn, &row)?;
                    Ok(material_view(row))
                })
            })
            .await
    }

    /// A material *for* this user: through its course's visibility and membership.
    fn material_for(
        conn: &mut DbConnection,
        id: MaterialId,
        user: &AuthUser,
    ) -> Result<(MaterialRow, CourseAccess), CourseError> {
        let row = store::find_material(conn, id)?.ok_or(CourseError::NotFound)?;
        let (_, access) = course_access(conn, row.course_id, user)?;
        Ok((row, access))
    }

    pub async fn material(&self, user: &AuthUser, id: MaterialId) -> Result<(MaterialView, CourseAccess), CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (row, access) = Self::material_for(conn, id, &user)?;
                access.require_member()?;
                Ok((material_view(row), access))
            })
            .await
    }

    pub async fn update_material(
        &self,
        user: &AuthUser,
        id: MaterialId,
        patch: MaterialPatch,
    ) -> Result<MaterialView, CourseError> {
        let title = patch.title.as_deref().map(MaterialTitle::parse).transpose()?.map(MaterialTitle::into_inner);
        let body = patch.body_markdown.as_deref().map(MaterialBody::parse).transpose()?;
        let body_html = body.as_ref().map(|b| markdown::render(b.as_str()));
        let position = patch.position.map(parse_position).transpose()?;
        let now = self.now();
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (mut row, access) = Self::material_for(conn, id, &user)?;
                    access.require_teacher()?;
                    if let Some(title) = title {
                        row.title = title;
                    }
                    if let (Some(body), Some(html)) = (body, body_html) {
                        row.body_markdown = body.as_str().to_owned();
                        row.body_html = html;
                    }
                    if let Some(position) = position {
                        row.position = position;
                    }
                    row.updated_at = now;
                    store::update_material(conn, &row)?;
                    Ok(material_view(row))
                })
            })
            .await
    }

    pub async fn delete_material(&self, user: &AuthUser, id: MaterialId) -> Result<CourseId, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (row, access) = Self::material_for(conn, id, &user)?;
                    access.require_teacher()?;
                    store::delete_material(conn, id)?;
                    Ok(row.course_id)
                })
            })
            .await
    }
}
