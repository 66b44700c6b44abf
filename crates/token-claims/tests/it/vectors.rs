//! Third-party vectors: RFC 8037 known answers and Project Wycheproof (vendored in `tests/vectors/`).
//!
//! The Wycheproof tests run every case through the crate's own signature path and count
//! agreements. A disagreement is only tolerated when its tcId is in the test's commented
//! allow-list; "acceptable" cases may go either way.

use std::collections::BTreeMap;

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Value, json};
use token_claims::{Algorithm, VerifyError, VerifyingKey, jwk_thumbprint, verify_jws_signature};

use crate::support::*;

/// RFC 8037 appendix A.2: the Ed25519 public key.
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 appendix A.4: `{"alg":"EdDSA"}` over "Example of Ed25519 signing".
const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn rfc8037_key() -> VerifyingKey {
    let jwk: Jwk = serde_json::from_value(json!({
        "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "rfc8037", "alg": "EdDSA"
    }))
    .unwrap();
    VerifyingKey::from_jwk(&jwk).unwrap()
}

#[test]
fn rfc8037_a4_signature_verifies() {
    let payload = verify_jws_signature(RFC8037_JWS, &rfc8037_key(), &[Algorithm::EdDSA]);
    assert_eq!(payload.as_deref(), Ok(&b"Example of Ed25519 signing"[..]));
}

#[test]
fn rfc8037_a4_with_a_changed_signature_does_not_verify() {
    let tampered = RFC8037_JWS.replacen("hgyY0il", "hgyY0iM", 1);
    let outcome = verify_jws_signature(&tampered, &rfc8037_key(), &[Algorithm::EdDSA]);
    assert_eq!(outcome, Err(VerifyError::BadSignature));
}

#[test]
fn rfc8037_a4_is_not_an_access_token() {
    // No typ, no kid, no claims: the signature level accepts it, the Verifier must not.
    let fixture = Fixture::new();
    assert_eq!(fixture.verify(RFC8037_JWS), Err(VerifyError::WrongType));
}

#[test]
fn rfc8037_a3_thumbprint() {
    let jwk: Jwk = serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})).unwrap();
    assert_eq!(jwk_thumbprint(&jwk).unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

#[test]
fn thumbprints_agree_with_jsonwebtoken() {
    for key in [TestKey::ed25519(), TestKey::p256()] {
        let theirs = key.jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
        assert_eq!(jwk_thumbprint(&key.jwk).unwrap(), theirs);
    }
}

/// Agreement counts of one Wycheproof file.
#[derive(Default)]
struct Tally {
    agree: usize,
    total: usize,
    /// tcId -> (expected result, comment) for each disagreement.
    disagreements: BTreeMap<u64, (String, String)>,
    /// tcIds of invalid cases that verified.
    invalid_accepted: Vec<u64>,
}

impl Tally {
    fn record(&mut self, case: &Value, verified: bool) {
        let id = case["tcId"].as_u64().unwrap();
        let expected = case["result"].as_str().unwrap();
        self.total += 1;
        let agrees = match expected {
            "valid" => verified,
            "invalid" => !verified,
            "acceptable" => true,
            other => panic!("tcId {id}: unknown result {other:?}"),
        };
        if agrees {
            self.agree += 1;
        } else {
            let comment = case["comment"].as_str().unwrap_or_default().to_owned();
            self.disagreements.insert(id, (expected.to_owned(), comment));
        }
        if expected == "invalid" && verified {
            self.invalid_accepted.push(id);
        }
    }

    /// Prints the counts and fails on any disagreement outside `allowed`.
    fn check(&self, name: &str, expected_total: usize, allowed: &[u64]) {
        println!("{name}: {}/{} agree", self.agree, self.total);
        for (id, (expected, comment)) in &self.disagreements {
            println!("  tcId {id}: expected {expected}, got the opposite ({comment})");
        }
        assert_eq!(self.total, expected_total, "{name}: number of cases");
        let unexplained: Vec<_> = self.disagreements.keys().filter(|id| !allowed.contains(id)).collect();
        assert!(unexplained.is_empty(), "{name}: unexplained disagreements {unexplained:?}");
        let stale: Vec<_> = allowed.iter().filter(|id| !self.disagreements.contains_key(id)).collect();
        assert!(stale.is_empty(), "{name}: allow-listed but agreeing now {stale:?}");
    }
}

fn key_from_jwk(jwk: Value) -> Result<VerifyingKey, String> {
    let jwk: Jwk = serde_json::from_value(jwk).map_err(|error| error.to_string())?;
    VerifyingKey::from_jwk(&jwk).map_err(|error| error.to_string())
}

#[test]
fn wycheproof_ed25519() {
    let vectors = wycheproof_vectors("ed25519_test.json");
    let mut tally = Tally::default();
    for group in vectors["testGroups"].as_array().unwrap() {
        let public = hex(group["publicKey"]["pk"].as_str().unwrap());
        let key = key_from_jwk(json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "wycheproof", "x": b64(&public)
        }));
        for case in group["tests"].as_array().unwrap() {
            let message = hex(case["msg"].as_str().unwrap());
            let signature = hex(case["sig"].as_str().unwrap());
            let verified = key.as_ref().is_ok_and(|key| key.verify_signature(&message, &signature).is_ok());
            tally.record(case, verified);
        }
    }
    // No exceptions: the backend agrees with every case.
    tally.check("ed25519", 151, &[]);
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let vectors = wycheproof_vectors("ecdsa_secp256r1_sha256_p1363_test.json");
    let mut tally = Tally::default();
    for group in vectors["testGroups"].as_array().unwrap() {
        let point = hex(group["publicKey"]["uncompressed"].as_str().unwrap());
        assert_eq!((point.len(), point[0]), (65, 4));
        let key = key_from_jwk(json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "wycheproof",
            "x": b64(&point[1..33]), "y": b64(&point[33..]),
        }));
        for case in group["tests"].as_array().unwrap() {
            let message = hex(case["msg"].as_str().unwrap());
            let signature = hex(case["sig"].as_str().unwrap());
            let verified = key.as_ref().is_ok_and(|key| key.verify_signature(&message, &signature).is_ok());
            tally.record(case, verified);
        }
    }
    // No exceptions: the backend agrees with every case (high-S signatures are "valid" in
    // Wycheproof and accepted here; revocation keys on sid, never on a token hash).
    tally.check("ecdsa p-256 p1363", 262, &[]);
}

