//! Materials: a course's reading, listed and read by its members, written by its teachers.

use super::{CourseState, Parsed, catalog};
use crate::access::{self, Course, MemberOf, TeacherOf};
use crate::audit::{self, Actor, ObjectRef};
use crate::domain::{MaterialDraft, MaterialEdit};
use crate::error::CourseError;
use crate::markdown;
use crate::store::{self, MaterialRow};
use crate::views::{MaterialItem, MaterialPageView, MaterialView};
use lectern_common::AuthUser;
use lectern_common::db::{DbConnection, write_tx};
use lectern_common::ids::{CourseId, MaterialId};
use lectern_common::pagination::{Paginated, Pagination};
use time::PrimitiveDateTime;

/// Which material a request names: by id, and on pages also by the course in the path (a
/// material of another course is then not found).
#[derive(Clone, Copy, Debug)]
pub struct MaterialAt {
    pub id: MaterialId,
    pub course: Option<CourseId>,
}

impl From<MaterialId> for MaterialAt {
    fn from(id: MaterialId) -> Self {
        Self { id, course: None }
    }
}

/// A page of the course's materials in order (its members).
pub fn list(
    conn: &mut DbConnection,
    course: &MemberOf<Course>,
    page: Pagination,
) -> Result<Paginated<MaterialItem>, CourseError> {
    let (rows, total) = store::materials_of(conn, course.id, page)?;
    let items = rows.into_iter().map(|m| MaterialItem { id: m.id, title: m.title, position: m.position }).collect();
    Ok(Paginated::new(items, page, total))
}

/// Adds a material (a teacher of the course).
pub fn add(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    draft: MaterialDraft,
    now: PrimitiveDateTime,
) -> Result<MaterialView, CourseError> {
    let position = match draft.position {
        Some(p) => p,
        None => store::next_position(conn, course.id)?,
    };
    let row = MaterialRow {
        id: MaterialId::new(),
        course_id: course.id,
        title: draft.title.into_inner(),
        body_html: markdown::render(draft.body.as_str()),
        body_markdown: draft.body.as_str().to_owned(),
        position,
        created_at: now,
        updated_at: now,
    };
    store::insert_material(conn, &row)?;
    let details = serde_json::json!({"title": row.title, "position": row.position});
    audit::record(
        conn,
        course.id,
        &Actor::User(course.user()),
        "material.created",
        &ObjectRef::new("material", row.id),
        details,
        now,
    )?;
    Ok(row.into())
}

/// Changes a material (a teacher of its course).
pub fn edit(
    conn: &mut DbConnection,
    material: TeacherOf<MaterialRow>,
    edit: MaterialEdit,
    now: PrimitiveDateTime,
) -> Result<MaterialView, CourseError> {
    let actor = Actor::User(material.user());
    let mut row = material.into_object();
    let mut details = serde_json::Map::new();
    details.insert("previous_title".into(), row.title.as_str().into());
    if let Some(title) = edit.title {
        row.title = title.into_inner();
    }
    if let Some(body) = edit.body {
        row.body_html = markdown::render(body.as_str());
        row.body_markdown = body.as_str().to_owned();
    }
    if let Some(position) = edit.position {
        row.position = position;
    }
    row.updated_at = now;
    store::update_material(conn, &row)?;
    details.insert("title".into(), row.title.as_str().into());
    details.insert("position".into(), row.position.into());
    audit::record(
        conn,
        row.course_id,
        &actor,
        "material.updated",
        &ObjectRef::new("material", row.id),
        details.into(),
        now,
    )?;
    Ok(row.into())
}

/// Deletes a material (a teacher of its course).
pub fn delete(
    conn: &mut DbConnection,
    material: &TeacherOf<MaterialRow>,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    store::delete_material(conn, material.id)?;
    let details = serde_json::json!({"title": material.title});
    let object = ObjectRef::new("material", material.id);
    audit::record(conn, material.course_id(), &Actor::User(material.user()), "material.deleted", &object, details, now)
}

