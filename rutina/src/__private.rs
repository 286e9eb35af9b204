//! What the output of `#[rutina::routine]` and `rutina::main!` names: public items under
//! stable paths, and the helpers of `main!`'s `state` and `lease` fns. Not public API: it
//! may change in any release.
//!
//! Nothing here may show in a diagnostic: the bounds a user's code can fail are all on
//! public items ([`Routine`], [`IntoRoutine`], [`RoutineReturn`],
//! [`SetupReturn`](crate::SetupReturn), [`MainFn`](crate::MainFn), [`Provides`],
//! [`Options::lease`]), so that an error names what the user can look up.

pub use crate::{
    Backoff, BoxError, Context, FromRef, IntoRoutine, Main, Options, Policy, Provides, Routine, RoutineReturn,
    RunOptions, Rutina, ShutdownOrder, StatefulRoutine, WithState,
};
pub use ::core::time::Duration;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};

// How `main!` takes the value of its `state` and `lease` fns, which may be `async` and may
// return a `Result`: autoref specialization on the concrete type of what the fn returned.
// `(&value).__rutina_await()` is `Await` when the value is a future (the method of
// `AwaitKind` takes `&Self`, found before `NowKind`'s, which takes `&&Self`), `Now`
// otherwise; `made` then gives a future of the value. `__rutina_result` does the same for
// a `Result`, and `made` gives a `Result` for the expansion's `?`. No bound here can fail,
// so none of these names shows in a diagnostic.

/// The value is a future: await it.
pub struct Await;
/// The value is not a future: it is ready.
pub struct Now;

/// Tags a future.
pub trait AwaitKind {
    /// [`Await`].
    fn __rutina_await(&self) -> Await {
        Await
    }
}

impl<F: Future> AwaitKind for F {}

/// Tags anything else.
pub trait NowKind {
    /// [`Now`].
    fn __rutina_await(&self) -> Now {
        Now
    }
}

impl<T> NowKind for &T {}

impl Await {
    /// The future itself.
    pub fn made<F: Future>(self, future: F) -> F {
        future
    }
}

impl Now {
    /// The value, ready.
    pub fn made<T>(self, value: T) -> Ready<T> {
        ready(value)
    }
}

/// The value is a `Result`.
pub struct IsResult;
/// The value is not a `Result`.
pub struct IsValue;

/// Tags a `Result`.
pub trait ResultKind {
    /// [`IsResult`].
    fn __rutina_result(&self) -> IsResult {
        IsResult
    }
}

impl<T, E> ResultKind for Result<T, E> {}

/// Tags anything else.
pub trait ValueKind {
    /// [`IsValue`].
    fn __rutina_result(&self) -> IsValue {
        IsValue
    }
}

impl<T> ValueKind for &T {}

impl IsResult {
    /// The result itself.
    pub fn made<T, E>(self, result: Result<T, E>) -> Result<T, E> {
        result
    }
}

impl IsValue {
    /// The value, as a result that never fails.
    pub fn made<T>(self, value: T) -> Result<T, Infallible> {
        Ok(value)
    }
}

/// `#[rutina::routine(cron = "..")]`'s schedule. The macro checked the expression with the
/// same parser and settings as [`Cron::parse`](crate::Cron::parse): it parses.
#[cfg(feature = "cron")]
pub fn cron(expression: &str) -> crate::Cron {
    match crate::Cron::parse(expression) {
        Ok(cron) => cron,
        Err(error) => panic!("rutina: a cron expression checked by #[rutina::routine] does not parse: {error}"),
    }
}

/// The keeper of a singleton routine's lease, for rutina's own integration tests
/// against real backends (`tests/lease_postgres.rs`); the supervisor is its caller.
pub use crate::lease::keeper::{Keeper, Lost};
