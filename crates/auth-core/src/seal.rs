//! Sealing at rest: auth-core's private signing keys and secrets are stored in the database
//! encrypted with a key-encryption key (KEK) that only auth-core has, in a file outside the
//! database (`LECTERN_KEY_ENCRYPTION_KEY_FILE`; with SQLite, beside the database file). A copy of
//! the database alone (a backup, a dump, an injection in another service) cannot mint tokens.
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per value; the associated data names what the
//! value is (`signing-key:KID`, `secret:NAME`), so a sealed value moved to another row does not
//! open. Stored as `v1.` followed by base64url of nonce and ciphertext.

use crate::error::AuthError;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The key-encryption key. Never printed: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Kek(XChaCha20Poly1305);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(&bytes.into()))
    }

    /// A fresh random key (tests, and [`Kek::load_or_create`]).
    pub fn generate() -> ([u8; 32], Self) {
        let bytes: [u8; 32] = rand::random();
        (bytes, Self::from_bytes(bytes))
    }

    /// Reads the KEK file (32 bytes, base64), creating it with a fresh key and mode 0600 when it
    /// does not exist. A file that others may read is refused: the KEK is what keeps a copy of the
    /// database from signing tokens.
    pub fn load_or_create(path: &Path) -> Result<Self, AuthError> {
        let shown = path.display();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path)?;
                let bytes =
                    STANDARD.decode(text.trim()).map_err(|_| AuthError::Unexpected(format!("{shown}: not base64")))?;
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| AuthError::Unexpected(format!("{shown}: a key-encryption key is 32 bytes")))?;
                Ok(Self::from_bytes(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (bytes, kek) = Self::generate();
                write_private(path, format!("{}\n", STANDARD.encode(bytes)).as_bytes())
                    .map_err(|e| AuthError::Unexpected(format!("creating {shown}: {e}")))?;
                tracing::warn!(path = %shown, "created a new key-encryption key: back it up with the database");
                Ok(kek)
            }
            Err(e) => Err(AuthError::Unexpected(format!("reading {shown}: {e}"))),
        }
    }

    /// Seals `plain` for the row named by `label`.
    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<String, AuthError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: label.as_bytes() })
            .map_err(|_| AuthError::Unexpected("sealing failed".into()))?;
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat())))
    }

    /// Opens a value sealed for `label`. The wrong KEK, a changed value or a value moved from
    /// another row all fail.
    pub fn open(&self, label: &str, stored: &str) -> Result<Vec<u8>, AuthError> {
        let refuse = || AuthError::Unexpected(format!("{label}: cannot be opened with this key-encryption key"));
        let body = stored.strip_prefix(PREFIX).ok_or_else(refuse)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| refuse())?;
        if bytes.len() < NONCE_LEN {
            return Err(refuse());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: label.as_bytes() }).map_err(|_| refuse())
    }
}

/// Whether a stored value is sealed (rows from before sealing are upgraded at start).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| AuthError::Unexpected(format!("{}: {e}", path.display())))?;
    if mode.permissions().mode() & 0o077 != 0 {
        return Err(AuthError::Unexpected(format!(
            "{}: the key-encryption key must be readable by its owner only (chmod 600)",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), AuthError> {
    Ok(())
}

/// Creates `path` readable and writable by its owner only (mode 0600), failing if it exists.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_label() {
        let (_, kek) = Kek::generate();
        let sealed = kek.seal("signing-key:abc", b"private key bytes").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("private"));
        assert_eq!(kek.open("signing-key:abc", &sealed).unwrap(), b"private key bytes");
        assert!(kek.open("signing-key:other", &sealed).is_err(), "moved to another row");
        let (_, other) = Kek::generate();
        assert!(other.open("signing-key:abc", &sealed).is_err(), "another key-encryption key");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(kek.open("signing-key:abc", &tampered).is_err(), "changed");
        assert_ne!(kek.seal("x", b"same").unwrap(), kek.seal("x", b"same").unwrap(), "a fresh nonce each time");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lectern.db.kek");
        let kek = Kek::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = kek.seal("secret:csrf", b"x").unwrap();
        let again = Kek::load_or_create(&path).unwrap();
        assert_eq!(again.open("secret:csrf", &sealed).unwrap(), b"x", "the same key is read back");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Kek::load_or_create(&path).is_err(), "a key file others can read is refused");
    }
}
