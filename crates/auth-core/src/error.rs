//! `AuthError`: every way an auth-core request can fail, each variant with its status.

use lectern_common::DbError;
use lectern_common::problem::{Challenge, IntoProblem, Problem, db_problem};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 401: unknown email or wrong password; one reply for both, so accounts cannot be probed.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// 401: a refresh token that is unknown, spent, expired or of a revoked session.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// 429: too many sign-in attempts for this account or address, or sign-ups from this address.
    #[error("too many attempts; retry in {0} s")]
    Throttled(u64),
    /// 409: the email already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 422: a field broke a rule.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// 404: nothing of the caller's by that id.
    #[error("not found")]
    NotFound,
    /// 500/503: the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// 500: anything else that should not happen (signing, hashing).
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl AuthError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

impl IntoProblem for AuthError {
    fn problem(&self) -> Problem {
        use actix_web::http::StatusCode;
        match self {
            Self::InvalidCredentials | Self::InvalidRefreshToken => Problem {
                challenge: Some(Challenge::Bearer),
                ..Problem::new(StatusCode::UNAUTHORIZED, self.to_string())
            },
            Self::Throttled(secs) => Problem::too_many_requests(*secs),
            Self::EmailTaken => Problem::new(StatusCode::CONFLICT, self.to_string()),
            Self::Invalid { field, message } => Problem::invalid(*field, message.clone()),
            Self::NotFound => Problem::not_found(),
            Self::Db(e) => db_problem(e),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

lectern_common::problem_response!(AuthError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_status() {
        let cases: [(AuthError, u16); 10] = [
            (AuthError::InvalidCredentials, 401),
            (AuthError::InvalidRefreshToken, 401),
            (AuthError::Throttled(3), 429),
            (AuthError::EmailTaken, 409),
            (AuthError::invalid("email", "bad"), 422),
            (AuthError::NotFound, 404),
            (AuthError::Db(DbError::Unavailable("down".into())), 503),
            // A connection lost mid-request (the server died or failed over) is 503, not 500.
            (
                AuthError::from(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    Box::new(String::from("server closed the connection unexpectedly")),
                )),
                503,
            ),
            (AuthError::from(diesel::result::Error::NotFound), 500),
            (AuthError::Unexpected("x".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.problem().status.as_u16(), status, "{error}");
        }
    }
}
