//! Parse: the arguments of `#[rutina::routine(key = value, ..)]` and the input of
//! `rutina::main!(..)`, turned into typed values, each kept with its span.
//!
//! Both parsers are plain functions over `proc_macro2::TokenStream`: they take any
//! tokens, never panic, record every problem they find in an [`Errors`] (one error per
//! offending token, so a user fixes everything in one compile) and return whatever
//! parsed cleanly. Semantic checks (zero durations, empty lists, the fn's signature)
//! are `valid.rs`'s business.

use std::fmt::Write as _;
use std::time::Duration;

use proc_macro2::{Delimiter, Ident, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;

use crate::errors::Errors;

/// How the attribute macro is named in messages.
pub(crate) const ROUTINE: &str = "#[rutina::routine]";
/// How the function-like macro is named in messages.
pub(crate) const MAIN: &str = "rutina::main!";

/// A value together with the span of the tokens it was written with.
#[derive(Clone, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// A closed set of unit variants mirroring one of rutina's enums, written as the bare
/// variant (`Restart`) or a path ending in `Type::Variant` (`Policy::Restart`,
/// `rutina::Policy::Restart`).
pub(crate) trait Variants: Copy + 'static {
    /// The enum's name in rutina.
    const TYPE: &'static str;
    /// What one value is called in messages.
    const WHAT: &'static str;
    /// Every variant, in the order messages list them.
    const ALL: &'static [Self];

    /// The variant's name, as written in the macro and in rutina.
    fn name(self) -> &'static str;

    /// The variant called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|variant| variant.name() == name)
    }

    /// "`A`, `B`, `C`", for messages.
    fn list() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|variant| format!("`{}`", variant.name())).collect();
        names.join(", ")
    }
}

/// What the runtime does after a run (mirrors `rutina::Policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    DoNothing,
    Restart,
    Shutdown,
}

impl Variants for Policy {
    const TYPE: &'static str = "Policy";
    const WHAT: &'static str = "policy";
    const ALL: &'static [Policy] = &[Policy::DoNothing, Policy::Restart, Policy::Shutdown];

    fn name(self) -> &'static str {
        match self {
            Policy::DoNothing => "DoNothing",
            Policy::Restart => "Restart",
            Policy::Shutdown => "Shutdown",
        }
    }
}

/// In which order `main!`'s group stops its routines (mirrors `rutina::ShutdownOrder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShutdownOrder {
    AllAtOnce,
    ReverseStart,
}

impl Variants for ShutdownOrder {
    const TYPE: &'static str = "ShutdownOrder";
    const WHAT: &'static str = "shutdown order";
    const ALL: &'static [ShutdownOrder] = &[ShutdownOrder::AllAtOnce, ShutdownOrder::ReverseStart];

    fn name(self) -> &'static str {
        match self {
            ShutdownOrder::AllAtOnce => "AllAtOnce",
            ShutdownOrder::ReverseStart => "ReverseStart",
        }
    }
}

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
    pub(crate) on_done: Option<Spanned<Policy>>,
    pub(crate) on_error: Option<Spanned<Policy>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) max_count: Option<Spanned<u32>>,
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) backoff: Option<Spanned<Duration>>,
    pub(crate) restart_intensity: Option<Intensity>,
    pub(crate) grace_period: Option<Spanned<Duration>>,
    pub(crate) readiness_gate: Option<Spanned<bool>>,
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
    pub(crate) shutdown_order: Option<Spanned<ShutdownOrder>>,
    /// `setup: init_logging`: the fn called before the runtime is built, as written
    /// (its tokens keep their spans).
    pub(crate) setup: Option<syn::ExprPath>,
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

const fn flag(name: &'static str, example: &'static str) -> Key {
    Key { name, example, flag: true }
}

const ROUTINE_KEYS: &[Key] = &[
    key("on_done", "on_done = Restart"),
    key("on_error", "on_error = Shutdown"),
    key("timeout", "timeout = \"5s\""),
    key("max_count", "max_count = 3"),
    key("name", "name = \"http\""),
    key("backoff", "backoff = \"100ms\""),
    key("restart_intensity", "restart_intensity = (5, \"1m\")"),
    key("grace_period", "grace_period = \"10s\""),
    flag("readiness_gate", "readiness_gate = true"),
];

const MAIN_KEYS: &[Key] = &[
    key("routines", "routines: [http_server, metrics_server]"),
    key("shutdown_timeout", "shutdown_timeout: \"30s\""),
    key("shutdown_order", "shutdown_order: ReverseStart"),
    key("setup", "setup: init_logging"),
];

const DURATION_HINT: &str = "write it like \"250ms\", \"5s\" or \"1m 30s\"";

