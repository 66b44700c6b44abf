//! argon2id hashing (m = 19456 KiB, t = 2, p = 1: OWASP's parameters) on its own bounded pool.
//!
//! Hashing costs tens of milliseconds of CPU, so it never runs on the async workers: each hash
//! takes a permit (one per core) and runs on the blocking pool, and a burst of sign-ins waits
//! for permits instead of starving the requests that serve pages.

use crate::error::AuthError;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the email is unknown so that both
    /// failures cost the same time.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

fn argon() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| AuthError::Unexpected(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(argon: &Argon2<'static>, password: &[u8]) -> Result<String, AuthError> {
    argon.hash_password(password).map(|h| h.to_string()).map_err(|e| AuthError::Unexpected(e.to_string()))
}

impl PasswordHasher {
    pub fn new() -> Result<Self, AuthError> {
        let argon = argon()?;
        let random: [u8; 32] = rand::random();
        let dummy_hash = hash_blocking(&argon, &random)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self { argon, permits: Arc::new(Semaphore::new(cores)), dummy_hash: dummy_hash.into() })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self.permits.acquire().await.map_err(|e| AuthError::Unexpected(e.to_string()))?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || work(&argon)).await.map_err(|e| AuthError::Unexpected(e.to_string()))
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move |argon| hash_blocking(argon, password.as_bytes())).await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown email) it checks against
    /// the dummy hash and answers false, taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AuthError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = self
            .run(move |argon| {
                // Parameters come from the stored string, so raising them later keeps old
                // hashes verifiable.
                argon.verify_password(password.as_bytes(), hash.as_str()).is_ok()
            })
            .await?;
        Ok(known && matched)
    }

    /// Synchronous hash for the CLI and the demo seed.
    pub fn hash_now(&self, password: &str) -> Result<String, AuthError> {
        hash_blocking(&self.argon, password.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters() {
        let hasher = PasswordHasher::new().unwrap();
        let hash = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery staple".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("correct horse battery stapl".into(), Some(hash.clone())).await.unwrap());
        let again = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = PasswordHasher::new().unwrap();
        assert!(!hasher.verify("anything at all 123".into(), None).await.unwrap());
        assert!(!hasher.verify("anything at all 123".into(), Some("not a phc string".into())).await.unwrap());
    }
}
