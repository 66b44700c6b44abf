//! Public verification keys: which keys a service trusts, by `kid` (rule 3).
//!
//! A [`KeySet`] is built from a JWKS document (RFC 7517) that auth-core publishes. Every key is
//! checked once, here, so the request path never meets a key it cannot use:
//!
//! - it has a `kid` (tokens name their key; the kid is only ever a map key);
//! - its `alg` is present and is EdDSA or ES256 (RFC 8725 §3.1: one algorithm per key; no `oct`
//!   or RSA key can ever enter the set, so HMAC confusion is impossible);
//! - `use`, if present, is `sig`;
//! - EdDSA keys are OKP/Ed25519 with an `x` of exactly 32 bytes, ES256 keys are EC/P-256 with
//!   32-byte `x` and `y`. The length check also guards a panic in jsonwebtoken's `rust_crypto`
//!   EdDSA verifier, which slices `key[..32]` (and panics on a shorter key);
//! - the crypto backend accepts the point.
//!
//! Keys that fail are skipped and listed in [`KeySet::rejected`], so one bad entry in a
//! document does not take the good ones down with it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::{KeyRejection, KeySetError, VerifyError};

/// Where fresh keys come from when a token names an unknown `kid`: auth-core's JWKS over HTTP,
/// or its local key ring when it verifies its own tokens.
pub trait KeySource: Send + Sync {
    /// Fetches the current key set; the error is for logs only.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<KeySet, String>> + Send + '_>>;
}

/// One trusted public key, bound to exactly one algorithm.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    kid: String,
    alg: Algorithm,
    key: DecodingKey,
}

impl VerifyingKey {
    /// Checks a public JWK against the acceptance rules of this module.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeySetError> {
        let kid = jwk.common.key_id.as_deref().filter(|kid| !kid.is_empty()).ok_or(KeySetError::MissingKid)?;
        if jwk.common.public_key_use.as_ref().is_some_and(|key_use| *key_use != PublicKeyUse::Signature) {
            return Err(KeySetError::WrongUse);
        }
        let alg = match jwk.common.key_algorithm {
            None => return Err(KeySetError::MissingAlg),
            Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
            Some(KeyAlgorithm::ES256) => Algorithm::ES256,
            Some(other) => return Err(KeySetError::UnsupportedAlg(other.to_string())),
        };
        let key = match (alg, &jwk.algorithm) {
            (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(okp)) if okp.curve == EllipticCurve::Ed25519 => {
                check_coordinate(&okp.x)?;
                DecodingKey::from_ed_components(&okp.x)
            }
            (Algorithm::ES256, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => {
                check_coordinate(&ec.x)?;
                check_coordinate(&ec.y)?;
                DecodingKey::from_ec_components(&ec.x, &ec.y)
            }
            _ => return Err(KeySetError::KeyTypeMismatch),
        }
        .map_err(|_| KeySetError::BadKeyMaterial("undecodable coordinate"))?;

        // Build the backend's verifier once now, so a point that is not on the curve is found
        // while loading keys rather than on every request.
        let provider = CryptoProvider::try_get_default().ok_or(KeySetError::NoCryptoBackend)?;
        (provider.verifier_factory)(&alg, &key).map_err(|_| KeySetError::BadKeyMaterial("not a valid public key"))?;

        Ok(Self { kid: kid.to_owned(), alg, key })
    }

    /// The key id tokens use to name this key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Verifies a raw signature (RFC 7518 encoding: 64-byte Ed25519 or ES256 `R || S`) over
    /// `message` with this key's algorithm, through jsonwebtoken's crypto backend.
    ///
    /// This is the rule-4 primitive only; tokens go through [`Verifier`](crate::Verifier).
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        let provider = CryptoProvider::try_get_default().ok_or(VerifyError::BadSignature)?;
        let verifier = (provider.verifier_factory)(&self.alg, &self.key).map_err(|_| VerifyError::BadSignature)?;
        verifier.verify(message, &signature.to_vec()).map_err(|_| VerifyError::BadSignature)
    }
}

