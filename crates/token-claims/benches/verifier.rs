//! `Verifier::verify` of a valid EdDSA access token, next to a plain `jsonwebtoken::decode`
//! with an equivalent `Validation`, so the cost of the stricter profile can be read as a ratio.
//! The bare Ed25519 signature check is measured too: it is the floor both share.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use token_claims::{
    AccessClaims, Algorithm, Audience, Clock, KeySet, RevokedSessions, Role, SystemClock, TOKEN_TYPE, Verifier,
    VerifierConfig, jwk_thumbprint,
};
use uuid::Uuid;

const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

fn verifier(c: &mut Criterion) {
    let seed: [u8; 32] = rand::random();
    let encoding = EncodingKey::from_ed_der(&[&ED25519_PKCS8_PREFIX[..], &seed].concat());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).unwrap();
    let kid = jwk_thumbprint(&jwk).unwrap();
    jwk.common.key_id = Some(kid.clone());

    let now = SystemClock.now().unix_timestamp();
    let claims = AccessClaims {
        iss: "lectern".to_owned(),
        sub: Uuid::new_v4(),
        aud: Audience::ALL.iter().map(|aud| aud.as_str().to_owned()).collect(),
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: Uuid::new_v4(),
        sid: Uuid::new_v4(),
        role: Role::Student,
        name: "Ada Lovelace".to_owned(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(kid.clone());
    let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();

    let keys = KeySet::from_jwk_set(&JwkSet { keys: vec![jwk.clone()] });
    let verifier = Verifier::new(
        VerifierConfig::new("lectern", Audience::Courses),
        keys,
        Arc::new(SystemClock),
        Arc::new(RevokedSessions::new()),
    )
    .unwrap();
    assert!(verifier.verify(&token).is_ok());

    // As close to the profile as jsonwebtoken's Validation gets (docs/security.md's notes).
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_issuer(&["lectern"]);
    validation.set_audience(&[Audience::Courses.as_str()]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    assert!(jsonwebtoken::decode::<AccessClaims>(&token, &decoding, &validation).is_ok());

    let key = verifier.keys().get(&kid).cloned().unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();

    let mut group = c.benchmark_group("access_token");
    // First sight: the verified-token cache is emptied before every verification (replacing
    // the key set does that), so this is the full rule 1-7 path.
    let key_set = verifier.keys();
    group.bench_function("token_claims::Verifier::verify (first sight)", |b| {
        b.iter_batched(
            || verifier.set_keys(KeySet::clone(&key_set)),
            |()| verifier.verify(black_box(&token)).unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("token_claims::Verifier::verify (seen before: cached)", |b| {
        b.iter(|| verifier.verify(black_box(&token)).unwrap())
    });
    group.bench_function("jsonwebtoken::decode", |b| {
        b.iter(|| jsonwebtoken::decode::<AccessClaims>(black_box(&token), &decoding, &validation).unwrap())
    });
    group.bench_function("ed25519 signature only", |b| {
        b.iter(|| key.verify_signature(black_box(signing_input.as_bytes()), &signature).unwrap())
    });
    group.finish();
}

criterion_group!(benches, verifier);
criterion_main!(benches);
