//! Parse: the arguments of `#[rutina::routine(key = value, ..)]` and the input of
//! `rutina::main!(..)`, turned into typed values, each kept with its span.
//!
//! syn does the syntax: both inputs are a `Punctuated` list of [`Entry`]s (`key = value`
//! for the attribute, `key: value` or a routine's path for `main!`), and every value is a
//! `syn::Expr` (`(5, "1m")`, `-1`, `Policy::Restart`, `[a, b]`). What is written here
//! are the diagnostics. Each entry is read up to its comma and checked on its own, and
//! every problem goes into one [`Errors`], so a user fixes everything in one compile.
//! Semantic checks (zero durations, empty lists, the fn's signature) are `valid.rs`'s
//! business.

use std::time::Duration;

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative as _;
use syn::parse::{ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Token};

use crate::errors::{Errors, code};

/// How the attribute macro is named in messages.
pub(crate) const ROUTINE: &str = "#[rutina::routine]";
/// How the function-like macro is named in messages.
pub(crate) const MAIN: &str = "rutina::main!";
/// How the derive is named in messages.
pub(crate) const FROM_REF: &str = "#[derive(rutina::FromRef)]";

/// A value together with the span of the tokens it was written with.
#[derive(Clone, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// The variants of one of rutina's enums that a key takes, written bare (`Restart`) or
/// as a path ending in `Type::Variant` (`Policy::Restart`, `rutina::Policy::Restart`).
/// A parsed value is the variant's name, which `expand.rs` spells out in full.
pub(crate) struct Enum {
    /// The enum's name in rutina.
    pub(crate) ty: &'static str,
    /// What one value is called in messages.
    what: &'static str,
    variants: &'static [&'static str],
}

/// What the runtime does after a run: `rutina::Policy`.
pub(crate) const POLICY: Enum = Enum { ty: "Policy", what: "policy", variants: &["DoNothing", "Restart", "Shutdown"] };
/// In which order `main!`'s group stops its routines: `rutina::ShutdownOrder`.
pub(crate) const SHUTDOWN_ORDER: Enum =
    Enum { ty: "ShutdownOrder", what: "shutdown order", variants: &["AllAtOnce", "ReverseStart"] };

/// `restart_intensity = (5, "1m")`: at most `max_restarts` restarts within any window
/// of `within` (mirrors `rutina::RestartIntensity`).
#[derive(Clone, Debug)]
pub(crate) struct Intensity {
    pub(crate) max_restarts: Spanned<u32>,
    pub(crate) within: Spanned<Duration>,
}

/// The options declared by `#[rutina::routine(..)]`: only the keys that were written
/// and parsed cleanly are `Some`.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoutineArgs {
    pub(crate) on_done: Option<Spanned<&'static str>>,
    pub(crate) on_error: Option<Spanned<&'static str>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) max_count: Option<Spanned<u32>>,
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) backoff: Option<Spanned<BackoffArg>>,
    /// `backoff_reset = "1m"`: `Backoff::reset_after`.
    pub(crate) backoff_reset: Option<Spanned<Duration>>,
    pub(crate) restart_intensity: Option<Intensity>,
    pub(crate) grace_period: Option<Spanned<Duration>>,
    pub(crate) readiness_gate: Option<Spanned<bool>>,
    /// `every = "2s"`: a fixed-rate schedule.
    pub(crate) every: Option<Spanned<Duration>>,
    /// `cron = "0 */5 * * * *"`: the expression as written (checked by `valid.rs`).
    pub(crate) cron: Option<Spanned<String>>,
    pub(crate) heartbeat: Option<Spanned<Duration>>,
    pub(crate) reload: Option<Spanned<bool>>,
    /// `singleton = "key"`: the key of the lease.
    pub(crate) singleton: Option<Spanned<String>>,
    /// Whether `cron` was written before `every` (an error, reported on the second).
    pub(crate) cron_first: bool,
}

/// `backoff = ".."`: a duration (a fixed delay; `"0s"`, none) or a range `"100ms..30s"`
/// (exponential, from the first to the second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackoffArg {
    Fixed(Duration),
    Exponential { initial: Duration, max: Duration },
}

