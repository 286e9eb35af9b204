//! Fixture for `tests/signal_process.rs` (not an example to learn from): a `main!`
//! program whose routines are in the middle of a long backoff and of a restart loop
//! when the signals come. `FIXTURE_SLOW_DRAIN=1`: the server takes an hour to drain.
use std::time::Duration;

/// Serves until the group shuts down, then drains.
#[rutina::routine]
async fn server(ctx: rutina::Context) -> Result<(), std::io::Error> {
    println!("server ready");
    ctx.cancelled().await;
    if std::env::var_os("FIXTURE_SLOW_DRAIN").is_some() {
        println!("server draining slowly");
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("server drained");
    Ok(())
}

/// Fails, then backs off for an hour: a signal must end the backoff.
#[rutina::routine(on_error = Restart, backoff = "1h")]
async fn flaky(ctx: rutina::Context) -> Result<(), std::io::Error> {
    println!("flaky run {}", ctx.attempt());
    Err(std::io::Error::other("upstream unavailable"))
}

/// Restarted at once after every run: a signal must stop the loop.
#[rutina::routine(on_done = Restart)]
async fn looping(ctx: rutina::Context) -> Result<(), std::io::Error> {
    if ctx.attempt() == 100 {
        println!("looping restarted 100 times");
    }
    tokio::task::yield_now().await;
    Ok(())
}

rutina::main! {
    routines: [server, flaky, looping],
    shutdown_timeout: "1h",
}
