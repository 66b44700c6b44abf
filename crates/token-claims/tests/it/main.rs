//! Integration tests of token-claims through its public API, in one test binary.
//!
//! `support` signs tokens with freshly generated keys and can craft any header and payload, so
//! each test breaks exactly one rule of docs/security.md's verification order.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod config;
mod keyset;
mod mutations;
mod refresh;
mod rules;
mod support;
mod vectors;