/// The input of `rutina::main!`.
#[derive(Clone, Default)]
pub(crate) struct MainArgs {
    /// The routines to start, in the order written; only those that parsed.
    pub(crate) routines: Vec<syn::Path>,
    /// How many routine entries were written, parsed or not.
    pub(crate) written: usize,
    /// Where the routines are listed: the brackets of `routines: [..]`, or the whole
    /// call for the short form. `None` for a braced call without a `routines` key.
    pub(crate) list_span: Option<Span>,
    pub(crate) shutdown_timeout: Option<Spanned<Duration>>,
    pub(crate) shutdown_order: Option<Spanned<&'static str>>,
    /// `shutdown_delay: "5s"`: the lame-duck delay (`Options::shutdown_delay`).
    pub(crate) shutdown_delay: Option<Spanned<Duration>>,
    /// `setup: init_logging`: the fn called before the runtime is built, as written
    /// (its tokens keep their spans).
    pub(crate) setup: Option<syn::ExprPath>,
    /// `state: App::connect`: the fn (maybe `async`) that makes the state the routines'
    /// parameters are taken from, called inside the runtime before any routine starts.
    pub(crate) state: Option<syn::ExprPath>,
    /// `lease: make_backend`: the fn (maybe `async`) that makes the lease backend of the
    /// singleton routines, called inside the runtime before the group is made.
    pub(crate) lease: Option<syn::ExprPath>,
    /// `configure: configure`: the fn (maybe `async`) that finishes the group's `Options`
    /// at run time (a delay read from the environment), called inside the runtime before
    /// the group is made, after `lease`.
    pub(crate) configure: Option<syn::ExprPath>,
}

/// One key a macro accepts, with how it is written (shown in messages).
struct Key {
    name: &'static str,
    example: &'static str,
    /// A flag may be written alone: `readiness_gate` means `readiness_gate = true`.
    flag: bool,
}

const fn key(name: &'static str, example: &'static str) -> Key {
    Key { name, example, flag: false }
}

const ROUTINE_KEYS: &[Key] = &[
    key("on_done", "on_done = Restart"),
    key("on_error", "on_error = Shutdown"),
    key("timeout", "timeout = \"5s\""),
    key("max_count", "max_count = 3"),
    key("name", "name = \"http\""),
    key("backoff", "backoff = \"100ms..30s\""),
    key("backoff_reset", "backoff_reset = \"1m\""),
    key("restart_intensity", "restart_intensity = (5, \"1m\")"),
    key("grace_period", "grace_period = \"10s\""),
    Key { flag: true, ..key("readiness_gate", "readiness_gate = true") },
    key("every", "every = \"2s\""),
    key("cron", "cron = \"0 */5 * * * *\""),
    key("heartbeat", "heartbeat = \"30s\""),
    Key { flag: true, ..key("reload", "reload = true") },
    key("singleton", "singleton = \"billing-cleanup\""),
];

const MAIN_KEYS: &[Key] = &[
    key("routines", "routines: [http_server, metrics_server]"),
    key("shutdown_timeout", "shutdown_timeout: \"30s\""),
    key("shutdown_order", "shutdown_order: ReverseStart"),
    key("shutdown_delay", "shutdown_delay: \"5s\""),
    key("setup", "setup: init_logging"),
    key("state", "state: App::connect"),
    key("lease", "lease: make_lease"),
    key("configure", "configure: configure"),
];

const DURATION_HINT: &str = "write it like \"250ms\", \"5s\" or \"1m 30s\"";