/// Parses the arguments of `#[rutina::routine(..)]` (the tokens inside the parentheses).
pub(crate) fn parse_routine_args(tokens: TokenStream, errors: &mut Errors) -> RoutineArgs {
    let mut args = RoutineArgs::default();
    let mut seen: Vec<String> = Vec::new();
    for entry in split_entries(tokens, ROUTINE, "a key", errors) {
        let Some((key, spec, value)) = key_value(entry, ROUTINE_KEYS, '=', ROUTINE, errors) else {
            continue;
        };
        let duplicate = check_duplicate(&key, &mut seen, ROUTINE, errors);
        let named = format!("`{key}`");
        let parsed = match spec.name {
            "on_done" => variant(&key, '=', value).map(|v| set(&mut args.on_done, v, duplicate)),
            "on_error" => variant(&key, '=', value).map(|v| set(&mut args.on_error, v, duplicate)),
            "timeout" => duration(&named, spec, value).map(|v| set(&mut args.timeout, v, duplicate)),
            "max_count" => {
                count(&named, spec, MAX_COUNT_MEANING, value).map(|v| set(&mut args.max_count, v, duplicate))
            }
            "name" => string(&key, spec, value).map(|v| set(&mut args.name, v, duplicate)),
            "backoff" => duration(&named, spec, value).map(|v| set(&mut args.backoff, v, duplicate)),
            "restart_intensity" => {
                if let Some(intensity) = restart_intensity(&key, spec, value, errors) {
                    set(&mut args.restart_intensity, intensity, duplicate);
                }
                Ok(())
            }
            "grace_period" => duration(&named, spec, value).map(|v| set(&mut args.grace_period, v, duplicate)),
            "readiness_gate" => boolean(&key, spec, value).map(|v| set(&mut args.readiness_gate, v, duplicate)),
            _ => Ok(()),
        };
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    args
}

/// Parses the input of `rutina::main!`: either `a, b, c` or
/// `routines: [a, b], shutdown_timeout: "30s"`.
pub(crate) fn parse_main_args(tokens: TokenStream, errors: &mut Errors) -> MainArgs {
    let mut args = MainArgs::default();
    let entries = split_entries(tokens, MAIN, "a routine", errors);
    let keyed = entries.first().is_some_and(|entry| looks_keyed(entry));
    if !keyed {
        args.list_span = Some(Span::call_site());
        for entry in entries {
            args.written += 1;
            if looks_keyed(&entry) {
                errors.spanning(
                    TokenStream::from_iter(entry),
                    format!(
                        "{MAIN} takes options only in its braced form: \
                         `rutina::main! {{ routines: [http_server], shutdown_timeout: \"30s\" }}`"
                    ),
                );
            } else if let Some(path) = routine_path(entry, errors) {
                args.routines.push(path);
            }
        }
        return args;
    }

    let mut seen: Vec<String> = Vec::new();
    for entry in entries {
        let Some((key, spec, value)) = key_value(entry, MAIN_KEYS, ':', MAIN, errors) else {
            continue;
        };
        let duplicate = check_duplicate(&key, &mut seen, MAIN, errors);
        match spec.name {
            "routines" => {
                let (list_span, routines, written) = routine_list(&key, spec, value, errors);
                if !duplicate {
                    args.list_span = list_span;
                    args.routines = routines;
                    args.written = written;
                }
            }
            "shutdown_timeout" => match duration(&format!("`{key}`"), spec, value) {
                Ok(value) => set(&mut args.shutdown_timeout, value, duplicate),
                Err(error) => errors.push(error),
            },
            "shutdown_order" => match variant(&key, ':', value) {
                Ok(value) => set(&mut args.shutdown_order, value, duplicate),
                Err(error) => errors.push(error),
            },
            "setup" => match setup_path(&key, spec, value) {
                Ok(value) => set(&mut args.setup, value, duplicate),
                Err(error) => errors.push(error),
            },
            _ => {}
        }
    }
    args
}

/// Stores a parsed value unless its key was a duplicate (the first one wins).
fn set<T>(slot: &mut Option<T>, value: T, duplicate: bool) {
    if !duplicate {
        *slot = Some(value);
    }
}

/// Splits a token stream at its top-level commas (commas inside groups stay), allowing
/// one trailing comma. Reports a comma with nothing before it.
fn split_entries(tokens: TokenStream, macro_name: &str, what: &str, errors: &mut Errors) -> Vec<Vec<TokenTree>> {
    let mut entries = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        match token {
            TokenTree::Punct(comma) if comma.as_char() == ',' => {
                if current.is_empty() {
                    errors.at(comma.span(), format!("unexpected `,` in {macro_name}: expected {what} before it"));
                } else {
                    entries.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        entries.push(current);
    }
    entries
}

/// Whether an entry starts like `key: ..` or `key = ..` (rather than a path).
fn looks_keyed(entry: &[TokenTree]) -> bool {
    match entry {
        [TokenTree::Ident(_), TokenTree::Punct(punct), ..] => {
            punct.as_char() == '=' || (punct.as_char() == ':' && punct.spacing() == Spacing::Alone)
        }
        _ => false,
    }
}

/// Splits `key <sep> value` and looks the key up. Reports a missing or unknown key, a
/// wrong separator and a missing value; returns `None` then. A [flag](Key::flag) written
/// alone comes back with the value `true`, spanned on the key.
fn key_value<'k>(
    entry: Vec<TokenTree>,
    keys: &'k [Key],
    sep: char,
    macro_name: &str,
    errors: &mut Errors,
) -> Option<(Ident, &'k Key, TokenStream)> {
    let mut tokens = entry.into_iter();
    let key = match tokens.next() {
        Some(TokenTree::Ident(key)) => key,
        Some(first) => {
            let entry = TokenStream::from_iter(std::iter::once(first).chain(tokens));
            errors.spanning(
                entry,
                format!(
                    "expected a key in {macro_name}, like `{}`; the keys are {}",
                    keys.first().map_or("", |key| key.example),
                    key_list(keys)
                ),
            );
            return None;
        }
        None => return None,
    };
    let name = key.unraw().to_string();
    let Some(spec) = keys.iter().find(|spec| spec.name == name) else {
        let mut message = format!("unknown key `{name}` in {macro_name}; expected one of {}", key_list(keys));
        if let Some(close) = closest(&name, keys.iter().map(|spec| spec.name)) {
            let _ = write!(message, " (did you mean `{close}`?)");
        }
        errors.at(key.span(), message);
        return None;
    };
    match tokens.next() {
        Some(TokenTree::Punct(punct)) if punct.as_char() == sep => {
            let value = TokenStream::from_iter(tokens);
            if value.is_empty() {
                errors.at(punct.span(), format!("missing value after `{name} {sep}`; write `{}`", spec.example));
                return None;
            }
            Some((key, spec, value))
        }
        Some(other) => {
            errors.at(other.span(), format!("expected `{sep}` after `{name}`; write `{}`", spec.example));
            None
        }
        None if spec.flag => {
            let value = TokenStream::from(TokenTree::Ident(Ident::new("true", key.span())));
            Some((key, spec, value))
        }
        None => {
            errors.at(key.span(), format!("`{name}` needs a value; write `{}`", spec.example));
            None
        }
    }
}

/// Records `key` as seen; reports it (and returns true) when it was seen before.
fn check_duplicate(key: &Ident, seen: &mut Vec<String>, macro_name: &str, errors: &mut Errors) -> bool {
    let name = key.unraw().to_string();
    if seen.contains(&name) {
        errors.at(key.span(), format!("duplicate key `{name}` in {macro_name}; each key may be given once"));
        true
    } else {
        seen.push(name);
        false
    }
}

fn key_list(keys: &[Key]) -> String {
    let names: Vec<String> = keys.iter().map(|key| format!("`{}`", key.name)).collect();
    names.join(", ")
}

/// `on_done = Restart`, `shutdown_order: ReverseStart`: a variant of `V`, bare or as a
/// path (`Policy::Restart`, `rutina::Policy::Restart`). `sep` is how the macro writes
/// `key <sep> value`, for the messages.
fn variant<V: Variants>(key: &Ident, sep: char, value: TokenStream) -> syn::Result<Spanned<V>> {
    let (what, list) = (V::WHAT, V::list());
    let expected = || format!("expected a {what} for `{key}`: one of {list}");
    if let Ok(lit) = syn::parse2::<syn::LitStr>(value.clone()) {
        let written = lit.value();
        let message = match V::from_name(&written) {
            Some(variant) => format!("write the {what} without quotes: `{}`", assignment(key, sep, variant.name())),
            None => format!("{}, written without quotes", expected()),
        };
        return Err(syn::Error::new(lit.span(), message));
    }
    let path: syn::Path = syn::parse2(value.clone()).map_err(|_| syn::Error::new_spanned(&value, expected()))?;
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    let well_formed = segments.iter().all(|segment| matches!(segment.arguments, syn::PathArguments::None))
        && (segments.len() == 1
            || segments
                .len()
                .checked_sub(2)
                .and_then(|index| segments.get(index))
                .is_some_and(|segment| segment.ident == V::TYPE));
    let Some(last) = segments.last().filter(|_| well_formed) else {
        return Err(syn::Error::new_spanned(&path, expected()));
    };
    let written = last.ident.unraw().to_string();
    match V::from_name(&written) {
        Some(variant) => Ok(Spanned { value: variant, span: last.ident.span() }),
        None => {
            let mut message = format!("unknown {what} `{written}`; expected one of {list}");
            if let Some(close) = closest(&written, V::ALL.iter().map(|variant| variant.name())) {
                let _ = write!(message, " (did you mean `{close}`?)");
            }
            Err(syn::Error::new(last.ident.span(), message))
        }
    }
}

/// `key = value` or `key: value`, as the macro writes it.
fn assignment(key: &Ident, sep: char, value: &str) -> String {
    match sep {
        ':' => format!("{key}: {value}"),
        _ => format!("{key} {sep} {value}"),
    }
}

/// `timeout = "5s"`: a humantime string, parsed now. `what` names the value in
/// messages: "`timeout`", "the window of `restart_intensity`".
fn duration(what: &str, spec: &Key, value: TokenStream) -> syn::Result<Spanned<Duration>> {
    let lit: syn::LitStr = syn::parse2(value.clone()).map_err(|_| {
        syn::Error::new_spanned(&value, format!("{what} must be a duration string, like `{}`", spec.example))
    })?;
    let written = lit.value();
    match humantime::parse_duration(&written) {
        Ok(duration) => Ok(Spanned { value: duration, span: lit.span() }),
        Err(reason) => Err(syn::Error::new(
            lit.span(),
            format!("invalid duration {written:?} for {what}: {reason}; {DURATION_HINT}"),
        )),
    }
}

/// What `max_count` counts, said when it is negative.
const MAX_COUNT_MEANING: &str = "it is how many restarts are allowed (`max_count = 0` runs once and never restarts)";
/// What the count of `restart_intensity` counts, said when it is negative.
const INTENSITY_COUNT_MEANING: &str = "it is how many restarts the window allows";

/// `max_count = 3`: an integer literal that fits a `u32`. `what` names the value in
/// messages; `meaning` says what it counts, when it is negative.
fn count(what: &str, spec: &Key, meaning: &str, value: TokenStream) -> syn::Result<Spanned<u32>> {
    let negative = || syn::Error::new_spanned(&value, format!("{what} cannot be negative: {meaning}"));
    let not_integer =
        |kind: &str| syn::Error::new_spanned(&value, format!("{what} must be {kind}, like `{}`", spec.example));
    let mut tokens = value.clone().into_iter();
    if let (Some(TokenTree::Punct(minus)), Some(_)) = (tokens.next(), tokens.next())
        && minus.as_char() == '-'
    {
        return Err(negative());
    }
    match syn::parse2::<syn::Lit>(value.clone()) {
        Ok(syn::Lit::Int(int)) => {
            if int.base10_digits().starts_with('-') {
                return Err(negative());
            }
            int.base10_parse::<u32>().map(|count| Spanned { value: count, span: int.span() }).map_err(|_| {
                syn::Error::new(
                    int.span(),
                    format!("{what} is too large: it must fit in a `u32` (at most {})", u32::MAX),
                )
            })
        }
        Ok(syn::Lit::Float(float)) if float.base10_digits().starts_with('-') => Err(negative()),
        Ok(syn::Lit::Float(_)) => Err(not_integer("a whole number")),
        _ => Err(not_integer("an integer")),
    }
}

/// `restart_intensity = (5, "1m")`: a restart count and a window, in parentheses. Every
/// mistake is reported (on the part it is about); `None` unless both parts parsed.
fn restart_intensity(key: &Ident, spec: &Key, value: TokenStream, errors: &mut Errors) -> Option<Intensity> {
    let mut tokens = value.clone().into_iter();
    let pair = match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Group(pair)), None) if pair.delimiter() == Delimiter::Parenthesis => pair,
        _ => {
            errors.spanning(
                value,
                format!(
                    "`{key}` must be a pair in parentheses, `(restarts, \"window\")`: \
                     write `{}` for at most 5 restarts within any minute",
                    spec.example
                ),
            );
            return None;
        }
    };
    let mut entries = split_entries(pair.stream(), ROUTINE, "a value", errors).into_iter();
    let (Some(max_restarts), Some(within)) = (entries.next(), entries.next()) else {
        errors.at(
            pair.span(),
            format!("`{key}` needs two values, a restart count and a window: write `{}`", spec.example),
        );
        return None;
    };
    let extra = TokenStream::from_iter(entries.flatten());
    let arity_ok = extra.is_empty();
    if !arity_ok {
        errors.spanning(
            extra,
            format!("`{key}` takes two values, a restart count and a window, like `{}`; remove this", spec.example),
        );
    }
    let max_restarts = count(
        &format!("the restart count of `{key}`"),
        spec,
        INTENSITY_COUNT_MEANING,
        TokenStream::from_iter(max_restarts),
    );
    let within = duration(&format!("the window of `{key}`"), spec, TokenStream::from_iter(within));
    match (max_restarts, within) {
        (Ok(max_restarts), Ok(within)) => arity_ok.then_some(Intensity { max_restarts, within }),
        (max_restarts, within) => {
            for error in [max_restarts.err(), within.err()].into_iter().flatten() {
                errors.push(error);
            }
            None
        }
    }
}

