//! What the output of `#[rutina::routine]` and `rutina::main!` calls. Not public API:
//! it may change in any release.

#[cfg(feature = "macros")]
use std::error::Error as StdError;
use std::future::Future;
#[cfg(feature = "macros")]
use std::process::ExitCode;

pub use crate::{
    Backoff, BoxError, Context, FromRef, Main, Options, Policy, Provides, Routine, RunOptions, Rutina, ShutdownOrder,
    StatefulRoutine, WithState,
};
pub use ::core::time::Duration;

#[cfg(feature = "macros")]
use crate::ErrorReport;

/// Implemented by the `#[rutina::routine]` items without state: what `rutina::main!`
/// accepts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `#[rutina::routine]` that `rutina::main!` can start",
    label = "not a `#[rutina::routine]` item, or one that takes a state",
    note = "add `#[rutina::routine]` to the async fn to list it in `rutina::main!`",
    note = "a routine with parameters after its `Context` takes them from a state, which \
            `rutina::main!` cannot give yet: start it from a hand-written `main`, with \
            `rutina.go(name.with_state(state))`"
)]
pub trait Declared: Routine {}

/// Starts a `main!` entry, with the `Declared` bound spanned on it.
pub fn start<R: Declared>(rutina: &Rutina, routine: R) -> crate::Id {
    rutina.go(routine)
}

/// What a `#[rutina::routine]` fn may return.
#[diagnostic::on_unimplemented(
    message = "a `#[rutina::routine]` must return `Result<(), E>` where `E: Into<rutina::BoxError>`, not `{Self}`",
    label = "not `Result<(), E>`"
)]
pub trait RoutineResult {
    /// The result with its error boxed.
    fn into_routine_result(self) -> Result<(), BoxError>;
}

impl<E: Into<BoxError>> RoutineResult for Result<(), E> {
    fn into_routine_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// The future `Routine::run` returns for a `#[rutina::routine]` fn.
pub async fn routine_future<F>(fut: F) -> Result<(), BoxError>
where
    F: Future,
    F::Output: RoutineResult,
{
    fut.await.into_routine_result()
}

/// What the fn named by `main!`'s `setup` may return. The same error bound as a
/// routine's, so an error keeps its sources for its report.
#[diagnostic::on_unimplemented(
    message = "`setup` must return `()` or `Result<(), E>` where `E: Into<rutina::BoxError>`, not `{Self}`",
    label = "returns `{Self}`",
    note = "`setup` names a plain fn (not `async`) taking no arguments, like \
            `fn init_logging() -> anyhow::Result<()>`; `rutina::main!` calls it once, \
            before the runtime starts"
)]
#[cfg(feature = "macros")]
pub trait SetupResult {
    /// The result with its error boxed.
    fn into_setup_result(self) -> Result<(), BoxError>;
}

#[cfg(feature = "macros")]
impl SetupResult for () {
    fn into_setup_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[cfg(feature = "macros")]
impl<E: Into<BoxError>> SetupResult for Result<(), E> {
    fn into_setup_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Calls the fn named by `main!`'s `setup`, its error boxed. Takes the fn rather than
/// its result, so both bounds are spanned on the path: a fn taking arguments is "expected
/// to take 0 arguments", not a call missing some.
#[cfg(feature = "macros")]
pub fn run_setup<F, R>(setup: F) -> Result<(), BoxError>
where
    F: FnOnce() -> R,
    R: SetupResult,
{
    setup().into_setup_result()
}

/// `main!`'s `setup` failed: its error chain on stderr, exit status 1.
#[cfg(feature = "macros")]
pub fn setup_failed(error: &(dyn StdError + 'static)) -> ExitCode {
    eprintln!("{}", ErrorReport::new(error));
    ExitCode::FAILURE
}

/// The keeper of a singleton routine's lease, for rutina's own integration tests
/// against real backends (`tests/lease_postgres.rs`); the supervisor is its caller.
pub use crate::lease::keeper::{Keeper, Lost};