/// Parses the arguments of `#[rutina::routine(..)]` (the tokens inside the parentheses).
pub(crate) fn parse_routine_args(tokens: TokenStream, errors: &mut Errors) -> RoutineArgs {
    let mut args = RoutineArgs::default();
    let mut seen = Vec::new();
    for entry in Entry::parse_all(tokens, Entry::routine, errors) {
        let Some((key, spec, value, duplicate)) = entry.check(ROUTINE_KEYS, '=', ROUTINE, &mut seen, errors) else {
            continue;
        };
        let named = format!("`{key}`");
        match spec.name {
            "on_done" => set(&mut args.on_done, errors.ok(variant(&POLICY, &key, "=", &value)), duplicate),
            "on_error" => set(&mut args.on_error, errors.ok(variant(&POLICY, &key, "=", &value)), duplicate),
            "timeout" => set(&mut args.timeout, errors.ok(duration(&named, spec, &value)), duplicate),
            "max_count" => {
                set(&mut args.max_count, errors.ok(count(&named, spec, MAX_COUNT_MEANING, &value)), duplicate);
            }
            "name" => set(&mut args.name, errors.ok(string(&key, spec, &value)), duplicate),
            "backoff" => set(&mut args.backoff, errors.ok(backoff(&key, spec, &value)), duplicate),
            "backoff_reset" => set(&mut args.backoff_reset, errors.ok(duration(&named, spec, &value)), duplicate),
            "restart_intensity" => {
                set(&mut args.restart_intensity, restart_intensity(&key, spec, &value, errors), duplicate);
            }
            "grace_period" => set(&mut args.grace_period, errors.ok(duration(&named, spec, &value)), duplicate),
            "readiness_gate" => set(&mut args.readiness_gate, errors.ok(boolean(&key, spec, &value)), duplicate),
            "every" => set(&mut args.every, errors.ok(duration(&named, spec, &value)), duplicate),
            "cron" => set(&mut args.cron, errors.ok(string(&key, spec, &value)), duplicate),
            "heartbeat" => set(&mut args.heartbeat, errors.ok(duration(&named, spec, &value)), duplicate),
            "reload" => set(&mut args.reload, errors.ok(boolean(&key, spec, &value)), duplicate),
            "singleton" => set(&mut args.singleton, errors.ok(string(&key, spec, &value)), duplicate),
            _ => {}
        }
    }
    let position = |name: &str| seen.iter().position(|key| key == name);
    args.cron_first = position("cron") < position("every");
    args
}