/// A 32-byte curve coordinate in canonical unpadded base64url, i.e. exactly 43 characters.
fn check_coordinate(b64: &str) -> Result<(), KeySetError> {
    match URL_SAFE_NO_PAD.decode(b64) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        Ok(_) => Err(KeySetError::BadKeyMaterial("coordinate is not 32 bytes")),
        Err(_) => Err(KeySetError::BadKeyMaterial("coordinate is not base64url")),
    }
}

/// The public keys a verifier trusts, by `kid`.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: BTreeMap<String, VerifyingKey>,
    rejected: Vec<KeyRejection>,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys":[...]}`).
    ///
    /// Only a document that is not such an object is an error; entries that are not usable
    /// keys (including entries that are not even JWKs) are skipped and listed in
    /// [`rejected`](Self::rejected).
    pub fn from_jwks_json(json: &str) -> Result<KeySet, KeySetError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }

        let document: Document =
            serde_json::from_str(json).map_err(|error| KeySetError::InvalidDocument(error.to_string()))?;
        let mut set = KeySet::default();
        for entry in document.keys {
            let kid = entry.get("kid").and_then(serde_json::Value::as_str).map(str::to_owned);
            match serde_json::from_value::<Jwk>(entry) {
                Ok(jwk) => set.add(&jwk),
                Err(error) => {
                    set.rejected.push(KeyRejection { kid, reason: KeySetError::InvalidKey(error.to_string()) })
                }
            }
        }
        Ok(set)
    }

    /// Takes the usable keys of `set`; the others are listed in [`rejected`](Self::rejected).
    pub fn from_jwk_set(set: &JwkSet) -> KeySet {
        let mut keys = KeySet::default();
        for jwk in &set.keys {
            keys.add(jwk);
        }
        keys
    }

    fn add(&mut self, jwk: &Jwk) {
        let rejection = match VerifyingKey::from_jwk(jwk) {
            Ok(key) => match self.keys.entry(key.kid.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(key);
                    return;
                }
                Entry::Occupied(_) => KeySetError::DuplicateKid,
            },
            Err(reason) => reason,
        };
        self.rejected.push(KeyRejection { kid: jwk.common.key_id.clone(), reason: rejection });
    }

    /// The keys that were skipped, with the reason, for the caller to log.
    pub fn rejected(&self) -> &[KeyRejection] {
        &self.rejected
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// The kids of the usable keys, in sorted order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// How many usable keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The RFC 7638 thumbprint of an OKP or EC public JWK: base64url(SHA-256) of its required
/// members in lexicographic order, without whitespace. auth-core uses it as the `kid`.
pub fn jwk_thumbprint(jwk: &Jwk) -> Result<String, KeySetError> {
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(okp) => {
            let crv = match okp.curve {
                EllipticCurve::Ed25519 => "Ed25519",
                _ => return Err(KeySetError::UnsupportedKeyType),
            };
            let x = base64url_member(&okp.x)?;
            format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let crv = match ec.curve {
                EllipticCurve::P256 => "P-256",
                EllipticCurve::P384 => "P-384",
                EllipticCurve::P521 => "P-521",
                _ => return Err(KeySetError::UnsupportedKeyType),
            };
            let (x, y) = (base64url_member(&ec.x)?, base64url_member(&ec.y)?);
            format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
        }
        _ => return Err(KeySetError::UnsupportedKeyType),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// A member that can be written between quotes as is: base64url needs no JSON escaping.
fn base64url_member(value: &str) -> Result<&str, KeySetError> {
    let is_base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if !value.is_empty() && value.bytes().all(is_base64url) {
        Ok(value)
    } else {
        Err(KeySetError::BadKeyMaterial("member is not base64url"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// RFC 8037 appendix A.2 (its thumbprint known answer is in tests/it/vectors.rs).
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn thumbprint_ignores_optional_members() {
        let bare = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}));
        let dressed = jwk(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "k", "alg": "EdDSA", "use": "sig"
        }));
        assert_eq!(jwk_thumbprint(&bare), jwk_thumbprint(&dressed));
    }

    #[test]
    fn thumbprint_refuses_symmetric_and_rsa_keys() {
        let oct = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}));
        let rsa = jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}));
        assert_eq!(jwk_thumbprint(&oct), Err(KeySetError::UnsupportedKeyType));
        assert_eq!(jwk_thumbprint(&rsa), Err(KeySetError::UnsupportedKeyType));
    }
}
