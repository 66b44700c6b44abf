//! Lectern's access-token profile and the one verifier every service uses.
//!
//! auth-core signs access tokens (a compact JWS, `typ` `at+jwt`, EdDSA) carrying
//! [`AccessClaims`]; every service checks them with a [`Verifier`] and gets typed
//! [`VerifiedClaims`] back, never a raw claim map. Nothing else in the workspace decodes tokens.
//!
//! [`Verifier::verify`] applies the verification order of `docs/security.md`, each
//! failure a distinct [`VerifyError`] that the HTTP edge turns into a bare `invalid_token`:
//!
//! 1. at most [`MAX_TOKEN_BYTES`]; three non-empty, canonical, unpadded base64url segments;
//! 2. a strict header: `typ` is `at+jwt`, `alg` is in the configured allow-list (EdDSA or ES256,
//!    HS* never), no `crit`, no `jku`/`x5u`/`jwk`/`x5c`;
//! 3. `kid` names a key of the [`KeySet`], and that key's own algorithm is the header's `alg`;
//! 4. the signature verifies (jsonwebtoken's crypto backend);
//! 5. `iss`, `aud`, `exp`/`nbf`/`iat` (with a leeway of at most 60 s, by the injected
//!    [`Clock`]), and `sub`/`sid`/`jti` as UUIDs;
//! 6. `role` is a [`Role`];
//! 7. the session is not revoked ([`RevocationCheck`], an in-memory [`RevokedSessions`]).
//!
//! This crate depends on neither the web framework nor the ORM; the services wrap it.
//!
//! ```
//! use std::sync::Arc;
//! use token_claims::{Audience, KeySet, RevokedSessions, SystemClock, Verifier, VerifierConfig, VerifyError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeySet::from_jwks_json(r#"{"keys":[]}"#)?; // normally auth-core's JWKS
//! let verifier = Verifier::new(
//!     VerifierConfig::new("lectern", Audience::Courses),
//!     keys,
//!     Arc::new(SystemClock),
//!     Arc::new(RevokedSessions::new()),
//! )?;
//! assert_eq!(verifier.verify("not-a-token"), Err(VerifyError::Malformed));
//! # Ok(())
//! # }
//! ```

mod claims;
mod clock;
mod error;
mod jws;
mod keys;
mod revocation;
mod verifier;

pub use jsonwebtoken::Algorithm;

pub use claims::{AccessClaims, Audience, ParseRoleError, Role, TOKEN_TYPE, VerifiedClaims};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ConfigError, KeyRejection, KeySetError, VerifyError};
pub use jws::{MAX_TOKEN_BYTES, verify_jws_signature};
pub use keys::{KeySet, KeySource, VerifyingKey, jwk_thumbprint};
pub use revocation::{RevocationCheck, RevokedSessions};
pub use verifier::{
    DEFAULT_LEEWAY_SECS, KEY_REFRESH_INTERVAL, MAX_LEEWAY_SECS, VERIFIED_CACHE_BYTES, Verifier, VerifierConfig,
    verified_weight,
};
