//! Expand: parse, validate, then generate. The output is data (a unit struct, its
//! declared `RunOptions`) plus calls into rutina's public API (through the stable paths
//! of `::rutina::__private` for the routine's items); every rule about runs, restarts and
//! timeouts lives in the runtime. Every bound a user's code can fail is on a public item,
//! so that no diagnostic names a private one.
//!
//! Errors never swallow the user's code: with a bad attribute or signature, the same
//! items are generated (the fn body intact as `call`, default options, a `Routine`
//! impl that does not call a body it cannot call), next to one `compile_error!` per
//! mistake, so nothing downstream (`main!`, `go`, `name::call`) cascades into errors
//! of its own. Only an item that is not an fn at all is re-emitted unchanged.

use std::time::Duration;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;

use crate::attr::{self, BackoffArg, MainArgs, POLICY, RoutineArgs, SHUTDOWN_ORDER, Spanned};
use crate::errors::Errors;
use crate::item::{self, RoutineFn};
use crate::valid::{self, Shape};

/// `#[rutina::routine(args)] item`.
pub(crate) fn routine(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::parse_routine_args(args, &mut errors);
    valid::check_routine_args(&args, &mut errors);
    let func = match item::parse_routine_fn(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.push(error);
            return quote! { #item #errors };
        }
    };
    let shape = valid::check_signature(&func, &mut errors);
    // A mistake anywhere makes the declared options moot: the build fails anyway.
    let args = if errors.count() == 0 { args } else { RoutineArgs::default() };
    let mut tokens = routine_items(&func, &args, shape);
    errors.to_tokens(&mut tokens);
    tokens
}

/// `#[derive(rutina::FromRef)] struct`: one `impl FromRef<Struct> for FieldType` per
/// field (a clone of the field); a field type that is not `Clone` is reported on it.
pub(crate) fn from_ref(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Errors::default();
    let fields = item::state_fields(&input, &mut errors);
    let fields = valid::check_state_struct(&input, fields, &mut errors);
    let state = &input.ident;
    let impls = fields.iter().map(|field| {
        let (name, ty) = (&field.ident, &field.ty);
        let span = Span::call_site().located_at(first_span(ty));
        quote_spanned! {span=>
            #[automatically_derived]
            impl ::rutina::__private::FromRef<#state> for #ty {
                fn from_ref(state: &#state) -> Self {
                    ::core::clone::Clone::clone(&state.#name)
                }
            }
        }
    });
    quote!(#(#impls)* #errors)
}

/// `rutina::main!(input)`.
pub(crate) fn main(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::parse_main_args(input, &mut errors);
    valid::check_main_args(&args, &mut errors);
    let mut tokens = main_fn(&args);
    errors.to_tokens(&mut tokens);
    tokens
}

/// The unit struct named like the fn, the fn itself as its associated `call`, its
/// `with_state`, and the impls that make it a routine: `Routine` when it takes no state,
/// `StatefulRoutine<S>` when it does.
fn routine_items(func: &RoutineFn, args: &RoutineArgs, shape: Option<Shape>) -> TokenStream {
    let RoutineFn { attrs, vis, sig, body } = func;
    let ident = &sig.ident;

    // `#[cfg]` must gate every generated item; docs and lint levels also describe the
    // struct, which is what the name now denotes.
    let cfgs: Vec<&syn::Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let for_struct = attrs.iter().filter(|a| ["doc", "allow"].iter().any(|name| a.path().is_ident(name)));
    let has_docs = attrs.iter().any(|a| a.path().is_ident("doc"));
    let unraw = ident.unraw();
    let call_doc = format!(
        " The body of the routine `{unraw}`, as written. `{unraw}::call(..)` runs it once, \
         without an orchestrator: pass `rutina::Context::detached()` to unit-test it."
    );
    let separator = has_docs.then(|| quote!(#[doc = ""]));

    let mut call_sig = sig.clone();
    call_sig.ident = Ident::new("call", ident.span());

    // Located on the fn's name, so lints about the struct (`missing_docs`, ...) point there.
    let name_span = Span::call_site().located_at(ident.span());
    let struct_item = quote_spanned!(name_span=> #vis struct #ident;);

    let options = options_fn(ident, args);
    // An invalid signature (already reported) is treated as taking no state, so that
    // `go(name)` and `name.with_state(..)` where it is used cascade into no errors.
    let routine = match shape {
        Some(shape) if !shape.state.is_empty() => stateful(ident, vis, sig, &shape, &options),
        shape => stateless(ident, vis, sig, shape, &options),
    };
    let routine = routine.iter().map(|item| quote!(#(#cfgs)* #item));

    quote! {
        #(#cfgs)*
        #(#for_struct)*
        #[allow(non_camel_case_types)]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::default::Default,
        )]
        #struct_item

        #(#cfgs)*
        impl #ident {
            #(#attrs)*
            #separator
            #[doc = #call_doc]
            #vis #call_sig #body
        }

        #(#routine)*
    }
}

/// The items of a routine without state (or with a signature already reported as
/// invalid, whose run then does not call it): it is a `Routine` by itself, and its
/// `with_state` returns it as it is.
fn stateless(
    ident: &Ident,
    vis: &syn::Visibility,
    sig: &syn::Signature,
    shape: Option<Shape>,
    options: &TokenStream,
) -> Vec<TokenStream> {
    let with_state_doc = format!(
        " `{}` takes no parameters from a state: this returns it as it is, and drops \
         `state`. Every `#[rutina::routine]` has `with_state`, so that routines with and \
         without state are started the same way.",
        ident.unraw()
    );
    let (span, future) = run_future(sig);
    let (ctx, body) = match shape {
        Some(shape) if shape.context => (quote!(__rutina_ctx), run_body(span, Some(quote!(__rutina_ctx)), Vec::new())),
        Some(_) => (quote!(_), run_body(span, None, Vec::new())),
        None => (
            quote!(_),
            quote! {
                ::core::future::ready(::core::result::Result::<(), ::rutina::__private::BoxError>::Ok(()))
            },
        ),
    };
    vec![
        quote! {
            impl #ident {
                #[doc = #with_state_doc]
                #[must_use]
                #vis fn with_state<__RutinaState>(self, state: __RutinaState) -> Self {
                    ::core::mem::drop(state);
                    self
                }
            }
        },
        quote! {
            impl ::rutina::__private::Routine for #ident {
                fn run(&mut self, #ctx: ::rutina::__private::Context) -> #future {
                    #body
                }
                #options
            }
        },
    ]
}

