//! `LtiError`: every way a request to the LTI services (`/api/lti`) can fail, each variant with
//! its status. The token endpoint answers OAuth errors instead (`token.rs`), and the browser side
//! answers the tool through its redirect URI or with an error page (`authorize.rs`, `pages.rs`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use course_service::CourseError;
use lectern_common::DbError;
use lectern_common::problem::{Challenge, IntoProblem, Problem, db_problem};

#[derive(Debug, thiserror::Error)]
pub enum LtiError {
    /// 401: no bearer token.
    #[error("authentication required")]
    MissingToken,
    /// 401: a token that is not a live LTI service token (a Lectern access token is not one).
    #[error("invalid_token")]
    InvalidToken,
    /// 403: the token lacks the scope this endpoint needs; `WWW-Authenticate` names it.
    #[error("this request needs the scope {0}")]
    InsufficientScope(&'static str),
    /// 404: no such context or line item, or one of a course the tool has no link in.
    #[error("not found")]
    NotFound,
    /// 400: a request the service cannot read (a query parameter out of range).
    #[error("{0}")]
    BadRequest(String),
    /// 409: a score older than the one on record for this line item and user.
    #[error("{0}")]
    Conflict(String),
    /// 413: a body above 64 KiB.
    #[error("the body is larger than 64 KiB")]
    TooLarge,
    /// 415: a body of another media type than the endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: a field broke a rule.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A course-service refusal, with its own status.
    #[error(transparent)]
    Course(#[from] CourseError),
    /// 500/503: the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// 500: anything else that should not happen.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl LtiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

impl From<diesel::result::Error> for LtiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

impl IntoProblem for LtiError {
    fn problem(&self) -> Problem {
        match self {
            Self::MissingToken => Problem::unauthorized(Challenge::Bearer),
            Self::InvalidToken => Problem::unauthorized(Challenge::InvalidToken),
            Self::InsufficientScope(_) => Problem::forbidden(self.to_string()),
            Self::NotFound => Problem::not_found(),
            Self::BadRequest(why) => Problem::new(StatusCode::BAD_REQUEST, why.clone()),
            Self::Conflict(why) => Problem::new(StatusCode::CONFLICT, why.clone()),
            Self::TooLarge => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            Self::UnsupportedMediaType(why) => Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, why.clone()),
            Self::Invalid { field, message } => Problem::invalid(*field, message.clone()),
            // A tool never learns more than "not found" about a course it has no link in.
            Self::Course(CourseError::NotVisible | CourseError::NotFound) => Problem::not_found(),
            Self::Course(e) => e.problem(),
            Self::Db(e) => db_problem(e),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

impl actix_web::ResponseError for LtiError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let problem = self.problem();
        lectern_common::problem::log_if_server_error(&problem, self);
        let mut resp = problem.to_response();
        if let Self::InsufficientScope(scope) = self
            && let Ok(value) = HeaderValue::from_str(&format!(
                r#"Bearer realm="lectern", error="insufficient_scope", scope="{scope}""#
            ))
        {
            // RFC 6750 §3.1: the scope the request needed.
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_status() {
        let cases: [(LtiError, u16); 11] = [
            (LtiError::MissingToken, 401),
            (LtiError::InvalidToken, 401),
            (LtiError::InsufficientScope("s"), 403),
            (LtiError::NotFound, 404),
            (LtiError::BadRequest("x".into()), 400),
            (LtiError::Conflict("x".into()), 409),
            (LtiError::TooLarge, 413),
            (LtiError::UnsupportedMediaType("x".into()), 415),
            (LtiError::invalid("userId", "x"), 422),
            (LtiError::Course(CourseError::NotVisible), 404),
            (LtiError::Db(DbError::Unavailable("down".into())), 503),
        ];
        for (error, status) in cases {
            assert_eq!(error.problem().status.as_u16(), status, "{error}");
        }
    }
}
