//! The crate's error types.
//!
//! [`VerifyError`] is the outcome of a rejected token and is what request paths see; every variant
//! becomes the same `401 invalid_token` at the HTTP edge, and [`VerifyError::reason`] /
//! [`VerifyError::rule`] exist only for metrics and logs. The other two types are start-up
//! problems: [`ConfigError`] for a verifier that must not be built, [`KeySetError`] for key
//! material that cannot be used (a whole JWKS document, or one key of it, see [`KeyRejection`]).

use jsonwebtoken::Algorithm;

/// Why a token was rejected, named after the docs/security.md verification rule that caught it.
///
/// Never show these details to the client: the answer is always `invalid_token`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Rule 1: the token is longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES).
    #[error("token too large")]
    TooLarge,
    /// Rule 1: not three non-empty, canonical, unpadded base64url segments
    /// (also: a payload that is not a JSON object of claims).
    #[error("malformed token")]
    Malformed,
    /// Rule 2: the protected header is not a JSON object of the expected shape
    /// (wrong member types, duplicate members).
    #[error("malformed header")]
    BadHeader,
    /// Rule 2: `typ` is not exactly `at+jwt`.
    #[error("wrong token type")]
    WrongType,
    /// Rule 2: `alg` is not in the verifier's allow-list (compared as an exact string).
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// Rule 2: a `crit` header is present; we understand no extensions.
    #[error("critical header present")]
    CriticalHeader,
    /// Rule 2: `jku`, `x5u`, `jwk` or `x5c` is present; keys never come from the token.
    #[error("untrusted key header present")]
    UntrustedHeader,
    /// Rule 3: `kid` is missing or names no key of the key set.
    #[error("unknown key id")]
    UnknownKid,
    /// Rule 3: the key named by `kid` is bound to another algorithm than the header's `alg`.
    #[error("key algorithm mismatch")]
    KeyAlgorithmMismatch,
    /// Rule 4: the signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Rule 5: `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// Rule 5: `aud` does not contain this service's audience.
    #[error("wrong audience")]
    WrongAudience,
    /// Rule 5: `exp` (plus leeway) is in the past.
    #[error("token expired")]
    Expired,
    /// Rule 5: `nbf` is further in the future than the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// Rule 5: a required claim is absent.
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// Rule 5: a claim has the wrong type or an impossible value.
    #[error("bad claim `{0}`")]
    BadClaim(&'static str),
    /// Rule 5: `exp - iat` is longer than the configured access-token lifetime. A token that lives
    /// longer than the verifier expects could outlive the revocation of its session, which each
    /// process remembers only for that lifetime (plus leeway).
    #[error("token lifetime too long")]
    LifetimeTooLong,
    /// Rule 6: `role` is not one of the closed set of roles.
    #[error("unknown role")]
    UnknownRole,
    /// Rule 7: the token's session has been revoked.
    #[error("session revoked")]
    Revoked,
}

impl VerifyError {
    /// A stable snake_case label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::BadHeader => "bad_header",
            Self::WrongType => "wrong_type",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::CriticalHeader => "critical_header",
            Self::UntrustedHeader => "untrusted_header",
            Self::UnknownKid => "unknown_kid",
            Self::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MissingClaim(_) => "missing_claim",
            Self::BadClaim(_) => "bad_claim",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::UnknownRole => "unknown_role",
            Self::Revoked => "revoked",
        }
    }

    /// The docs/security.md verification rule (1..=7) this failure belongs to.
    pub fn rule(&self) -> u8 {
        match self {
            Self::TooLarge | Self::Malformed => 1,
            Self::BadHeader
            | Self::WrongType
            | Self::AlgorithmNotAllowed
            | Self::CriticalHeader
            | Self::UntrustedHeader => 2,
            Self::UnknownKid | Self::KeyAlgorithmMismatch => 3,
            Self::BadSignature => 4,
            Self::WrongIssuer
            | Self::WrongAudience
            | Self::Expired
            | Self::NotYetValid
            | Self::MissingClaim(_)
            | Self::BadClaim(_)
            | Self::LifetimeTooLong => 5,
            Self::UnknownRole => 6,
            Self::Revoked => 7,
        }
    }
}

