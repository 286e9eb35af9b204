//! Validate: what parses but cannot be a routine (a zero timeout, an empty `main!`, an
//! fn the runtime cannot call). Every check reports into the same [`Errors`] as the
//! parser, so one compile shows every mistake.

use proc_macro2::Span;

use crate::attr::{MAIN, MainArgs, ROUTINE, RoutineArgs};
use crate::errors::Errors;
use crate::item::RoutineFn;

/// How the runtime calls a valid routine fn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `async fn name(ctx: Context) -> Result<(), E>`
    WithContext,
    /// `async fn name() -> Result<(), E>`
    WithoutContext,
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
}

/// Checks that the fn is something the runtime can call: `async`, not generic, no
/// `self`, at most one parameter (a `Context`), a `Result` return type. Returns how to
/// call it, or `None` when it cannot be called (the errors say why).
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

    let mut shape = Shape::WithoutContext;
    for (index, arg) in sig.inputs.iter().enumerate() {
        match arg {
            syn::FnArg::Receiver(receiver) => errors.spanning(
                receiver,
                format!(
                    "a {ROUTINE} is a free `async fn`, not a method: remove `self` \
                     (to keep state between runs, implement `rutina::Routine` for your type)"
                ),
            ),
            syn::FnArg::Typed(arg) if index > 0 => errors.spanning(
                arg,
                format!(
                    "a {ROUTINE} takes at most one parameter, `ctx: rutina::Context`; \
                     remove this one"
                ),
            ),
            syn::FnArg::Typed(arg) => {
                check_context_type(&arg.ty, errors);
                shape = Shape::WithContext;
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

/// The parameter must be `Context` taken by value, whatever path names it
/// (`Context`, `rutina::Context`, ...). The type checker has the last word.
fn check_context_type(ty: &syn::Type, errors: &mut Errors) {
    match peel(ty) {
        syn::Type::Path(path) if path.qself.is_none() && is_context(&path.path) => {}
        syn::Type::Reference(reference) if matches!(peel(&reference.elem), syn::Type::Path(path) if is_context(&path.path)) =>
        {
            errors.spanning(
                ty,
                format!(
                    "a {ROUTINE} takes its `Context` by value (it is cheap to clone): \
                     write `ctx: rutina::Context`"
                ),
            );
        }
        _ => errors.spanning(
            ty,
            format!(
                "the parameter of a {ROUTINE} must be `rutina::Context`, or omitted: \
                 write `ctx: rutina::Context`"
            ),
        ),
    }
}

fn is_context(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|last| last.ident == "Context" && last.arguments.is_none())
}

/// A return type that may name a `Result` (any path: `Result<(), E>`, `anyhow::Result<()>`,
/// an alias; the `RoutineResult` bound in the expansion checks it for real), as opposed to
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
                Shape::WithContext,
            ),
            (
                quote!(
                    pub async fn a(mut ctx: rutina::Context) -> anyhow::Result<()> {}
                ),
                Shape::WithContext,
            ),
            (
                quote!(
                    async fn a(_: ::rutina::Context) -> io::Result<()> {}
                ),
                Shape::WithContext,
            ),
            (
                quote!(
                    async fn a() -> Result<(), &'static str> {}
                ),
                Shape::WithoutContext,
            ),
            (
                quote!(
                    async fn a(ctx: (Context)) -> (Result<(), E>) {}
                ),
                Shape::WithContext,
            ),
        ];
        for (item, expected) in cases {
            let (shape, errors) = check(item.clone());
            assert!(errors.is_empty(), "{item}: {errors:?}");
            assert_eq!(shape, Some(expected), "{item}");
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
                    async fn a(ctx: Context, n: u32) -> Result<(), E> {}
                ),
                "at most one parameter",
            ),
            (
                quote!(
                    async fn a(n: u32) -> Result<(), E> {}
                ),
                "must be `rutina::Context`",
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
                "must be `rutina::Context`",
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
            assert_eq!(shape, None, "{item}");
            assert_eq!(errors.len(), 1, "{item}: {errors:?}");
            assert!(errors[0].contains(expected), "{item}: {errors:?}");
        }
    }

    #[test]
    fn all_signature_mistakes_are_reported_together() {
        let (shape, errors) = check(quote!(
            fn a<T>(&self, n: u32, m: u32) -> u8 {}
        ));
        assert_eq!(shape, None);
        // `u8` is a path: the type checker reports it, not the macro.
        assert_eq!(errors.len(), 5, "{errors:?}");
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
