//! Compact JWS, rules 1 to 4 of docs/security.md: structure, protected header, key, signature.
//!
//! Nothing here trusts the token to choose anything: the algorithm must be in a caller's
//! allow-list (compared as an exact string), the key comes from the caller, and header members
//! that would point at other keys (`jku`, `x5u`, `jwk`, `x5c`) or demand extensions (`crit`)
//! reject the token outright. The payload is returned only after the signature verifies.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, de::IgnoredAny};

use crate::error::VerifyError;
use crate::keys::VerifyingKey;

/// Rule 1: the largest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The JOSE name of each algorithm this crate can ever accept. Everything else, HS* above all,
/// is unrepresentable in an allow-list.
pub(crate) fn jose_name(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::EdDSA => Some("EdDSA"),
        Algorithm::ES256 => Some("ES256"),
        _ => None,
    }
}

/// Verifies a compact JWS at the signature level only, with one given key: rules 1 to 4 minus
/// the access-token requirements (`typ`, `kid`).
///
/// The token must be well formed (rule 1), its `alg` must be in `algorithms` (which can only
/// ever admit EdDSA and ES256) and equal to the key's algorithm, and it must carry neither
/// `crit` nor a key-bearing header (rule 2). Returns the verified payload bytes.
///
/// This is for conformance tests and other non-token uses. Access tokens go through
/// [`Verifier::verify`](crate::Verifier::verify), which adds `typ`, `kid` and the claims.
pub fn verify_jws_signature(token: &str, key: &VerifyingKey, algorithms: &[Algorithm]) -> Result<Vec<u8>, VerifyError> {
    verify_compact(token, algorithms, None, |_| Ok(key))
}

/// Rules 1 to 4. `expected_type` is checked against `typ` when given; `select_key` gets the
/// header's `kid` and returns the key to verify with.
pub(crate) fn verify_compact<'k>(
    token: &str,
    algorithms: &[Algorithm],
    expected_type: Option<&str>,
    select_key: impl FnOnce(Option<&str>) -> Result<&'k VerifyingKey, VerifyError>,
) -> Result<Vec<u8>, VerifyError> {
    // Rule 1.
    let jws = CompactJws::split(token)?;
    // Rule 2.
    let header = Header::parse(&jws.header)?;
    if let Some(expected) = expected_type
        && header.typ.as_deref() != Some(expected)
    {
        return Err(VerifyError::WrongType);
    }
    let alg = header.algorithm(algorithms)?;
    header.check_extensions()?;
    // Rule 3.
    let key = select_key(header.kid.as_deref())?;
    if key.alg() != alg {
        return Err(VerifyError::KeyAlgorithmMismatch);
    }
    // Rule 4.
    key.verify_signature(jws.signing_input.as_bytes(), &jws.signature)?;
    Ok(jws.payload)
}

/// The three decoded segments of a compact JWS.
struct CompactJws<'a> {
    /// `header_b64 "." payload_b64`, exactly as received: what the signature covers.
    signing_input: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Rule 1: size, exactly three segments, each non-empty canonical unpadded base64url.
    ///
    /// `URL_SAFE_NO_PAD` does the per-segment work: it refuses characters outside
    /// `[A-Za-z0-9_-]` (so `=`, `+`, `/`, whitespace), impossible lengths, and non-zero
    /// trailing bits, so every accepted token has exactly one encoding.
    fn split(token: &'a str) -> Result<Self, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(VerifyError::Malformed);
        };
        Ok(Self {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header: decode_segment(header)?,
            payload: decode_segment(payload)?,
            signature: decode_segment(signature)?,
        })
    }
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, VerifyError> {
    if segment.is_empty() {
        return Err(VerifyError::Malformed);
    }
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| VerifyError::Malformed)
}

/// The protected header, strictly: serde refuses duplicate members, so no two parsers can
/// disagree about which `alg` or `kid` a token has.
#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
}

/// `true` whenever the member appears, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl Header {
    fn parse(json: &[u8]) -> Result<Self, VerifyError> {
        serde_json::from_slice(json).map_err(|_| VerifyError::BadHeader)
    }

    /// The allowed algorithm whose JOSE name is exactly `alg` (so `none`, `NONE`, `HS256`
    /// or `EdDSA ` never match).
    fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, VerifyError> {
        allowed
            .iter()
            .copied()
            .find(|alg| jose_name(*alg) == Some(self.alg.as_str()))
            .ok_or(VerifyError::AlgorithmNotAllowed)
    }

    fn check_extensions(&self) -> Result<(), VerifyError> {
        if self.crit {
            return Err(VerifyError::CriticalHeader);
        }
        if self.jku || self.x5u || self.jwk || self.x5c {
            return Err(VerifyError::UntrustedHeader);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn split_keeps_the_exact_signing_input() {
        let token = format!("{}.{}.{}", b64(b"{}"), b64(b"[1]"), b64(&[7; 64]));
        let jws = CompactJws::split(&token).unwrap();
        assert_eq!(jws.signing_input, format!("{}.{}", b64(b"{}"), b64(b"[1]")));
        assert_eq!((jws.header, jws.payload), (b"{}".to_vec(), b"[1]".to_vec()));
        assert_eq!(jws.signature, [7; 64]);
    }

    #[test]
    fn header_members_are_detected_even_when_null() {
        let header = Header::parse(br#"{"alg":"EdDSA","jku":null}"#).unwrap();
        assert_eq!(header.check_extensions(), Err(VerifyError::UntrustedHeader));
    }

    #[test]
    fn duplicate_header_members_are_refused() {
        assert!(Header::parse(br#"{"alg":"EdDSA","alg":"none"}"#).is_err());
        assert!(Header::parse(br#"{"alg":"EdDSA","kid":"a","kid":"b"}"#).is_err());
    }

    #[test]
    fn only_eddsa_and_es256_have_names() {
        assert_eq!(jose_name(Algorithm::EdDSA), Some("EdDSA"));
        assert_eq!(jose_name(Algorithm::ES256), Some("ES256"));
        for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES384] {
            assert_eq!(jose_name(alg), None, "{alg:?}");
        }
    }
}
