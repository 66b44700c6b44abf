//! `CourseError`: every way a course-service request can fail, each variant with its status.

use lectern_common::DbError;
use lectern_common::problem::{IntoProblem, Problem, db_problem};

#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// 404: no such course, or one this user may not see (never leak existence).
    #[error("course not found")]
    NotVisible,
    /// 404: no such material, enrollment or student in this course.
    #[error("not found")]
    NotFound,
    /// 403: the course is visible but the role or relationship forbids the action.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403: a student presented the wrong enrollment code.
    #[error("wrong enrollment code")]
    WrongCode,
    /// 409: the change would leave the course without a teacher.
    #[error("a course keeps at least one teacher: add another teacher first")]
    LastTeacher,
    /// 422: a field broke a rule.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// 500/503: the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl CourseError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

impl From<diesel::result::Error> for CourseError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

impl IntoProblem for CourseError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotVisible | Self::NotFound => Problem::not_found(),
            Self::Forbidden(why) => Problem::forbidden(*why),
            Self::WrongCode => Problem::forbidden(self.to_string()),
            Self::LastTeacher => Problem::new(actix_web::http::StatusCode::CONFLICT, self.to_string()),
            Self::Invalid { field, message } => Problem::invalid(*field, message.clone()),
            Self::Db(e) => db_problem(e),
        }
    }
}

lectern_common::problem_response!(CourseError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_status() {
        let cases: [(CourseError, u16); 10] = [
            (CourseError::LastTeacher, 409),
            (CourseError::NotVisible, 404),
            (CourseError::NotFound, 404),
            (CourseError::Forbidden("no"), 403),
            (CourseError::WrongCode, 403),
            (CourseError::invalid("title", "empty"), 422),
            (CourseError::Db(DbError::Unavailable("down".into())), 503),
            // A connection lost mid-request (the server died or failed over) is 503, not 500.
            (
                CourseError::from(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    Box::new(String::from("server closed the connection unexpectedly")),
                )),
                503,
            ),
            (CourseError::from(diesel::result::Error::NotFound), 500),
            (CourseError::Db(DbError::Query(diesel::result::Error::NotFound)), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.problem().status.as_u16(), status, "{error}");
        }
    }
}
