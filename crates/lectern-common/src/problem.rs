//! RFC 9457 problem documents, and the same error rendered as an HTML page for people.
//!
//! Every service error enum maps each variant to a [`Problem`] in one place (`IntoProblem`);
//! JSON routes answer `application/problem+json`, page routes wrap the error in [`PageError`].
//! A 5xx says nothing about its cause: the cause is logged once, here, at the boundary.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

/// `Retry-After` of a 503: a failover completes in seconds (docs/operations.md), so clients
/// should come back soon; a longer outage costs them one more 503 per second.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// Which `WWW-Authenticate` challenge a 401 carries (RFC 6750 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// No credentials were sent.
    Bearer,
    /// Credentials were sent and failed verification.
    InvalidToken,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub challenge: Option<Challenge>,
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), errors: Vec::new(), challenge: None, retry_after: None }
    }

    /// 401 with the RFC 6750 challenge; the body says nothing more than `invalid_token`.
    pub fn unauthorized(challenge: Challenge) -> Self {
        let detail = match challenge {
            Challenge::Bearer => "authentication required",
            Challenge::InvalidToken => "invalid_token",
        };
        Self { challenge: Some(challenge), ..Self::new(StatusCode::UNAUTHORIZED, detail) }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not found")
    }

    /// 422 naming the field that broke a rule.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        let detail = format!("{field}: {message}");
        Self { errors: vec![FieldError { field, message }], ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail) }
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too many attempts, try again later")
        }
    }

    /// 500 with a fixed sentence; log the cause before calling this.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side; it has been logged")
    }

    /// 503 with a fixed sentence and `Retry-After`: the database is restarting, failing over or
    /// unreachable, and a retry in a moment is the right move.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "the service is temporarily unavailable; retry shortly")
        }
    }

    pub fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }

    fn decorate(&self, mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
        if let Some(challenge) = self.challenge {
            let value = match challenge {
                Challenge::Bearer => r#"Bearer realm="lectern""#,
                Challenge::InvalidToken => r#"Bearer realm="lectern", error="invalid_token""#,
            };
            builder.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(value)));
        }
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        builder
    }

    /// `application/problem+json`.
    pub fn to_response(&self) -> HttpResponse {
        let body = ProblemBody {
            kind: "about:blank",
            title: self.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"));
        self.decorate(HttpResponse::build(self.status)).content_type("application/problem+json").body(json)
    }

    /// The same error as a page for people.
    pub fn to_html_response(&self) -> HttpResponse {
        let page = ErrorPage {
            ctx: crate::PageCtx::unknown(),
            status: self.status.as_u16(),
            title: self.title(),
            detail: &self.detail,
        };
        match page.render() {
            Ok(html) => {
                self.decorate(HttpResponse::build(self.status)).content_type("text/html; charset=utf-8").body(html)
            }
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                self.to_response()
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: crate::PageCtx,
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// Each service error enum says, for every variant, which problem it is.
pub trait IntoProblem: std::fmt::Debug + std::fmt::Display {
    fn problem(&self) -> Problem;
}

/// Logs a server-side failure once, at the boundary, with its whole cause.
pub fn log_if_server_error(problem: &Problem, cause: &dyn std::fmt::Debug) {
    if problem.status.is_server_error() {
        tracing::error!(status = problem.status.as_u16(), cause = ?cause, "request failed");
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        self.to_response()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

/// A service error answered as an HTML page (page routes return `Result<_, PageError>`).
#[derive(Debug)]
pub struct PageError(pub Problem);

impl<E: IntoProblem> From<E> for PageError {
    fn from(e: E) -> Self {
        let problem = e.problem();
        log_if_server_error(&problem, &e);
        Self(problem)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }
    fn error_response(&self) -> HttpResponse {
        self.0.to_html_response()
    }
}

/// Implements `ResponseError` (problem+json, 5xx logged once) for a service error enum that
/// implements [`IntoProblem`].
#[macro_export]
macro_rules! problem_response {
    ($error:ty) => {
        impl actix_web::ResponseError for $error {
            fn status_code(&self) -> actix_web::http::StatusCode {
                $crate::problem::IntoProblem::problem(self).status
            }
            fn error_response(&self) -> actix_web::HttpResponse {
                let problem = $crate::problem::IntoProblem::problem(self);
                $crate::problem::log_if_server_error(&problem, self);
                problem.to_response()
            }
        }
    };
}

/// The problem for a database failure: 503 with `Retry-After` when the database cannot serve
/// at the moment ([`crate::DbError::Unavailable`], which `DbError::from` picks for lost
/// connections, failovers, shutdowns, locks and timeouts), 500 for anything a retry will not fix.
pub fn db_problem(e: &crate::DbError) -> Problem {
    match e {
        crate::DbError::Unavailable(_) => Problem::unavailable(),
        _ => Problem::internal(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::body::MessageBody;

    fn body_json(resp: HttpResponse) -> serde_json::Value {
        let bytes = resp.into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn problem_json_has_the_rfc9457_members() {
        let resp = Problem::invalid("title", "must not be empty").to_response();
        assert_eq!(resp.status(), 422);
        assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
        let v = body_json(resp);
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["title"], "Unprocessable Entity");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][0]["field"], "title");
    }

    #[test]
    fn unauthorized_carries_the_bearer_challenge() {
        let resp = Problem::unauthorized(Challenge::InvalidToken).to_response();
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), r#"Bearer realm="lectern", error="invalid_token""#);
        assert_eq!(body_json(resp)["detail"], "invalid_token");
        let resp = Problem::unauthorized(Challenge::Bearer).to_response();
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), r#"Bearer realm="lectern""#);
    }

    #[test]
    fn server_errors_say_nothing_of_their_cause() {
        let v = body_json(Problem::internal().to_response());
        assert_eq!(v["status"], 500);
        assert!(!v["detail"].as_str().unwrap().contains("diesel"));
        let resp = Problem::too_many_requests(30).to_response();
        assert_eq!(resp.headers().get("retry-after").unwrap(), "30");
    }

    #[test]
    fn a_database_outage_is_503_with_retry_after_on_api_and_pages() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let lost = |kind| crate::DbError::from(Error::DatabaseError(kind, Box::new(String::from("gone"))));
        for e in [
            lost(Kind::ClosedConnection),
            lost(Kind::UnableToSendCommand),
            lost(Kind::ReadOnlyTransaction),
            lost(Kind::SerializationFailure),
            crate::DbError::from(Error::DatabaseError(
                Kind::Unknown,
                Box::new(String::from("terminating connection due to administrator command")),
            )),
            crate::DbError::from(Error::DatabaseError(Kind::Unknown, Box::new(String::from("database is locked")))),
            crate::DbError::from(Error::BrokenTransactionManager),
            crate::DbError::Unavailable("pool timed out".into()),
        ] {
            let problem = db_problem(&e);
            for resp in [problem.to_response(), problem.to_html_response()] {
                assert_eq!(resp.status(), 503, "{e}");
                assert_eq!(resp.headers().get("retry-after").unwrap(), "1", "{e}");
            }
        }
        // Real bugs and broken rules stay 500.
        for e in [
            crate::DbError::from(Error::NotFound),
            crate::DbError::from(Error::DatabaseError(Kind::UniqueViolation, Box::new(String::from("dup")))),
            crate::DbError::from(Error::DatabaseError(
                Kind::Unknown,
                Box::new(String::from("column \"nope\" does not exist")),
            )),
            crate::DbError::Migration("x".into()),
        ] {
            assert_eq!(db_problem(&e).status, 500, "{e}");
        }
    }
}