/// The caller's standing to a material's course (on the primary: an access decision).
fn standing_for(conn: &mut DbConnection, at: MaterialAt, user: &AuthUser) -> Result<access::Standing, CourseError> {
    let course = store::material_course(conn, at.id)?.ok_or(CourseError::NotFound)?;
    if at.course.is_some_and(|wanted| wanted != course) {
        return Err(CourseError::NotFound);
    }
    access::standing(conn, course, user)
}

/// The material itself, read where reads may go; gone in between is 404.
fn read_row(conn: &mut DbConnection, at: MaterialAt) -> Result<MaterialRow, CourseError> {
    store::find_material(conn, at.id)?.ok_or(CourseError::NotFound)
}

/// A material *for* this user: through its course's visibility and the caller's standing.
fn find(
    conn: &mut DbConnection,
    at: MaterialAt,
    user: &AuthUser,
) -> Result<(MaterialRow, access::Standing), CourseError> {
    let row = store::find_material(conn, at.id)?.ok_or(CourseError::NotFound)?;
    if at.course.is_some_and(|course| course != row.course_id) {
        return Err(CourseError::NotFound);
    }
    let standing = access::standing(conn, row.course_id, user)?;
    Ok((row, standing))
}

impl CourseState {
    pub async fn materials(
        &self,
        user: &AuthUser,
        id: CourseId,
        page: Pagination,
    ) -> Result<Paginated<MaterialItem>, CourseError> {
        let (reader, user) = (user.id, user.clone());
        self.db
            .decide_then_read(
                reader,
                move |conn| access::standing(conn, id, &user)?.member(),
                move |conn, course| list(conn, &course, page),
            )
            .await
    }

    pub async fn create_material(
        &self,
        user: &AuthUser,
        course: CourseId,
        draft: Parsed<MaterialDraft>,
    ) -> Result<MaterialView, CourseError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let course = access::standing(conn, course, &user)?.teacher()?;
                    add(conn, &course, draft?, now)
                })
            })
            .await
    }

    /// One material, for the course's teachers and enrolled students.
    pub async fn material(&self, user: &AuthUser, at: MaterialAt) -> Result<MaterialView, CourseError> {
        let (reader, user) = (user.id, user.clone());
        self.db
            .decide_then_read(
                reader,
                move |conn| standing_for(conn, at, &user)?.member(),
                move |conn, course| Ok(course.over(read_row(conn, at)?)?.into_object().into()),
            )
            .await
    }

    /// The material page: the material and its course, in one hand-off.
    pub async fn material_page(&self, user: &AuthUser, at: MaterialAt) -> Result<MaterialPageView, CourseError> {
        let (reader, user) = (user.id, user.clone());
        self.db
            .decide_then_read(
                reader,
                move |conn| standing_for(conn, at, &user),
                move |conn, standing| {
                    let course = catalog::view(conn, &standing)?;
                    let is_teacher = standing.is_teacher();
                    let material = standing.member()?.over(read_row(conn, at)?)?.into_object().into();
                    Ok(MaterialPageView { course, material, is_teacher })
                },
            )
            .await
    }

    pub async fn update_material(
        &self,
        user: &AuthUser,
        at: MaterialAt,
        changes: Parsed<MaterialEdit>,
    ) -> Result<MaterialView, CourseError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (row, standing) = find(conn, at, &user)?;
                    let material = standing.teacher()?.over(row)?;
                    edit(conn, material, changes?, now)
                })
            })
            .await
    }

    /// Deletes a material; answers its course.
    pub async fn delete_material(&self, user: &AuthUser, at: MaterialAt) -> Result<CourseId, CourseError> {
        let user = user.clone();
        let now = self.now();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let (row, standing) = find(conn, at, &user)?;
                    let material = standing.teacher()?.over(row)?;
                    delete(conn, &material, now)?;
                    Ok(material.course_id)
                })
            })
            .await
    }
}
