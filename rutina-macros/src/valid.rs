//! Validate: what parses but cannot be a routine (a zero timeout, an empty `main!`, an
//! fn the runtime cannot call). Every check reports into the same [`Errors`] as the
//! parser, so one compile shows every mistake.

use proc_macro2::Span;
use quote::ToTokens as _;
use syn::ext::IdentExt as _;

use crate::attr::{BackoffArg, FROM_REF, MAIN, MainArgs, ROUTINE, RoutineArgs, Spanned};
use crate::errors::{Errors, code};
use crate::item::{RoutineFn, StateField};

/// How the runtime calls a valid routine fn:
/// `async fn name(ctx: Context, db: Db, ..) -> Result<(), E>`.
#[derive(Clone)]
pub(crate) struct Shape {
    /// Whether the first parameter is the `Context`.
    pub(crate) context: bool,
    /// The types of the parameters after it, taken from a state with `FromRef`.
    pub(crate) state: Vec<syn::Type>,
}

/// Checks the values of `#[rutina::routine(..)]` that parsed.
pub(crate) fn check_routine_args(args: &RoutineArgs, errors: &mut Errors) {
    if let Some(timeout) = &args.timeout
        && timeout.value.is_zero()
    {
        errors.at(
            timeout.span,
            "`timeout` must be greater than zero: a run that may last no time at all always \
             times out; remove `timeout` to let runs last as long as they need",
        );
    }
    if let Some(intensity) = &args.restart_intensity
        && intensity.within.value.is_zero()
    {
        errors.at(
            intensity.within.span,
            "the window of `restart_intensity` must be greater than zero: restarts are \
             counted within it, and a window of no time holds none, so the limit would never \
             apply; write it like `restart_intensity = (5, \"1m\")`",
        );
    }
    if let Some(name) = &args.name
        && name.value.trim().is_empty()
    {
        errors.at(
            name.span,
            "`name` must not be empty; remove it to name the routine after its fn, \
             or write `name = \"http\"`",
        );
    }
    check_schedule(args, errors);
    check_backoff(args, errors);
    if let Some(heartbeat) = &args.heartbeat
        && heartbeat.value.is_zero()
    {
        errors.at(
            heartbeat.span,
            "`heartbeat` must be greater than zero: it is how long a run may stay silent before \
             it is hung, and no run beats that often; write it like `heartbeat = \"30s\"`, and call \
             `ctx.heartbeat()` more often than that",
        );
    }
    if let Some(key) = &args.singleton
        && key.value.trim().is_empty()
    {
        errors.at(
            key.span,
            "`singleton` must not be empty: it is the key of the lease the routine runs under, \
             the same in every replica; write it like `singleton = \"billing-cleanup\"`",
        );
    }
}

/// `every` and `cron`: one schedule at most, a non-zero period, an expression that parses.
fn check_schedule(args: &RoutineArgs, errors: &mut Errors) {
    if let Some(every) = &args.every
        && every.value.is_zero()
    {
        errors.at(
            every.span,
            "`every` must be greater than zero: it is the time from the start of one run to \
             the start of the next; write it like `every = \"2s\"`",
        );
    }
    if let Some(cron) = &args.cron
        && let Some(message) = cron_error(&cron.value)
    {
        errors.at(cron.span, message);
    }
    if let (Some(every), Some(cron)) = (&args.every, &args.cron) {
        // On the one written second.
        let span = if args.cron_first { every.span } else { cron.span };
        errors.at(
            span,
            "`every` and `cron` are two schedules, and a routine runs on one: keep `every` for a \
             fixed rate, or `cron` for times of the day",
        );
    }
}

/// Whether `cron`'s expression is one the runtime parses (croner, the seconds optional,
/// as `rutina::Cron::parse`), and if not, the message.
#[cfg(feature = "cron")]
fn cron_error(expression: &str) -> Option<String> {
    let reason = croner::Cron::new(expression).with_seconds_optional().parse().err()?.to_string();
    let reason = reason.trim_end_matches('.');
    Some(format!(
        "invalid cron expression {expression:?} for `cron`: {reason}; write five fields (minute, hour, \
         day of month, month, day of week) or six with the seconds first, like \
         `cron = \"0 */5 * * * *\"` (every five minutes)"
    ))
}

