//! # 08 · Periodic jobs: `every`, `cron`, overruns, time limits, why a run was stopped
//!
//! A job that runs every so often is a routine with a schedule. Each routine below
//! prints when its runs start, in seconds since the program started:
//!
//! | routine | declared with | what you see |
//! |---|---|---|
//! | `fixed_rate` | `every = "1s"` | runs start 1 s apart, whatever each run takes (300 ms here) |
//! | `fixed_delay` | `on_done = Restart`, `backoff = "1s"` | the old way: 1 s *after each run ends*, so the starts drift by the run's 300 ms every time |
//! | `on_even_seconds` | `cron = "*/2 * * * * *"` | cron with a seconds field, in UTC: runs on the even seconds of the clock, the first waiting for one |
//! | `overrun` | `every = "500ms"` | its first run takes 1.2 s: the ticks at 0.5 s and 1 s are skipped, never run late or twice; the next run starts on the next tick, 1.5 s |
//! | `deaf` | `every = "2s"`, `timeout = "300ms"` | ignores its context: when the timeout passes it is dropped at once, a time limit that holds |
//! | `polite` | `timeout = "300ms"`, `grace_period = "1s"` | watches its context: cancelled by its timeout, it is told why (`Context::cancel_reason`) and returns in its grace period |
//! | `sweeper` | the defaults | runs until the shutdown; told why it stops, too |
//! | `deadline` | `on_done = Shutdown` | ends the demo after 4.5 s |
//!
//! ```sh
//! cargo run --example periodic_jobs    # about 4.5 s; exits with status 0
//! ```
//!
//! With a schedule, `on_done` is `Restart` (give it to choose otherwise), every next run
//! waits for the next tick, a failed run under `on_error = Restart` too, and a backoff
//! does not apply. A run never overlaps the next one. The same options without the
//! macro: `RunOptions::every`, `RunOptions::cron` with `rutina::Cron::parse`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rutina::Context;
use tokio::time::{Instant, sleep};

rutina::main! {
    state: Started::now,
    routines: [fixed_rate, fixed_delay, on_even_seconds, overrun, deaf, polite, sweeper, deadline],
}

/// When the program started: the state every routine can take, to print when its runs
/// start.
#[derive(Clone, Copy)]
struct Started(Instant);

impl Started {
    fn now() -> Started {
        Started(Instant::now())
    }

    /// Seconds since the start, as `1.30s`.
    fn elapsed(self) -> String {
        format!("{:.2}s", self.0.elapsed().as_secs_f64())
    }
}

/// Fixed rate: each run starts 1 s after the previous one started.
#[rutina::routine(every = "1s")]
async fn fixed_rate(ctx: Context, started: Started) -> anyhow::Result<()> {
    println!("fixed_rate: run {} starts at {}", ctx.attempt(), started.elapsed());
    sleep(Duration::from_millis(300)).await; // the work
    Ok(())
}

/// Fixed delay, as periodic jobs were written before schedules: restart after `Ok`,
/// with a 1 s backoff. The period is 1 s *plus* the run's duration: the starts drift.
#[rutina::routine(on_done = Restart, backoff = "1s")]
async fn fixed_delay(ctx: Context, started: Started) -> anyhow::Result<()> {
    println!("fixed_delay: run {} starts at {}", ctx.attempt(), started.elapsed());
    sleep(Duration::from_millis(300)).await; // the same work
    Ok(())
}

/// A cron schedule with a seconds field (six fields, seconds first), in UTC.
#[rutina::routine(cron = "*/2 * * * * *")]
async fn on_even_seconds(ctx: Context, started: Started) -> anyhow::Result<()> {
    let second = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |now| now.as_secs() % 60);
    println!("on_even_seconds: run {} at second :{second:02} of the clock ({})", ctx.attempt(), started.elapsed());
    Ok(())
}

/// A job whose first run overruns its period: the ticks it missed are skipped.
#[rutina::routine(every = "500ms")]
async fn overrun(ctx: Context, started: Started) -> anyhow::Result<()> {
    let run = ctx.attempt();
    if run > 2 {
        return Ok(()); // two runs tell the story; the rest are quiet
    }
    println!("overrun: run {run} starts at {}", started.elapsed());
    if run == 1 {
        sleep(Duration::from_millis(1200)).await; // longer than two periods
        println!("overrun: run 1 ends at {}; the ticks at 0.50s and 1.00s are skipped", started.elapsed());
    }
    Ok(())
}

/// A job that ignores its context. Its timeout holds anyway: when it passes the run is
/// dropped (no grace period is set), and the next run waits for the next tick.
#[rutina::routine(every = "2s", timeout = "300ms", on_error = Restart)]
async fn deaf(ctx: Context, started: Started) -> anyhow::Result<()> {
    let run = ctx.attempt();
    println!("deaf: run {run} starts at {}", started.elapsed());
    let _dropped = Announce(run, started);
    sleep(Duration::from_secs(60)).await; // not watching `ctx`: a blocking client, say
    println!("deaf: run {run} finished (never printed: it is dropped first)");
    Ok(())
}

/// A job that watches its context: cancelled by its timeout, it learns why and returns
/// within its grace period. A timed-out run is a failure whatever it returns:
/// `on_error = DoNothing` lets it end there.
#[rutina::routine(timeout = "300ms", grace_period = "1s", on_error = DoNothing)]
async fn polite(ctx: Context, started: Started) -> anyhow::Result<()> {
    println!("polite: starts at {}; cancel_reason: {:?}", started.elapsed(), ctx.cancel_reason());
    tokio::select! {
        _ = ctx.cancelled() => {
            println!("polite: cancelled at {}; cancel_reason: {:?}", started.elapsed(), ctx.cancel_reason());
        }
        _ = sleep(Duration::from_secs(60)) => {}
    }
    Ok(())
}

/// Runs until the shutdown, and says why it stops.
#[rutina::routine]
async fn sweeper(ctx: Context) -> anyhow::Result<()> {
    ctx.cancelled().await;
    println!("sweeper: stopping; cancel_reason: {:?}", ctx.cancel_reason());
    Ok(())
}

/// Ends the demo: `on_done = Shutdown` turns its `Ok` into a group shutdown.
#[rutina::routine(on_done = Shutdown)]
async fn deadline(ctx: Context, started: Started) -> anyhow::Result<()> {
    tokio::select! {
        _ = ctx.cancelled() => return Ok(()),
        _ = sleep(Duration::from_millis(4500)) => {}
    }
    println!("deadline: time is up at {}; shutting down", started.elapsed());
    Ok(())
}

/// Prints, when a `deaf` run is dropped, that it was.
struct Announce(u32, Started);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("deaf: run {} dropped at {}: its timeout holds", self.0, self.1.elapsed());
    }
}
