//! The macros never panic, whatever they are given: arbitrary token streams (made of
//! the macros' own keys and values, punctuation, literals and nested groups, and of
//! arbitrary text) go through `#[rutina::routine]`'s, `rutina::main!`'s and
//! `#[derive(rutina::FromRef)]`'s whole pipeline (parse → validate → expand), which must
//! return tokens (the expansion or `compile_error!`s), never panic.
//!
//! The pipeline works on `proc_macro2` tokens, so it runs here as plain functions.
//! `RUTINA_PARSER_CASES=100000` for a dedicated run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use proc_macro2::TokenStream;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use crate::expand;

/// Words the macros know, and some they do not.
const WORDS: &[&str] = &[
    "on_done",
    "on_error",
    "timeout",
    "max_count",
    "name",
    "backoff",
    "restart_intensity",
    "grace_period",
    "readiness_gate",
    "backoff_reset",
    "every",
    "cron",
    "heartbeat",
    "reload",
    "singleton",
    "routines",
    "shutdown_timeout",
    "shutdown_order",
    "setup",
    "state",
    "lease",
    "configure",
    "shutdown_delay",
    "Restart",
    "DoNothing",
    "Shutdown",
    "Restarts",
    "Policy",
    "ShutdownOrder",
    "ReverseStart",
    "AllAtOnce",
    "true",
    "false",
    "async",
    "fn",
    "ctx",
    "Context",
    "rutina",
    "Result",
    "Option",
    "self",
    "Self",
    "impl",
    "dyn",
    "where",
    "mut",
    "pub",
    "const",
    "unsafe",
    "extern",
    "r#loop",
    "r#fn",
    "_",
    "move",
    "await",
    "struct",
    "enum",
    "from_ref",
    "skip",
    "Db",
    "App",
    "connect",
];

const PUNCT: &[&str] =
    &["=", ",", ":", "::", "<", ">", "-", "->", "=>", "&", "#", "!", ";", ".", "..", "'a", "|", "+", "*"];

const LITERALS: &[&str] = &[
    "\"5s\"",
    "\"0s\"",
    "\"250ms\"",
    "\"1m 30s\"",
    "\"\"",
    "\"abc\"",
    "\"-1s\"",
    "\"5\"",
    "\"99999999999999999999999h\"",
    "\"18446744073709551615s\"",
    "\"1ns\"",
    "\"100ms..30s\"",
    "\"30s..100ms\"",
    "\"0s..1s\"",
    "\"..\"",
    "\"1s..=2s\"",
    "\"1s....2s\"",
    "\"0 */5 * * * *\"",
    "\"61 * * * *\"",
    "\"* * * * * * * *\"",
    "\"@daily\"",
    "\"1 fortnight\"",
    "\"\\u{1F600}\"",
    "r\"5s\"",
    "r#\"5s\"#",
    "b\"5s\"",
    "c\"5s\"",
    "'c'",
    "b'c'",
    "0",
    "1",
    "3",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "3.5",
    "1e3",
    "1u8",
    "1u32",
    "1i64",
    "0x10",
    "0b1",
    "1_000",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(list).prop_map(str::to_owned)
}

/// One token's text, or a run of arbitrary text.
fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => pick(WORDS),
        3 => pick(PUNCT),
        3 => pick(LITERALS),
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        1 => "\"[a-z0-9 ]{0,10}\"",
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i32>().prop_map(|n| n.to_string()),
    ]
}

/// Token text with balanced, nested groups.
fn tokens() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        (
            prop_oneof![Just(("(", ")")), Just(("[", "]")), Just(("{", "}")), Just(("", ""))],
            proptest::collection::vec(inner, 0..8),
        )
            .prop_map(|((open, close), parts)| format!("{open}{}{close}", parts.join(" ")))
    })
}

/// A value after a key: what the keys take, and what they do not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => pick(LITERALS),
        2 => pick(WORDS),
        1 => (pick(WORDS), pick(WORDS)).prop_map(|(a, b)| format!("{a}::{b}")),
        1 => (pick(LITERALS), pick(LITERALS)).prop_map(|(a, b)| format!("({a}, {b})")),
        1 => proptest::collection::vec(pick(WORDS), 0..4).prop_map(|words| format!("[{}]", words.join(", "))),
        1 => tokens(),
    ]
}

/// `key = value` (or `key: value`, `main!`'s form) entries, separated by commas, or
/// loose tokens, or arbitrary text.
fn stream() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        4 => (pick(WORDS), prop_oneof![Just(" = "), Just(": "), Just(" ")], value())
            .prop_map(|(key, sep, value)| format!("{key}{sep}{value}")),
        1 => tokens(),
    ];
    let separator = prop_oneof![8 => Just(", "), 1 => Just(" "), 1 => Just(",, ")];
    prop_oneof![
        8 => (proptest::collection::vec(entry, 0..6), separator).prop_map(|(entries, sep)| entries.join(sep)),
        2 => proptest::collection::vec(tokens(), 0..12).prop_map(|parts| parts.join(" ")),
        1 => ".{0,40}",
    ]
}

