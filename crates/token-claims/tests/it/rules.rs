//! One test per rule of docs/security.md's verification order and per distinct failure. Each token
//! is valid except for the one thing under test, so the test fails if that check goes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use time::Duration;
use token_claims::{Algorithm, MAX_TOKEN_BYTES, Role, VerifiedClaims, VerifyError};
use uuid::Uuid;

use crate::support::*;

#[test]
fn a_valid_token_yields_its_claims() {
    let fixture = Fixture::new();
    assert_eq!(fixture.verify(&fixture.token()), Ok(verified()));
}

#[test]
fn a_teacher_token_yields_the_teacher_role() {
    let fixture = Fixture::new();
    let token = fixture.token_with_claims(with(claims(), "role", json!("teacher")));
    assert_eq!(fixture.verify(&token).map(|claims| claims.role), Ok(Role::Teacher));
}

#[test]
fn earlier_rules_win() {
    let fixture = Fixture::new();
    let expired_unknown_role = with(with(claims(), "exp", json!(NOW - 3600)), "role", json!("admin"));
    fixture.revoked.insert(SESSION);

    // 2 before 3: alg none with an unknown kid.
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": "nope"});
    assert_eq!(fixture.verify(&fixture.token_with_header(header)), Err(VerifyError::AlgorithmNotAllowed));
    // 4 before 5: another key's signature over expired claims.
    let forged = TestKey::ed25519().sign(&fixture.key.header(), &expired_unknown_role);
    assert_eq!(fixture.verify(&forged), Err(VerifyError::BadSignature));
    // 5 before 6 before 7.
    let token = fixture.token_with_claims(expired_unknown_role);
    assert_eq!(fixture.verify(&token), Err(VerifyError::Expired));
    let token = fixture.token_with_claims(with(claims(), "role", json!("admin")));
    assert_eq!(fixture.verify(&token), Err(VerifyError::UnknownRole));
    assert_eq!(fixture.verify(&fixture.token()), Err(VerifyError::Revoked));
}

mod rule_1_structure {
    use super::*;

    /// A valid token of exactly `len` bytes (padding the name, and the header with JSON
    /// whitespace to reach lengths base64 would skip).
    fn token_of_len(fixture: &Fixture, len: usize) -> String {
        let header = serde_json::to_vec(&fixture.key.header()).unwrap();
        for spaces in 0..4 {
            let header = [header.as_slice(), &b" ".repeat(spaces)].concat();
            for name_len in 0..len {
                let claims = with(claims(), "name", json!("x".repeat(name_len)));
                let token = fixture.key.sign_parts(&header, &serde_json::to_vec(&claims).unwrap());
                if token.len() == len {
                    return token;
                }
                if token.len() > len {
                    break;
                }
            }
        }
        panic!("no token of {len} bytes");
    }

