//! # 02 · Policies: what happens when a routine returns
//!
//! Each routine has a policy for when a run returns `Ok` (`on_done`) and one for when it
//! fails (`on_error`): `DoNothing`, `Restart` or `Shutdown`. Five routines show them:
//!
//! | routine | policy | what you see |
//! |---|---|---|
//! | `heartbeat` | `on_done = Restart`, `backoff = "1s"` | runs again every second |
//! | `warm_up` | `on_done = DoNothing` | ends after 2 s; nothing else happens |
//! | `flaky` | `on_error = Restart`, `max_count = 3` | fails twice, is restarted, then succeeds |
//! | `fatal` | `on_error = Shutdown` (the default) | fails after 5 s: the whole group shuts down |
//! | `server` | the defaults | serves until the shutdown, then drains |
//!
//! ```sh
//! cargo run --example policies    # about 5 s; exits with status 1 and `fatal`'s error
//! ```
//!
//! `rutina::main!` prints the error that ended the group on stderr and exits with 1;
//! Ctrl-C before that is a clean shutdown and exits with 0.

use std::time::Duration;

use rutina::Context;
use tokio::time::sleep;

/// A periodic job: each run is short, and `on_done = Restart` with a fixed backoff
/// runs it again a second later, until the group shuts down.
#[rutina::routine(on_done = Restart, backoff = "1s")]
async fn heartbeat(ctx: Context) -> Result<(), std::io::Error> {
    println!("heartbeat: run {}", ctx.attempt());
    Ok(())
}

/// One-off work: when it is done, `on_done = DoNothing` lets it end quietly.
#[rutina::routine(on_done = DoNothing)]
async fn warm_up(ctx: Context) -> Result<(), std::io::Error> {
    tokio::select! {
        _ = ctx.cancelled() => return Ok(()),
        _ = sleep(Duration::from_secs(2)) => {}
    }
    println!("warm_up: caches are warm; done, and nothing else happens");
    Ok(())
}

/// Fails on its first two runs. `on_error = Restart` runs it again after the backoff;
/// `max_count = 3` allows three restarts: had the fourth run failed too, the group
/// would have shut down with `Error::RunLimit`.
#[rutina::routine(on_error = Restart, max_count = 3, backoff = "500ms")]
async fn flaky(ctx: Context) -> Result<(), std::io::Error> {
    tokio::select! {
        _ = ctx.cancelled() => return Ok(()),
        _ = sleep(Duration::from_millis(500)) => {}
    }
    if ctx.attempt() < 3 {
        println!("flaky: run {} fails; it will be restarted", ctx.attempt());
        return Err(std::io::Error::other("connection refused"));
    }
    println!("flaky: run {} succeeds; done", ctx.attempt());
    Ok(())
}

/// Fails after 5 s; `on_error = Shutdown` (the default, spelled out here) shuts the
/// whole group down and makes this error the group's.
#[rutina::routine(on_error = Shutdown)]
async fn fatal(ctx: Context) -> Result<(), std::io::Error> {
    tokio::select! {
        _ = ctx.cancelled() => return Ok(()),
        _ = sleep(Duration::from_secs(5)) => {}
    }
    println!("fatal: the database is gone; shutting everything down");
    Err(std::io::Error::other("the database connection is gone"))
}

/// Long-lived: serves until the group shuts down, then drains.
#[rutina::routine]
async fn server(ctx: Context) -> Result<(), std::io::Error> {
    println!("server: serving");
    ctx.cancelled().await;
    println!("server: the group is shutting down; drained");
    Ok(())
}

rutina::main! {
    routines: [heartbeat, warm_up, flaky, fatal, server],
    shutdown_timeout: "5s",
}
