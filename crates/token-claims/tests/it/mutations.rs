//! Property: no mutation of a valid token verifies, and none panics.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::*;

static FIXTURE: LazyLock<(Fixture, String)> = LazyLock::new(|| {
    let fixture = Fixture::new();
    let token = fixture.token();
    assert!(fixture.verify(&token).is_ok());
    (fixture, token)
});

fn refused(mutated: &str) -> bool {
    let (fixture, token) = &*FIXTURE;
    mutated == token || fixture.verify(mutated).is_err()
}

proptest! {
    #[test]
    fn a_flipped_bit_never_verifies(at in any::<Index>(), bit in 0..8u8) {
        let mut bytes = FIXTURE.1.clone().into_bytes();
        let at = at.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(refused(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn a_truncated_token_never_verifies(keep in any::<Index>()) {
        let token = &FIXTURE.1;
        prop_assert!(refused(&token[..keep.index(token.len())]));
    }

    #[test]
    fn an_inserted_character_never_verifies(at in any::<Index>(), inserted in any::<char>()) {
        let mut token = FIXTURE.1.clone();
        token.insert(at.index(token.len() + 1), inserted);
        prop_assert!(refused(&token));
    }

    #[test]
    fn reordered_segments_never_verify(order in Just([0usize, 1, 2]).prop_shuffle()) {
        let segments: Vec<&str> = FIXTURE.1.split('.').collect();
        let reordered = order.iter().map(|i| segments[*i]).collect::<Vec<_>>().join(".");
        prop_assert!(refused(&reordered));
    }

    #[test]
    fn arbitrary_input_never_panics(input in ".{0,200}") {
        let _ = FIXTURE.0.verify(&input);
    }
}
