//! The audit trail: who changed what in a course, and when (docs/security.md, audit).
//!
//! Every change to a course's staff, enrollments, materials, assignments, grades, releases and
//! extensions (and the course itself) writes one entry with [`record`], on the connection and in
//! the transaction of the change: both are kept or neither. The table is append-only: triggers
//! refuse UPDATE and DELETE on both backends (and on PostgreSQL the services' roles are not even
//! granted them). Teachers of the course read it, newest first, with [`page`], which takes
//! their [`TeacherOf`].
//!
//! The service functions that change something call [`record`] themselves, so whatever shell
//! reaches them (API, page, a later LTI grade passback) leaves the same entry.

use crate::access::{Course, TeacherOf};
use crate::error::CourseError;
use diesel::prelude::*;
use lectern_common::db::{DbConnection, rfc3339};
use lectern_common::ids::{CourseId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::schema::{audit_log, users};
use serde::Serialize;
use time::PrimitiveDateTime;
use utoipa::ToSchema;

/// Who made a change. A person today; the stored `actor_kind` leaves room for others (a tool
/// posting grades) without another table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user; their display name is looked up when the entry is written, and kept as
    /// it was then.
    User(UserId),
    /// Something acting on the platform's behalf, with the id and name it is shown under.
    Other { kind: &'static str, id: String, name: String },
}

/// What an entry is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ObjectRef {
    /// `course`, `user` (staff and enrollments), `material`, `assignment`, `submission`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl ObjectRef {
    pub fn new(kind: &str, id: impl ToString) -> Self {
        Self { kind: kind.to_owned(), id: id.to_string() }
    }
}

/// The actor as the trail shows them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ActorView {
    pub id: String,
    pub display_name: String,
}

/// One entry of the trail.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: ActorView,
    /// What happened, such as `staff.added`, `enrollment.removed`, `grade.recorded`.
    pub action: String,
    pub object: ObjectRef,
    /// What changed, as a JSON object (new values, and the previous ones where there were any).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    course_id: CourseId,
    at: PrimitiveDateTime,
    actor_kind: &'a str,
    actor_id: String,
    actor_name: String,
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    details: String,
}

/// Appends one entry for `course`, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    course: CourseId,
    actor: &Actor,
    action: &str,
    object: &ObjectRef,
    details: serde_json::Value,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    let (actor_kind, actor_id, actor_name) = match actor {
        Actor::User(id) => {
            let name: Option<String> = users::table.find(*id).select(users::display_name).first(conn).optional()?;
            ("user", id.to_string(), name.unwrap_or_default())
        }
        Actor::Other { kind, id, name } => (*kind, id.clone(), name.clone()),
    };
    let entry = NewEntry {
        course_id: course,
        at: now,
        actor_kind,
        actor_id,
        actor_name,
        action,
        object_type: &object.kind,
        object_id: &object.id,
        details: details.to_string(),
    };
    diesel::insert_into(audit_log::table).values(&entry).execute(conn)?;
    Ok(())
}

type Row = (PrimitiveDateTime, String, String, String, String, String, String);

/// A page of the course's trail, newest first (teachers of the course).
pub fn page(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    page: Pagination,
) -> Result<Paginated<AuditEntry>, CourseError> {
    let rows: Vec<Row> = audit_log::table
        .filter(audit_log::course_id.eq(course.id))
        .order(audit_log::seq.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select((
            audit_log::at,
            audit_log::actor_id,
            audit_log::actor_name,
            audit_log::action,
            audit_log::object_type,
            audit_log::object_id,
            audit_log::details,
        ))
        .load(conn)?;
    let total = audit_log::table.filter(audit_log::course_id.eq(course.id)).count().get_result(conn)?;
    let items = rows
        .into_iter()
        .map(|(at, actor_id, actor_name, action, object_type, object_id, details)| AuditEntry {
            at: rfc3339(at),
            actor: ActorView { id: actor_id, display_name: actor_name },
            action,
            object: ObjectRef { kind: object_type, id: object_id },
            // Written by `record` from a `serde_json::Value`; a row that no longer parses is shown as its text.
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        })
        .collect();
    Ok(Paginated::new(items, page, total))
}
