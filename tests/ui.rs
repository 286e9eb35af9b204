//! Compile-time behaviour of `#[rutina::routine]` and `rutina::main!`: every accepted
//! form compiles (and runs), every mistake is a clear error on the offending token.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite` and review each by eye.

/// Cases whose error lists the impls of a trait that a feature adds to: their `.stderr`
/// is written for the default features, and they run only with those.
const DEFAULT_FEATURES_ONLY: &[&str] = &[
    // `Lease`, which `postgres` implements for `lease::Postgres`.
    "main_lease_not_a_lease.rs",
];

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    if !cfg!(feature = "postgres") {
        cases.compile_fail("ui/fail/*.rs");
        return;
    }
    let mut fail: Vec<_> = std::fs::read_dir("ui/fail")
        .expect("the ui/fail directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| path.file_name().is_none_or(|name| !DEFAULT_FEATURES_ONLY.iter().any(|only| name == *only)))
        .collect();
    fail.sort();
    for case in fail {
        cases.compile_fail(case);
    }
}
