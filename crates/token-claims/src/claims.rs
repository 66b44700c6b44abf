//! The access-token profile of docs/security.md: the claims auth-core signs ([`AccessClaims`]), the
//! closed set of roles and audiences, and what a successful verification hands to a service
//! ([`VerifiedClaims`], typed fields rather than a raw claim map).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `typ` header of every access token (RFC 9068 §2.1), compared exactly.
pub const TOKEN_TYPE: &str = "at+jwt";

/// What a user is on the platform. The set is closed: an unknown value in a token is rejected
/// (rule 6), never mapped to a default.
///
/// Deliberately not `PartialOrd`: roles are kinds of user, not privilege levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Creates and runs courses, grades submissions.
    Teacher,
    /// Enrolls in courses, submits work.
    Student,
}

impl Role {
    /// The claim value, as in tokens and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Student => "student",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not exactly `teacher` or `student`.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error("unknown role")]
pub struct ParseRoleError;

impl FromStr for Role {
    type Err = ParseRoleError;

    /// Exact lowercase match only: `"Teacher"` or `" teacher"` is not a role.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "teacher" => Ok(Self::Teacher),
            "student" => Ok(Self::Student),
            _ => Err(ParseRoleError),
        }
    }
}

/// A service that accepts access tokens; each checks that `aud` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// course-service.
    Courses,
    /// grading-service.
    Grading,
}

impl Audience {
    /// Every audience, in the order auth-core lists them in `aud`.
    pub const ALL: [Audience; 2] = [Audience::Courses, Audience::Grading];

    /// The `aud` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Courses => "lectern-courses",
            Self::Grading => "lectern-grading",
        }
    }
}

/// The claims auth-core signs into an access token (docs/security.md's table).
///
/// Verification does not deserialize into this type: [`Verifier`](crate::Verifier) checks each
/// claim itself so that a wrong type is a precise error. It is the shape to *sign*.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer, `lectern` by default.
    pub iss: String,
    /// The user's id.
    pub sub: Uuid,
    /// Every service the token is meant for ([`Audience::ALL`]).
    pub aud: Vec<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// A fresh id for this token.
    pub jti: Uuid,
    /// The session the token belongs to; revoking it revokes the token (rule 7).
    pub sid: Uuid,
    /// The user's role.
    pub role: Role,
    /// Display name.
    pub name: String,
}

/// What a successful verification yields: typed, checked values only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// `sub`.
    pub user_id: Uuid,
    /// `sid`.
    pub session_id: Uuid,
    /// `jti`.
    pub token_id: Uuid,
    /// `role`.
    pub role: Role,
    /// `name` (empty when the token has none).
    pub name: String,
    /// `iat`, Unix seconds.
    pub issued_at: i64,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn role_round_trips_through_str_display_and_serde() {
        for role in [Role::Teacher, Role::Student] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn role_parsing_is_exact() {
        for bad in ["Teacher", "STUDENT", " teacher", "teacher ", "admin", ""] {
            assert_eq!(bad.parse::<Role>(), Err(ParseRoleError), "{bad:?}");
            assert!(serde_json::from_str::<Role>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn audiences() {
        let names: Vec<_> = Audience::ALL.iter().map(Audience::as_str).collect();
        assert_eq!(names, ["lectern-courses", "lectern-grading"]);
    }
}
