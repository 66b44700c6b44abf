//! Compile-time proof of docs/architecture.md's capability pattern: code that would act without
//! the right does not build. A student-typed caller cannot call a teacher's service function,
//! and no capability (nor a role type) can be made outside the module that owns it; so the only
//! way to a write is through the scoped queries of `access.rs`, which the access-table tests
//! check against the database.
//!
//! Each file under `tests/capabilities/` must fail to compile with exactly the error saved next
//! to it (`*.stderr`). After a deliberate change, `TRYBUILD=overwrite cargo test -p grading-service
//! --test compile_fail` rewrites them; read the diff before committing it.

#[test]
fn what_acts_without_the_right_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/capabilities/*.rs");
}
