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
mod tests;
