// `every`, `cron`, `heartbeat`, `reload`, `singleton`, backoff ranges and
// `backoff_reset`, in each of their spellings.
use rutina::{Backoff, Cron, Policy, Routine, RunOptions};
use std::time::Duration;

#[rutina::routine(every = "2s", heartbeat = "30s", reload)]
async fn ticker(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(cron = "0 */5 * * * *", on_done = DoNothing, singleton = "cleanup", reload = false)]
async fn cleanup(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(cron = "0 3 * * MON-FRI")]
async fn nightly(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(on_error = Restart, backoff = "100ms..30s", backoff_reset = "5m", reload = true)]
async fn consumer(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(on_error = Restart, backoff_reset = "1m")]
async fn default_backoff(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(on_done = Restart, backoff = "0s")]
async fn eager(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    assert_eq!(
        ticker.options(),
        RunOptions::default()
            .name("ticker")
            .every(Duration::from_secs(2))
            .heartbeat(Duration::from_secs(30))
            .reload(true)
    );
    assert!(ticker.options().is_scheduled());
    assert_eq!(ticker.options().on_done, Policy::Restart);
    let cleanup_options = cleanup.options();
    assert_eq!(
        cleanup_options,
        RunOptions::default()
            .name("cleanup")
            .cron(Cron::parse("0 */5 * * * *").unwrap())
            .on_done(Policy::DoNothing)
            .singleton("cleanup")
            .reload(false)
    );
    assert_eq!(cleanup_options.on_done, Policy::DoNothing);
    assert_eq!(nightly.options(), RunOptions::default().name("nightly").cron("0 3 * * MON-FRI".parse().unwrap()));
    assert_eq!(
        consumer.options().backoff,
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30)).reset_after(Duration::from_secs(300))
    );
    assert_eq!(default_backoff.options().backoff, Backoff::default().reset_after(Duration::from_secs(60)));
    assert_eq!(eager.options().backoff, Backoff::none());
}
