//! argon2id with Lectern's parameters (m = 19456 KiB, t = 2, p = 1): one hash, one verification
//! of a right password, and one of an unknown account (the dummy hash), which must cost the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_core::password::PasswordHasher;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn password(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let hasher = PasswordHasher::new().unwrap();
    let stored = hasher.hash_now("correct horse battery staple").unwrap();
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("hash", |b| b.iter(|| hasher.hash_now(black_box("correct horse battery staple")).unwrap()));
    group.bench_function("verify (known account)", |b| {
        b.iter(|| runtime.block_on(hasher.verify("correct horse battery staple".into(), Some(stored.clone()))).unwrap())
    });
    group.bench_function("verify (unknown account)", |b| {
        b.iter(|| runtime.block_on(hasher.verify("correct horse battery staple".into(), None)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
