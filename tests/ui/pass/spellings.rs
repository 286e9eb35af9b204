// Policies as paths, durations in humantime's forms, `max_count` limits, `backoff = "0s"`
// (none).
use rutina::{Backoff, Policy, Routine, RunOptions};
use std::time::Duration;

#[rutina::routine(on_done = Policy::Restart, on_error = rutina::Policy::DoNothing)]
async fn paths(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(timeout = "1m 30s", backoff = "250ms", max_count = 0)]
async fn compound(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(timeout = "2h", backoff = "1us", max_count = 4294967295)]
async fn extremes(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(backoff = "0s")]
async fn no_backoff(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    assert_eq!(
        paths.options(),
        RunOptions::default()
            .name("paths")
            .on_done(Policy::Restart)
            .on_error(Policy::DoNothing)
    );
    assert_eq!(
        compound.options(),
        RunOptions::default()
            .name("compound")
            .timeout(Duration::from_secs(90))
            .backoff(Backoff::fixed(Duration::from_millis(250)))
            .max_count(0)
    );
    assert_eq!(
        extremes.options(),
        RunOptions::default()
            .name("extremes")
            .timeout(Duration::from_secs(7200))
            .backoff(Backoff::fixed(Duration::from_micros(1)))
            .max_count(u32::MAX)
    );
    assert_eq!(
        no_backoff.options(),
        RunOptions::default()
            .name("no_backoff")
            .backoff(Backoff::none())
    );
}
