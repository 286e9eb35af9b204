//! Error collection: every check pushes into one [`Errors`], so a user sees all the
//! mistakes of one macro call in one compile (see serde_derive's `Ctxt`).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The errors found so far in one macro call, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error with `message` at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error with `message` spanning `tokens` (first to last token).
    pub(crate) fn spanning(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// The value of `result`, or `None` with its error recorded.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// How many errors were recorded.
    pub(crate) fn count(&self) -> usize {
        self.0.as_ref().map_or(0, |errors| errors.into_iter().count())
    }

    /// The messages recorded so far, in order (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.0.iter().flat_map(|errors| errors.clone().into_iter()).map(|error| error.to_string()).collect()
    }
}

/// Tokens as a user writes them, for messages: `Arc<Config>` and `config::load`, not
/// `Arc < Config >` and `config :: load`.
pub(crate) fn code(tokens: impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string().replace(" -> ", "\0");
    let tight = [(" :: ", "::"), (":: ", "::"), (" < ", "<"), (" <", "<"), ("< ", "<"), (" >", ">"), (" ,", ",")];
    tight.iter().fold(text, |text, (spaced, tight)| text.replace(spaced, tight)).replace('\0', " -> ")
}

impl ToTokens for Errors {
    /// One `::core::compile_error!` per recorded error, each at its own span.
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if let Some(errors) = &self.0 {
            tokens.extend(errors.to_compile_error());
        }
    }
}