/// `readiness_gate = true`; a flag written alone arrives here as `true`.
fn boolean(key: &Ident, spec: &Key, value: TokenStream) -> syn::Result<Spanned<bool>> {
    match syn::parse2::<syn::Lit>(value.clone()) {
        Ok(syn::Lit::Bool(lit)) => return Ok(Spanned { value: lit.value, span: lit.span }),
        Ok(syn::Lit::Str(lit)) if matches!(lit.value().as_str(), "true" | "false") => {
            return Err(syn::Error::new(
                lit.span(),
                format!("write `{}` without quotes: `{key} = {}`", lit.value(), lit.value()),
            ));
        }
        _ => {}
    }
    let mut message = format!("`{key}` must be `true` or `false`, like `{}` (or just `{key}`)", spec.example);
    if let Ok(ident) = syn::parse2::<Ident>(value.clone())
        && let Some(close) = closest(&ident.unraw().to_string(), ["true", "false"].into_iter())
    {
        let _ = write!(message, " (did you mean `{close}`?)");
    }
    Err(syn::Error::new_spanned(&value, message))
}

/// `name = "http"`.
fn string(key: &Ident, spec: &Key, value: TokenStream) -> syn::Result<Spanned<String>> {
    let lit: syn::LitStr = syn::parse2(value.clone())
        .map_err(|_| syn::Error::new_spanned(&value, format!("`{key}` must be a string, like `{}`", spec.example)))?;
    Ok(Spanned { value: lit.value(), span: lit.span() })
}