/// Wycheproof JWS cases that are "valid" there and refused here, by design.
const JWS_REFUSED_BY_DESIGN: &[u64] = &[
    // HS256: HMAC is never in the allow-list, and no `oct` key can enter a key set
    // (docs/security.md: a shared secret would let every service mint tokens).
    1, 348, 352, 357, 358, 359, 376, 377,
    // HS256 as well, and moreover these contain `?`, which strict base64url refuses (rule 1).
    372, 373, // RS256/RS384/RS512: RSA is not in the allow-list (EdDSA and ES256 only).
    33, 259, 260, 261, 262, 263, 345, 349, 264, 265, 266, 267, 268, 269, 270, 271,
    // PS256/PS384/PS512: likewise.
    272, 273, 274, 275, 287, 288, 320, 321, 322, 323, 325, 326, 327, 328,
    // RFC 7520 figure 20: PS384 under a key whose alg is PS256. Besides RSA being refused,
    // RFC 8725 §3.1 binds one algorithm to each key.
    346, 350, // RFC 7520 figure 27: ES512 (P-521) is not supported by jsonwebtoken nor allowed here.
    347, 351,
];

#[test]
fn wycheproof_json_web_signature() {
    let vectors = wycheproof_vectors("json_web_signature_test.json");
    let allowed = [Algorithm::EdDSA, Algorithm::ES256];
    let mut tally = Tally::default();
    for group in vectors["testGroups"].as_array().unwrap() {
        let jwk = group.get("public").or_else(|| group.get("private")).unwrap();
        let key = key_from_jwk(jwk.clone());
        for case in group["tests"].as_array().unwrap() {
            let jws = case["jws"].as_str().unwrap();
            let verified = key.as_ref().is_ok_and(|key| verify_jws_signature(jws, key, &allowed).is_ok());
            tally.record(case, verified);
        }
    }
    assert!(tally.invalid_accepted.is_empty(), "invalid JWS cases verified: {:?}", tally.invalid_accepted);
    tally.check("json web signature", 401, JWS_REFUSED_BY_DESIGN);
}