    fn segments(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn a_token_of_the_maximum_size_is_accepted() {
        let fixture = Fixture::new();
        let token = token_of_len(&fixture, MAX_TOKEN_BYTES);
        assert!(fixture.verify(&token).is_ok());
    }

    #[test]
    fn one_byte_over_the_maximum_is_too_large() {
        let fixture = Fixture::new();
        let token = token_of_len(&fixture, MAX_TOKEN_BYTES + 1);
        assert_eq!(fixture.verify(&token), Err(VerifyError::TooLarge));
    }

    #[test]
    fn two_segments_are_malformed() {
        let fixture = Fixture::new();
        let parts = segments(&fixture.token());
        let token = format!("{}.{}", parts[0], parts[1]);
        assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
    }

    #[test]
    fn four_segments_are_malformed() {
        let fixture = Fixture::new();
        let parts = segments(&fixture.token());
        let token = format!("{}.{}", fixture.token(), parts[2]);
        assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
    }

    #[test]
    fn padding_is_malformed_even_when_signed() {
        let fixture = Fixture::new();
        // A header whose encoding needs padding, padded, and a signature over exactly that.
        let mut header = serde_json::to_vec(&fixture.key.header()).unwrap();
        while header.len().is_multiple_of(3) {
            header.push(b' ');
        }
        let input = format!("{}.{}", URL_SAFE.encode(&header), b64(&serde_json::to_vec(&claims()).unwrap()));
        assert!(input.contains('='));
        let token = fixture.key.sign_input(&input);
        assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
    }

    #[test]
    fn the_standard_base64_alphabet_is_malformed_even_when_signed() {
        let fixture = Fixture::new();
        // Find a payload whose standard encoding uses '+' or '/', and sign that encoding.
        let payload = (0..1000)
            .map(|i| serde_json::to_vec(&with(claims(), "name", json!(format!("~{i}?>")))).unwrap())
            .find(|payload| STANDARD_NO_PAD.encode(payload).contains(['+', '/']))
            .unwrap();
        let header = serde_json::to_vec(&fixture.key.header()).unwrap();
        let input = format!("{}.{}", b64(&header), STANDARD_NO_PAD.encode(&payload));
        let token = fixture.key.sign_input(&input);
        assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
    }

    #[test]
    fn a_character_outside_base64url_is_malformed() {
        let fixture = Fixture::new();
        for bad in ["!", " ", "\n", "%", "é"] {
            let token = fixture.token();
            let (input, signature) = token.rsplit_once('.').unwrap();
            let token = format!("{input}.{}{bad}{}", &signature[..10], &signature[10..]);
            assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn an_empty_signature_is_malformed() {
        let fixture = Fixture::new();
        let token = fixture.token();
        let (input, _) = token.rsplit_once('.').unwrap();
        assert_eq!(fixture.verify(&format!("{input}.")), Err(VerifyError::Malformed));
    }

    #[test]
    fn empty_header_or_payload_is_malformed() {
        let fixture = Fixture::new();
        let parts = segments(&fixture.token());
        for token in [
            format!(".{}.{}", parts[1], parts[2]),
            format!("{}..{}", parts[0], parts[2]),
            "..".to_owned(),
            String::new(),
        ] {
            assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed), "{token:?}");
        }
    }

    #[test]
    fn non_zero_trailing_bits_are_malformed() {
        let fixture = Fixture::new();
        let token = fixture.token();
        // 64 signature bytes take 86 characters; the last one carries 4 unused bits. Setting
        // one of them decodes to the same bytes in a lenient decoder.
        let (input, signature) = token.rsplit_once('.').unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = signature.as_bytes()[signature.len() - 1];
        let value = alphabet.iter().position(|c| *c == last).unwrap();
        assert_eq!(value & 0b1111, 0);
        let altered = format!("{}{}", &signature[..signature.len() - 1], alphabet[value | 1] as char);
        assert_eq!(fixture.verify(&format!("{input}.{altered}")), Err(VerifyError::Malformed));
    }
}

mod rule_2_header {
    use super::*;

    fn header(fixture: &Fixture) -> Value {
        fixture.key.header()
    }

    #[test]
    fn a_missing_typ_is_the_wrong_type() {
        let fixture = Fixture::new();
        let token = fixture.token_with_header(without(header(&fixture), "typ"));
        assert_eq!(fixture.verify(&token), Err(VerifyError::WrongType));
    }

    #[test]
    fn typ_jwt_and_other_spellings_are_the_wrong_type() {
        let fixture = Fixture::new();
        for typ in [json!("JWT"), json!("AT+JWT"), json!("application/at+jwt"), json!(null)] {
            let token = fixture.token_with_header(with(header(&fixture), "typ", typ.clone()));
            assert_eq!(fixture.verify(&token), Err(VerifyError::WrongType), "{typ}");
        }
    }