/// The item under `#[rutina::routine]`: well-formed fns of every shape, or anything.
fn item() -> impl Strategy<Value = String> {
    const FNS: &[&str] = &[
        "async fn r(ctx: rutina::Context) -> Result<(), std::io::Error> { Ok(()) }",
        "async fn r() -> anyhow::Result<()> { Ok(()) }",
        "pub async fn r(_: Context) -> Result<(), E> { panic!(\"never run\") }",
        "fn r() -> Result<(), E> { Ok(()) }",
        "async fn r<T>(t: T) -> Result<(), E> { Ok(()) }",
        "async fn r(&self) -> Result<(), E> { Ok(()) }",
        "async fn r(a: Context, b: Context) -> Result<(), E> { Ok(()) }",
        "async fn r(ctx: Context) { }",
        "async fn r(ctx: Context) -> impl Future { }",
        "#[doc = \"x\"] async unsafe extern \"C\" fn r() -> Result<(), E> { Ok(()) }",
        "async fn r(ctx: Context, db: Db, config: Arc<Config>) -> anyhow::Result<()> { Ok(()) }",
        "async fn r(db: &Db, (a, b): (u8, u8), c: impl Sized) -> Result<(), E> { Ok(()) }",
        "struct R;",
        "struct App { db: Db, #[from_ref(skip)] replica: Db, config: Arc<Config> }",
        "struct App(Db); enum E { A } union U { a: u8 }",
        "",
    ];
    prop_oneof![
        3 => pick(FNS),
        1 => stream(),
        1 => stream().prop_map(|body| format!("async fn r(ctx: Context) -> Result<(), E> {{ {body} }}")),
        1 => (stream(), stream()).prop_map(|(params, ret)| format!("async fn r({params}) -> {ret} {{ }}")),
    ]
}

/// Runs `f`, turning a panic into a failed case.
fn no_panic(what: &str, f: impl FnOnce() -> TokenStream) -> Result<(), TestCaseError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => Ok(()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!("{what} panicked: {message}")))
        }
    }
}

/// Lexes `text` as a macro's input would be; `None` if it is not tokens at all.
fn lex(text: &str) -> Option<TokenStream> {
    TokenStream::from_str(text).ok()
}

/// How many inputs lexed, and how many of those expanded without an error.
static LEXED: AtomicU64 = AtomicU64::new(0);
static CLEAN: AtomicU64 = AtomicU64::new(0);

fn check(args: &str, body: &str) -> Result<(), TestCaseError> {
    if let (Some(args), Some(body)) = (lex(args), lex(body)) {
        LEXED.fetch_add(1, Ordering::Relaxed);
        no_panic("#[rutina::routine]", || {
            let out = expand::routine(args.clone(), body.clone());
            if !out.to_string().contains("compile_error") {
                CLEAN.fetch_add(1, Ordering::Relaxed);
            }
            out
        })?;
        no_panic("rutina::main!", || expand::main(args.clone()))?;
        no_panic("#[derive(rutina::FromRef)]", || expand::from_ref(body.clone()))?;
        // As `main!`'s keyed form and list form.
        no_panic("rutina::main! { routines }", || expand::main(lex(&format!("routines: [{args}]")).unwrap()))?;
        no_panic("rutina::main! { .. }", || {
            expand::main(lex(&format!("routines: [a, b], shutdown_timeout: {args}")).unwrap_or_default())
        })?;
    }
    Ok(())
}

#[test]
fn the_macros_never_panic() {
    // The pipeline's own panics are what we look for: keep them quiet, report them once.
    std::panic::set_hook(Box::new(|_| {}));
    let cases = std::env::var("RUTINA_PARSER_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        source_file: Some(file!()),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(stream(), item()), |(args, body)| check(&args, &body));
    let _ = std::panic::take_hook();
    eprintln!(
        "macro parser: {cases} cases, {} lexed, {} of them a clean #[rutina::routine] expansion",
        LEXED.load(Ordering::Relaxed),
        CLEAN.load(Ordering::Relaxed)
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => panic!("{why}\nminimal input: {input:#?}"),
        Err(TestError::Abort(why)) => panic!("aborted: {why}"),
    }
}

/// Inputs worth keeping whatever the generator draws.
#[test]
fn edge_inputs() {
    let inputs = [
        "",
        "timeout",
        "timeout =",
        "timeout = ",
        "= \"5s\"",
        ",,,",
        "timeout = \"99999999999999999999999h\"",
        "timeout = \"18446744073709551615s\"",
        "backoff = \"18446744073709551615s 18446744073709551615s\"",
        "max_count = 18446744073709551616",
        "max_count = -1",
        "max_count = 1.5",
        "restart_intensity = ()",
        "restart_intensity = (5)",
        "restart_intensity = (5, \"1m\", 3)",
        "restart_intensity = (, )",
        "restart_intensity = (-1, \"0s\")",
        "readiness_gate = ",
        "readiness_gate = (true)",
        "on_done = Policy::",
        "on_done = ::Restart",
        "on_done = Policy::Restart::Extra",
        "name = \"\"",
        "backoff = \"18446744073709551615s..18446744073709551615s\"",
        "backoff = \"..\", backoff_reset = \"0s\"",
        "every = \"0s\", cron = \"\", backoff = \"1s..\"",
        "cron = \"L W # ? * *\"",
        "cron = \"\\u{0}\"",
        "singleton = \"\", reload = \"\"",
        "heartbeat = \"-1s\"",
        "routines: [a], state: , lease: ",
        "routines: [a], state: App::connect(), lease: || x",
        "routines: [a], configure: , configure: configure(x)",
        "routines: [a], shutdown_delay: \"0s\"",
        "routines: []",
        "routines: [,]",
        "routines: [a::]",
        "routines: [a] shutdown_timeout: \"1s\"",
        "routines: [a], setup: ",
        "routines: [a], setup: || {}",
        "routines: [a], shutdown_order: \"ReverseStart\"",
        "a, b,, c",
        "# ! [x]",
        "'a: loop {}",
    ];
    for args in inputs {
        for body in ["async fn r(ctx: Context) -> Result<(), E> { Ok(()) }", "fn", ""] {
            if let Err(error) = check(args, body) {
                panic!("{args:?} / {body:?}: {error}");
            }
        }
    }
}
