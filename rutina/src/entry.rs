//! [`Main`]: a group run as a program's `main`, which is what `rutina::main!` expands to;
//! and the traits that say what the macros take, each with the error a mistake gets:
//! [`IntoRoutine`] (an entry of `rutina::main!`), [`MainFn`] (a fn that `main!` calls),
//! [`RoutineReturn`] (what a `#[rutina::routine]` fn returns) and [`SetupReturn`] (what
//! `main!`'s `setup` fn returns). The macros expand to this public API only, so that
//! everything they do can be written by hand.

use std::future::Future;
use std::process::ExitCode;

use crate::error::{BoxError, ErrorReport};
use crate::{Id, Options, Routine, Rutina};

/// Runs a group as a program's `main`: a multi-threaded tokio runtime, a [`Rutina`] that
/// listens to SIGINT and SIGTERM, the routines your `start` closure starts, `wait`, and
/// the exit status. [`rutina::main!`](macro@crate::main) expands to it; use it directly in
/// a `main` written by hand.
///
/// - The first SIGINT/SIGTERM shuts the group down gracefully, the second aborts what is
///   still running (exit status 130), a third exits the process at once (130).
/// - `start` runs inside the runtime, before `wait`: load the configuration, connect to
///   the database, then start the routines. If it fails, its error chain is printed
///   (see [`ErrorReport`]), the routines it started are shut down, and the exit status
///   is 1.
/// - When `wait` returns an error, it is printed the same way; the exit status is
///   [`Rutina::exit_code`]'s.
///
/// ```no_run
/// use std::process::ExitCode;
/// use std::time::Duration;
/// use rutina::{Context, Main, Options};
///
/// async fn server(ctx: Context) -> std::io::Result<()> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// fn main() -> ExitCode {
///     // Install a `tracing` subscriber here, before the runtime starts.
///     Main::new(Options::default().shutdown_timeout(Duration::from_secs(30))).run(|rutina| async move {
///         let port: u16 = std::env::var("PORT").unwrap_or_else(|_| "8080".into()).parse()?;
///         println!("serving on port {port}");
///         rutina.go(server);
///         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
///     })
/// }
/// ```
#[derive(Debug)]
#[must_use]
pub struct Main {
    options: Options,
    worker_threads: Option<usize>,
}

impl Main {
    /// A program's group made with `options`, listening to OS signals.
    pub fn new(options: Options) -> Main {
        Main { options: options.listen_os_signals(true).exit_on_third_signal(), worker_threads: None }
    }

    /// How many worker threads the runtime has. Default: tokio's (one per core).
    pub fn worker_threads(mut self, threads: usize) -> Main {
        self.worker_threads = Some(threads.max(1));
        self
    }

    /// Builds the runtime, makes the group, runs `start` with a handle to it, waits for
    /// the group to end, and returns the exit status. Blocks the calling thread.
    pub fn run<F, Fut, E>(self, start: F) -> ExitCode
    where
        F: FnOnce(Rutina) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all();
        if let Some(threads) = self.worker_threads {
            builder.worker_threads(threads);
        }
        let runtime = match builder.build() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the tokio runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        let code = runtime.block_on(async {
            let rutina = Rutina::new(self.options);
            if let Err(error) = start(rutina.clone()).await {
                let error: BoxError = error.into();
                eprintln!("{}", ErrorReport::new(&*error));
                rutina.shutdown();
                let _ = rutina.wait().await;
                return ExitCode::FAILURE;
            }
            let result = rutina.wait().await;
            if let Err(error) = &result {
                eprintln!("{}", ErrorReport::new(error));
            }
            rutina.exit_code(&result)
        });
        // Threads stuck in user code must not keep the process alive.
        runtime.shutdown_background();
        code
    }
}

/// What [`rutina::main!`](macro@crate::main) starts: a [`Routine`] (a `#[rutina::routine]`
/// item, or a value of a type that implements `Routine` by hand), given the state `S` of
/// `main!` (`()`: none), which a routine ignores. Every `Routine` is an `IntoRoutine<S>`
/// for every `S`.
///
/// `main!` starts each entry `r` with `IntoRoutine::<()>::start(r, &rutina, ())`:
///
/// ```
/// use rutina::{Context, IntoRoutine, Routine, Rutina};
///
/// /// A routine written by hand.
/// struct Ticker;
///
/// impl Routine for Ticker {
///     async fn run(&mut self, ctx: Context) -> Result<(), rutina::BoxError> {
///         ctx.cancelled().await;
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// IntoRoutine::<()>::start(Ticker, &rutina, ()); // rutina.go(Ticker)
/// # rutina.shutdown();
/// # rutina.wait().await.unwrap();
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a routine that `rutina::main!` can start",
    label = "not a routine",
    note = "list `#[rutina::routine]` items, or values of a type that implements `rutina::Routine`: \
            add `#[rutina::routine]` to the async fn",
    note = "a `#[rutina::routine]` fn with parameters after its `Context` takes them from a state, \
            which `rutina::main!` cannot give yet: start it from a hand-written `main`, with \
            `rutina.go(name.with_state(state))`"
)]
pub trait IntoRoutine<S>: Sized {
    /// The routine it becomes.
    type Routine: Routine;