    #[test]
    fn alg_none_in_any_case_is_not_allowed() {
        let fixture = Fixture::new();
        for alg in ["none", "None", "NONE", "nOnE"] {
            // Signed anyway, so only the allow-list stands in the way.
            let token = fixture.token_with_header(with(header(&fixture), "alg", json!(alg)));
            assert_eq!(fixture.verify(&token), Err(VerifyError::AlgorithmNotAllowed), "{alg}");
            // And the classic form, without a signature.
            let (input, _) = token.rsplit_once('.').unwrap();
            assert!(fixture.verify(&format!("{input}.")).is_err());
        }
    }

    #[test]
    fn near_spellings_of_eddsa_are_not_allowed() {
        let fixture = Fixture::new();
        for alg in ["EdDSA ", " EdDSA", "eddsa", "EDDSA", "Ed25519", ""] {
            let token = fixture.token_with_header(with(header(&fixture), "alg", json!(alg)));
            assert_eq!(fixture.verify(&token), Err(VerifyError::AlgorithmNotAllowed), "{alg:?}");
        }
    }

    /// The key-confusion attack: HMAC keyed with something public.
    fn hs256_token(fixture: &Fixture, secret: &[u8]) -> String {
        let header = with(header(fixture), "alg", json!("HS256"));
        let input =
            format!("{}.{}", b64(&serde_json::to_vec(&header).unwrap()), b64(&serde_json::to_vec(&claims()).unwrap()));
        let key = EncodingKey::from_secret(secret).unwrap();
        let mac = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
        format!("{input}.{mac}")
    }

    #[test]
    fn hs256_keyed_with_the_public_key_is_not_allowed() {
        let fixture = Fixture::new();
        let token = hs256_token(&fixture, &fixture.key.public_key_bytes());
        assert_eq!(fixture.verify(&token), Err(VerifyError::AlgorithmNotAllowed));
    }

    #[test]
    fn hs256_keyed_with_the_jwk_json_is_not_allowed() {
        let fixture = Fixture::new();
        let secret = serde_json::to_vec(&fixture.key.jwk).unwrap();
        let token = hs256_token(&fixture, &secret);
        assert_eq!(fixture.verify(&token), Err(VerifyError::AlgorithmNotAllowed));
    }

    #[test]
    fn es256_is_not_allowed_unless_configured() {
        let fixture = Fixture::new();
        let token = fixture.es256.sign(&fixture.es256.header(), &claims());
        assert_eq!(fixture.verify(&token), Err(VerifyError::AlgorithmNotAllowed));
    }

    #[test]
    fn es256_verifies_when_configured() {
        let fixture = Fixture::with_config(|config| {
            config.algorithms = vec![Algorithm::EdDSA, Algorithm::ES256];
        });
        let token = fixture.es256.sign(&fixture.es256.header(), &claims());
        assert_eq!(fixture.verify(&token), Ok(verified()));
        assert_eq!(fixture.verify(&fixture.token()), Ok(verified()));
    }

    #[test]
    fn crit_is_refused() {
        let fixture = Fixture::new();
        for crit in [json!(["exp"]), json!([]), json!(null)] {
            let token = fixture.token_with_header(with(header(&fixture), "crit", crit.clone()));
            assert_eq!(fixture.verify(&token), Err(VerifyError::CriticalHeader), "{crit}");
        }
    }

    #[test]
    fn each_key_bearing_header_is_refused() {
        let fixture = Fixture::new();
        let jwk = serde_json::to_value(&fixture.key.jwk).unwrap();
        for (name, value) in [
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            ("jwk", jwk),
            ("x5c", json!(["MIIBszCCAVmgAwIBAgIU"])),
        ] {
            let token = fixture.token_with_header(with(header(&fixture), name, value));
            assert_eq!(fixture.verify(&token), Err(VerifyError::UntrustedHeader), "{name}");
        }
    }

