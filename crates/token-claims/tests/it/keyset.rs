//! Which keys a `KeySet` accepts, and that it skips the rest without failing or panicking.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use token_claims::{Algorithm, KeyRejection, KeySet, KeySetError};

use crate::support::*;

fn jwks(keys: Vec<Value>) -> String {
    json!({ "keys": keys }).to_string()
}

fn rejection(set: &KeySet, kid: &str) -> KeySetError {
    set.rejected()
        .iter()
        .find(|rejection| rejection.kid.as_deref() == Some(kid))
        .map(|rejection| rejection.reason.clone())
        .unwrap_or_else(|| panic!("{kid} was not rejected: {:?}", set.rejected()))
}

fn ed25519_jwk(kid: &str, x: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x})
}

#[test]
fn good_keys_are_kept_by_kid_with_their_algorithm() {
    let (ed, ec) = (TestKey::ed25519(), TestKey::p256());
    let json = serde_json::to_string(&jwk_set(&[&ed, &ec])).unwrap();
    let set = KeySet::from_jwks_json(&json).unwrap();
    assert!(set.rejected().is_empty());
    assert_eq!(set.len(), 2);
    assert!(!set.is_empty());
    let mut kids = vec![ed.kid.as_str(), ec.kid.as_str()];
    kids.sort_unstable();
    assert_eq!(set.kids().collect::<Vec<_>>(), kids);
    assert_eq!(set.get(&ed.kid).map(|key| key.alg()), Some(Algorithm::EdDSA));
    assert_eq!(set.get(&ec.kid).map(|key| key.alg()), Some(Algorithm::ES256));
    assert_eq!(set.get(&ec.kid).map(|key| key.kid()), Some(ec.kid.as_str()));
    assert!(set.get("missing").is_none());
}

#[test]
fn unusable_keys_are_skipped_and_listed() {
    let good = TestKey::ed25519();
    let good_x = serde_json::to_value(&good.jwk).unwrap()["x"].clone();
    let good_x = good_x.as_str().unwrap();
    let p256 = serde_json::to_value(&TestKey::p256().jwk).unwrap();
    let off_curve = URL_SAFE_NO_PAD.encode([[0; 31].as_slice(), &[1]].concat());
    let json = jwks(vec![
        serde_json::to_value(&good.jwk).unwrap(),
        json!({"kty": "oct", "alg": "HS256", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
        json!({"kty": "oct", "kid": "hmac-no-alg", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
        json!({"kty": "RSA", "alg": "RS256", "kid": "rsa", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"}),
        ed25519_jwk("short-x", "AAA"),
        ed25519_jwk("long-x", &format!("{good_x}AAAA")),
        ed25519_jwk("padded-x", &format!("{good_x}=")),
        ed25519_jwk("not-a-point", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": good_x}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "no-alg", "x": good_x}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "enc", "kid": "enc", "x": good_x}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "kid": "okp-es256", "x": good_x}),
        json!({"kty": "EC", "crv": "P-256", "alg": "EdDSA", "kid": "ec-eddsa", "x": p256["x"], "y": p256["y"]}),
        json!({"kty": "EC", "crv": "P-384", "alg": "ES256", "kid": "p384", "x": p256["x"], "y": p256["y"]}),
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "off-curve", "x": off_curve, "y": off_curve}),
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "short-y", "x": p256["x"], "y": "AAA"}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "numeric-x", "x": 5}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "numeric-use", "use": 5, "x": good_x}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "", "x": good_x}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": good.kid, "x": good_x}),
    ]);
    let set = KeySet::from_jwks_json(&json).unwrap();

    assert_eq!(set.kids().collect::<Vec<_>>(), [good.kid.as_str()]);
    assert_eq!(rejection(&set, "hmac"), KeySetError::UnsupportedAlg("HS256".to_owned()));
    assert_eq!(rejection(&set, "hmac-no-alg"), KeySetError::MissingAlg);
    assert_eq!(rejection(&set, "rsa"), KeySetError::UnsupportedAlg("RS256".to_owned()));
    for kid in ["short-x", "long-x", "padded-x", "not-a-point", "off-curve", "short-y"] {
        assert!(matches!(rejection(&set, kid), KeySetError::BadKeyMaterial(_)), "{kid}");
    }
    assert_eq!(rejection(&set, "no-alg"), KeySetError::MissingAlg);
    assert_eq!(rejection(&set, "enc"), KeySetError::WrongUse);
    // jsonwebtoken reads an OKP with a non-string x as a key of unknown type.
    for kid in ["okp-es256", "ec-eddsa", "p384", "numeric-x"] {
        assert_eq!(rejection(&set, kid), KeySetError::KeyTypeMismatch, "{kid}");
    }
    assert!(matches!(rejection(&set, "numeric-use"), KeySetError::InvalidKey(_)));
    assert_eq!(rejection(&set, ""), KeySetError::MissingKid);
    assert!(set.rejected().contains(&KeyRejection { kid: None, reason: KeySetError::MissingKid }));
    assert_eq!(rejection(&set, &good.kid), KeySetError::DuplicateKid);
    assert_eq!(set.rejected().len(), 19);
}

#[test]
fn a_short_ed25519_key_cannot_reach_the_verifier() {
    // jsonwebtoken's rust_crypto EdDSA verifier slices key[..32] and panics on shorter keys.
    let json = jwks(vec![ed25519_jwk("short", "AAA")]);
    let set = KeySet::from_jwks_json(&json).unwrap();
    assert!(set.get("short").is_none());
    assert!(set.is_empty());
}

#[test]
fn from_jwk_set_applies_the_same_rules() {
    let good = TestKey::ed25519();
    let mut set = jwk_set(&[&good]);
    set.keys.push(serde_json::from_value(ed25519_jwk("short", "AAA")).unwrap());
    let keys = KeySet::from_jwk_set(&set);
    assert_eq!(keys.kids().collect::<Vec<_>>(), [good.kid.as_str()]);
    assert_eq!(keys.rejected().len(), 1);
}

#[test]
fn a_document_that_is_not_a_jwks_is_an_error() {
    for document in ["", "not json", "[]", "{}", r#"{"keys": {}}"#, r#"{"keys": [1], "#] {
        assert!(matches!(KeySet::from_jwks_json(document), Err(KeySetError::InvalidDocument(_))), "{document:?}");
    }
    let empty = KeySet::from_jwks_json(r#"{"keys": []}"#).unwrap();
    assert!(empty.is_empty() && empty.rejected().is_empty());
}

#[test]
fn entries_that_are_not_objects_are_rejected_individually() {
    let good = TestKey::ed25519();
    let json = jwks(vec![json!(1), json!("key"), serde_json::to_value(&good.jwk).unwrap()]);
    let set = KeySet::from_jwks_json(&json).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.rejected().len(), 2);
}
