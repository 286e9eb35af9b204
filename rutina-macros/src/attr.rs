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

/// What the runtime does after a run (mirrors `rutina::Policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    DoNothing,
    Restart,
    Shutdown,
}

impl Policy {
    pub(crate) const ALL: [Policy; 3] = [Policy::DoNothing, Policy::Restart, Policy::Shutdown];

    /// The variant's name, as written in the attribute and in `rutina::Policy`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Policy::DoNothing => "DoNothing",
            Policy::Restart => "Restart",
            Policy::Shutdown => "Shutdown",
        }
    }

    fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|policy| policy.name() == name)
    }
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
}

/// One key a macro accepts, with how it is written (shown in messages).
struct Key {
    name: &'static str,
    example: &'static str,
}

const fn key(name: &'static str, example: &'static str) -> Key {
    Key { name, example }
}

const ROUTINE_KEYS: &[Key] = &[
    key("on_done", "on_done = Restart"),
    key("on_error", "on_error = Shutdown"),
    key("timeout", "timeout = \"5s\""),
    key("max_count", "max_count = 3"),
    key("name", "name = \"http\""),
    key("backoff", "backoff = \"100ms\""),
];

const MAIN_KEYS: &[Key] =
    &[key("routines", "routines: [http_server, metrics_server]"), key("shutdown_timeout", "shutdown_timeout: \"30s\"")];

const POLICY_LIST: &str = "`DoNothing`, `Restart`, `Shutdown`";
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
        let parsed = match spec.name {
            "on_done" => policy(&key, value).map(|v| set(&mut args.on_done, v, duplicate)),
            "on_error" => policy(&key, value).map(|v| set(&mut args.on_error, v, duplicate)),
            "timeout" => duration(&key, spec, value).map(|v| set(&mut args.timeout, v, duplicate)),
            "max_count" => count(&key, spec, value).map(|v| set(&mut args.max_count, v, duplicate)),
            "name" => string(&key, spec, value).map(|v| set(&mut args.name, v, duplicate)),
            "backoff" => duration(&key, spec, value).map(|v| set(&mut args.backoff, v, duplicate)),
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
            "shutdown_timeout" => match duration(&key, spec, value) {
                Ok(value) => set(&mut args.shutdown_timeout, value, duplicate),
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
/// wrong separator and a missing value; returns `None` then.
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

/// `on_done = Restart` (also `Policy::Restart` or `rutina::Policy::Restart`).
fn policy(key: &Ident, value: TokenStream) -> syn::Result<Spanned<Policy>> {
    let expected = || format!("expected a policy for `{key}`: one of {POLICY_LIST}");
    if let Ok(lit) = syn::parse2::<syn::LitStr>(value.clone()) {
        let written = lit.value();
        let message = match Policy::from_name(&written) {
            Some(policy) => format!("write the policy without quotes: `{key} = {}`", policy.name()),
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
                .is_some_and(|segment| segment.ident == "Policy"));
    let Some(last) = segments.last().filter(|_| well_formed) else {
        return Err(syn::Error::new_spanned(&path, expected()));
    };
    let written = last.ident.unraw().to_string();
    match Policy::from_name(&written) {
        Some(policy) => Ok(Spanned { value: policy, span: last.ident.span() }),
        None => {
            let mut message = format!("unknown policy `{written}`; expected one of {POLICY_LIST}");
            if let Some(close) = closest(&written, Policy::ALL.into_iter().map(Policy::name)) {
                let _ = write!(message, " (did you mean `{close}`?)");
            }
            Err(syn::Error::new(last.ident.span(), message))
        }
    }
}

/// `timeout = "5s"`: a humantime string, parsed now.
fn duration(key: &Ident, spec: &Key, value: TokenStream) -> syn::Result<Spanned<Duration>> {
    let lit: syn::LitStr = syn::parse2(value.clone()).map_err(|_| {
        syn::Error::new_spanned(&value, format!("`{key}` must be a duration string, like `{}`", spec.example))
    })?;
    let written = lit.value();
    match humantime::parse_duration(&written) {
        Ok(duration) => Ok(Spanned { value: duration, span: lit.span() }),
        Err(reason) => Err(syn::Error::new(
            lit.span(),
            format!("invalid duration {written:?} for `{key}`: {reason}; {DURATION_HINT}"),
        )),
    }
}

/// `max_count = 3`: an integer literal that fits a `u32`.
fn count(key: &Ident, spec: &Key, value: TokenStream) -> syn::Result<Spanned<u32>> {
    let negative = || {
        syn::Error::new_spanned(
            &value,
            format!(
                "`{key}` cannot be negative: it is how many restarts are allowed \
                 (`{key} = 0` runs once and never restarts)"
            ),
        )
    };
    let not_integer =
        |what: &str| syn::Error::new_spanned(&value, format!("`{key}` must be {what}, like `{}`", spec.example));
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
                    format!("`{key}` is too large: it must fit in a `u32` (at most {})", u32::MAX),
                )
            })
        }
        Ok(syn::Lit::Float(float)) if float.base10_digits().starts_with('-') => Err(negative()),
        Ok(syn::Lit::Float(_)) => Err(not_integer("a whole number")),
        _ => Err(not_integer("an integer")),
    }
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
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(policy_of(&args.on_done), Some(Policy::Restart));
        assert_eq!(policy_of(&args.on_error), Some(Policy::Shutdown));
        assert_eq!(args.timeout.map(|t| t.value), Some(Duration::from_secs(5)));
        assert_eq!(args.max_count.map(|m| m.value), Some(3));
        assert_eq!(args.name.map(|n| n.value), Some("http".to_owned()));
        assert_eq!(args.backoff.map(|b| b.value), Some(Duration::from_secs(90)));
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
              `on_error`, `timeout`, `max_count`, `name`, `backoff` (did you mean `timeout`?)"]
        );
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
                 `on_done`, `on_error`, `timeout`, `max_count`, `name`, `backoff`",
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
                 `shutdown_timeout`",
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
    fn closest_only_suggests_near_misses() {
        let keys = || ROUTINE_KEYS.iter().map(|key| key.name);
        assert_eq!(closest("max_cout", keys()), Some("max_count"));
        assert_eq!(closest("ON_DONE", keys()), Some("on_done"));
        assert_eq!(closest("retries", keys()), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