/// `routines: [a, b]`: returns the list's span, the parsed paths and how many entries
/// were written.
fn routine_list(
    key: &Ident,
    spec: &Key,
    value: TokenStream,
    errors: &mut Errors,
) -> (Option<Span>, Vec<syn::Path>, usize) {
    let mut tokens = value.clone().into_iter();
    let (Some(TokenTree::Group(list)), None) = (tokens.next(), tokens.next()) else {
        errors.spanning(value, format!("`{key}` must be a list in brackets, like `{}`", spec.example));
        return (None, Vec::new(), 0);
    };
    if list.delimiter() != Delimiter::Bracket {
        errors.spanning(&list, format!("`{key}` must be a list in brackets, like `{}`", spec.example));
        return (None, Vec::new(), 0);
    }
    let entries = split_entries(list.stream(), MAIN, "a routine", errors);
    let written = entries.len();
    let routines = entries.into_iter().filter_map(|entry| routine_path(entry, errors)).collect();
    (Some(list.span()), routines, written)
}

/// One entry of `main!`: the path of a `#[rutina::routine]` item.
fn routine_path(entry: Vec<TokenTree>, errors: &mut Errors) -> Option<syn::Path> {
    let tokens = TokenStream::from_iter(entry);
    match syn::parse2::<syn::Path>(tokens.clone()) {
        Ok(path) => Some(path),
        Err(_) => {
            errors.spanning(tokens, format!("expected the name of a {ROUTINE} item, like `poll_feed` or `jobs::poll`"));
            None
        }
    }
}

/// `setup: init_logging`: the path of an fn (`init_logging`, `config::load`,
/// `Config::init`), which `main!` calls; not a call, a closure or a block.
fn setup_path(key: &Ident, spec: &Key, value: TokenStream) -> syn::Result<syn::ExprPath> {
    if let Ok(path) = syn::parse2::<syn::ExprPath>(value.clone())
        && path.attrs.is_empty()
    {
        return Ok(path);
    }
    // `setup: init_logging()`: the fn is called by `main!`, not by the user.
    if let Ok(syn::Expr::Call(call)) = syn::parse2::<syn::Expr>(value.clone())
        && call.args.is_empty()
        && call.attrs.is_empty()
        && let syn::Expr::Path(path) = &*call.func
        && path.attrs.is_empty()
    {
        let path = &path.path;
        return Err(syn::Error::new(
            call.paren_token.span.join(),
            format!(
                "write the fn without calling it: `{key}: {}`; {MAIN} calls it once, \
                 before it starts the runtime",
                path_text(path)
            ),
        ));
    }
    Err(syn::Error::new_spanned(
        &value,
        format!(
            "`{key}` must be the name of an fn taking no arguments, like `{}` (not a call, \
             a closure or a block: put the code in an fn)",
            spec.example
        ),
    ))
}

