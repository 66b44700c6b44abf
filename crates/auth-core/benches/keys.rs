//! Making ID-token keys: an RSA key (2048 bits, RS256) takes a prime search, which is why keys are
//! generated before the transaction that stores them; an Ed25519 key is 32 random bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_core::keys::{PreparedKey, SLOTS};
use criterion::{Criterion, criterion_group, criterion_main};

fn keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("signing keys");
    group.sample_size(50);
    for slot in SLOTS {
        group.bench_function(format!("generate {} {}", slot.purpose, slot.alg), |b| {
            b.iter(|| PreparedKey::new(slot).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);