/// Without rutina's `cron` feature, `cron` cannot be used.
#[cfg(not(feature = "cron"))]
fn cron_error(_expression: &str) -> Option<String> {
    Some(
        "`cron` needs rutina's `cron` feature, which is off: enable it \
         (`rutina = { version = \"..\", features = [\"cron\"] }`, on by default), or use \
         `every = \"5m\"` for a fixed rate"
            .to_owned(),
    )
}

/// `backoff` and `backoff_reset`: a range that goes up from a non-zero start, a reset for
/// an exponential backoff only, no backoff with a schedule.
fn check_backoff(args: &RoutineArgs, errors: &mut Errors) {
    let schedule = match (&args.every, &args.cron) {
        (Some(_), _) => Some("every"),
        (None, Some(_)) => Some("cron"),
        (None, None) => None,
    };
    if let Some(backoff) = &args.backoff {
        if let BackoffArg::Exponential { initial, max } = backoff.value {
            let show = |duration| humantime::format_duration(duration).to_string();
            if initial.is_zero() || max.is_zero() {
                errors.at(
                    backoff.span,
                    "both ends of `backoff`'s range must be greater than zero: it goes from the first \
                     delay, doubling, to the largest; write it like `backoff = \"100ms..30s\"` (or \
                     `backoff = \"0s\"` for no delay at all)",
                );
            } else if initial > max {
                errors.at(
                    backoff.span,
                    format!(
                        "`backoff`'s range must go up, from the first delay to the largest: write \
                         `backoff = \"{}..{}\"`",
                        show(max),
                        show(initial)
                    ),
                );
            }
        }
        if let Some(schedule) = schedule {
            errors.at(
                backoff.span,
                format!(
                    "`backoff` does not apply to a schedule: with `{schedule}`, every next run waits \
                     for the next tick, after `Ok` and after a failure; remove `backoff`"
                ),
            );
        }
    }
    if let Some(reset) = &args.backoff_reset {
        if reset.value.is_zero() {
            errors.at(
                reset.span,
                "`backoff_reset` must be greater than zero: it is how long a run must stay up for \
                 the backoff to start again from its first delay; write it like `backoff_reset = \"1m\"`",
            );
        }
        match (&args.backoff, schedule) {
            (_, Some(schedule)) => errors.at(
                reset.span,
                format!(
                    "`backoff_reset` does not apply to a schedule: with `{schedule}`, every next run \
                     waits for the next tick; remove `backoff_reset`"
                ),
            ),
            (Some(Spanned { value: BackoffArg::Fixed(_), .. }), None) => errors.at(
                reset.span,
                "`backoff_reset` resets an exponential backoff, and `backoff` is a fixed delay here: \
                 write `backoff` as a range, like `backoff = \"100ms..30s\"`, or remove it to keep \
                 the default backoff (exponential too)",
            ),
            _ => {}
        }
    }
}

/// Checks the input of `rutina::main!` that parsed.
pub(crate) fn check_main_args(args: &MainArgs, errors: &mut Errors) {
    match args.list_span {
        None => errors.at(
            Span::call_site(),
            format!(
                "{MAIN} needs the routines to start: \
                 `rutina::main! {{ routines: [http_server, metrics_server] }}`"
            ),
        ),
        Some(span) if args.written == 0 => errors.at(
            span,
            format!(
                "{MAIN} needs at least one routine to start, like \
                 `rutina::main!(http_server, metrics_server)`"
            ),
        ),
        Some(_) => {}
    }
    if let Some(timeout) = &args.shutdown_timeout
        && timeout.value.is_zero()
    {
        errors.at(
            timeout.span,
            "`shutdown_timeout` must be greater than zero: it is the grace period routines \
             get to finish after a shutdown begins; remove it to wait for them as long as \
             they need",
        );
    }
    if let Some(delay) = &args.shutdown_delay
        && delay.value.is_zero()
    {
        errors.at(
            delay.span,
            "`shutdown_delay` must be greater than zero: it is how long the group stays up, \
             not ready, after a shutdown begins; remove it to cancel the routines at once",
        );
    }
}

