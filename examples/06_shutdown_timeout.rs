//! # 06 · The shutdown grace period
//!
//! `shutdown_timeout` bounds a shutdown: routines still running when it passes are
//! aborted (their tasks are cancelled: each future is dropped as soon as it yields, so
//! `Drop` still runs), and `wait` returns `Error::Aborted` naming them.
//!
//! Here `trigger` asks for a shutdown after 500 ms. `server` drains in 200 ms; `stuck`
//! never looks at its context, so after the 1 s grace period it is aborted and the
//! program exits with status 1 and the error on stderr.
//!
//! ```sh
//! cargo run --example shutdown_timeout    # about 1.5 s; exits with status 1
//! ```
//!
//! Without a grace period a shutdown waits for every routine, for ever if need be. In a
//! `rutina::main!` program a second SIGINT/SIGTERM aborts at once (exit status 130).

use std::time::Duration;

use rutina::Context;
use tokio::time::sleep;

/// Drains in time.
#[rutina::routine]
async fn server(ctx: Context) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    println!("server: shutting down; finishing the requests in flight");
    sleep(Duration::from_millis(200)).await;
    println!("server: drained in time");
    Ok(())
}

/// Ignores its context: only the end of the grace period stops it.
#[rutina::routine]
async fn stuck() -> Result<(), std::io::Error> {
    /// Runs when the aborted future is dropped.
    struct Cleanup;
    impl Drop for Cleanup {
        fn drop(&mut self) {
            println!("stuck: aborted; its future was dropped");
        }
    }
    let _cleanup = Cleanup;
    loop {
        sleep(Duration::from_millis(300)).await;
        println!("stuck: still busy, not looking at its context");
    }
}

/// Asks for a shutdown after 500 ms: `on_done = Shutdown`.
#[rutina::routine(on_done = Shutdown)]
async fn trigger() -> Result<(), std::io::Error> {
    sleep(Duration::from_millis(500)).await;
    println!("trigger: requesting a shutdown (grace period: 1s)");
    Ok(())
}

rutina::main! {
    routines: [server, stuck, trigger],
    shutdown_timeout: "1s",
}
