//! # 05 · Nested groups
//!
//! A routine can run a group of its own: make a [`Rutina`] bound to the routine's
//! context with [`Options::parent_token`], start routines in it and return what its
//! `wait` returns. Then
//!
//! - a shutdown of the outer group cancels the inner group (its token is a child of the
//!   routine's), and the routine returns once the inner routines have drained;
//! - a failure inside shuts down the inner group only; the outer routine returns it,
//!   and its own `on_error` policy decides: here `Restart`, which runs a fresh inner
//!   group.
//!
//! `consumers` runs three partition consumers as one inner group. On its first run
//! partition 2 loses its connection: the three stop together, `consumers` fails and is
//! restarted with a new group. After 1.5 s, `deadline` ends the program.
//!
//! ```sh
//! cargo run --example nested_groups    # about 1.5 s; exits with status 0
//! ```

use std::time::Duration;

use rutina::{Context, Options, RunOptions, Rutina};
use tokio::time::sleep;

/// Consumes three partitions in a group of its own: they share one fate.
#[rutina::routine(on_error = Restart, max_count = 3, backoff = "200ms")]
async fn consumers(ctx: Context) -> Result<(), rutina::Error> {
    let run = ctx.attempt();
    println!("consumers: run {run} starts an inner group of 3 partitions");
    let group = Rutina::new(Options::default().parent_token(ctx.token().clone()));
    for partition in 0..3 {
        group.go_with(
            move |ctx: Context| consume(ctx, partition, run),
            RunOptions::default().name(format!("partition-{partition}")),
        );
    }
    let result = group.wait().await;
    match &result {
        Ok(()) => println!("consumers: run {run}: the inner group drained"),
        Err(error) => println!("consumers: run {run}: the inner group failed: {error}"),
    }
    result
}

/// One partition's consumer. On the outer routine's first run, partition 2 fails after
/// 300 ms.
async fn consume(ctx: Context, partition: u32, run: u32) -> Result<(), std::io::Error> {
    if partition == 2 && run == 1 {
        sleep(Duration::from_millis(300)).await;
        println!("partition-2: lost its broker connection");
        return Err(std::io::Error::other("broker connection lost"));
    }
    ctx.cancelled().await;
    println!("partition-{partition}: drained (run {run})");
    Ok(())
}

/// Ends the program after 1.5 s: `on_done = Shutdown` shuts the outer group down, and
/// with it the inner one.
#[rutina::routine(on_done = Shutdown)]
async fn deadline(ctx: Context) -> Result<(), std::io::Error> {
    tokio::select! {
        _ = ctx.cancelled() => {}
        _ = sleep(Duration::from_millis(1500)) => println!("deadline: time is up; shutting down"),
    }
    Ok(())
}

rutina::main!(consumers, deadline);
