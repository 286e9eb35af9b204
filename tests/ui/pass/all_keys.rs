// Every key of #[rutina::routine], each in its most common spelling.
use rutina::{Backoff, Context, Policy, Routine, RunOptions};
use std::time::Duration;

#[rutina::routine(
    on_done = Restart,
    on_error = Shutdown,
    timeout = "5s",
    max_count = 3,
    name = "http",
    backoff = "100ms",
    restart_intensity = (5, "1m"),
    grace_period = "10s",
    readiness_gate,
)]
async fn http_server(ctx: Context) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {
    let expected = RunOptions::default()
        .on_done(Policy::Restart)
        .on_error(Policy::Shutdown)
        .timeout(Duration::from_secs(5))
        .max_count(3)
        .name("http")
        .backoff(Backoff::fixed(Duration::from_millis(100)))
        .restart_intensity(5, Duration::from_secs(60))
        .grace_period(Duration::from_secs(10))
        .readiness_gate(true);
    assert_eq!(http_server.options(), expected);
}
