//! `GradingError`: every way a grading-service request can fail, each variant with its status.

use course_service::CourseError;
use lectern_common::DbError;
use lectern_common::problem::{IntoProblem, Problem, db_problem};

#[derive(Debug, thiserror::Error)]
pub enum GradingError {
    /// 404: no such course, assignment or submission, or one this user may not see (existence
    /// never leaks).
    #[error("not found")]
    NotFound,
    /// 403: the object is visible but the role or relationship forbids the action.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 422: a field (or the `Idempotency-Key` header) broke a rule.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// 422 (or another 4xx): a query parameter out of range, such as `per_page` above 100.
    #[error("{0}")]
    Query(Problem),
    /// 409: every attempt `max_attempts` allows has been made.
    #[error("no attempts left: this assignment allows {0}")]
    AttemptsUsedUp(i32),
    /// 409: the assignment no longer takes submissions (its late policy's cut-off has passed).
    #[error("this assignment is closed: submissions were accepted until {0}")]
    Closed(String),
    /// 409: a tool's score older than the last one it sent for this line item and student.
    #[error("{0}")]
    Stale(String),
    /// 413: a multipart body over one of its limits (docs/api.md, files).
    #[error("{0}")]
    TooLarge(String),
    /// 400: a body that could not be read at all (a broken multipart stream).
    #[error("{0}")]
    BadRequest(String),
    /// 503: every upload slot of this process is taken for longer than a request should wait.
    #[error("too many uploads at once: try again in a moment")]
    Busy,
    /// 422: an `Idempotency-Key` this user already used for a different request (another body
    /// or another assignment). The IETF idempotency-key draft answers this with 422.
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused,
    /// 500/503: the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// 500: anything else that should not happen (a stored reply that no longer parses).
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl GradingError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

impl From<Problem> for GradingError {
    fn from(p: Problem) -> Self {
        Self::Query(p)
    }
}

impl From<diesel::result::Error> for GradingError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

/// course-service's answer about a course, in grading's terms (same statuses).
impl From<CourseError> for GradingError {
    fn from(e: CourseError) -> Self {
        match e {
            CourseError::NotVisible | CourseError::NotFound => Self::NotFound,
            CourseError::Forbidden(why) => Self::Forbidden(why),
            CourseError::WrongCode => Self::Forbidden("wrong enrollment code"),
            CourseError::Invalid { field, message } => Self::Invalid { field, message },
            CourseError::Db(e) => Self::Db(e),
            // Grading never changes a course's staff.
            CourseError::LastTeacher => Self::Unexpected(e.to_string()),
        }
    }
}

impl IntoProblem for GradingError {
    fn problem(&self) -> Problem {
        use actix_web::http::StatusCode;
        match self {
            Self::NotFound => Problem::not_found(),
            Self::Forbidden(why) => Problem::forbidden(*why),
            Self::Invalid { field, message } => Problem::invalid(*field, message.clone()),
            Self::Query(problem) => problem.clone(),
            Self::AttemptsUsedUp(_) | Self::Closed(_) | Self::Stale(_) => {
                Problem::new(StatusCode::CONFLICT, self.to_string())
            }
            Self::TooLarge(_) => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            Self::BadRequest(_) => Problem::new(StatusCode::BAD_REQUEST, self.to_string()),
            Self::Busy => {
                let mut p = Problem::unavailable();
                p.detail = self.to_string();
                p
            }
            Self::KeyReused => Problem::invalid("Idempotency-Key", self.to_string()),
            Self::Unexpected(_) => Problem::internal(),
            Self::Db(e) => db_problem(e),
        }
    }
}

lectern_common::problem_response!(GradingError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_status() {
        let cases: [(GradingError, u16); 15] = [
            (GradingError::Closed("2026-12-03T17:00:00Z".into()), 409),
            (GradingError::Stale("later on record".into()), 409),
            (GradingError::TooLarge("big".into()), 413),
            (GradingError::BadRequest("broken".into()), 400),
            (GradingError::Busy, 503),
            (GradingError::NotFound, 404),
            (GradingError::Forbidden("no"), 403),
            (GradingError::invalid("score", "too high"), 422),
            (GradingError::AttemptsUsedUp(2), 409),
            (GradingError::KeyReused, 422),
            (GradingError::Unexpected("x".into()), 500),
            (GradingError::Db(DbError::Unavailable("down".into())), 503),
            // A connection lost mid-request (the server died or failed over) is 503, not 500.
            (
                GradingError::from(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    Box::new(String::from("server closed the connection unexpectedly")),
                )),
                503,
            ),
            (GradingError::from(diesel::result::Error::NotFound), 500),
            (CourseError::NotVisible.into(), 404),
        ];
        for (error, status) in cases {
            assert_eq!(error.problem().status.as_u16(), status, "{error}");
        }
        let forbidden: GradingError = CourseError::Forbidden("enroll first").into();
        assert_eq!(forbidden.problem().detail, "enroll first");
    }
}
