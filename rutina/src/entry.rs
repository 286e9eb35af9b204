//! [`Main`]: a group run as a program's `main`, which is what `rutina::main!` expands to;
//! and the traits that say what the macros take, each with the error a mistake gets:
//! [`IntoRoutine`] (an entry of `rutina::main!`), [`MainFn`] (a fn that `main!` calls),
//! [`RoutineReturn`] (what a `#[rutina::routine]` fn returns) and [`SetupReturn`] (what
//! `main!`'s `setup` fn returns). The macros expand to this public API only, so that
//! everything they do can be written by hand.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use crate::error::{BoxError, ErrorReport};
use crate::{Id, Options, Routine, Rutina};

/// How [`Main::configure`] keeps its closure until [`Main::run`].
type Configure = Box<dyn FnOnce(Options) -> Pin<Box<dyn Future<Output = Result<Options, BoxError>>>>>;

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
#[must_use]
pub struct Main {
    options: Options,
    worker_threads: Option<usize>,
    configure: Option<Configure>,
}

impl Main {
    /// A program's group made with `options`, listening to OS signals.
    pub fn new(options: Options) -> Main {
        Main { options, worker_threads: None, configure: None }
    }

    /// How many worker threads the runtime has. Default: tokio's (one per core).
    pub fn worker_threads(mut self, threads: usize) -> Main {
        self.worker_threads = Some(threads.max(1));
        self
    }

    /// Finishes the group's [`Options`] inside the runtime, before the group is made: for
    /// what needs the runtime, such as connecting to the [lease](crate::lease) backend of
    /// singleton routines, and for what is known only at run time, such as a
    /// [lame-duck delay](Options::shutdown_delay) read from the environment. If it fails, its error chain is printed and the exit status is
    /// 1; no routine starts. (`rutina::main!`'s `lease` and `configure` keys do this.)
    /// Whatever it sets, the group listens to OS signals.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")] fn main() -> std::process::ExitCode {
    /// use rutina::{BoxError, Main, Options};
    ///
    /// Main::new(Options::default())
    ///     .configure(|options| async move {
    ///         let lease = rutina::lease::Postgres::connect("postgres://localhost/app").await?;
    ///         Ok::<_, BoxError>(options.lease(lease))
    ///     })
    ///     .run(|rutina| async move {
    ///         // start the routines, some of them singletons
    ///         # let _ = rutina;
    ///         Ok::<_, BoxError>(())
    ///     })
    /// # }
    /// # #[cfg(not(feature = "postgres"))] fn main() {}
    /// ```
    pub fn configure<F, Fut, E>(mut self, configure: F) -> Main
    where
        F: FnOnce(Options) -> Fut + 'static,
        Fut: Future<Output = Result<Options, E>> + 'static,
        E: Into<BoxError>,
    {
        self.configure = Some(Box::new(move |options| {
            let future = configure(options);
            Box::pin(async move { future.await.map_err(Into::into) })
        }));
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
        let Main { options, configure, .. } = self;
        let code = runtime.block_on(async {
            let options = match configure {
                Some(configure) => match configure(options).await {
                    Ok(options) => options,
                    Err(error) => return report(&*error),
                },
                None => options,
            };
            let rutina = Rutina::new(options.listen_os_signals(true).exit_on_third_signal());
            if let Err(error) = start(rutina.clone()).await {
                let error: BoxError = error.into();
                let code = report(&*error);
                rutina.shutdown();
                let _ = rutina.wait().await;
                return code;
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

impl fmt::Debug for Main {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Main")
            .field("options", &self.options)
            .field("worker_threads", &self.worker_threads)
            .field("configure", &self.configure.is_some())
            .finish()
    }
}

/// A start-up failure: its chain on stderr, exit status 1.
fn report(error: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("{}", ErrorReport::new(error));
    ExitCode::FAILURE
}

/// What [`rutina::main!`](macro@crate::main) starts: a [`Routine`] (a `#[rutina::routine]`
/// item, or a value of a type that implements `Routine` by hand), or a
/// `#[rutina::routine]` fn with parameters, which becomes a routine once given the state
/// they are taken from.
///
/// `S` is what is given: `&State` when `main!` has a `state` (a routine with parameters
/// clones the state into a [`WithState`](crate::WithState); other routines ignore it),
/// `()` when it has none (then a routine with parameters is not an `IntoRoutine<()>`, which
/// is the error that says to give `main!` a state). Every `Routine` is an
/// `IntoRoutine<S>` for every `S`; `#[rutina::routine]` implements it for its fns with
/// parameters.
///
/// `main!` starts each entry `r` with `IntoRoutine::start(r, &rutina, &state)`, or
/// `IntoRoutine::<()>::start(r, &rutina, ())` without a state:
///
/// ```
/// use rutina::{Context, IntoRoutine, Routine, Rutina};
///
/// #[derive(Clone)]
/// struct Db;
///
/// #[derive(Clone, rutina::FromRef)]
/// struct App {
///     db: Db,
/// }
///
/// #[rutina::routine]
/// async fn consumer(ctx: Context, db: Db) -> anyhow::Result<()> {
///     let _ = db;
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// /// A routine written by hand: it takes no state.
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
/// let app = App { db: Db };
/// let rutina = Rutina::default();
/// IntoRoutine::start(consumer, &rutina, &app); // rutina.go(consumer.with_state(app.clone()))
/// IntoRoutine::start(Ticker, &rutina, &app); // rutina.go(Ticker)
/// IntoRoutine::<()>::start(Ticker, &rutina, ()); // the same
/// # rutina.shutdown();
/// # rutina.wait().await.unwrap();
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a routine that `rutina::main!` can start",
    label = "not a routine",
    note = "list `#[rutina::routine]` items, or values of a type that implements `rutina::Routine`: \
            add `#[rutina::routine]` to the async fn",
    note = "a `#[rutina::routine]` fn with parameters after its `Context` takes them from a state: \
            name the fn that makes the state in `rutina::main!`, `state: App::connect`"
)]
pub trait IntoRoutine<S>: Sized {
    /// The routine it becomes.
    type Routine: Routine;

    /// The routine, given `state`: itself for a [`Routine`] (the state is dropped), paired
    /// with a clone of the state for a `#[rutina::routine]` fn with parameters.
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

/// A fn that [`rutina::main!`](macro@crate::main) calls for one of its keys (`setup`,
/// `state`, `lease`):
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
            before the runtime starts: make what needs the runtime in `state`"
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