    #[test]
    fn a_header_that_is_not_a_json_object_is_bad() {
        let fixture = Fixture::new();
        let payload = serde_json::to_vec(&claims()).unwrap();
        for header in [&b"not json"[..], b"[]", b"\"EdDSA\"", b"{\"alg\":\"EdDSA\""] {
            let token = fixture.key.sign_parts(header, &payload);
            assert_eq!(fixture.verify(&token), Err(VerifyError::BadHeader));
        }
    }

    #[test]
    fn duplicate_header_members_are_bad() {
        let fixture = Fixture::new();
        let kid = &fixture.key.kid;
        let payload = serde_json::to_vec(&claims()).unwrap();
        for header in [
            format!(r#"{{"alg":"EdDSA","alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","kid":"{kid}"}}"#),
        ] {
            let token = fixture.key.sign_parts(header.as_bytes(), &payload);
            assert_eq!(fixture.verify(&token), Err(VerifyError::BadHeader), "{header}");
        }
    }

    #[test]
    fn wrongly_typed_header_members_are_bad() {
        let fixture = Fixture::new();
        for (name, value) in [("alg", json!(["EdDSA"])), ("typ", json!(1)), ("kid", json!(7))] {
            let token = fixture.token_with_header(with(header(&fixture), name, value));
            assert_eq!(fixture.verify(&token), Err(VerifyError::BadHeader), "{name}");
        }
    }
}

mod rule_3_key {
    use super::*;

    #[test]
    fn a_missing_kid_is_unknown() {
        let fixture = Fixture::new();
        let token = fixture.token_with_header(without(fixture.key.header(), "kid"));
        assert_eq!(fixture.verify(&token), Err(VerifyError::UnknownKid));
    }

    #[test]
    fn an_unknown_kid_is_unknown() {
        let fixture = Fixture::new();
        for kid in ["other", "", "../../../etc/passwd", "kid?x=1"] {
            let token = fixture.token_with_header(with(fixture.key.header(), "kid", json!(kid)));
            assert_eq!(fixture.verify(&token), Err(VerifyError::UnknownKid), "{kid:?}");
        }
    }

    #[test]
    fn a_key_is_used_only_with_its_own_algorithm() {
        // Both algorithms allowed, so only the key's binding refuses an EdDSA header under the
        // ES256 key's kid.
        let fixture = Fixture::with_config(|config| {
            config.algorithms = vec![Algorithm::EdDSA, Algorithm::ES256];
        });
        let header = with(fixture.key.header(), "kid", json!(fixture.es256.kid));
        let token = fixture.key.sign(&header, &claims());
        assert_eq!(fixture.verify(&token), Err(VerifyError::KeyAlgorithmMismatch));
    }
}

mod rule_4_signature {
    use super::*;

    #[test]
    fn an_altered_signature_is_bad() {
        let fixture = Fixture::new();
        let token = fixture.token();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        signature[7] ^= 0x01;
        let token = format!("{input}.{}", b64(&signature));
        assert_eq!(fixture.verify(&token), Err(VerifyError::BadSignature));
    }

    #[test]
    fn an_altered_payload_is_bad() {
        let fixture = Fixture::new();
        let token = fixture.token();
        let parts: Vec<&str> = token.split('.').collect();
        let teacher = with(claims(), "role", json!("teacher"));
        let token = format!("{}.{}.{}", parts[0], b64(&serde_json::to_vec(&teacher).unwrap()), parts[2]);
        assert_eq!(fixture.verify(&token), Err(VerifyError::BadSignature));
    }

    #[test]
    fn another_keys_signature_is_bad() {
        let fixture = Fixture::new();
        let token = TestKey::ed25519().sign(&fixture.key.header(), &claims());
        assert_eq!(fixture.verify(&token), Err(VerifyError::BadSignature));
    }
}

mod rule_5_claims {
    use super::*;

    fn verify_claims(fixture: &Fixture, claims: Value) -> Result<VerifiedClaims, VerifyError> {
        fixture.verify(&fixture.token_with_claims(claims))
    }