/// Parses the input of `rutina::main!`: either `a, b, c` or
/// `routines: [a, b], shutdown_timeout: "30s"`.
pub(crate) fn parse_main_args(tokens: TokenStream, errors: &mut Errors) -> MainArgs {
    let mut args = MainArgs::default();
    let entries = Entry::parse_all(tokens, Entry::main, errors);
    let braced = entries.iter().find(|entry| !matches!(entry, Entry::Missing(_)));
    if !matches!(braced, Some(Entry::Keyed { .. })) {
        args.list_span = Some(Span::call_site());
        for entry in entries {
            match entry {
                Entry::Missing(comma) => {
                    errors.at(comma, format!("unexpected `,` in {MAIN}: expected a routine before it"));
                    continue;
                }
                Entry::Keyed { key, sep, value } => errors.spanning(
                    quote::quote!(#key #sep #value),
                    format!(
                        "{MAIN} takes options only in its braced form: \
                         `rutina::main! {{ routines: [http_server], shutdown_timeout: \"30s\" }}`"
                    ),
                ),
                Entry::Value(value) => args.routines.extend(routine_path(&value, errors)),
            }
            args.written += 1;
        }
        return args;
    }

    let mut seen = Vec::new();
    for entry in entries {
        let Some((key, spec, value, duplicate)) = entry.check(MAIN_KEYS, ':', MAIN, &mut seen, errors) else {
            continue;
        };
        match spec.name {
            "routines" => {
                let (list_span, routines, written) = routine_list(&key, spec, &value, errors);
                if !duplicate {
                    (args.list_span, args.routines, args.written) = (list_span, routines, written);
                }
            }
            "shutdown_timeout" => {
                set(&mut args.shutdown_timeout, errors.ok(duration(&format!("`{key}`"), spec, &value)), duplicate);
            }
            "shutdown_order" => {
                let order = variant(&SHUTDOWN_ORDER, &key, ":", &value);
                set(&mut args.shutdown_order, errors.ok(order), duplicate);
            }
            "shutdown_delay" => {
                set(&mut args.shutdown_delay, errors.ok(duration(&format!("`{key}`"), spec, &value)), duplicate);
            }
            "setup" => set(&mut args.setup, errors.ok(fn_path(&key, spec, SETUP_WHEN, &value)), duplicate),
            "state" => set(&mut args.state, errors.ok(fn_path(&key, spec, STATE_WHEN, &value)), duplicate),
            "lease" => set(&mut args.lease, errors.ok(fn_path(&key, spec, LEASE_WHEN, &value)), duplicate),
            "configure" => {
                set(&mut args.configure, errors.ok(fn_path(&key, spec, CONFIGURE_WHEN, &value)), duplicate);
            }
            _ => {}
        }
    }
    args
}

/// Stores a value that parsed, unless its key was a duplicate (the first one wins).
fn set<T>(slot: &mut Option<T>, value: Option<T>, duplicate: bool) {
    if !duplicate && value.is_some() {
        *slot = value;
    }
}

/// One entry of a macro's input, as written up to its comma.
enum Entry {
    /// `key = value`, `key: value` or `key` alone: the separator may be wrong and the
    /// value missing or malformed, which [`Entry::check`] reports.
    Keyed { key: Ident, sep: Option<TokenTree>, value: Expr },
    /// Anything else: a routine's path in `main!`'s short form.
    Value(Expr),
    /// Nothing, before a stray comma.
    Missing(Span),
}

impl Entry {
    /// The entries of a macro's input, separated by commas; `entry` reads one. Each is
    /// read up to its comma, so that a mistake in one leaves the others to be checked.
    fn parse_all(
        tokens: TokenStream,
        entry: fn(ParseStream<'_>) -> syn::Result<Entry>,
        errors: &mut Errors,
    ) -> Vec<Entry> {
        let entries = |input: ParseStream<'_>| Punctuated::<Entry, Token![,]>::parse_terminated_with(input, entry);
        // No entry stops before its comma, so this does not fail.
        errors.ok(entries.parse2(tokens)).map_or_else(Vec::new, |entries| entries.into_iter().collect())
    }

    /// An entry of `#[rutina::routine(..)]`: a key starts with an identifier.
    fn routine(input: ParseStream<'_>) -> syn::Result<Entry> {
        Entry::parse(input, input.peek(Ident::peek_any))
    }

    /// An entry of `main!`: a key is an identifier before `:` (or `=`, to be reported);
    /// anything else is a value (a routine's path, in the short form).
    fn main(input: ParseStream<'_>) -> syn::Result<Entry> {
        let keyed = input.peek(Ident::peek_any)
            && (input.peek2(Token![:]) && !input.peek2(Token![::]) || input.peek2(Token![=]));
        Entry::parse(input, keyed)
    }

    /// An entry of a list in a value: never a key.
    fn value(input: ParseStream<'_>) -> syn::Result<Entry> {
        Entry::parse(input, false)
    }

    fn parse(input: ParseStream<'_>, keyed: bool) -> syn::Result<Entry> {
        if input.peek(Token![,]) {
            return Ok(Entry::Missing(input.span()));
        }
        if !keyed {
            return expr_or_tokens(input).map(Entry::Value);
        }
        let key = input.call(Ident::parse_any)?;
        let sep = if input.is_empty() || input.peek(Token![,]) { None } else { Some(input.parse()?) };
        Ok(Entry::Keyed { key, sep, value: expr_or_tokens(input)? })
    }

    /// Checks the entry against `keys`, written `key <sep> value`. Reports a stray
    /// comma, an entry that is not a key, a key that is not one of `keys` or was given
    /// before, a wrong separator, a missing value. Returns the key, what it is, its value
    /// (a flag alone reads as `true`), and whether it is a duplicate (whose value is
    /// still checked, then dropped).
    fn check<'k>(
        self,
        keys: &'k [Key],
        sep: char,
        macro_name: &str,
        seen: &mut Vec<String>,
        errors: &mut Errors,
    ) -> Option<(Ident, &'k Key, Expr, bool)> {
        let (key, written_sep, value) = match self {
            Entry::Keyed { key, sep, value } => (key.unraw(), sep, value),
            // A key alone, in `main!`: `setup`.
            Entry::Value(Expr::Path(path)) if path.path.get_ident().is_some() => {
                (path.path.get_ident()?.unraw(), None, Expr::Verbatim(TokenStream::new()))
            }
            Entry::Value(value) => {
                errors.spanning(&value, expected_key(keys, macro_name));
                return None;
            }
            Entry::Missing(comma) => {
                errors.at(comma, format!("unexpected `,` in {macro_name}: expected a key before it"));
                return None;
            }
        };
        let name = key.to_string();
        let Some(spec) = keys.iter().find(|spec| spec.name == name) else {
            let hint = did_you_mean(&name, keys.iter().map(|spec| spec.name));
            let list = backticked(keys.iter().map(|spec| spec.name));
            errors.at(key.span(), format!("unknown key `{name}` in {macro_name}; expected one of {list}{hint}"));
            return None;
        };
        let value = match written_sep {
            None if spec.flag => {
                Expr::Lit(ExprLit { attrs: Vec::new(), lit: Lit::Bool(syn::LitBool::new(true, key.span())) })
            }
            None => {
                errors.at(key.span(), format!("`{name}` needs a value; write `{}`", spec.example));
                return None;
            }
            Some(TokenTree::Punct(punct)) if punct.as_char() == sep => {
                if is_empty(&value) {
                    let written = if sep == ':' { format!("{name}:") } else { format!("{name} {sep}") };
                    errors.at(punct.span(), format!("missing value after `{written}`; write `{}`", spec.example));
                    return None;
                }
                value
            }
            Some(other) => {
                errors.at(other.span(), format!("expected `{sep}` after `{name}`; write `{}`", spec.example));
                return None;
            }
        };
        let duplicate = seen.contains(&name);
        if duplicate {
            errors.at(key.span(), format!("duplicate key `{name}` in {macro_name}; each key may be given once"));
        } else {
            seen.push(name);
        }
        Some((key, spec, value, duplicate))
    }
}

/// One expression up to the next comma (or the end). Tokens that are not one
/// expression come back as `Expr::Verbatim`, so that the key's own check says what it
/// expects, on all of them.
fn expr_or_tokens(input: ParseStream<'_>) -> syn::Result<Expr> {
    let fork = input.fork();
    if let Ok(expr) = fork.parse::<Expr>()
        && (fork.is_empty() || fork.peek(Token![,]))
    {
        input.advance_to(&fork);
        return Ok(expr);
    }
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(Expr::Verbatim(tokens))
}

fn is_empty(value: &Expr) -> bool {
    matches!(value, Expr::Verbatim(tokens) if tokens.is_empty())
}

fn expected_key(keys: &[Key], macro_name: &str) -> String {
    let list = backticked(keys.iter().map(|spec| spec.name));
    let example = keys.first().map_or("", |key| key.example);
    format!("expected a key in {macro_name}, like `{example}`; the keys are {list}")
}

/// "`a`, `b`, `c`".
fn backticked<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// The string literal `value` is, if it is one.
fn lit_str(value: &Expr) -> Option<&syn::LitStr> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Some(lit),
        _ => None,
    }
}