/// A path as the user would write it: `config::load`, not `config :: load`.
fn path_text(path: &syn::Path) -> String {
    let text = quote::ToTokens::to_token_stream(path).to_string().replace(" :: ", "::");
    match text.strip_prefix(":: ") {
        Some(rest) => format!("::{rest}"),
        None => text,
    }
}

/// The candidate closest to `written` (ignoring case), if it is close enough to be a typo.
fn closest<'a>(written: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let written = written.to_lowercase();
    candidates
        .map(|candidate| (edit_distance(&written, &candidate.to_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn routine(tokens: TokenStream) -> (RoutineArgs, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse_routine_args(tokens, &mut errors);
        (args, errors.messages())
    }

    fn main_args(tokens: TokenStream) -> (MainArgs, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse_main_args(tokens, &mut errors);
        (args, errors.messages())
    }

    fn policy_of(value: &Option<Spanned<Policy>>) -> Option<Policy> {
        value.as_ref().map(|policy| policy.value)
    }

    #[test]
    fn empty_arguments_declare_nothing() {
        let (args, errors) = routine(quote!());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.on_done.is_none() && args.on_error.is_none() && args.timeout.is_none());
        assert!(args.max_count.is_none() && args.name.is_none() && args.backoff.is_none());
        assert!(args.restart_intensity.is_none() && args.grace_period.is_none() && args.readiness_gate.is_none());
    }

    #[test]
    fn every_key_parses_to_its_value() {
        let (args, errors) = routine(quote!(
            on_done = Restart,
            on_error = Shutdown,
            timeout = "5s",
            max_count = 3,
            name = "http",
            backoff = "1m 30s",
            restart_intensity = (5, "1m"),
            grace_period = "10s",
            readiness_gate = false,
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(policy_of(&args.on_done), Some(Policy::Restart));
        assert_eq!(policy_of(&args.on_error), Some(Policy::Shutdown));
        assert_eq!(args.timeout.map(|t| t.value), Some(Duration::from_secs(5)));
        assert_eq!(args.max_count.map(|m| m.value), Some(3));
        assert_eq!(args.name.map(|n| n.value), Some("http".to_owned()));
        assert_eq!(args.backoff.map(|b| b.value), Some(Duration::from_secs(90)));
        let intensity = args.restart_intensity.expect("parsed");
        assert_eq!((intensity.max_restarts.value, intensity.within.value), (5, Duration::from_secs(60)));
        assert_eq!(args.grace_period.map(|g| g.value), Some(Duration::from_secs(10)));
        assert_eq!(args.readiness_gate.map(|g| g.value), Some(false));
    }

    #[test]
    fn policies_may_be_written_as_paths() {
        let (args, errors) = routine(quote!(on_done = Policy::DoNothing, on_error = rutina::Policy::Restart));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(policy_of(&args.on_done), Some(Policy::DoNothing));
        assert_eq!(policy_of(&args.on_error), Some(Policy::Restart));
    }

    #[test]
    fn sub_millisecond_durations_keep_their_nanoseconds() {
        let (args, errors) = routine(quote!(timeout = "1s 500us 7ns"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.timeout.map(|t| t.value), Some(Duration::new(1, 500_007)));
    }

    #[test]
    fn unknown_key_lists_the_keys_and_suggests_the_closest() {
        let (_, errors) = routine(quote!(timout = "5s"));
        assert_eq!(
            errors,
            ["unknown key `timout` in #[rutina::routine]; expected one of `on_done`, \
              `on_error`, `timeout`, `max_count`, `name`, `backoff`, `restart_intensity`, \
              `grace_period`, `readiness_gate` (did you mean `timeout`?)"]
        );
        let (_, errors) = routine(quote!(restart_intensty = (5, "1m")));
        assert!(errors[0].ends_with("(did you mean `restart_intensity`?)"), "{errors:?}");
        let (_, errors) = routine(quote!(restart = Restart));
        assert!(!errors[0].contains("did you mean"), "{errors:?}");
    }

    #[test]
    fn duplicate_key_is_reported_and_the_first_value_kept() {
        let (args, errors) = routine(quote!(max_count = 1, max_count = 2));
        assert_eq!(errors, ["duplicate key `max_count` in #[rutina::routine]; each key may be given once"]);
        assert_eq!(args.max_count.map(|m| m.value), Some(1));
    }

    #[test]
    fn unknown_policy_lists_the_three() {
        let (_, errors) = routine(quote!(on_done = Restarts));
        assert_eq!(
            errors,
            ["unknown policy `Restarts`; expected one of `DoNothing`, `Restart`, `Shutdown` \
              (did you mean `Restart`?)"]
        );
    }

    #[test]
    fn quoted_policy_says_to_drop_the_quotes() {
        let (_, errors) = routine(quote!(on_error = "Shutdown"));
        assert_eq!(errors, ["write the policy without quotes: `on_error = Shutdown`"]);
    }

    #[test]
    fn policy_that_is_not_a_name_is_rejected() {
        for value in [quote!(1), quote!(Restart + 1), quote!(Other::Restart), quote!(Vec<u8>)] {
            let (args, errors) = routine(quote!(on_done = #value));
            assert!(args.on_done.is_none());
            assert_eq!(
                errors,
                ["expected a policy for `on_done`: one of `DoNothing`, `Restart`, `Shutdown`"],
                "{value}"
            );
        }
    }

    #[test]
    fn bad_duration_quotes_the_parser_reason() {
        let (_, errors) = routine(quote!(timeout = "5 parsecs"));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("invalid duration \"5 parsecs\" for `timeout`: unknown time unit \"parsecs\""),
            "{errors:?}"
        );
        assert!(errors[0].ends_with(DURATION_HINT), "{errors:?}");
    }

    #[test]
    fn duration_must_be_a_string() {
        for value in [quote!(5), quote!(5s), quote!(Duration::from_secs(5))] {
            let (_, errors) = routine(quote!(backoff = #value));
            assert_eq!(errors, ["`backoff` must be a duration string, like `backoff = \"100ms\"`"], "{value}");
        }
    }

    #[test]
    fn max_count_must_be_a_non_negative_integer_that_fits_u32() {
        let cases = [
            (quote!(-1), "cannot be negative"),
            (quote!(-1.5), "cannot be negative"),
            (quote!(1.5), "must be a whole number"),
            (quote!("3"), "must be an integer"),
            (quote!(three), "must be an integer"),
            (quote!(4294967296), "is too large"),
            (quote!(99999999999999999999999999999999999999999), "is too large"),
        ];
        for (value, expected) in cases {
            let (args, errors) = routine(quote!(max_count = #value));
            assert!(args.max_count.is_none(), "{value}");
            assert_eq!(errors.len(), 1, "{value}: {errors:?}");
            assert!(errors[0].contains(expected), "{value}: {errors:?}");
        }
        let (args, errors) = routine(quote!(max_count = 4294967295));
        assert!(errors.is_empty());
        assert_eq!(args.max_count.map(|m| m.value), Some(u32::MAX));
    }

    #[test]
    fn malformed_entries_are_each_reported() {
        let (_, errors) = routine(quote!(timeout, , name "x", max_count =, 7 = 3));
        assert_eq!(
            errors,
            [
                // the list is split first, then each entry is read
                "unexpected `,` in #[rutina::routine]: expected a key before it",
                "`timeout` needs a value; write `timeout = \"5s\"`",
                "expected `=` after `name`; write `name = \"http\"`",
                "missing value after `max_count =`; write `max_count = 3`",
                "expected a key in #[rutina::routine], like `on_done = Restart`; the keys are \
                 `on_done`, `on_error`, `timeout`, `max_count`, `name`, `backoff`, \
                 `restart_intensity`, `grace_period`, `readiness_gate`",
            ]
        );
    }

    #[test]
    fn all_errors_of_one_attribute_are_reported_together() {
        let (args, errors) =
            routine(quote!(on_done = Restarts, timeout = "soon", max_count = -2, colour = "red", name = "ok"));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(args.name.map(|n| n.value), Some("ok".to_owned()));
    }

    #[test]
    fn main_short_form_keeps_the_order_and_accepts_paths() {
        let (args, errors) = main_args(quote!(a, jobs::poll, ::krate::b,));
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<String> = args.routines.iter().map(|path| quote!(#path).to_string()).collect();
        assert_eq!(names, ["a", "jobs :: poll", ":: krate :: b"]);
        assert_eq!(args.written, 3);
        assert!(args.list_span.is_some() && args.shutdown_timeout.is_none());
    }

    #[test]
    fn main_braced_form() {
        let (args, errors) = main_args(quote!(routines: [a, b], shutdown_timeout: "30s",));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.routines.len(), 2);
        assert_eq!(args.shutdown_timeout.map(|t| t.value), Some(Duration::from_secs(30)));
    }

    #[test]
    fn main_errors() {
        let (_, errors) = main_args(quote!(routines: [a], shutdown: "3s", routines: [b]));
        assert_eq!(
            errors,
            [
                "unknown key `shutdown` in rutina::main!; expected one of `routines`, \
                 `shutdown_timeout`, `shutdown_order`, `setup`",
                "duplicate key `routines` in rutina::main!; each key may be given once",
            ]
        );
        let (_, errors) = main_args(quote!(a, shutdown_timeout: "3s"));
        assert!(errors[0].contains("braced form"), "{errors:?}");
        let (_, errors) = main_args(quote!(a(), "b", routines = [c]));
        assert_eq!(errors.len(), 3, "{errors:?}");
        let (_, errors) = main_args(quote!(routines: a));
        assert!(errors[0].contains("list in brackets"), "{errors:?}");
        let (_, errors) = main_args(quote!(routines = [a]));
        assert!(errors[0].starts_with("expected `:` after `routines`"), "{errors:?}");
        let (_, errors) = main_args(quote!(routines: [a], shutdown_timeout: 30));
        assert!(errors[0].contains("must be a duration string"), "{errors:?}");
    }

    #[test]
    fn grace_period_is_a_duration_and_may_be_zero() {
        let (args, errors) = routine(quote!(grace_period = "0s"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.grace_period.map(|g| g.value), Some(Duration::ZERO));
        let (_, errors) = routine(quote!(grace_period = 10));
        assert_eq!(errors, ["`grace_period` must be a duration string, like `grace_period = \"10s\"`"]);
        let (_, errors) = routine(quote!(grace_period = "10 sec0nds"));
        assert!(errors[0].starts_with("invalid duration \"10 sec0nds\" for `grace_period`: "), "{errors:?}");
    }

    #[test]
    fn readiness_gate_alone_means_true() {
        let gate = |tokens| routine(tokens).0.readiness_gate.map(|gate| gate.value);
        assert_eq!(gate(quote!(readiness_gate)), Some(true));
        assert_eq!(gate(quote!(readiness_gate,)), Some(true));
        assert_eq!(gate(quote!(readiness_gate = true)), Some(true));
        assert_eq!(gate(quote!(readiness_gate = false)), Some(false));
        let (args, errors) = routine(quote!(readiness_gate, on_done = Restart));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.readiness_gate.is_some_and(|gate| gate.value) && args.on_done.is_some());
        // Only flags may stand alone.
        let (_, errors) = routine(quote!(grace_period));
        assert_eq!(errors, ["`grace_period` needs a value; write `grace_period = \"10s\"`"]);
        let (_, errors) = routine(quote!(readiness_gate =));
        assert_eq!(errors, ["missing value after `readiness_gate =`; write `readiness_gate = true`"]);
    }

    #[test]
    fn readiness_gate_must_be_a_bool() {
        let (_, errors) = routine(quote!(readiness_gate = "true"));
        assert_eq!(errors, ["write `true` without quotes: `readiness_gate = true`"]);
        let must = "`readiness_gate` must be `true` or `false`, like `readiness_gate = true` \
                    (or just `readiness_gate`)";
        for value in [quote!(1), quote!(yes), quote!("yes"), quote!(!false), quote!(true false)] {
            let (args, errors) = routine(quote!(readiness_gate = #value));
            assert!(args.readiness_gate.is_none(), "{value}");
            assert_eq!(errors, [must], "{value}");
        }
        let (_, errors) = routine(quote!(readiness_gate = ture));
        assert_eq!(errors, [format!("{must} (did you mean `true`?)")]);
        let (_, errors) = routine(quote!(readiness_gate = False));
        assert_eq!(errors, [format!("{must} (did you mean `false`?)")]);
    }

    #[test]
    fn restart_intensity_is_a_count_and_a_window() {
        let (args, errors) = routine(quote!(restart_intensity = (5, "1m",)));
        assert!(errors.is_empty(), "{errors:?}");
        let intensity = args.restart_intensity.expect("parsed");
        assert_eq!((intensity.max_restarts.value, intensity.within.value), (5, Duration::from_secs(60)));
        let (args, errors) = routine(quote!(restart_intensity = (0, "1s 500ms")));
        assert!(errors.is_empty(), "{errors:?}");
        let intensity = args.restart_intensity.expect("parsed");
        assert_eq!((intensity.max_restarts.value, intensity.within.value), (0, Duration::from_millis(1500)));
        let (args, errors) = routine(quote!(restart_intensity = (4294967295, "1h")));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.restart_intensity.map(|i| i.max_restarts.value), Some(u32::MAX));
    }

    #[test]
    fn restart_intensity_shape_errors() {
        let not_a_pair = "`restart_intensity` must be a pair in parentheses, `(restarts, \"window\")`: \
                          write `restart_intensity = (5, \"1m\")` for at most 5 restarts within any minute";
        let two_values = "`restart_intensity` needs two values, a restart count and a window: \
                          write `restart_intensity = (5, \"1m\")`";
        let cases = [
            (quote!(5), not_a_pair),
            (quote!("5 per 1m"), not_a_pair),
            (quote!([5, "1m"]), not_a_pair),
            (quote!({ 5, "1m" }), not_a_pair),
            (quote!((5, "1m")(5, "1m")), not_a_pair),
            (quote!(()), two_values),
            (quote!((5)), two_values),
            (quote!(("1m")), two_values),
            (
                quote!((5, "1m", 3, "2m")),
                "`restart_intensity` takes two values, a restart count and a window, like \
                 `restart_intensity = (5, \"1m\")`; remove this",
            ),
            (quote!((5,, "1m")), "unexpected `,` in #[rutina::routine]: expected a value before it"),
        ];
        for (value, expected) in cases {
            let (args, errors) = routine(quote!(restart_intensity = #value));
            assert!(args.restart_intensity.is_none() || expected.starts_with("unexpected"), "{value}");
            assert_eq!(errors, [expected], "{value}");
        }
    }

    #[test]
    fn restart_intensity_part_errors_name_the_part() {
        let cases = [
            (
                quote!((-1, "1m")),
                "the restart count of `restart_intensity` cannot be negative: it is how many restarts the window allows",
            ),
            (quote!((-1, "1m")), "the restart count of `restart_intensity` cannot be negative"),
            (
                quote!((1.5, "1m")),
                "the restart count of `restart_intensity` must be a whole number, like `restart_intensity = (5, \"1m\")`",
            ),
            (quote!(("5", "1m")), "the restart count of `restart_intensity` must be an integer"),
            (quote!((five, "1m")), "the restart count of `restart_intensity` must be an integer"),
            (
                quote!((4294967296, "1m")),
                "the restart count of `restart_intensity` is too large: it must fit in a `u32` (at most 4294967295)",
            ),
            (
                quote!((5, 60)),
                "the window of `restart_intensity` must be a duration string, like `restart_intensity = (5, \"1m\")`",
            ),
            (quote!((5, 1m)), "the window of `restart_intensity` must be a duration string"),
            (
                quote!((5, "1 fortnight")),
                "invalid duration \"1 fortnight\" for the window of `restart_intensity`: unknown time unit \"fortnight\"",
            ),
        ];
        for (value, expected) in cases {
            let (args, errors) = routine(quote!(restart_intensity = #value));
            assert!(args.restart_intensity.is_none(), "{value}");
            assert_eq!(errors.len(), 1, "{value}: {errors:?}");
            assert!(errors[0].starts_with(expected), "{value}: {errors:?}");
        }
        // Both parts wrong, and a value too many: all three reported.
        let (_, errors) = routine(quote!(restart_intensity = (-5, "soon", 3)));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("remove this"), "{errors:?}");
        assert!(errors[1].contains("restart count") && errors[2].contains("window"), "{errors:?}");
    }

    #[test]
    fn main_shutdown_order_in_every_spelling() {
        for value in [
            quote!(ReverseStart),
            quote!(ShutdownOrder::ReverseStart),
            quote!(rutina::ShutdownOrder::ReverseStart),
            quote!(::rutina::ShutdownOrder::ReverseStart),
        ] {
            let (args, errors) = main_args(quote!(routines: [a], shutdown_order: #value));
            assert!(errors.is_empty(), "{value}: {errors:?}");
            assert_eq!(args.shutdown_order.map(|o| o.value), Some(ShutdownOrder::ReverseStart), "{value}");
        }
        let (args, _) = main_args(quote!(routines: [a], shutdown_order: AllAtOnce));
        assert_eq!(args.shutdown_order.map(|o| o.value), Some(ShutdownOrder::AllAtOnce));
    }

    #[test]
    fn main_shutdown_order_errors() {
        let order = |value: TokenStream| main_args(quote!(routines: [a], shutdown_order: #value)).1;
        assert_eq!(
            order(quote!(Reverse)),
            ["unknown shutdown order `Reverse`; expected one of `AllAtOnce`, `ReverseStart`"]
        );
        assert_eq!(
            order(quote!(ShutdownOrder::ReverseStrat)),
            ["unknown shutdown order `ReverseStrat`; expected one of `AllAtOnce`, `ReverseStart` \
              (did you mean `ReverseStart`?)"]
        );
        assert_eq!(
            order(quote!("ReverseStart")),
            ["write the shutdown order without quotes: `shutdown_order: ReverseStart`"]
        );
        assert_eq!(
            order(quote!("reverse")),
            [
                "expected a shutdown order for `shutdown_order`: one of `AllAtOnce`, `ReverseStart`, written without quotes"
            ]
        );
        for value in [quote!(1), quote!(Policy::ReverseStart), quote!(ReverseStart()), quote!(Vec<u8>)] {
            assert_eq!(
                order(value.clone()),
                ["expected a shutdown order for `shutdown_order`: one of `AllAtOnce`, `ReverseStart`"],
                "{value}"
            );
        }
        // A policy is not a shutdown order, nor the other way round.
        let (_, errors) = routine(quote!(on_done = ShutdownOrder::Restart));
        assert_eq!(errors, ["expected a policy for `on_done`: one of `DoNothing`, `Restart`, `Shutdown`"]);
    }

    #[test]
    fn main_setup_is_a_path() {
        for value in [quote!(init), quote!(config::load), quote!(::krate::init), quote!(Config::init)] {
            let (args, errors) = main_args(quote!(routines: [a], setup: #value,));
            assert!(errors.is_empty(), "{value}: {errors:?}");
            let setup = args.setup.expect("parsed");
            assert_eq!(quote!(#setup).to_string(), value.to_string());
        }
        // Expression paths: generic arguments take a turbofish, and a qualified path works.
        for value in [quote!(init::<Config>), quote!(<Config as Init>::init)] {
            let (args, errors) = main_args(quote!(routines: [a], setup: #value));
            assert!(errors.is_empty() && args.setup.is_some(), "{value}: {errors:?}");
        }
        // The key may come first, like any other.
        let (args, errors) = main_args(quote!(setup: init, routines: [a, b]));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.setup.is_some() && args.routines.len() == 2);
        let (args, errors) = main_args(quote!(routines: [a]));
        assert!(errors.is_empty() && args.setup.is_none(), "{errors:?}");
    }

    #[test]
    fn main_setup_errors() {
        let setup = |value: TokenStream| main_args(quote!(routines: [a], setup: #value)).1;
        let not_a_path = "`setup` must be the name of an fn taking no arguments, like \
                          `setup: init_logging` (not a call, a closure or a block: put the code in an fn)";
        for value in [
            quote!("init"),
            quote!(|| init()),
            quote!({ init() }),
            quote!(init(1)),
            quote!(init<Config>),
            quote!(init init),
            quote!(
                #[cfg(unix)]
                init
            ),
            quote!(init.call()),
        ] {
            assert_eq!(setup(value.clone()), [not_a_path], "{value}");
        }
        assert_eq!(
            setup(quote!(init_logging())),
            ["write the fn without calling it: `setup: init_logging`; rutina::main! calls it once, \
              before it starts the runtime"]
        );
        assert!(setup(quote!(::logs::init())).iter().any(|error| error.contains("`setup: ::logs::init`")));
        assert_eq!(
            main_args(quote!(routines: [a], setup =  init)).1,
            ["expected `:` after `setup`; write `setup: init_logging`"]
        );
        assert_eq!(main_args(quote!(routines: [a], setup)).1, ["`setup` needs a value; write `setup: init_logging`"]);
        let (args, errors) = main_args(quote!(setup: first, routines: [a], setup: second));
        assert_eq!(errors, ["duplicate key `setup` in rutina::main!; each key may be given once"]);
        let first = args.setup.expect("the first one is kept");
        assert_eq!(quote!(#first).to_string(), "first");
        let (_, errors) = main_args(quote!(routines: [a], set_up: init));
        assert!(errors[0].ends_with("(did you mean `setup`?)"), "{errors:?}");
        let (_, errors) = main_args(quote!(a, setup: init));
        assert!(errors[0].contains("braced form"), "{errors:?}");
    }

    #[test]
    fn closest_only_suggests_near_misses() {
        let keys = || ROUTINE_KEYS.iter().map(|key| key.name);
        assert_eq!(closest("max_cout", keys()), Some("max_count"));
        assert_eq!(closest("ON_DONE", keys()), Some("on_done"));
        assert_eq!(closest("retries", keys()), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