/// Checks the struct under `#[derive(rutina::FromRef)]`: a struct with named fields, not
/// generic, no two fields of one type (but for those marked `#[from_ref(skip)]`).
/// Returns the fields to implement `FromRef` for: the first of each type, none when the
/// struct itself is wrong.
pub(crate) fn check_state_struct<'a>(
    input: &syn::DeriveInput,
    fields: Option<Vec<StateField<'a>>>,
    errors: &mut Errors,
) -> Vec<&'a syn::Field> {
    let name = &input.ident;
    let full = format!("{name}{}", code(input.generics.split_for_impl().1));
    let by_hand = format!("implement `rutina::FromRef<{full}>` by hand for each part a routine takes");
    if !input.generics.params.is_empty() {
        errors.spanning(
            &input.generics,
            format!("{FROM_REF} works on a struct without generic parameters; for `{full}`, {by_hand}"),
        );
        return Vec::new();
    }
    let Some(fields) = fields else {
        let (tokens, what) = match &input.data {
            syn::Data::Enum(data) => (data.enum_token.to_token_stream(), "an enum"),
            syn::Data::Union(data) => (data.union_token.to_token_stream(), "a union"),
            syn::Data::Struct(data) if matches!(data.fields, syn::Fields::Unit) => {
                (name.to_token_stream(), "a unit struct")
            }
            syn::Data::Struct(data) => (data.fields.to_token_stream(), "a tuple struct"),
        };
        errors.spanning(
            tokens,
            format!(
                "{FROM_REF} takes each named field of a struct for the routines' parameters; \
                 `{name}` is {what}: {by_hand}"
            ),
        );
        return Vec::new();
    };
    let mut taken: Vec<(String, &syn::Field)> = Vec::new();
    for StateField { field, skip } in fields {
        let ty = code(&field.ty);
        if skip {
            continue;
        }
        match taken.iter().find(|(other, _)| *other == ty) {
            Some((_, first)) => errors.spanning(
                field,
                format!(
                    "`{}` has the same type as `{}`, `{ty}`, and {FROM_REF} takes each type from \
                     one field only (`impl FromRef<{name}> for {ty}`): mark one of them \
                     `#[from_ref(skip)]`, or give one its own type",
                    field_name(field),
                    field_name(first),
                ),
            ),
            None => taken.push((ty, field)),
        }
    }
    taken.into_iter().map(|(_, field)| field).collect()
}

fn field_name(field: &syn::Field) -> String {
    field.ident.as_ref().map_or_else(String::new, |ident| ident.unraw().to_string())
}