    /// The routine, given `state`: itself for a [`Routine`] (the state is dropped).
    fn into_routine(self, state: S) -> Self::Routine;

    /// Starts it in `rutina` with the options it declares:
    /// `rutina.go(self.into_routine(state))`.
    fn start(self, rutina: &Rutina, state: S) -> Id {
        rutina.go(self.into_routine(state))
    }
}

impl<R: Routine, S> IntoRoutine<S> for R {
    type Routine = R;

    fn into_routine(self, _state: S) -> R {
        self
    }
}

/// A fn that [`rutina::main!`](macro@crate::main) calls for one of its keys (`setup`):
/// any fn or closure taking no arguments. `main!` calls it through
/// [`call`](MainFn::call), so that an fn taking arguments is reported as such, where
/// its key names it.
///
/// ```
/// use rutina::MainFn;
///
/// fn port() -> u16 {
///     8080
/// }
///
/// assert_eq!(MainFn::call(port), 8080);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a fn that `rutina::main!` can call",
    label = "not a fn taking no arguments",
    note = "name a fn that takes no arguments, like `fn init_logging()`"
)]
pub trait MainFn<R> {
    /// Calls it.
    fn call(self) -> R;
}

impl<F: FnOnce() -> R, R> MainFn<R> for F {
    fn call(self) -> R {
        self()
    }
}

/// What a `#[rutina::routine]` fn returns: `Result<(), E>` where `E: Into<BoxError>`
/// (`std::io::Error`, `anyhow::Error`, `String`, `&'static str`, ...), as a [`Routine`]'s
/// runs do.
///
/// The routine's `run` is the fn's future, its result passed through
/// [`into_result`](RoutineReturn::into_result):
///
/// ```
/// use rutina::RoutineReturn;
///
/// let done: Result<(), std::io::Error> = Ok(());
/// assert!(done.into_result().is_ok());
/// let failed: Result<(), &'static str> = Err("disk full");
/// assert_eq!(failed.into_result().unwrap_err().to_string(), "disk full");
/// ```
#[diagnostic::on_unimplemented(
    message = "a `#[rutina::routine]` must return `Result<(), E>` where `E: Into<rutina::BoxError>`, not `{Self}`",
    label = "not `Result<(), E>`",
    note = "return `Ok(())` when the routine is done, `Err(error)` when it failed"
)]
pub trait RoutineReturn {
    /// The result with its error boxed.
    fn into_result(self) -> Result<(), BoxError>;
}

impl<E: Into<BoxError>> RoutineReturn for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// What the `setup` fn of [`rutina::main!`](macro@crate::main) returns: `()`, or
/// `Result<(), E>` where `E: Into<BoxError>` (an error keeps its sources for the report).
///
/// `main!` calls `setup` first, before it builds the runtime, and passes what it returned
/// through [`into_result`](SetupReturn::into_result); an error is printed with
/// [`ErrorReport`] and the process exits with status 1:
///
/// ```
/// use rutina::SetupReturn;
///
/// fn init_logging() {}
/// fn load_config() -> anyhow::Result<()> {
///     anyhow::bail!("service.toml: no such file")
/// }
///
/// assert!(init_logging().into_result().is_ok());
/// let error = load_config().into_result().unwrap_err();
/// assert_eq!(rutina::ErrorReport::new(&*error).to_string(), "error: service.toml: no such file");
/// ```
#[diagnostic::on_unimplemented(
    message = "`setup` must return `()` or `Result<(), E>` where `E: Into<rutina::BoxError>`, not `{Self}`",
    label = "returns `{Self}`",
    note = "`setup` names a plain fn (not `async`) taking no arguments, like \
            `fn init_logging() -> anyhow::Result<()>`; `rutina::main!` calls it once, \
            before the runtime starts"
)]
pub trait SetupReturn {
    /// The result with its error boxed.
    fn into_result(self) -> Result<(), BoxError>;
}

impl SetupReturn for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> SetupReturn for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}
