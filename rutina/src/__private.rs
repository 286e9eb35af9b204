//! What the output of `#[rutina::routine]` and `rutina::main!` calls. Not public API:
//! it may change in any release.

use std::error::Error as StdError;
use std::future::Future;
use std::process::ExitCode;

pub use crate::{
    Backoff, BoxError, Context, FromRef, Policy, Provides, Routine, RunOptions, Rutina, ShutdownOrder, StatefulRoutine,
    WithState,
};
pub use ::core::time::Duration;

use crate::Error;
#[cfg(feature = "macros")]
use crate::Options;
use crate::group::describe;

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

/// What `rutina::main!` declared about its group; `Default` is `main!` without options.
/// A new setting is a new field, not a new parameter of [`main`]. The macro names every
/// field (`Default::default()` for the undeclared ones), so it and this struct change
/// together.
#[doc(hidden)]
#[cfg(feature = "macros")]
#[derive(Clone, Debug, Default)]
pub struct MainSettings {
    /// `shutdown_timeout: "30s"`: [`Options::shutdown_timeout`].
    pub shutdown_timeout: Option<Duration>,
    /// `shutdown_order: ReverseStart`: [`Options::shutdown_order`].
    pub shutdown_order: ShutdownOrder,
    /// `setup: init_logging`: called once, before the runtime is built; an `Err` is
    /// printed and ends the process with 1 before any routine starts.
    pub setup: Option<fn() -> Result<(), BoxError>>,
}

/// What the fn named by `main!`'s `setup` may return. The same error bound as a
/// routine's, so an error keeps its sources for [`error_report`].
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

/// The body of `rutina::main!`.
#[cfg(feature = "macros")]
pub fn main(settings: MainSettings, start: impl FnOnce(&Rutina)) -> ExitCode {
    let MainSettings { shutdown_timeout, shutdown_order, setup } = settings;
    if let Some(setup) = setup
        && let Err(error) = setup()
    {
        eprintln!("{}", error_report(&*error));
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let mut options =
            Options::default().listen_os_signals(true).exit_on_third_signal().shutdown_order(shutdown_order);
        if let Some(timeout) = shutdown_timeout {
            options = options.shutdown_timeout(timeout);
        }
        let rutina = Rutina::new(options);
        start(&rutina);
        let result = rutina.wait().await;
        exit_code(&rutina, result)
    });
    // Threads stuck in user code must not keep the process alive.
    runtime.shutdown_background();
    code
}

/// 0 for `Ok`; 130 for `Aborted` after a second OS signal; 1 for any other error,
/// which is printed with its source chain.
pub fn exit_code(rutina: &Rutina, result: Result<(), Error>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    eprintln!("{}", error_report(&error));
    if matches!(error, Error::Aborted { .. }) && rutina.group().signals_received() >= 2 {
        ExitCode::from(130)
    } else {
        ExitCode::FAILURE
    }
}

/// `error: <message>` and one `caused by:` line per source whose message is not
/// already part of the line before.
pub fn error_report(error: &(dyn StdError + 'static)) -> String {
    let mut report = format!("error: {}", describe(error));
    let mut previous = describe(error);
    // A `source()` that panics ends the chain, it does not take `main` down.
    fn source_of<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| error.source())).ok().flatten()
    }
    let mut source = source_of(error);
    while let Some(cause) = source {
        let message = describe(cause);
        if !previous.contains(&message) {
            report.push_str("\n  caused by: ");
            report.push_str(&message);
        }
        previous = message;
        source = source_of(cause);
    }
    report
}
