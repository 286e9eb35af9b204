//! [`Main`]: a group run as a program's `main`, which is what `rutina::main!` expands to.

use std::future::Future;
use std::process::ExitCode;

use crate::error::{BoxError, ErrorReport};
use crate::{Options, Rutina};

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