    #[test]
    fn a_wrong_issuer_is_refused() {
        let fixture = Fixture::new();
        for iss in ["lectern2", "Lectern", "", "https://lectern"] {
            let claims = with(claims(), "iss", json!(iss));
            assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::WrongIssuer), "{iss:?}");
        }
        let claims = with(claims(), "iss", json!(["lectern"]));
        assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::BadClaim("iss")));
    }

    #[test]
    fn a_missing_issuer_is_refused() {
        let fixture = Fixture::new();
        assert_eq!(verify_claims(&fixture, without(claims(), "iss")), Err(VerifyError::MissingClaim("iss")));
    }

    #[test]
    fn another_services_audience_is_refused() {
        let fixture = Fixture::new();
        for aud in [json!(["lectern-grading"]), json!("lectern-grading"), json!([])] {
            let claims = with(claims(), "aud", aud.clone());
            assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::WrongAudience), "{aud}");
        }
    }

    #[test]
    fn a_missing_or_malformed_audience_is_refused() {
        let fixture = Fixture::new();
        assert_eq!(verify_claims(&fixture, without(claims(), "aud")), Err(VerifyError::MissingClaim("aud")));
        for aud in [json!(["lectern-courses", 1]), json!(7), json!({"lectern-courses": true})] {
            let claims = with(claims(), "aud", aud.clone());
            assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::BadClaim("aud")), "{aud}");
        }
    }

    #[test]
    fn an_audience_given_as_a_plain_string_is_accepted() {
        let fixture = Fixture::new();
        let claims = with(claims(), "aud", json!("lectern-courses"));
        assert_eq!(verify_claims(&fixture, claims), Ok(verified()));
    }

    #[test]
    fn expiry_allows_exactly_the_leeway() {
        let fixture = Fixture::new();
        let token = fixture.token();
        fixture.clock.set(at(NOW + LIFETIME + LEEWAY));
        assert_eq!(fixture.verify(&token), Ok(verified()));
        fixture.clock.advance(Duration::seconds(1));
        assert_eq!(fixture.verify(&token), Err(VerifyError::Expired));
    }

    #[test]
    fn the_leeway_is_configurable() {
        let fixture = Fixture::with_config(|config| config.leeway_secs = 0);
        let token = fixture.token();
        fixture.clock.set(at(NOW + LIFETIME));
        assert_eq!(fixture.verify(&token), Ok(verified()));
        fixture.clock.set(at(NOW + LIFETIME + 1));
        assert_eq!(fixture.verify(&token), Err(VerifyError::Expired));
    }

    #[test]
    fn not_before_allows_exactly_the_leeway() {
        let fixture = Fixture::new();
        let edge = with(claims(), "nbf", json!(NOW + LEEWAY));
        assert!(verify_claims(&fixture, edge).is_ok());
        let beyond = with(claims(), "nbf", json!(NOW + LEEWAY + 1));
        assert_eq!(verify_claims(&fixture, beyond), Err(VerifyError::NotYetValid));
    }

    #[test]
    fn issued_in_the_future_beyond_the_leeway_is_refused() {
        let fixture = Fixture::new();
        let edge = with(claims(), "iat", json!(NOW + LEEWAY));
        assert!(verify_claims(&fixture, edge).is_ok());
        let beyond = with(claims(), "iat", json!(NOW + LEEWAY + 1));
        assert_eq!(verify_claims(&fixture, beyond), Err(VerifyError::BadClaim("iat")));
    }

    #[test]
    fn a_lifetime_longer_than_configured_is_refused() {
        let fixture = Fixture::new();
        let edge = with(claims(), "exp", json!(NOW + LIFETIME));
        assert!(verify_claims(&fixture, edge).is_ok(), "exactly the configured lifetime");
        let longer = with(claims(), "exp", json!(NOW + LIFETIME + 1));
        assert_eq!(verify_claims(&fixture, longer), Err(VerifyError::LifetimeTooLong));
        let old_and_long = with(with(claims(), "iat", json!(NOW - 7200)), "exp", json!(NOW + 60));
        assert_eq!(verify_claims(&fixture, old_and_long), Err(VerifyError::LifetimeTooLong));
        let shorter = Fixture::with_config(|config| config.max_lifetime_secs = 300);
        assert_eq!(verify_claims(&shorter, claims()), Err(VerifyError::LifetimeTooLong));
    }

    #[test]
    fn each_required_claim_must_be_present() {
        let fixture = Fixture::new();
        for claim in ["exp", "nbf", "iat", "sub", "sid", "jti", "role"] {
            assert_eq!(verify_claims(&fixture, without(claims(), claim)), Err(VerifyError::MissingClaim(claim)),);
            // null is absence too.
            assert_eq!(
                verify_claims(&fixture, with(claims(), claim, Value::Null)),
                Err(VerifyError::MissingClaim(claim)),
            );
        }
    }

    #[test]
    fn a_missing_name_is_empty() {
        let fixture = Fixture::new();
        let name = verify_claims(&fixture, without(claims(), "name")).map(|claims| claims.name);
        assert_eq!(name, Ok(String::new()));
        let claims = with(claims(), "name", json!(42));
        assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::BadClaim("name")));
    }

    #[test]
    fn times_must_be_json_integers() {
        let fixture = Fixture::new();
        for claim in ["exp", "nbf", "iat"] {
            for value in
                [json!((NOW + 60).to_string()), json!(NOW as f64 + 0.5), json!(1.8e9), json!(u64::MAX), json!(true)]
            {
                let claims = with(claims(), claim, value.clone());
                assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::BadClaim(claim)), "{claim}: {value}");
            }
        }
    }

    #[test]
    fn ids_must_be_uuids() {
        let fixture = Fixture::new();
        for claim in ["sub", "sid", "jti"] {
            for value in [json!("42"), json!(42), json!(""), json!("not-a-uuid")] {
                let claims = with(claims(), claim, value.clone());
                assert_eq!(verify_claims(&fixture, claims), Err(VerifyError::BadClaim(claim)), "{claim}: {value}");
            }
        }
    }

    #[test]
    fn a_payload_that_is_not_a_claims_object_is_malformed() {
        let fixture = Fixture::new();
        let header = serde_json::to_vec(&fixture.key.header()).unwrap();
        for payload in [&b"[]"[..], b"not json", b"\"claims\""] {
            let token = fixture.key.sign_parts(&header, payload);
            assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
        }
        let duplicated =
            serde_json::to_string(&claims()).unwrap().replacen("{", &format!(r#"{{"sub":"{}","#, Uuid::nil()), 1);
        let token = fixture.key.sign_parts(&header, duplicated.as_bytes());
        assert_eq!(fixture.verify(&token), Err(VerifyError::Malformed));
    }
}

mod rule_6_role {
    use super::*;

    #[test]
    fn roles_outside_the_closed_set_are_refused() {
        let fixture = Fixture::new();
        for role in [json!("admin"), json!("Teacher"), json!("STUDENT"), json!(""), json!(1)] {
            let token = fixture.token_with_claims(with(claims(), "role", role.clone()));
            assert_eq!(fixture.verify(&token), Err(VerifyError::UnknownRole), "{role}");
        }
    }
}

mod rule_7_revocation {
    use super::*;

    #[test]
    fn a_revoked_session_is_refused() {
        let fixture = Fixture::new();
        let token = fixture.token();
        fixture.revoked.insert(Uuid::new_v4());
        assert_eq!(fixture.verify(&token), Ok(verified()));
        fixture.revoked.insert(SESSION);
        assert_eq!(fixture.verify(&token), Err(VerifyError::Revoked));
        fixture.revoked.replace_all([]);
        assert_eq!(fixture.verify(&token), Ok(verified()));
    }
}
