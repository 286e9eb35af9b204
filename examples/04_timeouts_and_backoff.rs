//! # 04 · Timeouts and backoff
//!
//! A per-run [`timeout`](RunOptions::timeout) cancels a run's context when it passes;
//! the run then counts as a failure, whatever it returns. A [`Backoff`] decides how long
//! to wait before a restart:
//!
//! - `fetch_quote` asks a slow upstream, with a 200 ms timeout per run and an exponential
//!   backoff (100 ms, doubling, jittered) between attempts. Its first two runs time out;
//!   the third gets its answer, and `on_done = Shutdown` ends the program.
//! - `heartbeat` runs every 250 ms: `on_done = Restart` with a fixed backoff.
//! - A second group shows a timeout under the default `on_error = Shutdown`: it becomes
//!   the group's error, [`Error::TimedOut`].
//!
//! ```sh
//! cargo run --example timeouts_and_backoff    # under a second; exits with status 0
//! ```

use std::io;
use std::process::ExitCode;
use std::time::Duration;

use rutina::{Backoff, Context, Error, Event, Outcome, Policy, RunOptions, Rutina};
use tokio::time::sleep;

/// Asks an upstream for a quote. The upstream answers in 1 s on the first two attempts
/// (longer than the timeout) and in 50 ms afterwards.
async fn fetch_quote(ctx: Context) -> Result<(), io::Error> {
    let latency = Duration::from_millis(if ctx.attempt() <= 2 { 1000 } else { 50 });
    println!("fetch_quote: run {} asks the upstream (it answers in {latency:?})", ctx.attempt());
    tokio::select! {
        // The timeout cancels the run's context: return promptly. The run counts as
        // timed out even though it returns `Ok`.
        _ = ctx.cancelled() => {
            println!("fetch_quote: run {} cancelled: giving up on this request", ctx.attempt());
            return Ok(());
        }
        _ = sleep(latency) => {}
    }
    println!("fetch_quote: run {} got the quote", ctx.attempt());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();

    rutina.go_with(
        fetch_quote,
        RunOptions::default()
            .name("fetch_quote")
            .timeout(Duration::from_millis(200))
            .on_error(Policy::Restart)
            .max_count(5)
            .backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(2)))
            .on_done(Policy::Shutdown),
    );
    rutina.go_with(
        |ctx: Context| async move {
            println!("heartbeat: beat {}", ctx.attempt());
            Ok::<_, io::Error>(())
        },
        RunOptions::default()
            .name("heartbeat")
            .on_done(Policy::Restart)
            .backoff(Backoff::fixed(Duration::from_millis(250))),
    );

    // Wait for the group, printing the timeouts and the restart delays as they happen.
    let mut wait = std::pin::pin!(rutina.wait());
    let result = loop {
        tokio::select! {
            biased;
            Ok(event) = events.recv() => show(&event),
            result = &mut wait => break result,
        }
    };
    if let Err(error) = result {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    println!("first group: wait() returned Ok");

    // A timeout under the default `on_error = Shutdown` is the group's error.
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await; // a handshake that never completes
            Ok::<_, io::Error>(())
        },
        RunOptions::default().name("handshake").timeout(Duration::from_millis(100)),
    );
    match rutina.wait().await {
        Err(error @ Error::TimedOut { .. }) => {
            println!("second group: wait() returned Error::TimedOut: {error}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("error: expected a timeout, got {other:?}");
            ExitCode::FAILURE
        }
    }
}

fn show(event: &Event) {
    match event {
        Event::Finished { name, attempt, outcome: Outcome::TimedOut(timeout), .. } => {
            println!("event: {name} run {attempt} timed out after {timeout:?}");
        }
        Event::Restarting { name, attempt, delay, .. } if name == "fetch_quote" => {
            println!("event: {name} run {attempt} starts in {} ms (exponential backoff)", delay.as_millis());
        }
        _ => {}
    }
}