/// The items of a routine whose parameters are taken from a state: it is a
/// `StatefulRoutine<S>` for every state `S` that provides each parameter, and its
/// `with_state` pairs it with one.
///
/// The bounds, `S: Provides<Param>`, have the state first, so that its type is taken
/// from `with_state`'s argument before a parameter is looked up in it (with
/// `Param: FromRef<S>`, rustc would infer `S` from the only impl of a type no state
/// provides, `FromRef<T> for T`); each is spanned on its parameter's type. `with_state`
/// returns an `impl Routine`, so that a state that cannot provide a parameter is
/// reported as such where the routine is started too, not as a `WithState<..>` that is
/// not a routine. The unit struct itself is not a `Routine`, so that `go(name)` does not
/// compile; it is an `IntoRoutine<&S>` for the same states, which `rutina::main!` starts
/// it with.
fn stateful(
    ident: &Ident,
    vis: &syn::Visibility,
    sig: &syn::Signature,
    shape: &Shape,
    options: &TokenStream,
) -> Vec<TokenStream> {
    let state = Ident::new("__RutinaState", Span::call_site());
    let located = |ty: &syn::Type| Span::call_site().located_at(first_span(ty));
    // Spanned from the type's first token to its last, so that an unmet bound points at
    // the whole parameter type.
    let provides = shape.state.iter().map(|ty| {
        let (span, close) = (located(ty), Span::call_site().located_at(last_span(ty)));
        let close = quote_spanned!(close=> >);
        quote_spanned!(span=> #state: ::rutina::__private::Provides<#ty #close)
    });
    let provides = quote!(#(#provides,)*);
    let params = shape.state.iter().map(|ty| {
        let span = located(ty);
        quote_spanned!(span=> <#state as ::rutina::__private::Provides<#ty>>::provide(__rutina_state))
    });
    let ctx = shape.context.then(|| quote!(__rutina_ctx));
    let (span, future) = run_future(sig);
    let call = run_body(span, ctx.clone(), params.collect());
    let unraw = ident.unraw();
    let with_state_doc = format!(
        " `{unraw}` with the state its parameters are taken from (with `rutina::FromRef`, \
         afresh for every run): `rutina.go({unraw}.with_state(app.clone()))`. It runs with \
         the options `{unraw}` declares, unless `go_with` replaces them."
    );
    let ctx = ctx.unwrap_or_else(|| quote!(_));
    vec![
        quote! {
            impl #ident {
                #[doc = #with_state_doc]
                #[must_use]
                #vis fn with_state<#state>(self, state: #state) -> impl ::rutina::__private::Routine
                where
                    #state: ::core::marker::Send + 'static,
                    #provides
                {
                    ::rutina::__private::WithState::new(self, state)
                }
            }
        },
        quote! {
            impl<#state> ::rutina::__private::StatefulRoutine<#state> for #ident
            where
                #provides
            {
                fn run(
                    &mut self,
                    __rutina_state: &#state,
                    #ctx: ::rutina::__private::Context,
                ) -> #future {
                    #call
                }
                #options
            }
        },
        // `rutina::main!` with a `state` starts it with `IntoRoutine::start(name, &rutina,
        // &state)`: given a reference to a state that provides its parameters, it is paired
        // with a clone of it. Not for `()`, which `main!` without a state gives: that error
        // says to give it one.
        quote! {
            impl<'__rutina, #state> ::rutina::__private::IntoRoutine<&'__rutina #state> for #ident
            where
                #provides
                #state: ::core::clone::Clone + ::core::marker::Send + 'static,
            {
                type Routine = ::rutina::__private::WithState<#ident, #state>;

                fn into_routine(self, state: &'__rutina #state) -> Self::Routine {
                    ::rutina::__private::WithState::new(self, ::core::clone::Clone::clone(state))
                }
            }
        },
    ]
}

/// The future type a run returns, and where it is located: on the fn's return type, so
/// that a return type that is not `Result<(), E: Into<BoxError>>` (the bound of
/// `rutina::RoutineReturn`, see [`run_body`]) or a future that is not `Send` is reported
/// there.
fn run_future(sig: &syn::Signature) -> (Span, TokenStream) {
    let output = match &sig.output {
        syn::ReturnType::Type(_, ty) => first_span(ty),
        syn::ReturnType::Default => sig.ident.span(),
    };
    let output = Span::call_site().located_at(output);
    let future = quote_spanned! {output=>
        impl ::core::future::Future<
            Output = ::core::result::Result<(), ::rutina::__private::BoxError>,
        > + ::core::marker::Send
    };
    (output, future)
}

/// The body of `run`: the fn's arguments taken now (so that the future borrows nothing
/// from the routine or its state), the fn called in the returned future, and its result
/// passed through the public `RoutineReturn`, whose diagnostic says what a routine
/// returns. The fn's future is made inside the returned one, not before it: captured,
/// then awaited, it would be kept twice in the state of every run. Located at `span`,
/// the fn's return type.
fn run_body(span: Span, ctx: Option<TokenStream>, params: Vec<TokenStream>) -> TokenStream {
    let names: Vec<Ident> = (0..params.len()).map(|i| Ident::new(&format!("__rutina_param{i}"), span)).collect();
    let args = ctx.into_iter().chain(names.iter().map(|name| quote!(#name)));
    quote_spanned! {span=>
        #(let #names = #params;)*
        async move { ::rutina::__private::RoutineReturn::into_result(Self::call(#(#args),*).await) }
    }
}

/// `Routine::options`: the declared options as builder calls on constants. A schedule
/// (`every`, `cron`) comes before `on_done`, which it sets to `Restart`, so that an
/// `on_done` written in the attribute wins.
fn options_fn(ident: &Ident, args: &RoutineArgs) -> TokenStream {
    let name = match &args.name {
        Some(name) => Literal::string(&name.value),
        None => Literal::string(&ident.unraw().to_string()),
    };
    let flag = |value: bool| Ident::new(if value { "true" } else { "false" }, Span::call_site());
    let mut calls = vec![quote!(.name(#name))];
    if let Some(every) = &args.every {
        let every = duration(every.value);
        calls.push(quote!(.every(#every)));
    }
    if let Some(cron) = &args.cron {
        let cron = Literal::string(&cron.value);
        calls.push(quote!(.cron(::rutina::__private::cron(#cron))));
    }
    if let Some(policy) = &args.on_done {
        let policy = variant_path(POLICY.ty, policy);
        calls.push(quote!(.on_done(#policy)));
    }
    if let Some(policy) = &args.on_error {
        let policy = variant_path(POLICY.ty, policy);
        calls.push(quote!(.on_error(#policy)));
    }
    if let Some(timeout) = &args.timeout {
        let timeout = duration(timeout.value);
        calls.push(quote!(.timeout(#timeout)));
    }
    if let Some(max_count) = &args.max_count {
        let max_count = Literal::u32_suffixed(max_count.value);
        calls.push(quote!(.max_count(#max_count)));
    }
    let backoff = args.backoff.as_ref().map(|backoff| match backoff.value {
        BackoffArg::Fixed(delay) if delay.is_zero() => quote!(::rutina::__private::Backoff::none()),
        BackoffArg::Fixed(delay) => {
            let delay = duration(delay);
            quote!(::rutina::__private::Backoff::fixed(#delay))
        }
        BackoffArg::Exponential { initial, max } => {
            let (initial, max) = (duration(initial), duration(max));
            quote!(::rutina::__private::Backoff::exponential(#initial, #max))
        }
    });
    match (backoff, &args.backoff_reset) {
        (Some(backoff), None) => calls.push(quote!(.backoff(#backoff))),
        (backoff, Some(reset)) => {
            let backoff = backoff
                .unwrap_or_else(|| quote!(<::rutina::__private::Backoff as ::core::default::Default>::default()));
            let reset = duration(reset.value);
            calls.push(quote!(.backoff(#backoff.reset_after(#reset))));
        }
        (None, None) => {}
    }
    if let Some(intensity) = &args.restart_intensity {
        let max_restarts = Literal::u32_suffixed(intensity.max_restarts.value);
        let within = duration(intensity.within.value);
        calls.push(quote!(.restart_intensity(#max_restarts, #within)));
    }
    if let Some(grace_period) = &args.grace_period {
        let grace_period = duration(grace_period.value);
        calls.push(quote!(.grace_period(#grace_period)));
    }
    if let Some(gate) = &args.readiness_gate {
        let gate = flag(gate.value);
        calls.push(quote!(.readiness_gate(#gate)));
    }
    if let Some(heartbeat) = &args.heartbeat {
        let heartbeat = duration(heartbeat.value);
        calls.push(quote!(.heartbeat(#heartbeat)));
    }
    if let Some(reload) = &args.reload {
        let reload = flag(reload.value);
        calls.push(quote!(.reload(#reload)));
    }
    if let Some(key) = &args.singleton {
        let key = Literal::string(&key.value);
        calls.push(quote!(.singleton(#key)));
    }
    quote! {
        fn options(&self) -> ::rutina::__private::RunOptions {
            <::rutina::__private::RunOptions as ::core::default::Default>::default()
                #(#calls)*
        }
    }
}

/// `::rutina::__private::Policy::Restart`, the variant spanned where the user wrote it.
fn variant_path(ty: &str, variant: &Spanned<&str>) -> TokenStream {
    let ty = Ident::new(ty, Span::call_site());
    let variant = Ident::new(variant.value, variant.span);
    quote!(::rutina::__private::#ty::#variant)
}

/// A `Duration` constant: `::rutina::__private::Duration::new(secs, nanos)`.
fn duration(duration: Duration) -> TokenStream {
    let secs = Literal::u64_suffixed(duration.as_secs());
    let nanos = Literal::u32_suffixed(duration.subsec_nanos());
    quote!(::rutina::__private::Duration::new(#secs, #nanos))
}

/// `fn main() -> ExitCode`: `setup`, then [`rutina::Main`] with the declared options (the
/// lease backend made by `lease` inside the runtime, with `Main::configure`), then
/// `state`, then the routines in the order listed, each given the state. Public rutina API
/// only, each call located on what the user wrote, so that a mistake is reported there
/// and names public items: `MainFn` for an fn that takes arguments, `SetupReturn` for
/// what `setup` returns, `Options::lease` for a lease that is not one, `IntoRoutine` for an
/// entry.
fn main_fn(args: &MainArgs) -> TokenStream {
    let mut options = Vec::new();
    if let Some(timeout) = &args.shutdown_timeout {
        let timeout = duration(timeout.value);
        options.push(quote!(.shutdown_timeout(#timeout)));
    }
    if let Some(delay) = &args.shutdown_delay {
        let delay = duration(delay.value);
        options.push(quote!(.shutdown_delay(#delay)));
    }
    if let Some(order) = &args.shutdown_order {
        let order = variant_path(SHUTDOWN_ORDER.ty, order);
        options.push(quote!(.shutdown_order(#order)));
    }
    let setup = args.setup.as_ref().map(|path| {
        let (span, call) = call_fn(path);
        let result = quote_spanned!(span=> ::rutina::SetupReturn::into_result(#call));
        quote! {
            if let ::core::result::Result::Err(__rutina_error) = #result {
                ::std::eprintln!("{}", ::rutina::ErrorReport::new(&*__rutina_error));
                return ::std::process::ExitCode::FAILURE;
            }
        }
    });
    // `lease`, then `configure`: inside the runtime, before the group is made, in one
    // `Main::configure`, so that `configure` has the last word on the options.
    let lease = args.lease.as_ref().map(|path| {
        let (span, lease) = made(path);
        let options = quote_spanned!(span=> __rutina_options.lease(__rutina_lease));
        quote! {
            let __rutina_lease = #lease;
            let __rutina_options = #options;
        }
    });
    let configured = args.configure.as_ref().map(|path| {
        let span = Span::call_site().located_at(first_span(path));
        let options = made_by(span, quote_spanned!(span=> #path(__rutina_options)));
        quote_spanned!(span=> let __rutina_options: ::rutina::Options = #options;)
    });
    let configure = (lease.is_some() || configured.is_some()).then(|| {
        quote! {
            .configure(|__rutina_options: ::rutina::Options| async move {
                #lease
                #configured
                ::core::result::Result::Ok::<::rutina::Options, ::rutina::BoxError>(__rutina_options)
            })
        }
    });
    let state = args.state.as_ref().map(|path| {
        let (_, state) = made(path);
        quote!(let __rutina_state = #state;)
    });
    let given = match state {
        Some(_) => quote!(&__rutina_state),
        None => quote!(()),
    };
    let starts = args.routines.iter().map(|routine| {
        let span = Span::call_site().located_at(first_span(routine));
        let trait_path = match &args.state {
            Some(_) => quote_spanned!(span=> ::rutina::IntoRoutine),
            None => quote_spanned!(span=> ::rutina::IntoRoutine::<()>),
        };
        quote_spanned!(span=> let _ = #trait_path::start(#routine, &__rutina, #given);)
    });
    quote! {
        fn main() -> ::std::process::ExitCode {
            #setup
            ::rutina::Main::new(<::rutina::Options as ::core::default::Default>::default() #(#options)*)
                #configure
                .run(|__rutina: ::rutina::Rutina| async move {
                    #state
                    #(#starts)*
                    ::core::result::Result::Ok::<(), ::rutina::BoxError>(())
                })
        }
    }
}

/// What the fn at `path` (`state`'s, `lease`'s; `configure`'s is called with the options)
/// made, in an async block that returns a
/// `Result<_, BoxError>`: the fn is called, its value awaited if it is a future, and
/// taken out of its `Ok` with `?` if it is a `Result` (an error that does not convert
/// into a `BoxError` is reported on the path). The macro cannot tell an `async fn` from
/// a plain one, nor a `Result` from a value: the runtime's `__private` tags tell them
/// apart by the value's concrete type (autoref specialization), and cannot fail.
fn made(path: &syn::ExprPath) -> (Span, TokenStream) {
    let (span, call) = call_fn(path);
    (span, made_by(span, call))
}

/// What `call` (located at `span`, the path of the fn it calls) made, as [`made`] tells.
fn made_by(span: Span, call: TokenStream) -> TokenStream {
    // Located on the path, so that `?`'s error (a `Result` whose error does not convert)
    // points there.
    let value = quote_spanned!(span=> (&__rutina_made).__rutina_result().made(__rutina_made)?);
    quote! {
        {
            #[allow(unused_imports)]
            use ::rutina::__private::{AwaitKind as _, NowKind as _, ResultKind as _, ValueKind as _};
            let __rutina_made = #call;
            let __rutina_made = (&__rutina_made).__rutina_await().made(__rutina_made).await;
            #value
        }
    }
}

/// A call of the fn at `path` with no arguments, through the public `MainFn`, and where
/// it is located: the path, so that an fn taking arguments, or returning what its key
/// does not take, is reported there.
fn call_fn(path: &syn::ExprPath) -> (Span, TokenStream) {
    let span = Span::call_site().located_at(first_span(path));
    (span, quote_spanned!(span=> ::rutina::MainFn::call(#path)))
}

fn first_span(tokens: impl ToTokens) -> Span {
    tokens.into_token_stream().into_iter().next().map_or_else(Span::call_site, |token| token.span())
}

fn last_span(tokens: impl ToTokens) -> Span {
    tokens.into_token_stream().into_iter().last().map_or_else(Span::call_site, |token| token.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token strings compare modulo spacing.
    fn normalized(tokens: TokenStream) -> String {
        tokens.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn contains(haystack: &TokenStream, needle: TokenStream) -> bool {
        normalized(haystack.clone()).contains(&normalized(needle))
    }

    #[test]
    fn routine_becomes_a_unit_struct_with_its_options() {
        let out = routine(
            quote!(on_done = Restart, timeout = "1m 30s", max_count = 3, backoff = "250ms"),
            quote! {
                /// Polls the feed.
                pub async fn poll_feed(ctx: rutina::Context) -> anyhow::Result<()> { body(ctx).await }
            },
        );
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        assert!(
            contains(
                &out,
                quote!(
                    pub struct poll_feed;
                )
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote!(
                    pub async fn call(ctx: rutina::Context) -> anyhow::Result<()> {
                        body(ctx).await
                    }
                )
            ),
            "{out}"
        );
        assert!(contains(&out, quote!(#[doc = r" Polls the feed."] #[allow(non_camel_case_types)])), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    <::rutina::__private::RunOptions as ::core::default::Default>::default()
                        .name("poll_feed")
                        .on_done(::rutina::__private::Policy::Restart)
                        .timeout(::rutina::__private::Duration::new(90u64, 0u32))
                        .max_count(3u32)
                        .backoff(::rutina::__private::Backoff::fixed(
                            ::rutina::__private::Duration::new(0u64, 250000000u32)
                        ))
                }
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote! {
                    async move { ::rutina::__private::RoutineReturn::into_result(Self::call(__rutina_ctx).await) }
                }
            ),
            "{out}"
        );
        assert!(contains(&out, quote!(impl ::rutina::__private::Routine for poll_feed)), "{out}");
        assert!(!contains(&out, quote!(IntoRoutine)), "{out}");
    }

    #[test]
    fn new_keys_become_builder_calls() {
        let out = routine(
            quote!(restart_intensity = (5, "1m"), grace_period = "0s", readiness_gate),
            quote!(
                async fn consumer() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    <::rutina::__private::RunOptions as ::core::default::Default>::default()
                        .name("consumer")
                        .restart_intensity(5u32, ::rutina::__private::Duration::new(60u64, 0u32))
                        .grace_period(::rutina::__private::Duration::new(0u64, 0u32))
                        .readiness_gate(true)
                }
            ),
            "{out}"
        );
        let out = routine(
            quote!(readiness_gate = false),
            quote!(
                async fn consumer() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(contains(&out, quote!(.name("consumer").readiness_gate(false))), "{out}");
    }

    #[test]
    fn schedules_and_backoffs_become_builder_calls() {
        let body = quote!(
            async fn job() -> Result<(), E> {
                Ok(())
            }
        );
        let out = routine(
            quote!(on_done = Shutdown, singleton = "nightly", every = "2s", heartbeat = "30s", reload),
            body.clone(),
        );
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        // `every` sets `on_done`: it comes first, so that the declared `on_done` wins.
        assert!(
            contains(
                &out,
                quote! {
                    <::rutina::__private::RunOptions as ::core::default::Default>::default()
                        .name("job")
                        .every(::rutina::__private::Duration::new(2u64, 0u32))
                        .on_done(::rutina::__private::Policy::Shutdown)
                        .heartbeat(::rutina::__private::Duration::new(30u64, 0u32))
                        .reload(true)
                        .singleton("nightly")
                }
            ),
            "{out}"
        );
        let out = routine(quote!(cron = "0 */5 * * * *", reload = false), body.clone());
        assert!(
            contains(&out, quote!(.name("job").cron(::rutina::__private::cron("0 */5 * * * *")).reload(false))),
            "{out}"
        );
        let backoffs = [
            (quote!(backoff = "0s"), quote!(.backoff(::rutina::__private::Backoff::none()))),
            (
                quote!(backoff = "1s"),
                quote!(.backoff(::rutina::__private::Backoff::fixed(::rutina::__private::Duration::new(1u64, 0u32)))),
            ),
            (
                quote!(backoff = "100ms..30s"),
                quote!(.backoff(::rutina::__private::Backoff::exponential(
                    ::rutina::__private::Duration::new(0u64, 100000000u32),
                    ::rutina::__private::Duration::new(30u64, 0u32)
                ))),
            ),
            (
                quote!(backoff = "1s..1m", backoff_reset = "5m"),
                quote!(.backoff(
                    ::rutina::__private::Backoff::exponential(
                        ::rutina::__private::Duration::new(1u64, 0u32),
                        ::rutina::__private::Duration::new(60u64, 0u32)
                    )
                    .reset_after(::rutina::__private::Duration::new(300u64, 0u32))
                )),
            ),
            (
                quote!(backoff_reset = "1m"),
                quote!(.backoff(
                    <::rutina::__private::Backoff as ::core::default::Default>::default()
                        .reset_after(::rutina::__private::Duration::new(60u64, 0u32))
                )),
            ),
        ];
        for (args, call) in backoffs {
            let out = routine(args.clone(), body.clone());
            assert!(!contains(&out, quote!(compile_error)), "{args}: {out}");
            assert!(contains(&out, quote!(.name("job") #call)), "{args}: {out}");
        }
        // A mistake: the item keeps default options.
        let out = routine(quote!(every = "1s", cron = "* * * * *"), body);
        assert_eq!(normalized(out.clone()).matches("compile_error").count(), 1, "{out}");
        assert!(!contains(&out, quote!(.every)), "{out}");
    }

    #[test]
    fn name_defaults_to_the_unraw_fn_name_and_ctx_may_be_omitted() {
        let out = routine(
            quote!(),
            quote!(
                async fn r#loop() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(contains(&out, quote!(.name("loop"))), "{out}");
        assert!(contains(&out, quote!(fn run(&mut self, _: ::rutina::__private::Context))), "{out}");
        assert!(contains(&out, quote!(into_result(Self::call().await))), "{out}");
        let out = routine(
            quote!(name = "custom"),
            quote!(
                async fn r#loop() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(contains(&out, quote!(.name("custom"))), "{out}");
    }

    #[test]
    fn cfg_gates_every_item() {
        let out = routine(
            quote!(),
            quote!(
                #[cfg(unix)]
                async fn a() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        // The struct, the impl with `call`, `call` itself, `with_state`, `Routine`.
        assert_eq!(normalized(out).matches("# [cfg (unix)]").count(), 5);
        let out = routine(
            quote!(),
            quote!(
                #[cfg(unix)]
                async fn a(db: Db) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        // The struct, the impl with `call`, `call` itself, `with_state`, `StatefulRoutine`,
        // `IntoRoutine`.
        assert_eq!(normalized(out).matches("# [cfg (unix)]").count(), 6);
    }

    #[test]
    fn errors_keep_the_items_and_do_not_call_an_invalid_fn() {
        let out = routine(
            quote!(on_done = Restarts, timeout = "0s"),
            quote!(
                fn poll(ctx: Context, extra: &u8) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        let text = normalized(out.clone());
        assert_eq!(text.matches("compile_error").count(), 4, "{text}");
        assert!(
            contains(
                &out,
                quote!(
                    struct poll;
                )
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote!(
                    fn call(ctx: Context, extra: &u8) -> Result<(), E> {
                        Ok(())
                    }
                )
            ),
            "{out}"
        );
        assert!(!text.contains("Self :: call"), "{text}");
        // Treated as a routine without state, so that where it is used nothing cascades.
        assert!(contains(&out, quote!(impl ::rutina::__private::Routine for poll)), "{out}");
        assert!(contains(&out, quote!(fn with_state<__RutinaState>(self, state: __RutinaState) -> Self)), "{out}");
    }

    #[test]
    fn a_routine_with_parameters_takes_them_from_the_state_it_is_given() {
        let out = routine(
            quote!(on_error = Restart),
            quote! {
                pub async fn consumer(ctx: Context, db: Db, config: Arc<Config>) -> anyhow::Result<()> { Ok(()) }
            },
        );
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        let provides = quote! {
            __RutinaState: ::rutina::__private::Provides<Db>,
            __RutinaState: ::rutina::__private::Provides<Arc<Config> >,
        };
        assert!(
            contains(
                &out,
                quote! {
                    pub fn with_state<__RutinaState>(self, state: __RutinaState) -> impl ::rutina::__private::Routine
                    where
                        __RutinaState: ::core::marker::Send + 'static,
                        #provides
                    {
                        ::rutina::__private::WithState::new(self, state)
                    }
                }
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote! {
                    impl<__RutinaState> ::rutina::__private::StatefulRoutine<__RutinaState> for consumer
                    where
                        #provides
                }
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote!(fn run(&mut self, __rutina_state: &__RutinaState, __rutina_ctx: ::rutina::__private::Context,))
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote! {
                    let __rutina_param0 = <__RutinaState as ::rutina::__private::Provides<Db>>::provide(__rutina_state);
                    let __rutina_param1 =
                        <__RutinaState as ::rutina::__private::Provides<Arc<Config> >>::provide(__rutina_state);
                    async move {
                        ::rutina::__private::RoutineReturn::into_result(
                            Self::call(__rutina_ctx, __rutina_param0, __rutina_param1).await
                        )
                    }
                }
            ),
            "{out}"
        );
        assert!(contains(&out, quote!(.name("consumer").on_error(::rutina::__private::Policy::Restart))), "{out}");
        // Not a routine by itself; `main!` starts it given a reference to a state.
        assert!(!contains(&out, quote!(::rutina::__private::Routine for consumer)), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    impl<'__rutina, __RutinaState> ::rutina::__private::IntoRoutine<&'__rutina __RutinaState> for consumer
                    where
                        #provides
                        __RutinaState: ::core::clone::Clone + ::core::marker::Send + 'static,
                    {
                        type Routine = ::rutina::__private::WithState<consumer, __RutinaState>;

                        fn into_routine(self, state: &'__rutina __RutinaState) -> Self::Routine {
                            ::rutina::__private::WithState::new(self, ::core::clone::Clone::clone(state))
                        }
                    }
                }
            ),
            "{out}"
        );

        // Without a context, the state alone.
        let out = routine(
            quote!(),
            quote!(
                async fn consumer(db: Db) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(contains(&out, quote!(_: ::rutina::__private::Context)), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    let __rutina_param0 = <__RutinaState as ::rutina::__private::Provides<Db>>::provide(__rutina_state);
                    async move { ::rutina::__private::RoutineReturn::into_result(Self::call(__rutina_param0).await) }
                }
            ),
            "{out}"
        );
    }

    #[test]
    fn derive_from_ref_clones_each_field() {
        let out = from_ref(quote! {
            struct App {
                db: Db,
                #[from_ref(skip)]
                replica: Db,
                config: Arc<Config>,
            }
        });
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        for (field, ty) in [(quote!(db), quote!(Db)), (quote!(config), quote!(Arc<Config>))] {
            assert!(
                contains(
                    &out,
                    quote! {
                        #[automatically_derived]
                        impl ::rutina::__private::FromRef<App> for #ty {
                            fn from_ref(state: &App) -> Self {
                                ::core::clone::Clone::clone(&state.#field)
                            }
                        }
                    }
                ),
                "{out}"
            );
        }
        assert_eq!(normalized(out).matches("automatically_derived").count(), 2);
    }

    #[test]
    fn derive_from_ref_errors_keep_the_impls_that_are_fine() {
        let out = from_ref(quote! {
            struct App { a: Db, b: Db, #[from_ref(skp)] c: u8 }
        });
        let text = normalized(out.clone());
        assert_eq!(text.matches("compile_error").count(), 2, "{text}");
        assert!(contains(&out, quote!(FromRef<App> for Db)) && contains(&out, quote!(FromRef<App> for u8)), "{out}");
        for input in [
            quote!(
                enum App {
                    A,
                }
            ),
            quote!(
                struct App(Db);
            ),
            quote!(
                struct App;
            ),
            quote!(
                struct App<T> {
                    t: T,
                }
            ),
        ] {
            let out = from_ref(input.clone());
            let text = normalized(out);
            assert_eq!(text.matches("compile_error").count(), 1, "{input}: {text}");
            assert!(!text.contains("automatically_derived"), "{input}: {text}");
        }
        assert!(
            normalized(from_ref(quote!(
                fn not_a_type() {}
            )))
            .contains("compile_error")
        );
    }

    #[test]
    fn an_item_that_is_not_an_fn_is_re_emitted_unchanged() {
        let out = routine(
            quote!(timeout = "5s"),
            quote!(
                struct Poll;
            ),
        );
        assert!(normalized(out.clone()).starts_with("struct Poll ;"), "{out}");
        assert!(contains(&out, quote!(compile_error)), "{out}");
    }

    #[test]
    fn main_starts_routines_in_order() {
        let out = main(quote!(a, jobs::poll));
        assert!(
            contains(
                &out,
                quote! {
                    fn main() -> ::std::process::ExitCode {
                        ::rutina::Main::new(<::rutina::Options as ::core::default::Default>::default())
                            .run(|__rutina: ::rutina::Rutina| async move {
                                let _ = ::rutina::IntoRoutine::<()>::start(a, &__rutina, ());
                                let _ = ::rutina::IntoRoutine::<()>::start(jobs::poll, &__rutina, ());
                                ::core::result::Result::Ok::<(), ::rutina::BoxError>(())
                            })
                    }
                }
            ),
            "{out}"
        );
        let out = main(quote!(routines: [a], shutdown_timeout: "30s"));
        assert!(
            contains(
                &out,
                quote!(::rutina::Main::new(
                    <::rutina::Options as ::core::default::Default>::default()
                        .shutdown_timeout(::rutina::__private::Duration::new(30u64, 0u32))
                ))
            ),
            "{out}"
        );
        let out =
            main(quote!(routines: [a], shutdown_order: rutina::ShutdownOrder::ReverseStart, shutdown_timeout: "1s"));
        assert!(
            contains(
                &out,
                quote!(::rutina::Main::new(
                    <::rutina::Options as ::core::default::Default>::default()
                        .shutdown_timeout(::rutina::__private::Duration::new(1u64, 0u32))
                        .shutdown_order(::rutina::__private::ShutdownOrder::ReverseStart)
                ))
            ),
            "{out}"
        );
    }

    #[test]
    fn main_setup_is_called_through_main_fn() {
        for path in [quote!(init_logging), quote!(config::load), quote!(<Config as Init>::init)] {
            let out = main(quote!(routines: [a], setup: #path));
            assert!(!contains(&out, quote!(compile_error)), "{out}");
            assert!(
                contains(
                    &out,
                    quote! {
                        if let ::core::result::Result::Err(__rutina_error) =
                            ::rutina::SetupReturn::into_result(::rutina::MainFn::call(#path))
                        {
                            ::std::eprintln!("{}", ::rutina::ErrorReport::new(&*__rutina_error));
                            return ::std::process::ExitCode::FAILURE;
                        }
                        ::rutina::Main::new
                    }
                ),
                "{out}"
            );
        }
        // A mistake in `setup` is reported, and `main` is still defined (without it).
        let out = main(quote!(routines: [a], setup: || init()));
        assert!(contains(&out, quote!(fn main())), "{out}");
        assert!(!contains(&out, quote!(SetupReturn)), "{out}");
        assert_eq!(normalized(out).matches("compile_error").count(), 1);
    }

    #[test]
    fn main_state_is_made_in_the_runtime_and_given_to_every_routine() {
        let out = main(quote!(state: App::connect, routines: [a, jobs::poll]));
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        let made = quote! {
            {
                #[allow(unused_imports)]
                use ::rutina::__private::{AwaitKind as _, NowKind as _, ResultKind as _, ValueKind as _};
                let __rutina_made = ::rutina::MainFn::call(App::connect);
                let __rutina_made = (&__rutina_made).__rutina_await().made(__rutina_made).await;
                (&__rutina_made).__rutina_result().made(__rutina_made)?
            }
        };
        assert!(
            contains(
                &out,
                quote! {
                    .run(|__rutina: ::rutina::Rutina| async move {
                        let __rutina_state = #made;
                        let _ = ::rutina::IntoRoutine::start(a, &__rutina, &__rutina_state);
                        let _ = ::rutina::IntoRoutine::start(jobs::poll, &__rutina, &__rutina_state);
                        ::core::result::Result::Ok::<(), ::rutina::BoxError>(())
                    })
                }
            ),
            "{out}"
        );
        assert!(!contains(&out, quote!(configure)), "{out}");
    }

    #[test]
    fn main_lease_is_made_in_the_runtime_before_the_group() {
        let out = main(quote!(lease: leases::make, shutdown_delay: "1m", routines: [a]));
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    ::rutina::Main::new(
                        <::rutina::Options as ::core::default::Default>::default()
                            .shutdown_delay(::rutina::__private::Duration::new(60u64, 0u32))
                    )
                }
            ),
            "{out}"
        );
        assert!(
            contains(
                &out,
                quote! {
                    .configure(|__rutina_options: ::rutina::Options| async move {
                        let __rutina_lease = {
                            #[allow(unused_imports)]
                            use ::rutina::__private::{AwaitKind as _, NowKind as _, ResultKind as _, ValueKind as _};
                            let __rutina_made = ::rutina::MainFn::call(leases::make);
                            let __rutina_made = (&__rutina_made).__rutina_await().made(__rutina_made).await;
                            (&__rutina_made).__rutina_result().made(__rutina_made)?
                        };
                        let __rutina_options = __rutina_options.lease(__rutina_lease);
                        ::core::result::Result::Ok::<::rutina::Options, ::rutina::BoxError>(__rutina_options)
                    })
                }
            ),
            "{out}"
        );
        assert!(contains(&out, quote!(let _ = ::rutina::IntoRoutine::<()>::start(a, &__rutina, ());)), "{out}");
        // A zero delay is reported; `main` is still defined.
        let out = main(quote!(routines: [a], shutdown_delay: "0s"));
        assert!(contains(&out, quote!(fn main())), "{out}");
        assert_eq!(normalized(out).matches("compile_error").count(), 1);
    }

    #[test]
    fn main_configure_finishes_the_options_in_the_runtime_after_the_lease() {
        let out = main(quote!(routines: [a], configure: config::configure, lease: make_lease));
        assert!(!contains(&out, quote!(compile_error)), "{out}");
        assert!(
            contains(
                &out,
                quote! {
                    let __rutina_options = __rutina_options.lease(__rutina_lease);
                    let __rutina_options: ::rutina::Options = {
                        #[allow(unused_imports)]
                        use ::rutina::__private::{AwaitKind as _, NowKind as _, ResultKind as _, ValueKind as _};
                        let __rutina_made = config::configure(__rutina_options);
                        let __rutina_made = (&__rutina_made).__rutina_await().made(__rutina_made).await;
                        (&__rutina_made).__rutina_result().made(__rutina_made)?
                    };
                    ::core::result::Result::Ok::<::rutina::Options, ::rutina::BoxError>(__rutina_options)
                }
            ),
            "{out}"
        );
        // Alone, in a `Main::configure` of its own.
        let out = main(quote!(routines: [a], configure: configure));
        assert!(
            normalized(out.clone()).contains(". configure (| __rutina_options : :: rutina :: Options | async move {"),
            "{out}"
        );
        assert!(contains(&out, quote!(let __rutina_made = configure(__rutina_options);)), "{out}");
        assert!(!contains(&out, quote!(__rutina_lease)), "{out}");
        // A call or a closure is reported; `main` is still defined.
        for input in [quote!(routines: [a], configure: configure()), quote!(routines: [a], configure: |o| o)] {
            let out = main(input);
            assert!(contains(&out, quote!(fn main())), "{out}");
            assert_eq!(normalized(out).matches("compile_error").count(), 1);
        }
    }

    #[test]
    fn odd_input_gives_errors_not_panics() {
        let args = [
            "",
            ",",
            ",,",
            "=",
            "= =",
            "a",
            "a =",
            "a = = b",
            "on_done = ",
            "on_done = ,",
            "on_done = Restart Restart",
            "on_done = ::",
            "on_done = Policy::",
            "timeout = \"\"",
            "timeout = \"   \"",
            "timeout = \"99999999999999999999999y\"",
            "timeout = r\"5s\"",
            "timeout = b\"5s\"",
            "max_count = -",
            "max_count = --1",
            "max_count = 0x10",
            "max_count = 1_000",
            "max_count = 3u64",
            "max_count = 'a'",
            "name = \"\\u{0}\"",
            "(on_done = Restart)",
            "[timeout = \"5s\"]",
            "r#on_done = Restart",
            "on_done: Restart",
            "on_done = 1 + 2, timeout",
            "#",
            "'a",
            "\"timeout\" = 3",
            "restart_intensity = ",
            "restart_intensity = ()",
            "restart_intensity = (,)",
            "restart_intensity = (,,)",
            "restart_intensity = (5,)",
            "restart_intensity = (-, \"1m\")",
            "restart_intensity = ((5, \"1m\"))",
            "restart_intensity = (5, \"1m\") (5, \"1m\")",
            "restart_intensity = (5 \"1m\")",
            "readiness_gate = = true",
            "readiness_gate true",
            "readiness_gate = r#true",
            "readiness_gate = 'a",
            "grace_period = \"\"",
            "routines: [a], shutdown_order: ",
            "routines: [a], shutdown_order: ShutdownOrder::",
            "routines: [a], shutdown_order: ::ReverseStart",
            "routines: [a], shutdown_order: r#ReverseStart",
            "routines: [a], setup: ",
            "routines: [a], setup: ::",
            "routines: [a], setup: <",
            "routines: [a], setup: init()()",
            "routines: [a], setup: (init)()",
            "routines: [a], setup: r#init",
            "setup: init",
        ];
        let items = [
            "",
            "fn",
            "async fn",
            "async fn a",
            "async fn a()",
            "async fn a() -> {}",
            "async fn a() -> Result<(), E> {}",
            "pub(crate) unsafe extern \"C\" fn a(...) {}",
            "async fn a(self: Box<Self>, (a, b): (u8, u8)) -> ! {}",
            "impl A {}",
            "#[x] #[y]",
            "async fn a() -> Result<(), E> {} async fn b() {}",
            "async fn a(ctx: Context,) -> R {}",
        ];
        for args in args {
            for item in items {
                let args: TokenStream = args.parse().expect(args);
                let item: TokenStream = item.parse().expect(item);
                let _ = routine(args.clone(), item);
                let _ = main(args);
            }
        }
    }

    #[test]
    fn main_errors_still_define_main() {
        for input in [quote!(), quote!(routines: []), quote!(unknown: 3), quote!(a, , b)] {
            let out = main(input.clone());
            assert!(contains(&out, quote!(fn main())), "{input}: {out}");
            assert!(contains(&out, quote!(compile_error)), "{input}: {out}");
        }
    }
}