/// Checks that the fn is something the runtime can call: `async`, not generic, no
/// `self`, an optional `Context` first, then parameters taken from a state, a `Result`
/// return type. Returns how to call it, or `None` when it cannot be called (the errors
/// say why).
pub(crate) fn check_signature(func: &RoutineFn, errors: &mut Errors) -> Option<Shape> {
    let before = errors.count();
    let sig = &func.sig;

    if let Some(constness) = &sig.constness {
        errors.at(constness.span, format!("a {ROUTINE} cannot be a `const fn`; remove `const`"));
    }
    if sig.asyncness.is_none() {
        errors.at(sig.fn_token.span, format!("{ROUTINE} needs an `async fn`; write `async fn {}`", sig.ident));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.at(unsafety.span, format!("a {ROUTINE} cannot be `unsafe`; remove `unsafe`"));
    }
    if let Some(abi) = &sig.abi {
        errors.spanning(abi, format!("a {ROUTINE} cannot have an ABI; remove `extern`"));
    }
    if !sig.generics.params.is_empty() {
        errors.spanning(
            &sig.generics,
            format!(
                "a {ROUTINE} cannot be generic: it becomes one value of one type; \
                 remove the generic parameters (use a concrete type, or a struct \
                 implementing `rutina::Routine`)"
            ),
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanning(where_clause, format!("a {ROUTINE} cannot have a `where` clause; remove it"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanning(variadic, format!("a {ROUTINE} cannot be variadic"));
    }

    let mut shape = Shape { context: false, state: Vec::new() };
    for (index, arg) in sig.inputs.iter().enumerate() {
        match arg {
            syn::FnArg::Receiver(receiver) => errors.spanning(
                receiver,
                format!(
                    "a {ROUTINE} is a free `async fn`, not a method: remove `self` \
                     (to keep state between runs, implement `rutina::Routine` for your type)"
                ),
            ),
            syn::FnArg::Typed(arg) if is_context_like(&arg.ty) => {
                if index > 0 {
                    errors.spanning(
                        arg,
                        format!(
                            "the `Context` of a {ROUTINE} is its first parameter: move it first, \
                             `async fn {}(ctx: rutina::Context, ..)`",
                            sig.ident
                        ),
                    );
                } else {
                    check_context_type(&arg.ty, errors);
                    shape.context = true;
                }
            }
            syn::FnArg::Typed(arg) => {
                check_state_param(arg, errors);
                shape.state.push((*arg.ty).clone());
            }
        }
    }

    match &sig.output {
        syn::ReturnType::Default => errors.at(
            sig.paren_token.span.close(),
            format!(
                "a {ROUTINE} must return `Result<(), E>` (with `E: Into<rutina::BoxError>`, \
                 like `std::io::Error` or `anyhow::Error`); add `-> Result<(), E>` here"
            ),
        ),
        syn::ReturnType::Type(_, ty) if !could_be_result(ty) => errors.spanning(
            ty,
            format!(
                "a {ROUTINE} must return `Result<(), E>` (with `E: Into<rutina::BoxError>`, \
                 like `std::io::Error` or `anyhow::Error`)"
            ),
        ),
        syn::ReturnType::Type(..) => {}
    }

    (errors.count() == before).then_some(shape)
}

/// The first parameter, when it names a `Context` at all, must be `Context` taken by
/// value, whatever path names it (`Context`, `rutina::Context`, ...). The type checker
/// has the last word.
fn check_context_type(ty: &syn::Type, errors: &mut Errors) {
    match peel(ty) {
        syn::Type::Path(path) if path.qself.is_none() && is_context(&path.path) => {}
        syn::Type::Reference(_) => errors.spanning(
            ty,
            format!("a {ROUTINE} takes its `Context` by value (it is cheap to clone): write `ctx: rutina::Context`"),
        ),
        _ => {
            errors.spanning(ty, format!("the `Context` of a {ROUTINE} has no parameters: write `ctx: rutina::Context`"))
        }
    }
}

/// A parameter after the `Context`, taken from the state for every run: a plain name and
/// an owned type.
fn check_state_param(arg: &syn::PatType, errors: &mut Errors) {
    let ty = &arg.ty;
    match &*arg.pat {
        syn::Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {}
        pat => errors.spanning(
            pat,
            format!(
                "a parameter of a {ROUTINE} taken from the state is a plain name, like `db: Db`; \
                 destructure it in the body"
            ),
        ),
    }
    match peel(ty) {
        syn::Type::Reference(_) => errors.spanning(
            ty,
            format!(
                "a parameter of a {ROUTINE} is taken from the state afresh for every run, so it \
                 cannot borrow from it: take an owned, cloneable handle such as `Arc<T>` (or a \
                 connection pool) by value"
            ),
        ),
        syn::Type::ImplTrait(_) | syn::Type::Infer(_) => errors.spanning(
            ty,
            format!("a {ROUTINE} cannot be generic: give the parameter a concrete type, taken from the state"),
        ),
        _ => {}
    }
}

/// Whether the parameter's type names a `Context` (by value, by reference, with
/// arguments), so that it is checked as one rather than taken from the state.
fn is_context_like(ty: &syn::Type) -> bool {
    match peel(ty) {
        syn::Type::Path(path) => path.path.segments.last().is_some_and(|last| last.ident == "Context"),
        syn::Type::Reference(reference) => is_context_like(&reference.elem),
        _ => false,
    }
}

fn is_context(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|last| last.ident == "Context" && last.arguments.is_none())
}

/// A return type that may name a `Result` (any path: `Result<(), E>`, `anyhow::Result<()>`,
/// an alias; the `rutina::RoutineReturn` bound in the expansion checks it for real), as opposed to
/// one that cannot (`()`, a reference, `impl Trait`, ...).
fn could_be_result(ty: &syn::Type) -> bool {
    matches!(peel(ty), syn::Type::Path(_) | syn::Type::Macro(_) | syn::Type::Verbatim(_))
}

/// Looks through parentheses and invisible groups.
fn peel(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Paren(paren) => peel(&paren.elem),
        syn::Type::Group(group) => peel(&group.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::parse_routine_fn;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn check(item: TokenStream) -> (Option<Shape>, Vec<String>) {
        let func = parse_routine_fn(item).expect("an fn parses");
        let mut errors = Errors::default();
        let shape = check_signature(&func, &mut errors);
        (shape, errors.messages())
    }

    #[test]
    fn accepted_signatures() {
        let cases = [
            (
                quote!(
                    async fn a(ctx: Context) -> Result<(), E> {}
                ),
                (true, 0),
            ),
            (
                quote!(
                    pub async fn a(mut ctx: rutina::Context) -> anyhow::Result<()> {}
                ),
                (true, 0),
            ),
            (
                quote!(
                    async fn a(_: ::rutina::Context) -> io::Result<()> {}
                ),
                (true, 0),
            ),
            (
                quote!(
                    async fn a() -> Result<(), &'static str> {}
                ),
                (false, 0),
            ),
            (
                quote!(
                    async fn a(ctx: (Context)) -> (Result<(), E>) {}
                ),
                (true, 0),
            ),
            (
                quote!(
                    async fn a(ctx: Context, db: Db, mut config: Arc<Config>) -> Result<(), E> {}
                ),
                (true, 2),
            ),
            (
                quote!(
                    async fn a(db: Db) -> Result<(), E> {}
                ),
                (false, 1),
            ),
        ];
        for (item, expected) in cases {
            let (shape, errors) = check(item.clone());
            assert!(errors.is_empty(), "{item}: {errors:?}");
            let shape = shape.expect("a shape");
            assert_eq!((shape.context, shape.state.len()), expected, "{item}");
        }
    }

    #[test]
    fn each_signature_mistake_is_named() {
        let cases = [
            (
                quote!(
                    fn a() -> Result<(), E> {}
                ),
                "needs an `async fn`; write `async fn a`",
            ),
            (
                quote!(
                    async fn a<T>() -> Result<(), E> {}
                ),
                "cannot be generic",
            ),
            (
                quote!(
                    async fn a<'a>() -> Result<(), E> {}
                ),
                "cannot be generic",
            ),
            (
                quote!(
                    async fn a() -> Result<(), E>
                    where
                        E: Send,
                    {
                    }
                ),
                "`where` clause",
            ),
            (
                quote!(
                    async fn a(&self) -> Result<(), E> {}
                ),
                "not a method: remove `self`",
            ),
            (
                quote!(
                    async fn a(db: Db, ctx: Context) -> Result<(), E> {}
                ),
                "is its first parameter: move it first",
            ),
            (
                quote!(
                    async fn a(ctx: &Context) -> Result<(), E> {}
                ),
                "by value",
            ),
            (
                quote!(
                    async fn a(ctx: Context<'_>) -> Result<(), E> {}
                ),
                "has no parameters: write `ctx: rutina::Context`",
            ),
            (
                quote!(
                    async fn a(ctx: Context, db: &Db) -> Result<(), E> {}
                ),
                "cannot borrow from it: take an owned, cloneable handle such as `Arc<T>`",
            ),
            (
                quote!(
                    async fn a(db: &'static mut Db) -> Result<(), E> {}
                ),
                "cannot borrow from it",
            ),
            (
                quote!(
                    async fn a(ctx: Context, (a, b): (A, B)) -> Result<(), E> {}
                ),
                "is a plain name, like `db: Db`",
            ),
            (
                quote!(
                    async fn a(ref db: Db) -> Result<(), E> {}
                ),
                "is a plain name",
            ),
            (
                quote!(
                    async fn a(db: impl Db) -> Result<(), E> {}
                ),
                "cannot be generic: give the parameter a concrete type",
            ),
            (
                quote!(
                    async fn a(ctx: Context) {}
                ),
                "add `-> Result<(), E>` here",
            ),
            (
                quote!(
                    async fn a(ctx: Context) -> () {}
                ),
                "must return `Result<(), E>`",
            ),
            (
                quote!(
                    async fn a(ctx: Context) -> impl Sized {}
                ),
                "must return `Result<(), E>`",
            ),
            (
                quote!(
                    const async fn a() -> Result<(), E> {}
                ),
                "`const fn`",
            ),
            (
                quote!(
                    async unsafe fn a() -> Result<(), E> {}
                ),
                "`unsafe`",
            ),
            (
                quote!(
                    async extern "C" fn a() -> Result<(), E> {}
                ),
                "ABI",
            ),
        ];
        for (item, expected) in cases {
            let (shape, errors) = check(item.clone());
            assert!(shape.is_none(), "{item}");
            assert_eq!(errors.len(), 1, "{item}: {errors:?}");
            assert!(errors[0].contains(expected), "{item}: {errors:?}");
        }
    }

    #[test]
    fn all_signature_mistakes_are_reported_together() {
        let (shape, errors) = check(quote!(
            fn a<T>(&self, n: &u32, (m, o): u32) -> u8 {}
        ));
        assert!(shape.is_none());
        // `u8` is a path: the type checker reports it, not the macro.
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    fn state_struct(input: TokenStream) -> (Vec<String>, Vec<String>) {
        let input: syn::DeriveInput = syn::parse2(input).expect("a type parses");
        let mut errors = Errors::default();
        let fields = crate::item::state_fields(&input, &mut errors);
        let fields = check_state_struct(&input, fields, &mut errors);
        let names = fields.iter().map(|field| field_name(field)).collect();
        (names, errors.messages())
    }

    #[test]
    fn state_struct_fields_each_give_their_type() {
        let (fields, errors) = state_struct(quote!(
            struct App {
                db: Db,
                #[from_ref(skip)]
                replica: Db,
                config: Arc<Config>,
                r#type: Kind,
            }
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields, ["db", "config", "type"]);
        let (fields, errors) = state_struct(quote!(
            struct App {}
        ));
        assert!(fields.is_empty() && errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn state_struct_mistakes_are_named() {
        let (fields, errors) = state_struct(quote!(
            struct App {
                primary: Db,
                config: std::sync::Arc<Config>,
                replica: Db,
                #[from_ref(skip, clone)]
                spare: Db,
                third: Db,
            }
        ));
        assert_eq!(fields, ["primary", "config"]);
        assert_eq!(
            errors,
            [
                // The options are read first, then the fields checked.
                "unknown `from_ref` option in #[derive(rutina::FromRef)]; the only one is `skip`, as in \
                 `#[from_ref(skip)]`",
                "`replica` has the same type as `primary`, `Db`, and #[derive(rutina::FromRef)] takes each \
                 type from one field only (`impl FromRef<App> for Db`): mark one of them \
                 `#[from_ref(skip)]`, or give one its own type",
                "`third` has the same type as `primary`, `Db`, and #[derive(rutina::FromRef)] takes each \
                 type from one field only (`impl FromRef<App> for Db`): mark one of them \
                 `#[from_ref(skip)]`, or give one its own type",
            ]
        );
        let cases = [
            (
                quote!(
                    enum App {
                        A,
                    }
                ),
                "`App` is an enum",
            ),
            (quote!(union App { a: u8 }), "`App` is a union"),
            (
                quote!(
                    struct App(Db);
                ),
                "`App` is a tuple struct",
            ),
            (
                quote!(
                    struct App;
                ),
                "`App` is a unit struct",
            ),
            (
                quote!(
                    struct App<'a, T> {
                        t: &'a T,
                    }
                ),
                "works on a struct without generic parameters; for `App<'a, T>`",
            ),
        ];
        for (input, expected) in cases {
            let (fields, errors) = state_struct(input.clone());
            assert!(fields.is_empty(), "{input}");
            assert_eq!(errors.len(), 1, "{input}: {errors:?}");
            assert!(errors[0].contains(expected), "{input}: {errors:?}");
        }
    }

    #[test]
    fn argument_checks() {
        let mut errors = Errors::default();
        check_routine_args(&crate::attr::RoutineArgs::default(), &mut errors);
        assert_eq!(errors.count(), 0);
    }

    fn checked(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let args = crate::attr::parse_routine_args(args, &mut errors);
        assert_eq!(errors.count(), 0, "{:?}", errors.messages());
        check_routine_args(&args, &mut errors);
        errors.messages()
    }

    #[test]
    fn zero_durations() {
        // A zero grace period means "abort at once when the shutdown comes".
        assert!(checked(quote!(grace_period = "0s", restart_intensity = (0, "1ns"))).is_empty());
        assert_eq!(
            checked(quote!(restart_intensity = (5, "0s"))),
            ["the window of `restart_intensity` must be greater than zero: restarts are counted \
              within it, and a window of no time holds none, so the limit would never apply; \
              write it like `restart_intensity = (5, \"1m\")`"]
        );
        assert_eq!(checked(quote!(timeout = "0ms", restart_intensity = (1, "0s"), name = " ")).len(), 3);
        assert_eq!(
            checked(quote!(every = "0s", heartbeat = "0s", singleton = " ")),
            [
                "`every` must be greater than zero: it is the time from the start of one run to the \
                 start of the next; write it like `every = \"2s\"`",
                "`heartbeat` must be greater than zero: it is how long a run may stay silent before it \
                 is hung, and no run beats that often; write it like `heartbeat = \"30s\"`, and call \
                 `ctx.heartbeat()` more often than that",
                "`singleton` must not be empty: it is the key of the lease the routine runs under, the \
                 same in every replica; write it like `singleton = \"billing-cleanup\"`",
            ]
        );
        assert_eq!(
            checked(quote!(backoff_reset = "0s")),
            ["`backoff_reset` must be greater than zero: it is how long a run must stay up for the \
              backoff to start again from its first delay; write it like `backoff_reset = \"1m\"`"]
        );
    }

    #[cfg(not(feature = "cron"))]
    #[test]
    fn cron_needs_the_feature() {
        let errors = checked(quote!(cron = "0 */5 * * * *"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("`cron` needs rutina's `cron` feature, which is off"), "{errors:?}");
    }

    #[cfg(feature = "cron")]
    #[test]
    fn schedules() {
        assert!(checked(quote!(every = "2s", on_done = DoNothing, singleton = "a", heartbeat = "1m")).is_empty());
        assert!(checked(quote!(cron = "0 */5 * * * *")).is_empty());
        assert!(checked(quote!(cron = "0 3 * * *")).is_empty());
        assert!(checked(quote!(cron = "0 0 * * MON-FRI")).is_empty());
        let errors = checked(quote!(cron = "61 * * * *"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("invalid cron expression \"61 * * * *\" for `cron`: "), "{errors:?}");
        assert!(errors[0].ends_with("like `cron = \"0 */5 * * * *\"` (every five minutes)"), "{errors:?}");
        // croner's own reason, quoted.
        let reason = croner::Cron::new("61 * * * *").with_seconds_optional().parse().err().map(|e| e.to_string());
        let reason = reason.expect("croner rejects it");
        assert!(errors[0].contains(reason.trim_end_matches('.')), "{errors:?}");
        assert_eq!(checked(quote!(cron = "")).len(), 1);
        assert_eq!(checked(quote!(cron = "* * *")).len(), 1);

        let both = "`every` and `cron` are two schedules, and a routine runs on one: keep `every` for a \
                    fixed rate, or `cron` for times of the day";
        assert_eq!(checked(quote!(every = "1m", cron = "* * * * *")), [both]);
        assert_eq!(checked(quote!(cron = "* * * * *", every = "1m")), [both]);
        assert_eq!(
            checked(quote!(every = "1m", backoff = "1s", backoff_reset = "1m")),
            [
                "`backoff` does not apply to a schedule: with `every`, every next run waits for the \
                 next tick, after `Ok` and after a failure; remove `backoff`",
                "`backoff_reset` does not apply to a schedule: with `every`, every next run waits for \
                 the next tick; remove `backoff_reset`",
            ]
        );
        assert_eq!(checked(quote!(cron = "* * * * *", backoff = "1s..2s")).len(), 1);
    }

    #[test]
    fn backoff_ranges_and_resets() {
        for ok in [
            quote!(backoff = "100ms..30s"),
            quote!(backoff = "1s..1s"),
            quote!(backoff = "0s"),
            quote!(backoff = "1s..2s", backoff_reset = "1m"),
            quote!(backoff_reset = "1m"),
        ] {
            assert!(checked(ok.clone()).is_empty(), "{ok}");
        }
        let zero = "both ends of `backoff`'s range must be greater than zero: it goes from the first \
                    delay, doubling, to the largest; write it like `backoff = \"100ms..30s\"` (or \
                    `backoff = \"0s\"` for no delay at all)";
        assert_eq!(checked(quote!(backoff = "0s..1s")), [zero]);
        assert_eq!(checked(quote!(backoff = "1s..0ms")), [zero]);
        assert_eq!(
            checked(quote!(backoff = "1m..1s")),
            ["`backoff`'s range must go up, from the first delay to the largest: write \
              `backoff = \"1s..1m\"`"]
        );
        let fixed = "`backoff_reset` resets an exponential backoff, and `backoff` is a fixed delay here: \
                     write `backoff` as a range, like `backoff = \"100ms..30s\"`, or remove it to keep \
                     the default backoff (exponential too)";
        assert_eq!(checked(quote!(backoff = "1s", backoff_reset = "1m")), [fixed]);
        assert_eq!(checked(quote!(backoff_reset = "1m", backoff = "0s")), [fixed]);
    }
}