/// `on_done = Restart`, `shutdown_order: ReverseStart`: a variant of `of`, bare or as a
/// path. `sep` is how the macro writes `key <sep> value`, for the messages.
fn variant(of: &Enum, key: &Ident, sep: &str, value: &Expr) -> syn::Result<Spanned<&'static str>> {
    let (what, list) = (of.what, backticked(of.variants.iter().copied()));
    let expected = || format!("expected a {what} for `{key}`: one of {list}");
    let find = |name: &str| of.variants.iter().copied().find(|variant| *variant == name);
    if let Some(lit) = lit_str(value) {
        let message = match find(&lit.value()) {
            Some(variant) if sep == ":" => format!("write the {what} without quotes: `{key}: {variant}`"),
            Some(variant) => format!("write the {what} without quotes: `{key} {sep} {variant}`"),
            None => format!("{}, written without quotes", expected()),
        };
        return Err(syn::Error::new(lit.span(), message));
    }
    let Expr::Path(syn::ExprPath { path, qself: None, attrs }) = value else {
        return Err(syn::Error::new_spanned(value, expected()));
    };
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    let well_formed = attrs.is_empty()
        && segments.iter().all(|segment| segment.arguments.is_none())
        && (segments.len() == 1 || segments.len().checked_sub(2).is_some_and(|i| segments[i].ident == of.ty));
    let Some(last) = segments.last().filter(|_| well_formed) else {
        return Err(syn::Error::new_spanned(value, expected()));
    };
    let written = last.ident.unraw().to_string();
    match find(&written) {
        Some(variant) => Ok(Spanned { value: variant, span: last.ident.span() }),
        None => {
            let hint = did_you_mean(&written, of.variants.iter().copied());
            Err(syn::Error::new(last.ident.span(), format!("unknown {what} `{written}`; expected one of {list}{hint}")))
        }
    }
}

