//! # 03 · The builder API: no macros
//!
//! The same kind of service as the other examples, with closures and [`RunOptions`]
//! instead of `#[rutina::routine]`, and a hand-written `main`. It also shows what a
//! program can observe and control from outside its routines:
//!
//! - the **errors channel** ([`Options::errors`]): failures that decided nothing (here:
//!   the failed runs of a routine that is restarted);
//! - the **event stream** ([`Rutina::subscribe`]): every start, end, restart, kill and
//!   the shutdown;
//! - [`Rutina::processes`], [`Rutina::kill`] and [`Rutina::shutdown`].
//!
//! ```sh
//! cargo run --example builder     # about 1 s; exits with status 0
//! ```
//!
//! What it does: a `server` runs until the shutdown; a `ticker` runs every 200 ms; a
//! `worker` fails twice and succeeds on its third run. After a second, `main` lists the
//! routines alive, kills the ticker, tries to kill the worker (which has ended:
//! `Error::NotFound`), and shuts the group down.

use std::future::Future;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

use rutina::{Backoff, Context, Event, Options, Outcome, Policy, RoutineError, RunOptions, Rutina};
use tokio::sync::{broadcast, mpsc};

#[tokio::main]
async fn main() -> ExitCode {
    // Failures that decide nothing arrive here; rutina never blocks on this channel.
    let (errors, mut failures) = mpsc::unbounded_channel::<RoutineError>();
    let rutina = Rutina::new(
        Options::default()
            .listen_os_signals(true) // Ctrl-C works too
            .errors(errors)
            .shutdown_timeout(Duration::from_secs(5)),
    );
    // Subscribe before starting routines to see every event.
    let mut events = rutina.subscribe();

    // A server: runs until the group shuts down, then drains. The default options:
    // `on_done = DoNothing`, `on_error = Shutdown`.
    rutina.go_with(
        |ctx: Context| async move {
            println!("server: serving");
            ctx.cancelled().await;
            println!("server: drained");
            Ok::<_, io::Error>(())
        },
        RunOptions::default().name("server"),
    );

    // A periodic job: every run is restarted 200 ms after it returns `Ok`.
    let ticker = rutina.go_with(
        |ctx: Context| async move {
            println!("ticker: tick {}", ctx.attempt());
            Ok::<_, io::Error>(())
        },
        RunOptions::default()
            .name("ticker")
            .on_done(Policy::Restart)
            .backoff(Backoff::fixed(Duration::from_millis(200))),
    );

    // A flaky worker: restarted after failures (at most 5 times), done on its third run.
    let worker = rutina.go_with(
        |ctx: Context| async move {
            if ctx.attempt() < 3 {
                return Err(io::Error::other("upstream unavailable"));
            }
            println!("worker: run {} succeeded", ctx.attempt());
            Ok(())
        },
        RunOptions::default()
            .name("worker")
            .on_error(Policy::Restart)
            .max_count(5)
            .backoff(Backoff::fixed(Duration::from_millis(100))),
    );

    // Let the group run for a second, printing what happens.
    show_until(&mut events, &mut failures, tokio::time::sleep(Duration::from_secs(1))).await;

    let alive: Vec<String> = rutina.processes().iter().map(|id| id.to_string()).collect();
    println!("main: processes alive: [{}]", alive.join(", "));
    if let Err(error) = rutina.kill(ticker) {
        println!("main: kill({ticker}): {error}");
    }
    // The worker has ended: there is nothing to kill.
    match rutina.kill(worker) {
        Ok(()) => println!("main: kill({worker}): killed"),
        Err(error) => println!("main: kill({worker}): {error}"),
    }
    println!("main: shutting down");
    rutina.shutdown();

    let result = show_until(&mut events, &mut failures, rutina.wait()).await;
    println!("main: wait() returned {result:?}");
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints events and failures as they come until `until` completes, then those still
/// queued; returns `until`'s output.
async fn show_until<T>(
    events: &mut broadcast::Receiver<Event>,
    failures: &mut mpsc::UnboundedReceiver<RoutineError>,
    until: impl Future<Output = T>,
) -> T {
    let mut until = std::pin::pin!(until);
    let output = loop {
        tokio::select! {
            biased;
            Ok(event) = events.recv() => show(&event),
            Some(failure) = failures.recv() => println!("errors channel: {failure}"),
            output = &mut until => break output,
        }
    };
    while let Ok(event) = events.try_recv() {
        show(&event);
    }
    while let Ok(failure) = failures.try_recv() {
        println!("errors channel: {failure}");
    }
    output
}

fn show(event: &Event) {
    let line = match event {
        Event::Started { id, name, attempt } => format!("{name} {id}: run {attempt} started"),
        Event::Finished { id, name, attempt, outcome } => match outcome {
            Outcome::Ok => format!("{name} {id}: run {attempt} returned Ok"),
            Outcome::Failed(error) => format!("{name} {id}: run {attempt} failed: {error}"),
            Outcome::Panicked(message) => format!("{name} {id}: run {attempt} panicked: {message}"),
            Outcome::TimedOut(timeout) => format!("{name} {id}: run {attempt} timed out after {timeout:?}"),
            other => format!("{name} {id}: run {attempt} ended: {other:?}"),
        },
        Event::Restarting { id, name, attempt, delay } => {
            format!("{name} {id}: run {attempt} starts in {delay:?}")
        }
        Event::Killed { id, name } => format!("{name} {id}: killed"),
        Event::ShutdownStarted { reason, running } => {
            format!("shutdown started ({reason:?}) with {running} routine(s) alive")
        }
        Event::Aborted { id, name, .. } => format!("{name} {id}: aborted"),
        Event::Stopped { id, name, runs } => format!("{name} {id}: stopped after {runs} run(s)"),
        // `Event` is `#[non_exhaustive]`: later versions may add events.
        other => format!("{other:?}"),
    };
    println!("event: {line}");
}
