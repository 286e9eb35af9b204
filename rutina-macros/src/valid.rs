//! Validate: what parses but cannot be a routine (a zero timeout, an empty `main!`, an
//! fn the runtime cannot call). Every check reports into the same [`Errors`] as the
//! parser, so one compile shows every mistake.

use proc_macro2::Span;
use quote::ToTokens as _;
use syn::ext::IdentExt as _;

use crate::attr::{FROM_REF, MAIN, MainArgs, ROUTINE, RoutineArgs};
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
    }
}