/// `timeout = "5s"`: a humantime string, parsed now. `what` names the value in
/// messages: "`timeout`", "the window of `restart_intensity`".
fn duration(what: &str, spec: &Key, value: &Expr) -> syn::Result<Spanned<Duration>> {
    let Some(lit) = lit_str(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!("{what} must be a duration string, like `{}`", spec.example),
        ));
    };
    let written = lit.value();
    match humantime::parse_duration(&written) {
        Ok(duration) => Ok(Spanned { value: duration, span: lit.span() }),
        Err(reason) => Err(syn::Error::new(
            lit.span(),
            format!("invalid duration {written:?} for {what}: {reason}; {DURATION_HINT}"),
        )),
    }
}

/// `backoff = "1s"` (fixed), `"0s"` (none) or `"100ms..30s"` (exponential from the first
/// to the second). Each end is parsed here; `valid.rs` checks that a range goes up from a
/// non-zero start.
fn backoff(key: &Ident, spec: &Key, value: &Expr) -> syn::Result<Spanned<BackoffArg>> {
    let what = format!("`{key}`");
    let Some(lit) = lit_str(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!(
                "{what} must be a duration string, a fixed delay like `{key} = \"1s\"`, or a range \
                 for an exponential backoff, like `{}`",
                spec.example
            ),
        ));
    };
    let written = lit.value();
    let Some((initial, max)) = written.split_once("..") else {
        let delay = duration(&what, spec, value)?;
        return Ok(Spanned { value: BackoffArg::Fixed(delay.value), span: delay.span });
    };
    let error = |message: String| Err(syn::Error::new(lit.span(), message));
    let range = |end: &str| {
        humantime::parse_duration(end.trim()).map_err(|reason| {
            format!(
                "invalid duration {:?} in the range of {what}, {written:?}: {reason}; write the range \
                 like `{}`, from the first delay to the largest",
                end.trim(),
                spec.example
            )
        })
    };
    if max.starts_with('=') {
        return error(format!(
            "write the range of {what} without `=`, like `{}`: the largest delay is always included",
            spec.example
        ));
    }
    if initial.trim().is_empty() || max.trim().is_empty() {
        return error(format!(
            "the range of {what}, {written:?}, needs both ends: the first delay and the largest, \
             like `{}`",
            spec.example
        ));
    }
    match (range(initial), range(max)) {
        (Ok(initial), Ok(max)) => Ok(Spanned { value: BackoffArg::Exponential { initial, max }, span: lit.span() }),
        (Err(message), _) | (_, Err(message)) => error(message),
    }
}

/// What `max_count` counts, said when it is negative.
const MAX_COUNT_MEANING: &str = "it is how many restarts are allowed (`max_count = 0` runs once and never restarts)";
/// What the count of `restart_intensity` counts, said when it is negative.
const INTENSITY_COUNT_MEANING: &str = "it is how many restarts the window allows";

