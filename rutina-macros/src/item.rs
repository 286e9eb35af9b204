//! Parse: the item under `#[rutina::routine]`, and the fields of the struct under
//! `#[derive(rutina::FromRef)]`.
//!
//! Of a routine fn only the signature is parsed; the body is kept as the brace-delimited
//! group the user wrote (inner attributes included), so it is re-emitted exactly, and a
//! body that does not parse yet (while it is being typed in an IDE) does not break the
//! expansion.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};

use crate::attr::{FROM_REF, ROUTINE};
use crate::errors::Errors;

/// An fn item, as written: `<attrs> <vis> <signature> { <body> }`.
pub(crate) struct RoutineFn {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: syn::Visibility,
    pub(crate) sig: syn::Signature,
    pub(crate) body: Group,
}

/// Parses the item under the attribute. Anything but an fn with a body is an error,
/// spanned on the first token that does not fit.
pub(crate) fn parse_routine_fn(tokens: TokenStream) -> syn::Result<RoutineFn> {
    syn::parse2(tokens)
}

impl Parse for RoutineFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis: syn::Visibility = input.parse()?;
        let starts_fn = input.peek(syn::Token![fn])
            || input.peek(syn::Token![async])
            || input.peek(syn::Token![const])
            || input.peek(syn::Token![unsafe])
            || input.peek(syn::Token![extern]);
        if !starts_fn {
            return Err(input.error(format!(
                "{ROUTINE} applies to an `async fn` only, like \
                 `async fn poll_feed(ctx: rutina::Context) -> anyhow::Result<()>`"
            )));
        }
        let sig: syn::Signature = input.parse()?;
        let body = match input.parse::<TokenTree>() {
            Ok(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => body,
            Ok(other) => {
                return Err(syn::Error::new(other.span(), format!("{ROUTINE} needs an fn with a body: expected `{{`")));
            }
            Err(_) => {
                return Err(input.error(format!("{ROUTINE} needs an fn with a body")));
            }
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the fn's body"));
        }
        Ok(RoutineFn { attrs, vis, sig, body })
    }
}

/// A field of the struct under `#[derive(rutina::FromRef)]`.
pub(crate) struct StateField<'a> {
    pub(crate) field: &'a syn::Field,
    /// `#[from_ref(skip)]`: no impl for this field.
    pub(crate) skip: bool,
}

/// The named fields of the derive's struct, with their `#[from_ref(..)]` options;
/// `None` for an enum, a union or a struct without named fields (`valid.rs` says so).
/// A mistake in an option is reported, and the option ignored.
pub(crate) fn state_fields<'a>(input: &'a syn::DeriveInput, errors: &mut Errors) -> Option<Vec<StateField<'a>>> {
    let syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(fields), .. }) = &input.data else {
        return None;
    };
    let fields = fields.named.iter().map(|field| {
        let mut skip = false;
        for attr in field.attrs.iter().filter(|attr| attr.path().is_ident("from_ref")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("skip") {
                    skip = true;
                    Ok(())
                } else {
                    Err(meta.error(format!(
                        "unknown `from_ref` option in {FROM_REF}; the only one is `skip`, as in `#[from_ref(skip)]`"
                    )))
                }
            });
            errors.ok(parsed);
        }
        StateField { field, skip }
    });
    Some(fields.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn keeps_attributes_visibility_signature_and_raw_body() {
        let func = parse_routine_fn(quote! {
            /// Docs.
            #[allow(unused)]
            pub(crate) async fn poll(ctx: Context) -> Result<(), E> {
                #![allow(clippy::all)]
                this is not even rust;
            }
        })
        .expect("an fn parses");
        assert_eq!(func.attrs.len(), 2);
        assert!(matches!(func.vis, syn::Visibility::Restricted(_)));
        assert_eq!(func.sig.ident, "poll");
        assert!(func.body.stream().to_string().contains("this is not even rust"));
    }

    #[test]
    fn rejects_items_that_are_not_fns() {
        for item in [
            quote!(
                struct Poll;
            ),
            quote!(
                async fn poll();
            ),
            quote!(async fn poll() {}, extra),
            quote!(),
            quote!(pub),
        ] {
            assert!(parse_routine_fn(item.clone()).is_err(), "{item}");
        }
    }
}
