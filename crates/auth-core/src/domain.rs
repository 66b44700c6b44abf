//! Parsed account input: once an `Email`, `Password` or `DisplayName` exists it obeys its rules.

use crate::error::AuthError;
use secrecy::{ExposeSecret, SecretString};

/// A lower-cased, trimmed email address of plausible shape. (Deliverability is not checked:
/// Lectern sends no mail.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let email = raw.trim().to_lowercase();
        let bad = || AuthError::invalid("email", "must be an email address such as ada@example.org");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(bad());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 12 to 128 characters and not guessable (docs/security.md). Held as a secret so
/// it never reaches a log by accident.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// How much of a new password the strength check reads.
const STRENGTH_CHECK_CHARS: usize = 64;

impl Password {
    /// `context` (email, name) counts against the password, as people often reuse them.
    pub fn parse(raw: &str, context: &[&str]) -> Result<Self, AuthError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(AuthError::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(AuthError::invalid("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
        }
        // zxcvbn matches the password against lists of common passwords, words, names and
        // keyboard patterns; a score below 3 means it falls to an online guessing budget. Its
        // cost grows with the length (about 20 ms for 128 repeated characters), so it sees the
        // first 64 characters: strength there is a lower bound for the whole.
        let probe: String = raw.chars().take(STRENGTH_CHECK_CHARS).collect();
        let score: u8 = zxcvbn::zxcvbn(&probe, context).score().into();
        if score < 3 {
            return Err(AuthError::invalid(
                "password",
                "is too common or too easy to guess; try a few unrelated words",
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// What other people see: 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 {
            return Err(AuthError::invalid("display_name", "must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(AuthError::invalid("display_name", "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("  Ada@Example.ORG ").unwrap().as_str(), "ada@example.org");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a da@example.org",
            "ada@@example.org",
            "ada@-x.org",
            "ada@x..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_length_and_strength() {
        assert!(Password::parse("short", &[]).is_err());
        assert!(Password::parse(&"x".repeat(129), &[]).is_err());
        for common in ["password1234", "123456789012", "qwertyuiop123", "iloveyou1234"] {
            assert!(Password::parse(common, &[]).is_err(), "{common}");
        }
        assert!(Password::parse("ada@example.org1", &["ada@example.org"]).is_err());
        assert!(Password::parse("correct horse battery staple", &[]).is_ok());
        assert!(Password::parse(&"é".repeat(12), &[]).is_err(), "repetition is weak");
    }

    #[test]
    fn display_names() {
        assert_eq!(DisplayName::parse("  Ada Lovelace ").unwrap().as_str(), "Ada Lovelace");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
        assert!(DisplayName::parse("Ada\u{0}").is_err());
    }
}