/// A [`Verifier`](crate::Verifier) configuration that must not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The issuer is empty, so any `iss` check would be meaningless.
    #[error("the issuer must not be empty")]
    EmptyIssuer,
    /// docs/security.md rule 5 caps the clock-skew leeway.
    #[error("leeway of {0} s exceeds the maximum of {max} s", max = crate::MAX_LEEWAY_SECS)]
    LeewayTooLarge(u64),
    /// An empty allow-list would reject every token.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// Only EdDSA and ES256 may be allowed; HS* never (a shared secret lets every service mint tokens).
    #[error("algorithm {0:?} may not be allowed (only EdDSA and ES256)")]
    AlgorithmNotAllowed(Algorithm),
    /// jsonwebtoken has no usable crypto backend (none or both of its backend features are on).
    #[error("no jsonwebtoken crypto backend is installed (enable exactly one of rust_crypto, aws_lc_rs)")]
    NoCryptoBackend,
}

/// Key material that cannot be used for verification.
///
/// Returned for a whole JWKS document that does not parse, and carried by [`KeyRejection`] for
/// each individual key that [`KeySet`](crate::KeySet) skipped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KeySetError {
    /// The document is not a JSON object with a `keys` array.
    #[error("invalid JWKS document: {0}")]
    InvalidDocument(String),
    /// One entry of `keys` is not a JWK.
    #[error("invalid JWK: {0}")]
    InvalidKey(String),
    /// The key has no (or an empty) `kid`, so no token could name it.
    #[error("key has no kid")]
    MissingKid,
    /// An earlier key of the same set already has this `kid`; the first one is kept.
    #[error("duplicate kid")]
    DuplicateKid,
    /// `use` is present and is not `sig`.
    #[error("key is not for signatures")]
    WrongUse,
    /// The key has no `alg`: RFC 8725 §3.1 binds each key to exactly one algorithm.
    #[error("key has no alg")]
    MissingAlg,
    /// The key's `alg` is not EdDSA or ES256.
    #[error("key algorithm {0} is not accepted")]
    UnsupportedAlg(String),
    /// `kty`/`crv` do not match the key's `alg` (EdDSA: OKP Ed25519; ES256: EC P-256).
    #[error("key type or curve does not match its alg")]
    KeyTypeMismatch,
    /// The public key bytes are malformed (wrong length, bad encoding, not a curve point).
    #[error("bad key material: {0}")]
    BadKeyMaterial(&'static str),
    /// Thumbprints are computed for OKP (Ed25519) and EC (P-256/384/521) public keys only.
    #[error("thumbprint needs an Ed25519 OKP or NIST-curve EC public key")]
    UnsupportedKeyType,
    /// jsonwebtoken has no usable crypto backend to check the key with.
    #[error("no jsonwebtoken crypto backend is installed")]
    NoCryptoBackend,
}

/// A key that [`KeySet`](crate::KeySet) skipped, and why; for the caller to log.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("key {kid:?} rejected: {reason}")]
pub struct KeyRejection {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: KeySetError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_failures() {
        let cases = [
            (VerifyError::TooLarge, 1, "too_large"),
            (VerifyError::Malformed, 1, "malformed"),
            (VerifyError::BadHeader, 2, "bad_header"),
            (VerifyError::WrongType, 2, "wrong_type"),
            (VerifyError::AlgorithmNotAllowed, 2, "algorithm_not_allowed"),
            (VerifyError::CriticalHeader, 2, "critical_header"),
            (VerifyError::UntrustedHeader, 2, "untrusted_header"),
            (VerifyError::UnknownKid, 3, "unknown_kid"),
            (VerifyError::KeyAlgorithmMismatch, 3, "key_algorithm_mismatch"),
            (VerifyError::BadSignature, 4, "bad_signature"),
            (VerifyError::WrongIssuer, 5, "wrong_issuer"),
            (VerifyError::WrongAudience, 5, "wrong_audience"),
            (VerifyError::Expired, 5, "expired"),
            (VerifyError::NotYetValid, 5, "not_yet_valid"),
            (VerifyError::MissingClaim("exp"), 5, "missing_claim"),
            (VerifyError::BadClaim("iat"), 5, "bad_claim"),
            (VerifyError::UnknownRole, 6, "unknown_role"),
            (VerifyError::Revoked, 7, "revoked"),
        ];
        for (error, rule, reason) in cases {
            assert_eq!(error.rule(), rule, "{error:?}");
            assert_eq!(error.reason(), reason, "{error:?}");
        }
    }

    #[test]
    fn claim_name_is_in_the_message() {
        assert_eq!(VerifyError::MissingClaim("sid").to_string(), "missing claim `sid`");
    }
}
