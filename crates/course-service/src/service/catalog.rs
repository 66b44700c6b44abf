//! Courses and the catalog: browsing, creating, reading and editing a course, and the course
//! page's whole view model.

use super::{CourseState, Parsed, enrollments, materials, staff, tool_links};
use crate::access::{self, Course, MemberOf, Standing, TeacherOf};
use crate::audit::{self, Actor, ObjectRef};
use crate::catalog_cache::{PageKey, SharedPage};
use crate::domain::{CourseDraft, CourseEdit, EnrollmentCode, SearchText};
use crate::error::CourseError;
use crate::store::{self, CatalogScope, CourseChanges, CourseRow};
use crate::views::{CourseItem, CoursePageView, CourseView};
use lectern_common::db::{DbConnection, write_tx};
use lectern_common::ids::CourseId;
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Teacher};
use std::sync::Arc;
use time::PrimitiveDateTime;
use token_claims::Role;

/// The course as this caller may see it, with its teachers.
pub fn view(conn: &mut DbConnection, standing: &Standing) -> Result<CourseView, CourseError> {
    let id = standing.course().id;
    let teachers = store::teachers_of(conn, id)?;
    Ok(CourseView::of(standing, teachers))
}

/// A new course, taught by its creator: a role-level action, so it takes a [`Teacher`].
pub fn create(
    conn: &mut DbConnection,
    teacher: &Teacher,
    draft: CourseDraft,
    now: PrimitiveDateTime,
) -> Result<CourseView, CourseError> {
    let row = CourseRow {
        id: CourseId::new(),
        title: draft.title.into_inner(),
        summary: draft.summary.into_inner(),
        published: draft.published,
        enrollment_code: EnrollmentCode::generate().as_str().to_owned(),
        created_by: teacher.id,
        created_at: now,
        updated_at: now,
    };
    store::insert_course(conn, &row)?;
    let details = serde_json::json!({"title": row.title, "published": row.published});
    audit::record(
        conn,
        row.id,
        &Actor::User(teacher.id),
        "course.created",
        &ObjectRef::new("course", row.id),
        details,
        now,
    )?;
    // The creator's standing, found as everyone's is: the insert above made them its teacher.
    let standing = access::standing(conn, row.id, teacher.user())?;
    view(conn, &standing)
}

/// Changes a course (a teacher of it).
pub fn update(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    edit: CourseEdit,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    let changes = CourseChanges {
        title: edit.title.map(|t| t.into_inner()),
        summary: edit.summary.map(|s| s.into_inner()),
        published: edit.published,
        updated_at: Some(now),
    };
    store::update_course(conn, course.id, &changes)?;
    // What was asked, with the values before (the summary only as changed or not: it can be long).
    let mut details = serde_json::Map::new();
    if let Some(title) = &changes.title {
        details.insert("title".into(), title.as_str().into());
        details.insert("previous_title".into(), course.title.as_str().into());
    }
    if let Some(summary) = &changes.summary {
        details.insert("summary_changed".into(), (summary != &course.summary).into());
    }
    if let Some(published) = changes.published {
        details.insert("published".into(), published.into());
        details.insert("previous_published".into(), course.published.into());
    }
    let object = ObjectRef::new("course", course.id);
    audit::record(conn, course.id, &Actor::User(course.user()), "course.updated", &object, details.into(), now)
}

/// One catalog page as everyone in its scope sees it: one statement (see `store::catalog_page`).
fn read_catalog_page(conn: &mut DbConnection, key: &PageKey, page: Pagination) -> Result<SharedPage, CourseError> {
    let (courses, total) = store::catalog_page(conn, key.scope, key.q.as_deref(), page)?;
    let items = courses
        .into_iter()
        .map(|c| CourseItem {
            enrolled: false,
            teachers: c.teachers,
            id: c.id,
            title: c.title,
            summary: c.summary,
            published: c.published,
        })
        .collect();
    Ok(SharedPage { items, total })
}