/// `max_count = 3`: an integer literal that fits a `u32`. `what` names the value in
/// messages; `meaning` says what it counts, when it is negative.
fn count(what: &str, spec: &Key, meaning: &str, value: &Expr) -> syn::Result<Spanned<u32>> {
    let error = |message: String| Err(syn::Error::new_spanned(value, message));
    let number = |value: &Expr| match value {
        Expr::Lit(ExprLit { lit: lit @ (Lit::Int(_) | Lit::Float(_)), .. }) => Some(lit.clone()),
        _ => None,
    };
    match value {
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) if number(expr).is_some() => {
            error(format!("{what} cannot be negative: {meaning}"))
        }
        _ => match number(value) {
            Some(Lit::Int(int)) => int
                .base10_parse::<u32>()
                .map(|count| Spanned { value: count, span: int.span() })
                .or_else(|_| error(format!("{what} is too large: it must fit in a `u32` (at most {})", u32::MAX))),
            Some(_) => error(format!("{what} must be a whole number, like `{}`", spec.example)),
            None => error(format!("{what} must be an integer, like `{}`", spec.example)),
        },
    }
}

/// `restart_intensity = (5, "1m")`: a restart count and a window, in parentheses. Every
/// mistake is reported (on the part it is about); `None` unless both parts parsed.
fn restart_intensity(key: &Ident, spec: &Key, value: &Expr, errors: &mut Errors) -> Option<Intensity> {
    let Some((parens, parts)) = delimited(value, Delimiter::Parenthesis, ROUTINE, "a value", errors) else {
        errors.spanning(
            value,
            format!(
                "`{key}` must be a pair in parentheses, `(restarts, \"window\")`: \
                 write `{}` for at most 5 restarts within any minute",
                spec.example
            ),
        );
        return None;
    };
    let [max_restarts, within, extra @ ..] = parts.as_slice() else {
        errors.at(parens, format!("`{key}` needs two values, a restart count and a window: write `{}`", spec.example));
        return None;
    };
    if !extra.is_empty() {
        errors.spanning(
            quote::quote!(#(#extra)*),
            format!("`{key}` takes two values, a restart count and a window, like `{}`; remove this", spec.example),
        );
    }
    let max_restarts = count(&format!("the restart count of `{key}`"), spec, INTENSITY_COUNT_MEANING, max_restarts);
    let max_restarts = errors.ok(max_restarts);
    let within = errors.ok(duration(&format!("the window of `{key}`"), spec, within));
    Some(Intensity { max_restarts: max_restarts?, within: within? }).filter(|_| extra.is_empty())
}

/// `readiness_gate = true`; a flag written alone arrives here as `true`.
fn boolean(key: &Ident, spec: &Key, value: &Expr) -> syn::Result<Spanned<bool>> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Bool(lit), .. }) => return Ok(Spanned { value: lit.value, span: lit.span }),
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) if matches!(lit.value().as_str(), "true" | "false") => {
            let written = lit.value();
            return Err(syn::Error::new(lit.span(), format!("write `{written}` without quotes: `{key} = {written}`")));
        }
        _ => {}
    }
    let hint = match value {
        Expr::Path(path) => {
            path.path.get_ident().map(|ident| did_you_mean(&ident.unraw().to_string(), ["true", "false"]))
        }
        _ => None,
    };
    Err(syn::Error::new_spanned(
        value,
        format!(
            "`{key}` must be `true` or `false`, like `{}` (or just `{key}`){}",
            spec.example,
            hint.unwrap_or_default()
        ),
    ))
}

/// `name = "http"`.
fn string(key: &Ident, spec: &Key, value: &Expr) -> syn::Result<Spanned<String>> {
    match lit_str(value) {
        Some(lit) => Ok(Spanned { value: lit.value(), span: lit.span() }),
        None => Err(syn::Error::new_spanned(value, format!("`{key}` must be a string, like `{}`", spec.example))),
    }
}

/// `routines: [a, b]`: returns the list's span, the parsed paths and how many entries
/// were written.
fn routine_list(key: &Ident, spec: &Key, value: &Expr, errors: &mut Errors) -> (Option<Span>, Vec<syn::Path>, usize) {
    let Some((brackets, list)) = delimited(value, Delimiter::Bracket, MAIN, "a routine", errors) else {
        errors.spanning(value, format!("`{key}` must be a list in brackets, like `{}`", spec.example));
        return (None, Vec::new(), 0);
    };
    let routines = list.iter().filter_map(|entry| routine_path(entry, errors)).collect();
    (Some(brackets), routines, list.len())
}

