// Every key of #[rutina::routine], each in its most common spelling.
use rutina::{Backoff, Context, Policy, Routine, RunOptions};
use std::time::Duration;

#[rutina::routine(
    on_done = Restart,
    on_error = Shutdown,
    timeout = "5s",
    max_count = 3,
    name = "http",
    backoff = "100ms..30s",
    backoff_reset = "1m",
    restart_intensity = (5, "1m"),
    grace_period = "10s",
    readiness_gate,
    heartbeat = "30s",
    reload,
    singleton = "http",
)]
async fn http_server(ctx: Context) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

// The schedules, one per routine (and without `backoff`, which they do not use).
#[rutina::routine(every = "2s")]
async fn ticker(_ctx: Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(cron = "0 */5 * * * *")]
async fn job(_ctx: Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let expected = RunOptions::default()
        .on_done(Policy::Restart)
        .on_error(Policy::Shutdown)
        .timeout(Duration::from_secs(5))
        .max_count(3)
        .name("http")
        .backoff(
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30))
                .reset_after(Duration::from_secs(60)),
        )
        .restart_intensity(5, Duration::from_secs(60))
        .grace_period(Duration::from_secs(10))
        .readiness_gate(true)
        .heartbeat(Duration::from_secs(30))
        .reload(true)
        .singleton("http");
    assert_eq!(http_server.options(), expected);
    assert_eq!(ticker.options(), RunOptions::default().name("ticker").every(Duration::from_secs(2)));
    assert_eq!(job.options(), RunOptions::default().name("job").cron(rutina::Cron::parse("0 */5 * * * *").unwrap()));
}