impl CourseState {
    /// Published courses, plus a teacher's own drafts; `q` searches titles. Served from this
    /// process's catalog copy when it is fresh (see `catalog_cache.rs`).
    pub async fn catalog(
        &self,
        user: &AuthUser,
        search: SearchText,
        page: Pagination,
    ) -> Result<Paginated<CourseItem>, CourseError> {
        let scope = match user.role {
            Role::Teacher => CatalogScope::PublishedOrTaughtBy(user.id),
            Role::Student => CatalogScope::Published,
        };
        let key = PageKey { scope, q: search.into_inner(), page: page.page, per_page: page.per_page };
        let student = (user.role == Role::Student).then_some(user.id);
        let now = self.clock.now();
        let mut shared = self.catalog.page(&key, now);
        let mut enrolled = student.and_then(|s| self.catalog.enrollments(s, now));
        if shared.is_none() || (student.is_some() && enrolled.is_none()) {
            let tickets = self.catalog.tickets();
            let (query_key, want_page, want_enrolled) = (key.clone(), shared.is_none(), enrolled.is_none());
            // Nothing here decides access (a course page checks again): a standby may answer.
            let (fetched_page, fetched_enrolled) = self
                .db
                .run_read(Some(user.id), move |conn| {
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
                self.catalog.keep_page(tickets, key, Arc::clone(&p), now);
                shared = Some(p);
            }
            if let (Some(s), Some(e)) = (student, fetched_enrolled) {
                let e = Arc::new(e);
                self.catalog.keep_enrollments(tickets, s, Arc::clone(&e), now);
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

    pub async fn create_course(&self, teacher: &Teacher, draft: CourseDraft) -> Result<CourseView, CourseError> {
        let now = self.now();
        let teacher = teacher.clone();
        let created =
            self.db.run_write(teacher.id, move |conn| write_tx(conn, |conn| create(conn, &teacher, draft, now))).await;
        self.catalog.courses_changed();
        created
    }

    pub async fn course(&self, user: &AuthUser, id: CourseId) -> Result<CourseView, CourseError> {
        let (reader, user) = (user.id, user.clone());
        self.db.decide_then_read(reader, move |conn| access::standing(conn, id, &user), |conn, s| view(conn, &s)).await
    }

    /// The course page: the course, and as the caller's standing allows, its materials (teachers
    /// and enrolled students) and its students (teachers), in one hand-off.
    pub async fn course_page(&self, user: &AuthUser, id: CourseId) -> Result<CoursePageView, CourseError> {
        let (reader, user) = (user.id, user.clone());
        let first = Pagination { page: 1, per_page: 100 };
        self.db
            .decide_then_read(
                reader,
                move |conn| access::standing(conn, id, &user),
                move |conn, standing| {
                    let course = view(conn, &standing)?;
                    let (is_teacher, is_enrolled) = (standing.is_teacher(), standing.is_enrolled());
                    let is_grader = matches!(standing, Standing::Grader(_));
                    let none = || Paginated::new(Vec::new(), first, 0);
                    let mut link_choices = tool_links::LinkChoices::default();
                    let member = |conn: &mut DbConnection, m: &MemberOf<Course>| -> Result<_, CourseError> {
                        Ok((materials::list(conn, m, first)?.items, tool_links::for_page(conn, m)?))
                    };
                    let ((materials, tool_links), students, staff_members) = match standing {
                        Standing::Teacher(teacher) => {
                            let students = enrollments::list(conn, &teacher, first)?;
                            let staff_members = staff::list(conn, &teacher.clone().into())?;
                            link_choices = tool_links::choices(conn, &teacher)?;
                            (member(conn, &teacher.into())?, students, staff_members)
                        }
                        Standing::Grader(grader) => {
                            let staff_members = staff::list(conn, &grader)?;
                            (member(conn, &grader.into())?, none(), staff_members)
                        }
                        Standing::Enrolled(enrolled) => (member(conn, &enrolled.into())?, none(), Vec::new()),
                        Standing::Visitor(_) => ((Vec::new(), Vec::new()), none(), Vec::new()),
                    };
                    Ok(CoursePageView {
                        course,
                        is_teacher,
                        is_grader,
                        is_enrolled,
                        staff: staff_members,
                        materials,
                        student_total: students.total,
                        students: students.items,
                        tool_links,
                        link_choices,
                        zone: lectern_common::timefmt::zone_of(conn, reader)?,
                    })
                },
            )
            .await
    }

    /// Changes a course; only a teacher of it may, and only then is the input's 422 told.
    pub async fn update_course(
        &self,
        user: &AuthUser,
        id: CourseId,
        edit: Parsed<CourseEdit>,
    ) -> Result<CourseView, CourseError> {
        let now = self.now();
        let user = user.clone();
        let updated = self
            .db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let course = access::standing(conn, id, &user)?.teacher()?;
                    update(conn, &course, edit?, now)?;
                    let standing = access::standing(conn, id, &user)?;
                    view(conn, &standing)
                })
            })
            .await;
        self.catalog.courses_changed();
        updated
    }
}
