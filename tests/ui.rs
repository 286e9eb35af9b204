//! Compile-time behaviour of `#[rutina::routine]` and `rutina::main!`: every accepted
//! form compiles (and runs), every mistake is a clear error on the offending token.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite` and review each by eye.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