/// The values inside `value` when it is one group in `delimiter` (a tuple, an array),
/// with the span of the group. A stray comma inside is reported; `what` is what
/// should have been before it.
fn delimited(
    value: &Expr,
    delimiter: Delimiter,
    macro_name: &str,
    what: &str,
    errors: &mut Errors,
) -> Option<(Span, Vec<Expr>)> {
    let mut tokens = value.to_token_stream().into_iter();
    let (Some(TokenTree::Group(group)), None) = (tokens.next(), tokens.next()) else {
        return None;
    };
    if group.delimiter() != delimiter {
        return None;
    }
    let mut values = Vec::new();
    for entry in Entry::parse_all(group.stream(), Entry::value, errors) {
        match entry {
            Entry::Value(value) => values.push(value),
            Entry::Missing(comma) => {
                errors.at(comma, format!("unexpected `,` in {macro_name}: expected {what} before it"))
            }
            Entry::Keyed { .. } => {}
        }
    }
    Some((group.span(), values))
}

/// One entry of `main!`: the path of a `#[rutina::routine]` item.
fn routine_path(entry: &Expr, errors: &mut Errors) -> Option<syn::Path> {
    match entry {
        Expr::Path(syn::ExprPath { attrs, qself: None, path }) if attrs.is_empty() => Some(path.clone()),
        _ => {
            errors.spanning(entry, format!("expected the name of a {ROUTINE} item, like `poll_feed` or `jobs::poll`"));
            None
        }
    }
}

/// When `main!` calls `setup`'s fn, for messages.
const SETUP_WHEN: &str = "once, before it starts the runtime";
/// When `main!` calls `state`'s fn, for messages.
const STATE_WHEN: &str = "once, inside the runtime, before it starts the routines";
/// When `main!` calls `lease`'s fn, for messages.
const LEASE_WHEN: &str = "once, inside the runtime, before it makes the group";
/// When `main!` calls `configure`'s fn, for messages.
const CONFIGURE_WHEN: &str = "once, inside the runtime, with the group's options, before it makes the group";

/// What the fns of `setup`, `state` and `lease` take, for messages.
const NO_ARGUMENTS: &str = "taking no arguments";
/// What `configure`'s fn takes, for messages.
const OPTIONS_ARGUMENT: &str = "taking the group's `rutina::Options`";

/// `setup: init_logging`, `state: App::connect`, `lease: make_lease`, `configure:
/// configure`: the path of an fn (`init_logging`, `config::load`, `Config::init`), which
/// `main!` calls `when`; not a call, a closure or a block.
fn fn_path(key: &Ident, spec: &Key, when: &str, value: &Expr) -> syn::Result<syn::ExprPath> {
    let takes = if spec.name == "configure" { OPTIONS_ARGUMENT } else { NO_ARGUMENTS };
    match value {
        Expr::Path(path) if path.attrs.is_empty() => Ok(path.clone()),
        // `setup: init_logging()`: the fn is called by `main!`, not by the user.
        Expr::Call(call)
            if call.args.is_empty()
                && call.attrs.is_empty()
                && matches!(&*call.func, Expr::Path(path) if path.attrs.is_empty()) =>
        {
            Err(syn::Error::new(
                call.paren_token.span.join(),
                format!("write the fn without calling it: `{key}: {}`; {MAIN} calls it {when}", code(&call.func)),
            ))
        }
        _ => Err(syn::Error::new_spanned(
            value,
            format!(
                "`{key}` must be the name of an fn {takes}, like `{}` (not a call, a closure or \
                 a block: put the code in an fn)",
                spec.example
            ),
        )),
    }
}

/// " (did you mean `x`?)" when `written` is a near miss of one of `candidates`
/// (ignoring case: at most 2 edits away, or a quarter of the length for long names),
/// else nothing.
fn did_you_mean<'a>(written: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let written = written.to_lowercase();
    let distance = |candidate: &str| strsim::damerau_levenshtein(&written, &candidate.to_lowercase());
    let closest = candidates
        .into_iter()
        .filter(|candidate| distance(candidate) <= 2.max(candidate.len() / 4))
        .min_by_key(|candidate| distance(candidate));
    closest.map(|close| format!(" (did you mean `{close}`?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests;
