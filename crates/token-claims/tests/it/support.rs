//! Keys, tokens and a verifier fixture for the tests.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use serde_json::{Value, json};
use time::OffsetDateTime;
use token_claims::{
    Algorithm, Audience, KeySet, ManualClock, RevokedSessions, TOKEN_TYPE, VerifiedClaims, Verifier, VerifierConfig,
    VerifyError, jwk_thumbprint,
};
use uuid::Uuid;

pub const ISSUER: &str = "lectern";
/// The fixture clock's start, and the `iat`/`nbf` of [`claims`].
pub const NOW: i64 = 1_800_000_000;
/// `exp - iat` of [`claims`].
pub const LIFETIME: i64 = 900;
pub const LEEWAY: i64 = token_claims::DEFAULT_LEEWAY_SECS as i64;
pub const USER: Uuid = Uuid::from_u128(0x0193_5f2e_7c1a_7d3b_9a4e_2f6c_8b1d_0e01);
pub const SESSION: Uuid = Uuid::from_u128(0x0193_5f2e_7c1a_7d3b_9a4e_2f6c_8b1d_0e02);
pub const TOKEN_ID: Uuid = Uuid::from_u128(0x0193_5f2e_7c1a_7d3b_9a4e_2f6c_8b1d_0e03);

/// RFC 8410 PKCS#8 wrapping of a 32-byte Ed25519 seed.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// PKCS#8 wrapping (RFC 5915 ECPrivateKey without the optional public key) of a P-256 scalar.
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
];

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key with its public JWK (kid = RFC 7638 thumbprint, alg and use set).
pub struct TestKey {
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
    pub kid: String,
}

impl TestKey {
    pub fn ed25519() -> Self {
        let seed: [u8; 32] = rand::random();
        let der = [&ED25519_PKCS8_PREFIX[..], &seed].concat();
        Self::new(Algorithm::EdDSA, EncodingKey::from_ed_der(&der))
    }

    pub fn p256() -> Self {
        let mut scalar: [u8; 32] = rand::random();
        scalar[0] &= 0x7f; // below the group order
        scalar[31] |= 1; // not zero
        let der = [&P256_PKCS8_PREFIX[..], &scalar].concat();
        Self::new(Algorithm::ES256, EncodingKey::from_ec_der(&der))
    }

    fn new(alg: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        let kid = jwk_thumbprint(&jwk).unwrap();
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Self { alg, encoding, jwk, kid }
    }

    /// The header auth-core writes.
    pub fn header(&self) -> Value {
        let alg = match self.alg {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            other => panic!("no test keys for {other:?}"),
        };
        json!({"alg": alg, "typ": TOKEN_TYPE, "kid": self.kid})
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_parts(&serde_json::to_vec(header).unwrap(), &serde_json::to_vec(claims).unwrap())
    }

    /// Signs raw header and payload bytes (for JSON that `Value` cannot hold, like duplicates).
    pub fn sign_parts(&self, header: &[u8], payload: &[u8]) -> String {
        self.sign_input(&format!("{}.{}", b64(header), b64(payload)))
    }

    /// Signs an already encoded signing input as is, however it is encoded.
    pub fn sign_input(&self, signing_input: &str) -> String {
        let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding, self.alg).unwrap();
        format!("{signing_input}.{signature}")
    }

    /// The raw public key: Ed25519 `x`, or the P-256 uncompressed point.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        let jwk = serde_json::to_value(&self.jwk).unwrap();
        let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
        match self.alg {
            Algorithm::EdDSA => coordinate("x"),
            _ => [vec![4], coordinate("x"), coordinate("y")].concat(),
        }
    }
}

pub fn jwk_set(keys: &[&TestKey]) -> JwkSet {
    JwkSet { keys: keys.iter().map(|key| key.jwk.clone()).collect() }
}

pub fn key_set(keys: &[&TestKey]) -> KeySet {
    let set = KeySet::from_jwk_set(&jwk_set(keys));
    assert!(set.rejected().is_empty(), "{:?}", set.rejected());
    set
}

/// Valid claims for the fixture at [`NOW`].
pub fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": USER,
        "aud": ["lectern-courses", "lectern-grading"],
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + LIFETIME,
        "jti": TOKEN_ID,
        "sid": SESSION,
        "role": "student",
        "name": "Ada Lovelace",
    })
}

/// What [`claims`] verifies into.
pub fn verified() -> VerifiedClaims {
    VerifiedClaims {
        user_id: USER,
        session_id: SESSION,
        token_id: TOKEN_ID,
        role: token_claims::Role::Student,
        name: "Ada Lovelace".to_owned(),
        issued_at: NOW,
        expires_at: NOW + LIFETIME,
    }
}

/// `value` with member `name` set to `new`.
pub fn with(mut value: Value, name: &str, new: Value) -> Value {
    value[name] = new;
    value
}

/// `value` without member `name`.
pub fn without(mut value: Value, name: &str) -> Value {
    value.as_object_mut().unwrap().remove(name);
    value
}

pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// A course-service verifier trusting an Ed25519 key (and, for ES256 tests, a P-256 key).
pub struct Fixture {
    pub key: TestKey,
    pub es256: TestKey,
    pub clock: ManualClock,
    pub revoked: RevokedSessions,
    pub verifier: Verifier,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(adjust: impl FnOnce(&mut VerifierConfig)) -> Self {
        let mut config = VerifierConfig::new(ISSUER, Audience::Courses);
        adjust(&mut config);
        let (key, es256) = (TestKey::ed25519(), TestKey::p256());
        let clock = ManualClock::new(at(NOW));
        let revoked = RevokedSessions::new();
        let verifier =
            Verifier::new(config, key_set(&[&key, &es256]), Arc::new(clock.clone()), Arc::new(revoked.clone()))
                .unwrap();
        Self { key, es256, clock, revoked, verifier }
    }

    /// A valid token.
    pub fn token(&self) -> String {
        self.key.sign(&self.key.header(), &claims())
    }

    /// A token with these claims, otherwise valid.
    pub fn token_with_claims(&self, claims: Value) -> String {
        self.key.sign(&self.key.header(), &claims)
    }

    /// A token with this header (signed by the fixture key), otherwise valid.
    pub fn token_with_header(&self, header: Value) -> String {
        self.key.sign(&header, &claims())
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, VerifyError> {
        self.verifier.verify(token)
    }
}

/// Runs a future on this thread; enough for the always-ready fakes of these tests.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// Reads a vendored Wycheproof vector file (`tests/vectors/wycheproof/`, see its README).
pub fn wycheproof_vectors(file: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/wycheproof/");
    let text = std::fs::read_to_string(format!("{path}{file}")).unwrap_or_else(|error| panic!("{path}{file}: {error}"));
    serde_json::from_str(&text).unwrap()
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}
